import { Webhook } from 'standardwebhooks';
import { cloudEventTypeOf, type AnyTunewireEvent } from '../../domain/events';
import { TunewireError } from '../../domain/errors';
import { RESERVED_WEBHOOK_HEADERS, type DeliveryResult, type SendWebhook, type WebhookTarget } from '../../ports/webhooks';
import { postPinned, type PinnedResponse } from './pinned-request';
import { resolveSafeTarget, WebhookAllowList, type SafeTarget, type SsrfGuardOptions } from './ssrf-guard';

/** The Standard Webhooks payload: `{ type, timestamp, data }`. */
export function webhookPayload(event: AnyTunewireEvent): string {
  return JSON.stringify({ type: cloudEventTypeOf(event.kind), timestamp: event.time, data: event.detail });
}

/** A Slack incoming-webhook body: `{ text }`, one line naming the event and its main facts. */
export function slackPayload(event: AnyTunewireEvent): string {
  const detail = event.detail as unknown as Record<string, unknown>;
  const facts = ['name', 'status', 'model', 'provider']
    .filter((k) => typeof detail[k] === 'string' || typeof detail[k] === 'number')
    .map((k) => `${k}: ${String(detail[k])}`);
  return JSON.stringify({ text: `tunewire ${event.kind} ${event.subject}${facts.length ? ` (${facts.join(', ')})` : ''} at ${event.time}` });
}

/**
 * The signed request for one attempt. webhook-id is the event's deterministic id, the same on every
 * attempt, every replay and every target, so a receiver drops repeats by it; webhook-timestamp is
 * the attempt's time, as the signature covers it. During a rotation every secret still in its grace
 * period adds a signature, space-separated, as Standard Webhooks allows: a receiver that has either
 * secret verifies. The Slack body is signed too (Slack ignores it; a relay may not).
 */
export function signedWebhook(target: WebhookTarget, event: AnyTunewireEvent, attemptAt: Date): { body: string; headers: Record<string, string> } {
  const body = target.format === 'slack' ? slackPayload(event) : webhookPayload(event);
  const signature = [target.secret, ...(target.previousSecrets ?? [])].map((secret) => new Webhook(secret).sign(event.id, attemptAt, body)).join(' ');
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers ?? {})) if (!RESERVED_WEBHOOK_HEADERS.includes(name.toLowerCase())) own[name.toLowerCase()] = value;
  return {
    body,
    headers: {
      ...own,
      'content-type': 'application/json',
      'user-agent': 'tunewire-webhooks/0.1',
      'webhook-id': event.id,
      'webhook-timestamp': String(Math.floor(attemptAt.getTime() / 1000)),
      'webhook-signature': signature,
    },
  };
}

/** Retry-After as milliseconds from `now`: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: Date): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

export function classifyResponse(response: Pick<PinnedResponse, 'status' | 'headers' | 'bodySnippet'>, now: Date): DeliveryResult {
  const { status } = response;
  const said = response.bodySnippet ? `: ${response.bodySnippet.slice(0, 200)}` : '';
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  if (status === 410) return { outcome: 'gone', status, error: `410 Gone${said}` };
  // 408 timeout, 409 conflict and 425 too early are about now, not about the request; 429 slow down
  if (status === 408 || status === 409 || status === 425 || status === 429 || status >= 500) {
    const wait = retryAfterMs(response.headers['retry-after'], now);
    return { outcome: 'retry', status, ...(wait !== undefined ? { retryAfterMs: wait } : {}), error: `HTTP ${status}${said}` };
  }
  if (status >= 300 && status < 400) {
    const location = response.headers.location;
    return { outcome: 'failed', status, error: `HTTP ${status} redirect${location ? ` to ${location}` : ''} not followed` };
  }
  return { outcome: 'failed', status, error: `HTTP ${status}${said}` };
}

export interface WebhookSenderOptions extends SsrfGuardOptions {
  /** Per attempt, connect to last byte. Default 10 s. */
  readonly timeoutMs?: number;
}

/**
 * The production sender: SSRF guard, pinned connection, Standard Webhooks signature, no redirects.
 * The allow list is parsed here, once: a bad entry throws WebhookAllowListError when the sender is
 * built (at start), not on every delivery.
 *
 * @example
 *   const send = webhookSender({ allow: config.allow });
 *   const result = await send({ subscriptionId, url, secret }, event, clock.now());
 */
export function webhookSender(options: WebhookSenderOptions = {}): SendWebhook {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const guard: SsrfGuardOptions = {
    allow: options.allow instanceof WebhookAllowList ? options.allow : WebhookAllowList.parse(options.allow ?? []),
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  return async (target, event, attemptAt) => {
    let safe: SafeTarget;
    let request: { body: string; headers: Record<string, string> };
    try {
      safe = await resolveSafeTarget(target.url, guard);
      request = signedWebhook(target, event, attemptAt);
    } catch (error) {
      const retryable = error instanceof TunewireError && error.retryable;
      const message = error instanceof Error ? error.message : String(error);
      return retryable ? { outcome: 'retry', error: message } : { outcome: 'failed', error: message };
    }
    try {
      const response = await postPinned(safe, request.body, request.headers, timeoutMs);
      return classifyResponse(response, new Date(attemptAt.getTime()));
    } catch (error) {
      // connection refused or reset, TLS failure, timeout: the receiver may be back soon
      return { outcome: 'retry', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  };
}
