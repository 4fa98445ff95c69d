import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { TunewireError, type FieldIssue } from '../domain/errors';
import { ID_LIMITS, idLengthIssue, RESERVED_NAMES } from '../domain/limits';
import type { WebhookAuth } from '../ports/templates';
import type { TemplateDependencies } from '../use-cases/manage-templates';
import { triggerTemplate, type TemplateOutcome } from '../use-cases/trigger-template';

/** Standard Webhooks' default tolerance, and ours for any timestamp header. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;
/** A Standard Webhooks id is kept past the tolerance: an older replay fails the timestamp check. */
const STANDARD_REPLAY_TTL_SECONDS = 2 * TIMESTAMP_TOLERANCE_SECONDS;
/** An HMAC-of-body call has no signed timestamp: the same body is refused for a day. */
const HMAC_REPLAY_TTL_SECONDS = 24 * 3600;
export const DEFAULT_HMAC_HEADER = 'x-tunewire-signature';

/** The call is not from whom it claims (bad or missing signature, stale timestamp): 401. */
export class WebhookAuthError extends TunewireError {
  readonly code: string;
  readonly retryable = false;
  constructor(message: string, code = 'WEBHOOK.UNAUTHORIZED') {
    super(message);
    this.code = code;
  }
}

/** The call was verified before (same webhook id, or same body for HMAC): 409. */
export class WebhookReplayError extends TunewireError {
  readonly code = 'WEBHOOK.REPLAYED';
  readonly retryable = false;
  constructor(readonly webhookId: string) {
    super(`webhook ${webhookId} was already received`);
  }
}

export interface InboundRequest {
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body, exactly as sent: signatures cover its bytes. */
  readonly body: string;
}

export interface VerifiedWebhook {
  /** The id replays are detected by: webhook-id, or the body's digest for HMAC. */
  readonly id: string;
  readonly replayTtlSeconds: number;
}

/**
 * Verifies an inbound webhook against the template's configuration.
 *
 * - `standard`: Standard Webhooks. `webhook-timestamp` must be within 5 minutes of `now` (checked
 *   on our clock first), then the `standardwebhooks` package verifies `webhook-signature` (HMAC-SHA256
 *   of `<id>.<timestamp>.<body>` with the `whsec_` secret, any of the space-separated `v1,` values).
 * - `hmac`: the configured header holds the hex HMAC-SHA256 of the raw body (a `sha256=` prefix is
 *   accepted). It signs only the body, so a `webhook-timestamp`, when sent, is checked for
 *   tolerance, and replays are refused by the body's digest.
 */
export function verifyInboundWebhook(auth: WebhookAuth, request: InboundRequest, now: Date): VerifiedWebhook {
  const header = (name: string) => request.headers[name.toLowerCase()];
  const checkTimestamp = (raw: string | undefined, required: boolean) => {
    if (raw === undefined) {
      if (required) throw new WebhookAuthError('webhook-timestamp is missing');
      return;
    }
    const seconds = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(seconds)) throw new WebhookAuthError('webhook-timestamp must be Unix seconds');
    const skew = Math.abs(now.getTime() / 1000 - seconds);
    if (skew > TIMESTAMP_TOLERANCE_SECONDS) throw new WebhookAuthError(`webhook-timestamp is ${Math.round(skew)}s away from now (tolerance ${TIMESTAMP_TOLERANCE_SECONDS}s)`, 'WEBHOOK.STALE');
  };

  if (auth.kind === 'standard') {
    const id = header('webhook-id');
    const timestamp = header('webhook-timestamp');
    const signature = header('webhook-signature');
    if (!id || !signature) throw new WebhookAuthError('webhook-id and webhook-signature are required');
    checkTimestamp(timestamp, true);
    try {
      new Webhook(auth.secret).verify(request.body, { 'webhook-id': id, 'webhook-timestamp': timestamp as string, 'webhook-signature': signature });
    } catch (error) {
      if (error instanceof WebhookVerificationError) throw new WebhookAuthError(`signature is not valid: ${error.message}`);
      throw error;
    }
    return { id, replayTtlSeconds: STANDARD_REPLAY_TTL_SECONDS };
  }

  const name = auth.header ?? DEFAULT_HMAC_HEADER;
  const given = header(name)?.replace(/^sha256=/, '');
  if (!given) throw new WebhookAuthError(`${name} is missing`);
  checkTimestamp(header('webhook-timestamp'), false);
  const expected = createHmac('sha256', auth.secret).update(request.body, 'utf8').digest();
  const actual = /^[0-9a-fA-F]{64}$/.test(given) ? Buffer.from(given, 'hex') : Buffer.alloc(0);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new WebhookAuthError(`${name} is not a valid signature of the body`);
  return { id: header('webhook-id') ?? `sha256:${createHash('sha256').update(request.body).digest('hex')}`, replayTtlSeconds: HMAC_REPLAY_TTL_SECONDS };
}

/**
 * Field issues of what a verified call asks for: its id and data location become parts of keys
 * (`HOOK#<id>`, `DEB#webhook:<location>`), and a label key may not be a reserved name.
 */
function requestIssues(id: string, overrides: ReturnType<typeof overridesFromBody>): FieldIssue[] {
  const issues = [
    idLengthIssue('headers.webhook-id', id, ID_LIMITS.eventId),
    overrides.dataLocation === undefined ? undefined : idLengthIssue('body.dataLocation', overrides.dataLocation, ID_LIMITS.dataLocation),
    ...Object.keys(overrides.labels ?? {}).map((key) => (RESERVED_NAMES.has(key) ? { path: `body.labels.${key}`, message: 'is a reserved name' } : undefined)),
  ];
  return issues.filter((issue): issue is FieldIssue => issue !== undefined);
}

/** What a data platform may say in its body: where the data is and labels; anything else is ignored. */
function overridesFromBody(body: string): { dataLocation?: string; labels?: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof json !== 'object' || json === null) return {};
  const o = json as Record<string, unknown>;
  const location = typeof o['dataLocation'] === 'string' ? o['dataLocation'] : typeof o['location'] === 'string' ? o['location'] : undefined;
  const labels = typeof o['labels'] === 'object' && o['labels'] !== null && Object.values(o['labels']).every((v) => typeof v === 'string') ? (o['labels'] as Record<string, string>) : undefined;
  return { ...(location ? { dataLocation: location } : {}), ...(labels ? { labels } : {}) };
}

export interface InboundWebhookResult {
  readonly statusCode: 202 | 400 | 401 | 404 | 409;
  readonly body: { readonly error?: { readonly code: string; readonly message: string; readonly issues?: readonly FieldIssue[] } } & Partial<TemplateOutcome>;
}

/**
 * POST /hooks/{template}.
 *
 * 1. Find the template and its webhook configuration (404 when either is missing).
 * 2. Verify signature and timestamp (401); nothing is written before this passes.
 * 3. Refuse an id or data location too long for a key, or a reserved label key (400).
 * 4. Claim the webhook id (conditional put with TTL); a replay is refused (409).
 * 5. Trigger the template with the body's data location and labels (debounce and policy apply).
 */
export async function handleInboundWebhook(deps: TemplateDependencies, input: { readonly template: string } & InboundRequest): Promise<InboundWebhookResult> {
  const template = await deps.templates.getTemplate(input.template);
  const auth = template?.triggers.webhook;
  if (!template || !auth) return { statusCode: 404, body: { error: { code: 'TEMPLATE.NOT_FOUND', message: `no webhook is configured for template ${input.template}` } } };
  const now = deps.clock.now();
  let verified: VerifiedWebhook;
  try {
    verified = verifyInboundWebhook(auth, input, now);
  } catch (error) {
    if (error instanceof WebhookAuthError) return { statusCode: 401, body: { error: { code: error.code, message: error.message } } };
    throw error;
  }
  const overrides = overridesFromBody(input.body);
  const issues = requestIssues(verified.id, overrides);
  if (issues.length) {
    return { statusCode: 400, body: { error: { code: 'WEBHOOK.INVALID', message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues } } };
  }
  const fresh = await deps.templates.claimWebhookId(template.name, verified.id, { at: now.toISOString(), ttlSeconds: verified.replayTtlSeconds });
  if (!fresh) {
    const replay = new WebhookReplayError(verified.id);
    return { statusCode: 409, body: { error: { code: replay.code, message: replay.message } } };
  }
  const outcome = await triggerTemplate(deps, {
    template: template.name,
    overrides,
    dedupeKey: `webhook:${overrides.dataLocation ?? verified.id}`,
    source: 'webhook',
    at: now.toISOString(),
    eventId: verified.id,
  });
  return { statusCode: 202, body: outcome };
}
