import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { TunewireError, type FieldIssue } from '../domain/errors';
import { ID_LIMITS, idLengthIssue, RESERVED_NAMES } from '../domain/limits';
import { DEFAULT_HMAC_HEADER, HMAC_TIMESTAMP_HEADER, standardWebhookKey } from '../domain/template';
import type { InboundDeliveryResult, WebhookAuth } from '../ports/templates';
import type { TemplateDependencies } from '../use-cases/manage-templates';
import { triggerTemplate } from '../use-cases/trigger-template';

export { DEFAULT_HMAC_HEADER, HMAC_TIMESTAMP_HEADER };

/** Standard Webhooks' default tolerance, and ours for the HMAC timestamp. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;
/**
 * How long a Standard Webhooks delivery's result is kept. Replays are stopped by the signed
 * timestamp; this is for the sender's retries of one id, which go on for a day or more (Svix's
 * schedule spans about 28 hours), so that each is answered with the first result.
 */
export const STANDARD_RETAIN_SECONDS = 3 * 86_400;
/** An HMAC delivery is known by its body: the same body within a day is the same delivery. */
export const HMAC_RETAIN_SECONDS = 86_400;
/** Longer than the function's 29 s timeout, so a live handler never loses its claim. */
export const DELIVERY_LEASE_SECONDS = 60;

/**
 * The call is not from whom it claims: unknown template, no webhook, bad or missing signature.
 * The reason stays in the message, never in the answer: every one answers UNAUTHORIZED_BODY.
 */
export class WebhookAuthError extends TunewireError {
  readonly code = 'WEBHOOK.UNAUTHORIZED';
  readonly retryable = false;
}

/** The signature is valid but its timestamp is outside the tolerance (told only to a signer): 401. */
export class WebhookStaleError extends TunewireError {
  readonly code = 'WEBHOOK.STALE';
  readonly retryable = false;
}

/** Another handler is working on the same delivery now: 409, and the sender's retry gets its result. */
export class WebhookInProgressError extends TunewireError {
  readonly code = 'WEBHOOK.IN_PROGRESS';
  readonly retryable = true;
  constructor(
    readonly deliveryKey: string,
    readonly leaseUntil: string,
  ) {
    super(`delivery ${deliveryKey} is being handled; retry after ${leaseUntil}`);
  }
}

/** What any unverifiable call gets, whether or not the template exists. */
export const UNAUTHORIZED_BODY = { error: { code: 'WEBHOOK.UNAUTHORIZED', message: 'the request is not signed for this hook' } } as const;

export interface InboundRequest {
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body, exactly as sent: signatures cover its bytes. */
  readonly body: string;
}

export interface VerifiedWebhook {
  /** What a delivery is known by: the webhook-id (standard), or `sha256:<hex of the body>` (hmac). */
  readonly key: string;
  /** How long its result is kept and a repeat answered with it. */
  readonly retainSeconds: number;
}

const UNIX_SECONDS = /^\d{1,15}$/;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const NO_KEY = Buffer.alloc(32);

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/**
 * Verifies an inbound webhook against the template's configuration; the signature first, then the
 * timestamp (so a stale timestamp is told only to a caller who could sign).
 *
 * - `standard`: Standard Webhooks. `webhook-signature` holds space-separated `v1,<base64>` values,
 *   one of which must be the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` keyed with the
 *   base64-decoded part of the `whsec_` secret; `webhook-timestamp` (Unix seconds) within 5 minutes.
 * - `hmac`: the configured header (default `x-tunewire-signature`) holds the hex HMAC-SHA256, keyed
 *   with the secret's UTF-8 bytes, of `<x-tunewire-timestamp>.<body>` when the sender sends that
 *   header (then within 5 minutes), else of the body alone; a `sha256=` prefix is accepted. The
 *   delivery is known by the body's SHA-256: `webhook-id` is not signed, so it is not read.
 *
 * @throws WebhookAuthError when the signature does not verify, WebhookStaleError when it does but
 *   the timestamp is out of tolerance.
 */
export function verifyInboundWebhook(auth: WebhookAuth, request: InboundRequest, now: Date): VerifiedWebhook {
  const header = (name: string) => request.headers[name.toLowerCase()];
  const checkFresh = (seconds: string) => {
    const skew = Math.abs(now.getTime() / 1000 - Number(seconds));
    if (skew > TIMESTAMP_TOLERANCE_SECONDS) throw new WebhookStaleError(`the signed timestamp is ${Math.round(skew)}s away from now (tolerance ${TIMESTAMP_TOLERANCE_SECONDS}s)`);
  };

  if (auth.kind === 'standard') {
    const key = standardWebhookKey(auth.secret);
    const id = header('webhook-id');
    const timestamp = header('webhook-timestamp');
    const signatures = header('webhook-signature');
    if (!key || !id || !timestamp || !signatures || !UNIX_SECONDS.test(timestamp)) throw new WebhookAuthError('webhook-id, webhook-timestamp (Unix seconds) and webhook-signature are required');
    const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${timestamp}.`).update(request.body, 'utf8').digest('base64'));
    const given = signatures.split(' ').flatMap((s) => (s.startsWith('v1,') ? [Buffer.from(s.slice(3))] : []));
    if (!given.some((g) => sameBytes(g, expected))) throw new WebhookAuthError('no webhook-signature matches');
    checkFresh(timestamp);
    return { key: id, retainSeconds: STANDARD_RETAIN_SECONDS };
  }

  const name = auth.header ?? DEFAULT_HMAC_HEADER;
  const given = header(name)?.trim().replace(/^sha256=/i, '');
  const timestamp = header(HMAC_TIMESTAMP_HEADER);
  if (!given || !HEX_SHA256.test(given) || (timestamp !== undefined && !UNIX_SECONDS.test(timestamp))) throw new WebhookAuthError(`${name} (hex) is required, and ${HMAC_TIMESTAMP_HEADER} must be Unix seconds when sent`);
  const mac = createHmac('sha256', auth.secret);
  if (timestamp !== undefined) mac.update(`${timestamp}.`);
  if (!sameBytes(Buffer.from(given, 'hex'), mac.update(request.body, 'utf8').digest())) throw new WebhookAuthError(`${name} is not a valid signature`);
  if (timestamp !== undefined) checkFresh(timestamp);
  return { key: `sha256:${createHash('sha256').update(request.body, 'utf8').digest('hex')}`, retainSeconds: HMAC_RETAIN_SECONDS };
}

/**
 * Field issues of what a verified call asks for: its id and data location become parts of keys
 * (`HOOK#<id>`, `DEB#webhook:<location>`), and a label key may not be a reserved name.
 */
function requestIssues(auth: WebhookAuth, key: string, overrides: ReturnType<typeof overridesFromBody>): FieldIssue[] {
  const issues = [
    auth.kind === 'standard' ? idLengthIssue('headers.webhook-id', key, ID_LIMITS.eventId) : undefined,
    overrides.dataLocation === undefined ? undefined : idLengthIssue('body.dataLocation', overrides.dataLocation, ID_LIMITS.dataLocation),
    ...Object.keys(overrides.labels ?? {}).map((k) => (RESERVED_NAMES.has(k) ? { path: `body.labels.${k}`, message: 'is a reserved name' } : undefined)),
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
  /** 202 handled now; 200 handled before (the first result again); 409 being handled by another call. */
  readonly statusCode: 200 | 202 | 400 | 401 | 409;
  readonly body: { readonly error?: { readonly code: string; readonly message: string; readonly issues?: readonly FieldIssue[] } } & Partial<InboundDeliveryResult>;
}

/**
 * POST /hooks/{template}.
 *
 * 1. Verify the request against the template's webhook configuration. An unknown template, one
 *    without a webhook and a bad signature all get the same 401 (names cannot be probed); a valid
 *    signature with a stale timestamp gets WEBHOOK.STALE. Nothing is written before this passes.
 * 2. Refuse an id or data location too long for a key, or a reserved label key (400).
 * 3. Claim the delivery (webhook-id, or the body's digest for HMAC) with a lease. Handled before:
 *    answer its first result again (200, same job id). Held by a live handler: 409 IN_PROGRESS.
 * 4. Trigger the template as of the delivery's first claim, so every retry derives the same job
 *    id, with the body's data location and labels (debounce and policy apply).
 * 5. Record the result with the claim (202). If the trigger throws, release the claim first: the
 *    sender's retry, after the 500, then finishes the trigger instead of being refused.
 */
export async function handleInboundWebhook(deps: TemplateDependencies, input: { readonly template: string } & InboundRequest): Promise<InboundWebhookResult> {
  const template = await deps.templates.getTemplate(input.template);
  const auth = template?.triggers.webhook;
  if (!template || !auth) {
    // an unknown template still costs an HMAC, so timing tells no more than the answer
    createHmac('sha256', NO_KEY).update(input.body, 'utf8').digest();
    return { statusCode: 401, body: UNAUTHORIZED_BODY };
  }
  const now = deps.clock.now();
  let verified: VerifiedWebhook;
  try {
    verified = verifyInboundWebhook(auth, input, now);
  } catch (error) {
    if (error instanceof WebhookAuthError) return { statusCode: 401, body: UNAUTHORIZED_BODY };
    if (error instanceof WebhookStaleError) return { statusCode: 401, body: { error: { code: error.code, message: error.message } } };
    throw error;
  }

  const overrides = overridesFromBody(input.body);
  const issues = requestIssues(auth, verified.key, overrides);
  if (issues.length) {
    return { statusCode: 400, body: { error: { code: 'WEBHOOK.INVALID', message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues } } };
  }

  const owner = randomUUID();
  const claim = await deps.templates.claimInboundDelivery(template.name, verified.key, { owner, at: now.toISOString(), leaseSeconds: DELIVERY_LEASE_SECONDS, retainSeconds: verified.retainSeconds });
  if (claim.kind === 'done') return { statusCode: 200, body: claim.result };
  if (claim.kind === 'in-progress') {
    const busy = new WebhookInProgressError(verified.key, claim.leaseUntil);
    return { statusCode: 409, body: { error: { code: busy.code, message: busy.message } } };
  }

  try {
    const { outcome, jobId, decision, detail } = await triggerTemplate(deps, {
      template: template.name,
      overrides,
      dedupeKey: `webhook:${overrides.dataLocation ?? verified.key}`,
      source: 'webhook',
      at: claim.firstAt,
      eventId: verified.key,
    });
    const result: InboundDeliveryResult = { outcome, ...(jobId ? { jobId } : {}), ...(decision ? { decision } : {}), ...(detail ? { detail } : {}) };
    await deps.templates.completeInboundDelivery(template.name, verified.key, { owner, at: deps.clock.now().toISOString(), result });
    return { statusCode: 202, body: result };
  } catch (error) {
    // best effort: if the release fails too, the lease runs out and the retry takes over then
    await deps.templates.releaseInboundDelivery(template.name, verified.key, { owner, at: deps.clock.now().toISOString() }).catch(() => false);
    throw error;
  }
}
