import { randomBytes } from 'node:crypto';
import { TunewireError } from '../domain/errors';
import type { AnyTunewireEvent, EventKind } from '../domain/events';

export { hasUserinfo, redactUrlsIn, redactWebhookUrl, webhookUrlSchema } from '../domain/webhook-url';

/** A webhook subscription: where to POST which of our events, and the key to sign them with. */
export interface Subscription {
  readonly id: string;
  readonly url: string;
  /** Event kinds (`job.finished`), or `['*']` for every kind. */
  readonly events: readonly (EventKind | '*')[];
  /** Standard Webhooks secret: `whsec_` + base64 of 24 to 64 random bytes. */
  readonly secret: string;
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
}

/**
 * What one attempt came to, as the retry loop needs it:
 * - delivered: 2xx
 * - retry: 408, 429, 5xx, a network error or timeout, a name that did not resolve
 * - gone: 410, the receiver asks us to stop (the subscription is disabled)
 * - failed: anything else (3xx, other 4xx, an unsafe target, a bad secret); trying again cannot help
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

/** Does the subscription want this kind of event? */
export function subscribesTo(subscription: Pick<Subscription, 'events'>, kind: EventKind): boolean {
  return subscription.events.includes('*') || subscription.events.includes(kind);
}
