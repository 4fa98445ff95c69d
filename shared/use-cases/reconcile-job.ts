import { refOf, type JobRecord } from '../domain/job';
import { isTerminalJobStatus } from '../domain/status';
import { applyStatusChange } from './apply-status-change';
import type { Dependencies } from './dependencies';
import { syncTrials } from './fan-out-trials';
import type { HandledEvent } from './provider-events';

/**
 * Compare one job with its provider and feed any difference through the paths events take, so a
 * lost event is repaired. Used by `tunewire submit --wait` for cloud jobs and by the reconciler.
 *
 * 1. Describe the job at the provider.
 * 2. Apply what was seen as a status change whose id names what was seen: seeing the same twice
 *    is a duplicate, not a second change.
 * 3. Sync the trials (a terminal status already did, before announcing the finish).
 */
export async function reconcileJob(deps: Dependencies, job: JobRecord, source = 'reconciler'): Promise<HandledEvent> {
  const { provider } = deps.providers.get(job.provider);
  const observation = await provider.describe(refOf(job));
  const outcome = await applyStatusChange(deps, {
    provider: job.provider,
    providerJobName: job.providerJobName,
    eventId: `${source}:${observation.providerStatus}:${observation.observedAt}`,
    source,
    claimed: observation,
    confirmed: true,
  });
  if (!isTerminalJobStatus(observation.status)) {
    const current = (await deps.ledger.getJob(job.jobId)) ?? job;
    await syncTrials(deps, current);
  }
  return outcome;
}
