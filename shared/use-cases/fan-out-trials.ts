import { refOf, type JobRecord } from '../domain/job';
import { isTerminalJobStatus, isTerminalTrialStatus } from '../domain/status';
import { awaitsObjective, isBetter, selectBestTrial, withObjectiveFromMetrics, type Trial } from '../domain/trial';
import type { StoredTrial } from '../ports/ledger';
import { announceTrial, holderOf, type AnnouncingDependencies } from './announce';
import type { HandledEvent, ProviderTrialEvent } from './provider-events';

const MAX_PAGES_PER_CALL = 1000;

/**
 * How long trials whose events came without an objective may wait for a listing that settles
 * them together. One listing settles every trial finished by then, so a job whose events never
 * carry metrics costs one List call per interval instead of one per trial; the job's final sync
 * settles whatever is still waiting.
 */
export const TRIAL_SETTLE_INTERVAL_MS = 10 * 60_000;

export interface SyncResult {
  /** Trials that were new or changed in this call. */
  readonly changed: number;
  /** Trials announced in this call (including ones a crashed call stored but never announced). */
  readonly announced: number;
  /** Finished trials left unannounced until a listing brings their objective. */
  readonly waiting: number;
  /** The job's best trial as the ledger knows it after this call. */
  readonly bestTrial: Trial | undefined;
}

/**
 * Bring the ledger's trials up to date with the provider, incrementally.
 *
 * 1. Read the provider's trials from the job's cursor onwards, page by page, until the provider
 *    says the read is complete or the cursor stops moving.
 * 2. Merge each listed trial into the ledger as the provider's word (`mergeTrial`): it outranks
 *    what events said, and adds to it; nothing known is lost.
 * 3. Announce each finished trial that is stored but not announced, under a ledger claim on its
 *    event id (`announceTrial`): of all the fan-outs that see it, one publishes. A trial the
 *    provider has not yet judged waits, unless the job is over (then it goes out as it stands).
 * 4. Offer the page's best to the job (conditional), then move the cursor.
 * 5. If the listing lowered the value of the job's best trial (an event had claimed more), the
 *    job's best is chosen again from all its trials.
 *
 * The cost per trial is flat: nothing here reads all trials of the job, but for that correction.
 */
export async function syncTrials(deps: AnnouncingDependencies, job: JobRecord, holder = holderOf(undefined)): Promise<SyncResult> {
  const { provider } = deps.providers.get(job.provider);
  const goal = job.spec.objective.goal;
  const final = isTerminalJobStatus(job.status);
  let cursor = job.trialCursor;
  let [changed, announced, waiting] = [0, 0, 0];
  let best = job.bestTrial;
  let bestLowered = false;

  for (let page = 0; page < MAX_PAGES_PER_CALL; page++) {
    const { trials, cursor: next, complete } = await provider.listTrials(refOf(job), cursor, job.spec);
    const observedAt = deps.clock.now().toISOString();
    const stored: StoredTrial[] = [];
    for (const trial of trials) {
      const result = await deps.ledger.putTrial(job.jobId, { trial, source: 'provider', observedAt });
      if (result.kind !== 'unchanged') changed++;
      if (lowersBest(best, result.stored, goal)) bestLowered = true;
      stored.push(result.stored);
    }
    for (const trial of stored) {
      if (trial.announced || !isTerminalTrialStatus(trial.status)) continue;
      if (awaitsObjective(trial) && !final) {
        waiting++;
        continue;
      }
      if (await announceTrial(deps, job, stripAnnounced(trial), holder)) announced++;
    }
    const pageBest = selectBestTrial(stored, goal);
    if (pageBest && (await deps.ledger.offerBestTrial(job.jobId, stripAnnounced(pageBest), goal))) {
      best = selectBestTrial([...(best && best.trialId !== pageBest.trialId ? [best] : []), pageBest], goal);
    }
    if (next === undefined || next === cursor) break;
    await deps.ledger.advanceTrialCursor(job.jobId, cursor, next);
    cursor = next;
    if (complete) break;
  }
  if (bestLowered) best = await chooseBestAgain(deps, job);
  return { changed, announced, waiting, bestTrial: best && stripAnnounced(best) };
}

/** True when `stored` is the job's best trial, now with a worse value than the best recorded. */
function lowersBest(best: Trial | undefined, stored: Trial, goal: JobRecord['spec']['objective']['goal']): boolean {
  if (!best || best.trialId !== stored.trialId || best.objectiveValue === undefined) return false;
  return stored.objectiveValue === undefined || isBetter(goal, best.objectiveValue, stored.objectiveValue);
}

/** The job's best chosen again from all its trials, and written to the job. */
async function chooseBestAgain(deps: AnnouncingDependencies, job: JobRecord): Promise<Trial | undefined> {
  const best = selectBestTrial(await deps.ledger.listTrials(job.jobId), job.spec.objective.goal);
  const chosen = best && stripAnnounced(best);
  await deps.ledger.setBestTrial(job.jobId, chosen);
  return chosen;
}

/**
 * At the job's end: announces every finished trial still unannounced, whatever page it was on. A
 * claim another handler holds is taken over, lease or not: that handler may have died (a delivery
 * that gave up between claim and publish), and after the job's end nothing else would come back
 * for the trial; if it lives, its repeat carries the same bytes. One read of the job's trials.
 */
export async function announceRemainingTrials(deps: AnnouncingDependencies, job: JobRecord, holder: string): Promise<number> {
  let announced = 0;
  for (const trial of await deps.ledger.listTrials(job.jobId)) {
    if (trial.announced || !isTerminalTrialStatus(trial.status)) continue;
    if (await announceTrial(deps, job, stripAnnounced(trial), holder, { takeOver: true })) announced++;
  }
  return announced;
}

function stripAnnounced(trial: Trial): Trial {
  const { announced: _announced, ...rest } = trial as StoredTrial;
  return rest;
}

/**
 * Stores one trial a provider event described, merged into what the ledger knows. An event that
 * carries the objective costs no provider call. One that does not (AWS's documented training-job
 * event has no metrics) leaves the trial waiting: the first such event after the settle interval
 * claims a listing, which settles it and every other trial finished by then; the others wait
 * for the next claim or the job's final sync. A trial is announced with its objective, not before.
 */
async function storeEventTrial(deps: AnnouncingDependencies, job: JobRecord, carried: Trial, observedAt: string, holder: string): Promise<SyncResult> {
  const goal = job.spec.objective.goal;
  const trial = withObjectiveFromMetrics(carried, job.spec.objective.metric);
  const result = await deps.ledger.putTrial(job.jobId, { trial, source: 'event', observedAt });
  const changed = result.kind === 'unchanged' ? 0 : 1;
  const { stored } = result;
  if (!stored.announced && isTerminalTrialStatus(stored.status) && awaitsObjective(stored)) {
    // Until the submit has recorded the provider's job there is nothing to list: the trial waits.
    if (job.status === 'submitting') return { changed, announced: 0, waiting: 1, bestTrial: job.bestTrial };
    const now = deps.clock.now();
    const since = new Date(now.getTime() - (deps.trialSettleIntervalMs ?? TRIAL_SETTLE_INTERVAL_MS)).toISOString();
    if (!(await deps.ledger.claimTrialListing(job.jobId, now.toISOString(), since))) return { changed, announced: 0, waiting: 1, bestTrial: job.bestTrial };
    const synced = await syncTrials(deps, job, holder);
    return { ...synced, changed: changed + synced.changed };
  }
  let announced = 0;
  if (!stored.announced && isTerminalTrialStatus(stored.status) && (await announceTrial(deps, job, stripAnnounced(stored), holder))) announced = 1;
  if (lowersBest(job.bestTrial, stored, goal)) return { changed, announced, waiting: 0, bestTrial: await chooseBestAgain(deps, job) };
  const better = selectBestTrial([stored], goal);
  if (better) await deps.ledger.offerBestTrial(job.jobId, stripAnnounced(better), goal);
  return { changed, announced, waiting: 0, bestTrial: job.bestTrial };
}

/** The event's job: by tunewire id where the event carries one (a tag), else by the provider's job name. */
async function findJob(deps: AnnouncingDependencies, event: ProviderTrialEvent | { readonly jobId: string }): Promise<JobRecord | undefined> {
  if ('provider' in event) {
    const byId = event.jobId !== undefined ? await deps.ledger.getJob(event.jobId) : undefined;
    if (byId && byId.provider === event.provider) return byId;
    return event.providerJobName ? deps.ledger.findJobByProviderJob(event.provider, event.providerJobName) : undefined;
  }
  return deps.ledger.getJob(event.jobId);
}

/**
 * Trial fan-out for one event: a provider's trial event, or our own job status change.
 *
 * 1. Find the job; events about jobs tunewire did not start are ignored.
 * 2. A trial the event describes is merged into the ledger (even before the submit has finished)
 *    and announced once its objective is known (see `storeEventTrial`).
 * 3. Otherwise sync the job's trials from the provider (see `syncTrials`).
 */
export async function fanOutTrials(deps: AnnouncingDependencies, event: ProviderTrialEvent | { readonly jobId: string }): Promise<HandledEvent> {
  const job = await findJob(deps, event);
  if (!job) return { outcome: 'ignored', detail: 'no tunewire job for this event' };
  const carried = 'trial' in event ? event.trial : undefined;
  // A trial event can outrun the submit that launched its job: what it says is kept all the same.
  if (job.status === 'submitting' && !carried) return { outcome: 'ignored', jobId: job.jobId, detail: 'job not submitted yet' };
  const observedAt = ('observedAt' in event ? event.observedAt : undefined) ?? deps.clock.now().toISOString();
  const holder = holderOf('eventId' in event ? event.eventId : undefined);
  const result = carried ? await storeEventTrial(deps, job, carried, observedAt, holder) : await syncTrials(deps, job, holder);
  return {
    outcome: result.changed > 0 || result.announced > 0 ? 'applied' : 'duplicate',
    jobId: job.jobId,
    detail: `${result.changed} trial(s) stored, ${result.announced} announced${result.waiting > 0 ? `, ${result.waiting} waiting for the provider's objective` : ''}`,
    counts: { trialsStored: result.changed, trialsAnnounced: result.announced },
  };
}
