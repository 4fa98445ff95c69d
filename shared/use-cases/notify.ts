import type { AnyTunewireEvent, EventKind } from '../domain/events';
import type { Clock } from '../ports/clock';
import { subscribesTo, type DeadLetter, type DeliveryResult, type SendWebhook, type WebhookStore, type WebhookTarget } from '../ports/webhooks';

/** A `notify` entry of a job's spec: `{ url, events }`. */
export interface SpecNotifyTarget {
  readonly url: string;
  readonly events: readonly string[];
}

export interface RetryPolicy {
  /** Attempts per target per event, the first included. Default 6. */
  readonly maxAttempts: number;
  /** Backoff before retry n is random() * min(maxDelayMs, baseDelayMs * 2^(n-1)) (full jitter). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A receiver's Retry-After is honoured up to this; beyond it we wait this long. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000, maxRetryAfterMs: 60_000 };

export interface NotifyDependencies {
  readonly store: WebhookStore;
  readonly send: SendWebhook;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  /** In [0, 1); Math.random in production. */
  readonly random: () => number;
  readonly retry?: Partial<RetryPolicy>;
  /** The job spec's own `notify` entries (events rarely carry the spec). */
  readonly specNotifyTargets?: (jobId: string) => Promise<readonly SpecNotifyTarget[]>;
  /** Signs webhooks to spec targets, which have no subscription secret; without it they are skipped. */
  readonly specSecret?: string;
  /** Ends retries early (a CLI process that exits): see NotifyShutdown. */
  readonly shutdown?: NotifyShutdown;
}

/**
 * How a short-lived process (the CLI) stops its webhook deliveries without losing them: once
 * `signal` aborts, a delivery waiting to retry (or not yet sent) stops and is recorded as a dead
 * letter, so `tunewire dead-letters replay` sends it later; an attempt already on the wire finishes.
 *
 * @example
 *   const stop = new AbortController();
 *   const deps = { ...notifyDeps, shutdown: { signal: stop.signal, onAbandoned: () => left++ } };
 *   stop.abort(); // at exit; `left` dead letters were recorded
 */
export interface NotifyShutdown {
  readonly signal: AbortSignal;
  /** Called once for each delivery cut short, after its dead letter is recorded. */
  readonly onAbandoned?: (deadLetter: DeadLetter) => void;
}

/** The dead letter's lastError for a delivery whose retries were cut short by a shutdown. */
export const ABANDONED_DELIVERY = 'not delivered: the CLI exited before the retries were done';

export interface TargetOutcome {
  readonly subscriptionId: string;
  readonly url: string;
  readonly outcome: 'delivered' | 'dead-lettered' | 'disabled' | 'skipped';
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
  /** The waits before each retry, in order. */
  readonly delaysMs: readonly number[];
}

export interface NotifyResult {
  readonly eventId: string;
  readonly targets: readonly TargetOutcome[];
}

/** `spec:<jobId>`: the dead-letter owner of a spec target. */
export function specSubscriptionId(jobId: string): string {
  return `spec:${jobId}`;
}

/**
 * Tells every interested receiver about one of our events.
 *
 * 1. Collect the targets: enabled subscriptions to the event's kind, then the job spec's own
 *    `notify` entries for the kind (a URL already covered by a subscription is sent once).
 * 2. For each target, at the same time: send; on a retryable result wait (Retry-After when the
 *    receiver gave one, capped, otherwise exponential backoff with full jitter) and send again, up
 *    to maxAttempts.
 * 3. 410 Gone disables the subscription; no more attempts.
 * 4. After the last failed attempt (or a failure retrying cannot fix), record a dead letter; also
 *    when a shutdown ends the retries early.
 * 5. One bad receiver never fails the others: only a store failure propagates, after every target
 *    has been tried, so the transport retries (receivers drop the repeats by webhook-id).
 */
export async function notify(deps: NotifyDependencies, event: AnyTunewireEvent): Promise<NotifyResult> {
  const targets = await collectTargets(deps, event);
  const settled = await Promise.allSettled(
    targets.map(async (t) => {
      if ('skip' in t) return t.skip;
      const { outcome, deadLetter, abandoned } = await deliver(deps, t, event);
      if (deadLetter) await deps.store.recordDeadLetter(deadLetter);
      if (deadLetter && abandoned) deps.shutdown?.onAbandoned?.(deadLetter);
      return outcome;
    }),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return { eventId: event.id, targets: settled.map((s) => (s as PromiseFulfilledResult<TargetOutcome>).value) };
}

type Planned = WebhookTarget | { readonly skip: TargetOutcome };

async function collectTargets(deps: NotifyDependencies, event: AnyTunewireEvent): Promise<Planned[]> {
  const subscriptions = (await deps.store.listSubscriptions()).filter((s) => s.enabled && subscribesTo(s, event.kind));
  const planned: Planned[] = subscriptions.map((s) => ({ subscriptionId: s.id, url: s.url, secret: s.secret }));
  const jobId = jobIdOf(event);
  if (!deps.specNotifyTargets || jobId === undefined) return planned;

  const covered = new Set(subscriptions.map((s) => s.url));
  for (const entry of await deps.specNotifyTargets(jobId)) {
    if (!entry.events.includes(event.kind as EventKind) || covered.has(entry.url)) continue;
    covered.add(entry.url);
    const subscriptionId = specSubscriptionId(jobId);
    if (!deps.specSecret) {
      planned.push({ skip: { subscriptionId, url: entry.url, outcome: 'skipped', attempts: 0, error: 'no signing secret is configured for spec notify targets', delaysMs: [] } });
    } else {
      planned.push({ subscriptionId, url: entry.url, secret: deps.specSecret });
    }
  }
  return planned;
}

function jobIdOf(event: AnyTunewireEvent): string | undefined {
  return 'jobId' in event.detail && typeof event.detail.jobId === 'string' ? event.detail.jobId : undefined;
}

/** Steps 2 and 3 for one target; the dead letter to record (step 4) when it was not delivered. */
async function deliver(deps: NotifyDependencies, target: WebhookTarget, event: AnyTunewireEvent): Promise<{ outcome: TargetOutcome; deadLetter?: DeadLetter; abandoned?: true }> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const delaysMs: number[] = [];
  let last: DeliveryResult | undefined;
  let attempts = 0;
  let abandoned = false;
  while (attempts < policy.maxAttempts) {
    if (deps.shutdown?.signal.aborted) {
      abandoned = true;
      break;
    }
    attempts += 1;
    last = await sendSafely(deps, target, event);
    if (last.outcome === 'delivered') return { outcome: { subscriptionId: target.subscriptionId, url: target.url, outcome: 'delivered', attempts, status: last.status, delaysMs } };
    if (last.outcome === 'gone') {
      // spec targets have no subscription to disable; they are dead-lettered like a failure
      if (await deps.store.setSubscriptionEnabled(target.subscriptionId, false, `${last.error} at ${deps.clock.now().toISOString()}`)) {
        return { outcome: { subscriptionId: target.subscriptionId, url: target.url, outcome: 'disabled', attempts, status: last.status, error: last.error, delaysMs } };
      }
      break;
    }
    if (last.outcome === 'failed' || attempts >= policy.maxAttempts) break;
    const delay = backoffMs(policy, attempts, last.retryAfterMs, deps.random);
    delaysMs.push(delay);
    await pause(deps, delay);
  }
  const result = last as Exclude<DeliveryResult, { outcome: 'delivered' }> | undefined;
  const lastError = abandoned ? `${ABANDONED_DELIVERY}${result ? ` (last attempt: ${result.error})` : ''}` : (result as Exclude<DeliveryResult, { outcome: 'delivered' }>).error;
  const deadLetter: DeadLetter = {
    subscriptionId: target.subscriptionId,
    url: target.url,
    eventId: event.id,
    event,
    attempts,
    lastError,
    at: deps.clock.now().toISOString(),
  };
  return {
    deadLetter,
    ...(abandoned ? { abandoned: true as const } : {}),
    outcome: {
      subscriptionId: target.subscriptionId,
      url: target.url,
      outcome: 'dead-lettered',
      attempts,
      ...(result?.status !== undefined ? { status: result.status } : {}),
      error: lastError,
      delaysMs,
    },
  };
}

/** Sleeps, or less when the shutdown signal aborts first (the loop then stops before sending). */
async function pause(deps: NotifyDependencies, ms: number): Promise<void> {
  const signal = deps.shutdown?.signal;
  if (!signal) return deps.sleep(ms);
  if (signal.aborted) return;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([deps.sleep(ms), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort as () => void);
  }
}

/** The wait before retry number `retry` (1-based). */
export function backoffMs(policy: RetryPolicy, retry: number, retryAfterMs: number | undefined, random: () => number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

async function sendSafely(deps: NotifyDependencies, target: WebhookTarget, event: AnyTunewireEvent): Promise<DeliveryResult> {
  try {
    return await deps.send(target, event, deps.clock.now());
  } catch (error) {
    // a sender is not supposed to throw; if it does, it is this receiver's attempt that failed
    return { outcome: 'retry', error: error instanceof Error ? error.message : String(error) };
  }
}

export interface ReplayOutcome {
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly at: string;
  readonly outcome: 'delivered' | 'failed' | 'skipped';
  readonly detail?: string;
}

/**
 * Sends dead letters again, and removes each one that is delivered.
 *
 * 1. List the dead letters (of one subscription, or all), oldest first.
 * 2. For each, find its target: the subscription (skipped when deleted or disabled), or for a spec
 *    target the stored URL with the spec secret.
 * 3. Deliver with the same retry policy as notify; the webhook-id is the original event id, so a
 *    receiver that did get it before drops it.
 * 4. Delivered: delete the dead letter. Not delivered: keep it as it is (one letter per failure,
 *    however often it is replayed).
 */
export async function replayDeadLetters(deps: NotifyDependencies, options: { subscriptionId?: string } = {}): Promise<ReplayOutcome[]> {
  const letters = await deps.store.listDeadLetters(options.subscriptionId ? { subscriptionId: options.subscriptionId } : {});
  const outcomes: ReplayOutcome[] = [];
  for (const letter of letters) {
    const base = { subscriptionId: letter.subscriptionId, eventId: letter.eventId, at: letter.at };
    const target = await replayTarget(deps, letter);
    if ('skip' in target) {
      outcomes.push({ ...base, outcome: 'skipped', detail: target.skip });
      continue;
    }
    const { outcome: result } = await deliver(deps, target, letter.event);
    if (result.outcome === 'delivered') {
      await deps.store.deleteDeadLetter(letter);
      outcomes.push({ ...base, outcome: 'delivered', detail: `after ${result.attempts} attempt(s)` });
    } else {
      outcomes.push({ ...base, outcome: 'failed', detail: result.error ?? result.outcome });
    }
  }
  return outcomes;
}

async function replayTarget(deps: NotifyDependencies, letter: DeadLetter): Promise<WebhookTarget | { skip: string }> {
  if (letter.subscriptionId.startsWith('spec:')) {
    if (!deps.specSecret) return { skip: 'no signing secret is configured for spec notify targets' };
    return { subscriptionId: letter.subscriptionId, url: letter.url, secret: deps.specSecret };
  }
  const subscription = await deps.store.getSubscription(letter.subscriptionId);
  if (!subscription) return { skip: 'the subscription was deleted' };
  if (!subscription.enabled) return { skip: `the subscription is disabled${subscription.disabledReason ? ` (${subscription.disabledReason})` : ''}` };
  return { subscriptionId: subscription.id, url: subscription.url, secret: subscription.secret };
}
