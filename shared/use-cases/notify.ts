import type { AnyTunewireEvent, EventKind } from '../domain/events';
import type { Clock } from '../ports/clock';
import {
  subscribesTo,
  targetKeyOf,
  type DeadLetter,
  type DeliveryResult,
  type DeliveryScheduler,
  type PendingDelivery,
  type RetryTicket,
  type SendWebhook,
  type Subscription,
  type WebhookStore,
  type WebhookTarget,
} from '../ports/webhooks';

/** A `notify` entry of a job's spec: `{ url, events }`. */
export interface SpecNotifyTarget {
  readonly url: string;
  readonly events: readonly string[];
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * The Standard Webhooks schedule: the wait before each attempt, the first (0) included; after the
 * last one, a dead letter. About 28 hours from the first attempt to the last.
 */
export const STANDARD_WEBHOOKS_SCHEDULE_MS: readonly number[] = [0, 5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

export interface RetryPolicy {
  /** The wait before attempt n is scheduleMs[n - 1]; attempts = scheduleMs.length. */
  readonly scheduleMs: readonly number[];
  /** Up to this fraction of a wait is added at random, so many retries do not arrive together. */
  readonly jitter: number;
  /** A receiver's Retry-After longer than the scheduled wait is honoured, up to this. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { scheduleMs: STANDARD_WEBHOOKS_SCHEDULE_MS, jitter: 0.1, maxRetryAfterMs: 10 * HOUR };

/** The secrets that sign a webhook: the current one, and older ones still in their grace period. */
export interface SigningSecrets {
  readonly secret: string;
  readonly previousSecrets: readonly string[];
}

export interface NotifyDependencies {
  readonly store: WebhookStore;
  readonly send: SendWebhook;
  readonly clock: Clock;
  /** In [0, 1); Math.random in production (the jitter). */
  readonly random: () => number;
  /**
   * Wakes a pending delivery when it is due. Without one, pending deliveries wait in the store for
   * a poller (runDueDeliveries, as the local RetryRunner does).
   */
  readonly scheduler?: DeliveryScheduler;
  readonly retry?: Partial<RetryPolicy>;
  /** The job spec's own `notify` entries (events rarely carry the spec). */
  readonly specNotifyTargets?: (jobId: string) => Promise<readonly SpecNotifyTarget[]>;
  /** The secrets for one spec `notify` URL (derived from a master key); without it spec targets are skipped. */
  readonly specSigning?: (url: string) => SigningSecrets;
}

export interface TargetOutcome {
  readonly subscriptionId: string;
  readonly url: string;
  readonly outcome: 'delivered' | 'scheduled' | 'dead-lettered' | 'disabled' | 'skipped';
  /** The attempt this outcome came from (0 when none was made). */
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
  /** scheduled: when the next attempt is due. */
  readonly nextAttemptAt?: string;
}

export interface NotifyResult {
  readonly eventId: string;
  readonly targets: readonly TargetOutcome[];
}

/** `spec:<jobId>`: the dead-letter owner of a spec target. */
export function specSubscriptionId(jobId: string): string {
  return `spec:${jobId}`;
}

const NO_SPEC_SECRET = 'no signing secret is configured for spec notify targets';

/**
 * Tells every interested receiver about one of our events: the first attempt now, later ones by
 * the platform (the scheduler), never by waiting here.
 *
 * 1. Collect the targets: enabled subscriptions to the event's kind, then the job spec's own
 *    `notify` entries for the kind (a URL already covered by a subscription is sent once).
 * 2. For each target, at the same time: the first attempt (see settleAttempt for what follows it).
 * 3. One bad receiver never fails the others: only a store or scheduler failure propagates, after
 *    every target has been tried, so the transport retries (receivers drop repeats by webhook-id).
 */
export async function notify(deps: NotifyDependencies, event: AnyTunewireEvent): Promise<NotifyResult> {
  const targets = await collectTargets(deps, event);
  const settled = await Promise.allSettled(
    targets.map(async (t) => {
      if ('skip' in t) return t.skip;
      const result = await sendSafely(deps, t, event);
      return settleAttempt(deps, { target: t, event, attempt: 1, result, firstAttemptAt: deps.clock.now().toISOString() });
    }),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return { eventId: event.id, targets: settled.map((s) => (s as PromiseFulfilledResult<TargetOutcome>).value) };
}

/** What retryDelivery did with one ticket. */
export type RetryOutcome = TargetOutcome | { readonly outcome: 'stale' | 'rescheduled' | 'claimed-elsewhere'; readonly dueAt?: string };

/** How long a claimed attempt is ours before another runner may take it (longer than any attempt). */
export const CLAIM_LEASE_MS = 2 * MINUTE;

/**
 * Makes the attempt a ticket is for, when it is due.
 *
 * 1. Load the pending delivery; a ticket for another attempt (a duplicate, or one already made) is
 *    dropped.
 * 2. Not due yet (a queue's delay is at most 15 minutes): schedule the ticket again for its time.
 * 3. Claim the attempt (a conditional write moving dueAt a lease ahead), so two runners that got
 *    the same ticket do not both send; a runner that dies mid-attempt leaves it to the next after
 *    the lease.
 * 4. Find the target afresh: a deleted or disabled subscription ends the delivery (skipped); a
 *    rotated secret is used at once.
 * 5. Send, and settle as after the first attempt.
 */
export async function retryDelivery(deps: NotifyDependencies, ticket: RetryTicket): Promise<RetryOutcome> {
  const pending = await deps.store.getPendingDelivery(ticket);
  if (!pending || pending.attempt !== ticket.attempt) return { outcome: 'stale' };
  const now = deps.clock.now();
  if (Date.parse(pending.dueAt) > now.getTime()) {
    await deps.scheduler?.schedule(ticket, new Date(pending.dueAt));
    return { outcome: 'rescheduled', dueAt: pending.dueAt };
  }
  const claimed: PendingDelivery = { ...pending, dueAt: new Date(now.getTime() + CLAIM_LEASE_MS).toISOString() };
  if (!(await deps.store.savePendingDelivery(claimed, pending))) return { outcome: 'claimed-elsewhere' };

  const target = await currentTarget(deps, pending);
  if ('skip' in target) {
    await deps.store.deletePendingDelivery(claimed);
    return { subscriptionId: pending.subscriptionId, url: pending.url, outcome: 'skipped', attempts: pending.attempt - 1, error: target.skip };
  }
  const result = await sendSafely(deps, target, pending.event);
  return settleAttempt(deps, { target, event: pending.event, attempt: pending.attempt, result, firstAttemptAt: pending.firstAttemptAt, pending: claimed });
}

/**
 * Every pending delivery due by now, one after another: what a poller (the local RetryRunner)
 * runs. Also picks up deliveries whose runner died, once their claim's lease is over.
 */
export async function runDueDeliveries(deps: NotifyDependencies): Promise<RetryOutcome[]> {
  const due = await deps.store.listPendingDeliveries({ dueBy: deps.clock.now() });
  const outcomes: RetryOutcome[] = [];
  for (const p of due) outcomes.push(await retryDelivery(deps, { subscriptionId: p.subscriptionId, targetKey: p.targetKey, eventId: p.eventId, attempt: p.attempt }));
  return outcomes;
}

type Planned = WebhookTarget | { readonly skip: TargetOutcome };

async function collectTargets(deps: NotifyDependencies, event: AnyTunewireEvent): Promise<Planned[]> {
  const subscriptions = (await deps.store.listSubscriptions()).filter((s) => s.enabled && subscribesTo(s, event.kind));
  const now = deps.clock.now();
  const planned: Planned[] = subscriptions.map((s) => subscriptionTarget(s, now));
  const jobId = jobIdOf(event);
  if (!deps.specNotifyTargets || jobId === undefined) return planned;

  const covered = new Set(subscriptions.map((s) => s.url));
  for (const entry of await deps.specNotifyTargets(jobId)) {
    if (!entry.events.includes(event.kind as EventKind) || covered.has(entry.url)) continue;
    covered.add(entry.url);
    const subscriptionId = specSubscriptionId(jobId);
    if (!deps.specSigning) {
      planned.push({ skip: { subscriptionId, url: entry.url, outcome: 'skipped', attempts: 0, error: NO_SPEC_SECRET } });
    } else {
      planned.push({ subscriptionId, url: entry.url, ...deps.specSigning(entry.url) });
    }
  }
  return planned;
}

function subscriptionTarget(s: Subscription, now: Date): WebhookTarget {
  // the old secret signs too until its grace period is over
  const previous = s.previousSecret && s.previousSecretExpiresAt && Date.parse(s.previousSecretExpiresAt) > now.getTime() ? [s.previousSecret] : [];
  return {
    subscriptionId: s.id,
    url: s.url,
    secret: s.secret,
    previousSecrets: previous,
    ...(s.headers ? { headers: s.headers } : {}),
    ...(s.format ? { format: s.format } : {}),
  };
}

async function currentTarget(deps: NotifyDependencies, p: { subscriptionId: string; url: string }): Promise<WebhookTarget | { skip: string }> {
  if (p.subscriptionId.startsWith('spec:')) {
    if (!deps.specSigning) return { skip: NO_SPEC_SECRET };
    return { subscriptionId: p.subscriptionId, url: p.url, ...deps.specSigning(p.url) };
  }
  const subscription = await deps.store.getSubscription(p.subscriptionId);
  if (!subscription) return { skip: 'the subscription was deleted' };
  if (!subscription.enabled) return { skip: `the subscription is disabled${subscription.disabledReason ? ` (${subscription.disabledReason})` : ''}` };
  return subscriptionTarget(subscription, deps.clock.now());
}

function jobIdOf(event: AnyTunewireEvent): string | undefined {
  return 'jobId' in event.detail && typeof event.detail.jobId === 'string' ? event.detail.jobId : undefined;
}

interface Attempted {
  readonly target: WebhookTarget;
  readonly event: AnyTunewireEvent;
  /** The attempt just made (1-based). */
  readonly attempt: number;
  readonly result: DeliveryResult;
  readonly firstAttemptAt: string;
  /** The stored pending delivery the attempt came from (after the first attempt: none). */
  readonly pending?: PendingDelivery;
}

/**
 * After one attempt:
 * 1. 2xx: delivered; the pending delivery (if any) is done.
 * 2. 410 Gone: the subscription is disabled; a spec target (nothing to disable) is a dead letter.
 * 3. A failure retrying cannot fix (3xx, 4xx but 408/409/425/429, an unsafe target): dead letter now.
 * 4. Retryable, with attempts left: the pending delivery is stored with its next attempt and due
 *    time (the schedule's wait with jitter, or the receiver's longer Retry-After, capped), and the
 *    scheduler is told. With none left: dead letter.
 */
async function settleAttempt(deps: NotifyDependencies, a: Attempted): Promise<TargetOutcome> {
  const { target, event, attempt, result } = a;
  const base = { subscriptionId: target.subscriptionId, url: target.url, attempts: attempt };
  const done = async () => {
    if (a.pending) await deps.store.deletePendingDelivery(a.pending);
  };
  if (result.outcome === 'delivered') {
    await done();
    return { ...base, outcome: 'delivered', status: result.status };
  }
  if (result.outcome === 'gone' && !target.subscriptionId.startsWith('spec:')) {
    await deps.store.setSubscriptionEnabled(target.subscriptionId, false, `${result.error} at ${deps.clock.now().toISOString()}`);
    await done();
    return { ...base, outcome: 'disabled', status: result.status, error: result.error };
  }
  const policy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const status = result.status !== undefined ? { status: result.status } : {};
  if (result.outcome === 'retry' && attempt < policy.scheduleMs.length) {
    const now = deps.clock.now();
    const dueAt = new Date(now.getTime() + waitBeforeAttempt(policy, attempt + 1, result.retryAfterMs, deps.random));
    const next: PendingDelivery = {
      subscriptionId: target.subscriptionId,
      targetKey: targetKeyOf(target.url),
      url: target.url,
      eventId: event.id,
      event,
      attempt: attempt + 1,
      dueAt: dueAt.toISOString(),
      lastError: result.error,
      ...status,
      firstAttemptAt: a.firstAttemptAt,
    };
    // The ticket first, then the record: a ticket without its record is dropped as stale, while a
    // record without a ticket would never be woken on AWS (no poller there). If the save fails
    // (false: the event is already pending here, or another runner moved it on), someone else owns
    // the next attempt and this ticket finds nothing to do.
    await deps.scheduler?.schedule({ subscriptionId: next.subscriptionId, targetKey: next.targetKey, eventId: next.eventId, attempt: next.attempt }, dueAt);
    await deps.store.savePendingDelivery(next, a.pending);
    return { ...base, outcome: 'scheduled', ...status, error: result.error, nextAttemptAt: next.dueAt };
  }
  const deadLetter: DeadLetter = { subscriptionId: target.subscriptionId, url: target.url, eventId: event.id, event, attempts: attempt, lastError: result.error, at: deps.clock.now().toISOString() };
  await deps.store.recordDeadLetter(deadLetter);
  await done();
  return { ...base, outcome: 'dead-lettered', ...status, error: result.error };
}

/** The wait before attempt `attempt` (2 for the first retry). */
export function waitBeforeAttempt(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random: () => number): number {
  const scheduled = policy.scheduleMs[Math.min(attempt, policy.scheduleMs.length) - 1] ?? 0;
  const jittered = scheduled + Math.floor(random() * scheduled * policy.jitter);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, policy.maxRetryAfterMs));
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
 * Sends dead letters again, once each, and removes each one that is delivered.
 *
 * 1. List the dead letters (of one subscription, or all), oldest first.
 * 2. For each, find its target: the subscription (skipped when deleted or disabled), or for a spec
 *    target the stored URL with its derived secret.
 * 3. One attempt (the operator asked for it now; the schedule is over); the webhook-id is the
 *    original event id, so a receiver that did get it before drops it.
 * 4. Delivered: delete the dead letter. Not delivered: keep it as it is (one letter per failure,
 *    however often it is replayed).
 */
export async function replayDeadLetters(deps: NotifyDependencies, options: { subscriptionId?: string } = {}): Promise<ReplayOutcome[]> {
  const letters = await deps.store.listDeadLetters(options.subscriptionId ? { subscriptionId: options.subscriptionId } : {});
  const outcomes: ReplayOutcome[] = [];
  for (const letter of letters) {
    const base = { subscriptionId: letter.subscriptionId, eventId: letter.eventId, at: letter.at };
    const target = await currentTarget(deps, letter);
    if ('skip' in target) {
      outcomes.push({ ...base, outcome: 'skipped', detail: target.skip });
      continue;
    }
    const result = await sendSafely(deps, target, letter.event);
    if (result.outcome === 'delivered') {
      await deps.store.deleteDeadLetter(letter);
      outcomes.push({ ...base, outcome: 'delivered', detail: `HTTP ${result.status}` });
    } else {
      outcomes.push({ ...base, outcome: 'failed', detail: result.error });
    }
  }
  return outcomes;
}
