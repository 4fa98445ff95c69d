import { JobNotFoundError } from '../domain/errors';
import { refOf, type JobRecord } from '../domain/job';
import { isTerminalJobStatus } from '../domain/status';
import type { Dependencies } from './dependencies';

/**
 * Stop a job.
 *
 * 1. Find the job; a finished job has nothing to stop and is returned as it is.
 * 2. Ask the provider to stop it. The ledger follows the provider's own events (stopping, then
 *    stopped), so a stop that the provider refuses leaves no false status behind.
 */
export async function stopJob(deps: Dependencies, jobId: string): Promise<{ readonly job: JobRecord; readonly requested: boolean }> {
  const job = await deps.ledger.getJob(jobId);
  if (!job) throw new JobNotFoundError(jobId);
  if (isTerminalJobStatus(job.status)) return { job, requested: false };
  await deps.providers.get(job.provider).provider.stop(refOf(job));
  return { job, requested: true };
}
