import * as z from 'zod';
import { ValidationError } from '../domain/errors';
import { NOTIFY_EVENTS, zodIssues } from '../domain/spec';
import type { Clock } from '../ports/clock';
import { newSubscriptionId, newWebhookSecret, redactWebhookUrl, SubscriptionNotFoundError, webhookUrlSchema, type Subscription, type WebhookStore } from '../ports/webhooks';

export class SubscriptionValidationError extends ValidationError {
  override readonly code = 'WEBHOOK.SUBSCRIPTION_INVALID';
}

/** POST /subscriptions and `tunewire webhooks add`: `{ url, events?, secret? }`. */
export const newSubscriptionSchema = z.strictObject({
  url: webhookUrlSchema,
  events: z.array(z.enum([...NOTIFY_EVENTS, '*'])).min(1).default(['*']),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, 'must be whsec_ followed by base64 of at least 16 bytes')
    .optional(),
});

/**
 * Adds a subscription.
 *
 * 1. Parse the request (field-level errors; nothing written on bad input). A URL with a user name
 *    or password is refused here, before it can be stored, listed or dead-lettered.
 * 2. Give it a fresh id and, unless one was supplied, a fresh secret.
 * 3. Store it (conditional on the id being new). The URL's address is checked on every delivery,
 *    not here: DNS can change between now and then.
 */
export async function addSubscription(deps: { store: WebhookStore; clock: Clock }, input: unknown): Promise<Subscription> {
  const parsed = newSubscriptionSchema.safeParse(input);
  if (!parsed.success) throw new SubscriptionValidationError('subscription', zodIssues(parsed.error), { cause: parsed.error });
  const subscription: Subscription = {
    id: newSubscriptionId(),
    url: parsed.data.url,
    events: parsed.data.events,
    secret: parsed.data.secret ?? newWebhookSecret(),
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

/**
 * What lists show: never the secret (it is shown once, when the subscription is added), and never
 * a URL's credentials (a subscription stored before they were refused shows `https://***@host/...`).
 */
export function subscriptionView(s: Subscription): Omit<Subscription, 'secret'> {
  const { secret: _secret, ...rest } = s;
  return { ...rest, url: redactWebhookUrl(rest.url) };
}
