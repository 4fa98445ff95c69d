import { eventIds, makeEvent } from '../domain/events';
import { refOf, type JobRecord } from '../domain/job';
import { isTerminalTrialStatus } from '../domain/status';
import { selectBestTrial, withObjectiveFromMetrics, type Trial } from '../domain/trial';
import type { StoredTrial } from '../ports/ledger';
import type { Dependencies } from './dependencies';
import type { HandledEvent, ProviderTrialEvent } from './provider-events';

const MAX_PAGES_PER_CALL = 1000;

export interface SyncResult {
  /** Trials that were new or moved forward in this call. */
  readonly changed: number;
  /** Trials announced in this call (including ones a crashed call stored but never announced). */
  readonly announced: number;
  /** The job's best trial as the ledger knows it after this call. */
  readonly bestTrial: Trial | undefined;
}

/**
 * Bring the ledger's trials up to date with the provider, incrementally.
 *
 * 1. Read the provider's trials from the job's cursor onwards, page by page.
 * 2. Store each trial with a rank condition: a trial is never moved back or stored twice.
 * 3. Announce each finished trial that is stored but not announced (stable id per trial), then
 *    mark it announced; a crash in between only repeats an event consumers can drop.
 * 4. Offer the page's best to the job (conditional), then move the cursor.
 *
 * The cost per trial is flat: nothing here reads all trials of the job.
 */
export async function syncTrials(deps: Dependencies, job: JobRecord): Promise<SyncResult> {
  const { provider } = deps.providers.get(job.provider);
  const goal = job.spec.objective.goal;
  let cursor = job.trialCursor;
  let changed = 0;
  let announced = 0;
  let best = job.bestTrial;

  for (let page = 0; page < MAX_PAGES_PER_CALL; page++) {
    const { trials, cursor: next } = await provider.listTrials(refOf(job), cursor, job.spec);
    const stored: StoredTrial[] = [];
    for (const trial of trials) {
      const result = await deps.ledger.putTrial(job.jobId, trial);
      if (result.kind !== 'unchanged') changed++;
      stored.push(result.stored);
    }
    for (const trial of stored) {
      if (trial.announced || !isTerminalTrialStatus(trial.status)) continue;
      await announceTrial(deps, job, trial);
      announced++;
    }
    const pageBest = selectBestTrial(stored, goal);
    if (pageBest && (await deps.ledger.offerBestTrial(job.jobId, stripAnnounced(pageBest), goal))) {
      best = selectBestTrial([...(best ? [best] : []), pageBest], goal);
    }
    if (next === undefined || next === cursor) break;
    await deps.ledger.advanceTrialCursor(job.jobId, cursor, next);
    cursor = next;
  }
  return { changed, announced, bestTrial: best && stripAnnounced(best) };
}

async function announceTrial(deps: Dependencies, job: JobRecord, trial: StoredTrial): Promise<void> {
  await deps.bus.publish([
    makeEvent(
      'trial.finished',
      eventIds.trialFinished(job.jobId, trial.trialId),
      job.jobId,
      { jobId: job.jobId, name: job.name, provider: job.provider, providerJobName: job.providerJobName, trial: stripAnnounced(trial) },
      deps.clock.now(),
    ),
  ]);
  await deps.ledger.markTrialAnnounced(job.jobId, trial.trialId);
}

function stripAnnounced(trial: Trial): Trial {
  const { announced: _announced, ...rest } = trial as StoredTrial;
  return rest;
}

/**
 * Stores one trial a provider event carried in full (a SageMaker training-job event): no provider
 * call, so the cost per trial stays flat however large the job.
 */
async function storeEventTrial(deps: Dependencies, job: JobRecord, carried: Trial): Promise<SyncResult> {
  const goal = job.spec.objective.goal;
  const trial = withObjectiveFromMetrics(carried, job.spec.objective.metric);
  const result = await deps.ledger.putTrial(job.jobId, trial);
  let announced = 0;
  if (!result.stored.announced && isTerminalTrialStatus(result.stored.status)) {
    await announceTrial(deps, job, result.stored);
    announced = 1;
  }
  const better = selectBestTrial([result.stored], goal);
  if (better) await deps.ledger.offerBestTrial(job.jobId, stripAnnounced(better), goal);
  return { changed: result.kind === 'unchanged' ? 0 : 1, announced, bestTrial: job.bestTrial };
}

/**
 * Trial fan-out for one event: a provider's trial event, or our own job status change.
 *
 * 1. Find the job; events about jobs tunewire did not start are ignored.
 * 2. A trial carried whole by the event is stored and announced as it is.
 * 3. Otherwise sync the job's trials from the provider (see `syncTrials`).
 */
export async function fanOutTrials(deps: Dependencies, event: ProviderTrialEvent | { readonly jobId: string }): Promise<HandledEvent> {
  const job =
    'jobId' in event ? await deps.ledger.getJob(event.jobId) : await deps.ledger.findJobByProviderJob(event.provider, event.providerJobName);
  if (!job) return { outcome: 'ignored', detail: 'no tunewire job for this event' };
  if (job.status === 'submitting') return { outcome: 'ignored', jobId: job.jobId, detail: 'job not submitted yet' };
  const carried = 'trial' in event ? event.trial : undefined;
  const result = carried ? await storeEventTrial(deps, job, carried) : await syncTrials(deps, job);
  return {
    outcome: result.changed > 0 || result.announced > 0 ? 'applied' : 'duplicate',
    jobId: job.jobId,
    detail: `${result.changed} trial(s) stored, ${result.announced} announced`,
    counts: { trialsStored: result.changed, trialsAnnounced: result.announced },
  };
}
