import { createHash, randomBytes } from 'node:crypto';
import { TunewireError } from '../domain/errors';
import type { AnyTunewireEvent, EventKind } from '../domain/events';

export { hasUserinfo, redactUrlsIn, redactWebhookUrl, webhookUrlSchema } from '../domain/webhook-url';

/** The body a receiver gets: Standard Webhooks `{ type, timestamp, data }`, or Slack's `{ text }`. */
export type WebhookFormat = 'standard' | 'slack';
export const WEBHOOK_FORMATS = ['standard', 'slack'] as const;

/** Headers a subscription's own headers may not set or replace: the signature and the framing are ours. */
export const RESERVED_WEBHOOK_HEADERS: readonly string[] = ['content-type', 'content-length', 'host', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'connection', 'transfer-encoding'];

/** A webhook subscription: where to POST which of our events, and the key to sign them with. */
export interface Subscription {
  readonly id: string;
  readonly url: string;
  /** Event kinds (`job.finished`), or `['*']` for every kind. */
  readonly events: readonly (EventKind | '*')[];
  /** Standard Webhooks secret: `whsec_` + base64 of 24 to 64 random bytes. Sealed at rest. */
  readonly secret: string;
  /** After a rotation: the old secret, still signing (a second signature) until `previousSecretExpiresAt`. */
  readonly previousSecret?: string;
  readonly previousSecretExpiresAt?: string;
  /** Extra request headers (`Authorization: Bearer …`); secrets too, sealed at rest, never listed. */
  readonly headers?: Readonly<Record<string, string>>;
  /** `standard` when absent. */
  readonly format?: WebhookFormat;
  readonly enabled: boolean;
  /** Why it was disabled, e.g. `410 Gone from receiver`. */
  readonly disabledReason?: string;
  readonly createdAt: string;
}

/** Where one webhook goes: a subscription, or a target named in a job spec. */
export interface WebhookTarget {
  /** A subscription id, or `spec:<jobId>` for a spec's `notify` entry. */
  readonly subscriptionId: string;
  readonly url: string;
  /** Standard Webhooks secret (`whsec_…`). */
  readonly secret: string;
  /** Older secrets still in their grace period: each adds a signature to `webhook-signature`. */
  readonly previousSecrets?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly format?: WebhookFormat;
}

/**
 * What one attempt came to, as the retry loop needs it:
 * - delivered: 2xx
 * - retry: 408, 409, 425, 429, 5xx, a network error or timeout, a name that did not resolve
 * - gone: 410, the receiver asks us to stop (the subscription is disabled)
 * - failed: anything else (3xx, other 4xx, an unsafe target, a bad secret); trying again cannot help,
 *   so it is a dead letter at once
 */
export type DeliveryResult =
  | { readonly outcome: 'delivered'; readonly status: number }
  | { readonly outcome: 'retry'; readonly status?: number; readonly retryAfterMs?: number; readonly error: string }
  | { readonly outcome: 'gone'; readonly status: 410; readonly error: string }
  | { readonly outcome: 'failed'; readonly status?: number; readonly error: string };

/**
 * Sends one event to one target, once, signed; never throws for a receiver's failure.
 *
 * @example
 *   const result = await send({ subscriptionId, url, secret }, event, clock.now());
 */
export type SendWebhook = (target: WebhookTarget, event: AnyTunewireEvent, attemptAt: Date) => Promise<DeliveryResult>;

/** One event that could not be delivered to one target after the last attempt. */
export interface DeadLetter {
  /** A subscription id, or `spec:<jobId>` for a target named in a job spec's `notify`. */
  readonly subscriptionId: string;
  /** The URL it was sent to (spec targets have no subscription to look it up in). */
  readonly url: string;
  readonly eventId: string;
  readonly event: AnyTunewireEvent;
  readonly attempts: number;
  readonly lastError: string;
  /** When the last attempt failed (ISO 8601). */
  readonly at: string;
}

/**
 * One delivery waiting for its next attempt, kept in the store (so it outlives the process that
 * made the first one) until it is delivered, dead-lettered or its subscription disabled.
 */
export interface PendingDelivery {
  /** A subscription id, or `spec:<jobId>`. */
  readonly subscriptionId: string;
  /** Tells two targets of one owner apart (two `notify` URLs of one spec): see targetKeyOf. */
  readonly targetKey: string;
  readonly url: string;
  readonly eventId: string;
  readonly event: AnyTunewireEvent;
  /** The number of the next attempt: 2 for the first retry. */
  readonly attempt: number;
  /** When the next attempt is due (ISO 8601). */
  readonly dueAt: string;
  readonly lastError: string;
  readonly lastStatus?: number;
  readonly firstAttemptAt: string;
}

export type PendingKey = Pick<PendingDelivery, 'subscriptionId' | 'targetKey' | 'eventId'>;

/**
 * What a scheduler hands back when an attempt is due: the pending delivery's key and the attempt it
 * was scheduled for. A ticket whose attempt is no longer the pending one's (a duplicate message, an
 * attempt already made) is dropped.
 */
export interface RetryTicket extends PendingKey {
  readonly attempt: number;
}

/**
 * Wakes a pending delivery when it is due: an SQS message with DelaySeconds on AWS, a timer in the
 * long-lived local process. At-least-once: a ticket may come early (re-schedule it) or twice (the
 * attempt number drops the second).
 *
 * @example
 *   await scheduler.schedule({ subscriptionId, targetKey, eventId, attempt: 2 }, new Date(Date.now() + 5_000));
 */
export interface DeliveryScheduler {
  schedule(ticket: RetryTicket, dueAt: Date): Promise<void>;
}

/**
 * Seals secrets for storage (envelope encryption: KMS on AWS, a key file locally). The sealed form
 * names its scheme, so a store reads what an older cipher wrote.
 *
 * @example
 *   const sealed = await cipher.seal('whsec_…'); // 'v1:local:…'
 *   const secret = await cipher.open(sealed);
 */
export interface SecretCipher {
  seal(plaintext: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

/**
 * Webhook subscriptions and dead letters. Writes are conditional: creating an existing
 * subscription, or disabling / deleting a missing one, is reported rather than silently applied.
 *
 * @example
 *   await store.putSubscription({ id, url, events: ['job.finished'], secret: newWebhookSecret(), enabled: true, createdAt });
 *   const due = (await store.listSubscriptions()).filter((s) => s.enabled);
 *   await store.recordDeadLetter({ subscriptionId: id, url, eventId: event.id, event, attempts: 6, lastError: '503', at });
 */
export interface WebhookStore {
  /** Creates the subscription; throws SubscriptionExistsError when the id is taken. */
  putSubscription(subscription: Subscription): Promise<void>;
  getSubscription(id: string): Promise<Subscription | undefined>;
  listSubscriptions(): Promise<Subscription[]>;
  /** Sets `enabled` (and the reason when disabling); false when the subscription does not exist. */
  setSubscriptionEnabled(id: string, enabled: boolean, reason?: string): Promise<boolean>;
  /** Deletes the subscription (its dead letters stay until replayed, deleted or expired); false when missing. */
  deleteSubscription(id: string): Promise<boolean>;
  /**
   * A new current secret; the old one keeps signing until `previousExpiresAt`. False when the
   * subscription does not exist.
   */
  rotateSecret(id: string, secret: string, previous: { secret: string; expiresAt: string }): Promise<boolean>;

  /**
   * Creates (no `previous`) or moves on (`previous`: the stored one, compared by attempt) a pending
   * delivery. False when the condition failed: it already exists, or another attempt moved it first.
   */
  savePendingDelivery(pending: PendingDelivery, previous?: PendingDelivery): Promise<boolean>;
  getPendingDelivery(key: PendingKey): Promise<PendingDelivery | undefined>;
  /** Soonest due first; only those due by `dueBy` when given. */
  listPendingDeliveries(options?: { dueBy?: Date }): Promise<PendingDelivery[]>;
  /** False when it was gone or another attempt moved it on (compared by attempt). */
  deletePendingDelivery(pending: PendingDelivery): Promise<boolean>;

  /** Idempotent: recording the same (subscription, at, event) twice keeps one. */
  recordDeadLetter(deadLetter: DeadLetter): Promise<void>;
  /** Oldest first. */
  listDeadLetters(options?: { subscriptionId?: string }): Promise<DeadLetter[]>;
  /** False when it was already gone. */
  deleteDeadLetter(key: Pick<DeadLetter, 'subscriptionId' | 'at' | 'eventId'>): Promise<boolean>;
}

export class SubscriptionExistsError extends TunewireError {
  readonly code = 'WEBHOOK.SUBSCRIPTION_EXISTS';
  readonly retryable = false;
  constructor(readonly subscriptionId: string) {
    super(`webhook subscription ${subscriptionId} already exists`);
  }
}

export class SubscriptionNotFoundError extends TunewireError {
  readonly code = 'WEBHOOK.SUBSCRIPTION_NOT_FOUND';
  readonly retryable = false;
  constructor(readonly subscriptionId: string) {
    super(`webhook subscription ${subscriptionId} was not found`);
  }
}

/** A fresh Standard Webhooks secret (32 random bytes). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** A fresh subscription id: `sub_` + 20 hex characters. */
export function newSubscriptionId(): string {
  return `sub_${randomBytes(10).toString('hex')}`;
}

/**
 * A short, stable key for a target's URL (a pending delivery's key part): the first 16 hex digits
 * of its SHA-256, so no URL (nor a token in it) ends up in a key.
 */
export function targetKeyOf(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/**
 * The URL as lists show it: scheme and host (with port), the path and query masked, as a path or
 * query often carries a token (`https://hooks.slack.com/services/T0/B0/XXXX`).
 *
 * @example
 *   maskWebhookUrl('https://hooks.example.com/t/abc?token=1'); // 'https://hooks.example.com/…'
 *   maskWebhookUrl('https://hooks.example.com/');               // 'https://hooks.example.com/'
 */
export function maskWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '…';
  }
  const origin = `${parsed.protocol}//${parsed.host}`;
  return parsed.pathname === '/' && !parsed.search && !parsed.hash ? `${origin}/` : `${origin}/…`;
}

/** Does the subscription want this kind of event? */
export function subscribesTo(subscription: Pick<Subscription, 'events'>, kind: EventKind): boolean {
  return subscription.events.includes('*') || subscription.events.includes(kind);
}
