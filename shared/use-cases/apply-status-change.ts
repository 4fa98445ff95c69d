import { ConcurrencyError } from '../domain/errors';
import { observationDiffers, refOf, type JobObservation, type JobRecord } from '../domain/job';
import { judgeJobTransition } from '../domain/status';
import type { ArrivalRecord } from '../ports/ledger';
import { announceJob, holderOf, type AnnouncingDependencies } from './announce';
import { announceRemainingTrials, syncTrials } from './fan-out-trials';
import type { HandledEvent, ProviderJobEvent } from './provider-events';

const MAX_RACES = 8;

/**
 * Apply a provider's job status event to the ledger.
 *
 * 1. Find the job by its provider name; a job tunewire did not start is ignored.
 * 2. Judge the event's claim against the ledger: an older claim is stale and changes nothing.
 * 3. Where events are only hints (SageMaker), ask the provider for the truth.
 * 4. Write the transition, the dedupe marker and the history entry in one transaction; a delivery
 *    seen before is a duplicate. Lost races re-read and judge again.
 * 5. Announce, in order, what the ledger holds but has not yet announced (also after a crash):
 *    each announcement under the job's claim (`announceJob`), timed by the provider observation.
 *    Before Tuning Job Finished the remaining trials are read and announced, so it names the best.
 */
export async function applyStatusChange(deps: AnnouncingDependencies, event: ProviderJobEvent): Promise<HandledEvent> {
  let job = (await deps.ledger.findJobByProviderJob(event.provider, event.providerJobName)) ?? (await findByProviderJobId(deps, event));
  if (!job) return { outcome: 'ignored', detail: `no tunewire job for ${event.provider} job ${event.providerJobName}` };
  const { provider } = deps.providers.get(job.provider);

  const arrival = (outcome: ArrivalRecord['outcome']): ArrivalRecord => ({
    eventId: event.eventId,
    receivedAt: deps.clock.now().toISOString(),
    source: event.source,
    outcome,
    ...(event.claimed ? { claimedStatus: event.claimed.providerStatus } : {}),
  });

  if (event.claimed && judgeJobTransition(job.status, event.claimed.status, times(job, event.claimed)) === 'stale') {
    const recorded = await deps.ledger.recordArrival(job.jobId, arrival('stale'));
    await announcePending(deps, job, event.eventId);
    return { outcome: recorded === 'duplicate' ? 'duplicate' : 'stale', jobId: job.jobId, detail: `${event.claimed.status} is behind ${job.status}` };
  }

  const trusted = event.claimed && (event.confirmed || !provider.eventsNeedConfirmation);
  const observation = trusted && event.claimed ? event.claimed : await provider.describe(refOf(job));

  for (let race = 0; race < MAX_RACES; race++) {
    const verdict = refreshes(job, observation) ? 'advance' : judgeJobTransition(job.status, observation.status, times(job, observation));
    if (verdict !== 'advance') {
      const recorded = await deps.ledger.recordArrival(job.jobId, arrival(verdict === 'stale' ? 'stale' : 'ignored'));
      await announcePending(deps, job, event.eventId);
      const outcome = recorded === 'duplicate' ? 'duplicate' : verdict === 'stale' ? 'stale' : 'ignored';
      return { outcome, jobId: job.jobId, detail: `already ${job.status}` };
    }
    const result = await deps.ledger.transitionJob({ job, observation, arrival: arrival('applied') });
    if (result.kind === 'conflict') {
      job = result.job;
      continue;
    }
    if (result.kind === 'duplicate') {
      await announcePending(deps, result.job, event.eventId);
      return { outcome: 'duplicate', jobId: job.jobId };
    }
    const from = job.status;
    await announcePending(deps, result.job, event.eventId);
    return { outcome: 'applied', jobId: job.jobId, detail: `${from} -> ${result.job.status}` };
  }
  throw new ConcurrencyError(`job ${job.jobId}: lost ${MAX_RACES} races applying ${event.eventId}`);
}

/**
 * The same status with newer details (provider status, trial counts) is written too, so the
 * ledger matches the provider and a watcher comparing the two does not report it again.
 */
function refreshes(job: JobRecord, observation: JobObservation): boolean {
  if (job.status !== observation.status || !observationDiffers(job, observation)) return false;
  return !job.lastObservedAt || observation.observedAt > job.lastObservedAt;
}

/** Active jobs only: an event naming a finished job by its provider id changes nothing anyway. */
async function findByProviderJobId(deps: AnnouncingDependencies, event: ProviderJobEvent): Promise<JobRecord | undefined> {
  const id = event.providerJobId;
  if (!id) return undefined;
  const active = await deps.ledger.listActiveJobs(event.provider);
  return active.find((job) => job.providerJobId === id || job.providerJobId?.endsWith(`/${id}`));
}

function times(job: JobRecord, observation: JobObservation): { known?: string; observed?: string } {
  return { ...(job.lastObservedAt ? { known: job.lastObservedAt } : {}), observed: observation.observedAt };
}

/**
 * Publishes, in order and once in effect, the job announcements the ledger has not marked yet
 * (see `announceJob`). Before Tuning Job Finished: the job's last trials are read and announced.
 * `eventId` is the delivery's id: its retry after a crash resumes its claim at once.
 */
export async function announcePending(deps: AnnouncingDependencies, job: JobRecord, eventId?: string): Promise<void> {
  if (job.status === 'submitting' || (job.announcedStatus === job.status && job.announcedSequence !== undefined)) return;
  const holder = holderOf(eventId);
  await announceJob(deps, job, {
    holder,
    beforeFinish: async (current) => {
      // read the job again: the trial cursor may have moved since `current` was read
      const synced = await syncTrials(deps, (await deps.ledger.getJob(current.jobId)) ?? current, holder);
      await announceRemainingTrials(deps, current, holder);
      return synced.bestTrial;
    },
  });
}
