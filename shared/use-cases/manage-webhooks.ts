import * as z from 'zod';
import { ValidationError } from '../domain/errors';
import { NOTIFY_EVENTS, zodIssues } from '../domain/spec';
import type { Clock } from '../ports/clock';
import {
  maskWebhookUrl,
  newSubscriptionId,
  newWebhookSecret,
  RESERVED_WEBHOOK_HEADERS,
  SubscriptionNotFoundError,
  WEBHOOK_FORMATS,
  webhookUrlSchema,
  type Subscription,
  type WebhookStore,
} from '../ports/webhooks';

export class SubscriptionValidationError extends ValidationError {
  override readonly code = 'WEBHOOK.SUBSCRIPTION_INVALID';
}

const RESERVED_HEADERS = new Set(RESERVED_WEBHOOK_HEADERS);

const secretSchema = z.string().regex(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, 'must be whsec_ followed by base64 of at least 16 bytes');

/**
 * Extra request headers, e.g. `{ "Authorization": "Bearer …" }`: stored sealed like the secret and
 * never listed (only their names are).
 */
const headersSchema = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be an HTTP header name')
      .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'is set by tunewire itself'),
    z.string().max(4_096).regex(/^[^\r\n\0]*$/, 'must be one line'),
  )
  .refine((h) => Object.keys(h).length <= 10, 'at most 10 headers');

/** POST /subscriptions and `tunewire webhooks add`: `{ url, events?, secret?, headers?, format? }`. */
export const newSubscriptionSchema = z.strictObject({
  url: webhookUrlSchema,
  events: z.array(z.enum([...NOTIFY_EVENTS, '*'])).min(1).default(['*']),
  secret: secretSchema.optional(),
  headers: headersSchema.optional(),
  /** `standard` (Standard Webhooks `{type, timestamp, data}`) or `slack` (`{text}`). */
  format: z.enum(WEBHOOK_FORMATS).default('standard'),
});

/**
 * Adds a subscription.
 *
 * 1. Parse the request (field-level errors; nothing written on bad input). A URL with a user name
 *    or password is refused here, before it can be stored, listed or dead-lettered.
 * 2. Give it a fresh id and, unless one was supplied, a fresh secret.
 * 3. Store it (conditional on the id being new; the store seals the secret and headers). The URL's
 *    address is checked on every delivery, not here: DNS can change between now and then.
 * 4. Return it with its secret: the only time the secret is shown.
 */
export async function addSubscription(deps: { store: WebhookStore; clock: Clock }, input: unknown): Promise<Subscription> {
  const parsed = newSubscriptionSchema.safeParse(input);
  if (!parsed.success) throw new SubscriptionValidationError('subscription', zodIssues(parsed.error), { cause: parsed.error });
  const subscription: Subscription = {
    id: newSubscriptionId(),
    url: parsed.data.url,
    events: parsed.data.events,
    secret: parsed.data.secret ?? newWebhookSecret(),
    ...(parsed.data.headers && Object.keys(parsed.data.headers).length ? { headers: parsed.data.headers } : {}),
    ...(parsed.data.format !== 'standard' ? { format: parsed.data.format } : {}),
    enabled: true,
    createdAt: deps.clock.now().toISOString(),
  };
  await deps.store.putSubscription(subscription);
  return subscription;
}

/** Throws SubscriptionNotFoundError when it does not exist. */
export async function removeSubscription(deps: { store: WebhookStore }, id: string): Promise<void> {
  if (!(await deps.store.deleteSubscription(id))) throw new SubscriptionNotFoundError(id);
}

/** How long the old secret keeps signing after a rotation, by default: a day. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 3_600_000;

const rotationSchema = z.strictObject({
  secret: secretSchema.optional(),
  /** Grace period in ms, at most 7 days. */
  graceMs: z.number().int().min(0).max(7 * 24 * 3_600_000).default(DEFAULT_ROTATION_GRACE_MS),
});

/**
 * Gives a subscription a new secret, the old one still signing for a grace period.
 *
 * 1. Parse `{ secret?, graceMs? }`; find the subscription (SubscriptionNotFoundError).
 * 2. The new secret (given, or fresh) becomes current; the current one becomes previous until
 *    now + grace. Every webhook in between carries both signatures, so the receiver switches
 *    whenever it likes. A previous secret still in its grace is dropped (two rotations in a row).
 * 3. Return the new secret and the grace's end: the only time the new secret is shown.
 */
export async function rotateSubscriptionSecret(deps: { store: WebhookStore; clock: Clock }, id: string, input: unknown = {}): Promise<{ id: string; secret: string; previousSecretExpiresAt: string }> {
  const parsed = rotationSchema.safeParse(input);
  if (!parsed.success) throw new SubscriptionValidationError('rotation', zodIssues(parsed.error), { cause: parsed.error });
  const current = await deps.store.getSubscription(id);
  if (!current) throw new SubscriptionNotFoundError(id);
  const secret = parsed.data.secret ?? newWebhookSecret();
  const expiresAt = new Date(deps.clock.now().getTime() + parsed.data.graceMs).toISOString();
  if (!(await deps.store.rotateSecret(id, secret, { secret: current.secret, expiresAt }))) throw new SubscriptionNotFoundError(id);
  return { id, secret, previousSecretExpiresAt: expiresAt };
}

/** A subscription as lists show it. */
export interface SubscriptionView {
  readonly id: string;
  /** Scheme and host only: paths and queries often carry tokens. */
  readonly url: string;
  readonly events: Subscription['events'];
  readonly format: NonNullable<Subscription['format']>;
  /** The names of its custom headers; their values are never shown. */
  readonly headers: readonly string[];
  readonly enabled: boolean;
  readonly disabledReason?: string;
  /** Set while an old secret still signs after a rotation. */
  readonly previousSecretExpiresAt?: string;
  readonly createdAt: string;
}

/**
 * What lists show: never a secret (shown once, when made), never a header's value, and the URL
 * masked to its scheme and host (`https://hooks.example.com/…`).
 */
export function subscriptionView(s: Subscription): SubscriptionView {
  return {
    id: s.id,
    url: maskWebhookUrl(s.url),
    events: s.events,
    format: s.format ?? 'standard',
    headers: Object.keys(s.headers ?? {}),
    enabled: s.enabled,
    ...(s.disabledReason ? { disabledReason: s.disabledReason } : {}),
    ...(s.previousSecretExpiresAt ? { previousSecretExpiresAt: s.previousSecretExpiresAt } : {}),
    createdAt: s.createdAt,
  };
}
