import { JobNotFoundError, TunewireError } from '../domain/errors';
import { refOf } from '../domain/job';
import type { ProviderName } from '../domain/spec';
import type { TrialLogLink } from '../ports/provider';
import type { Dependencies } from './dependencies';

/** A trial the ledger does not have for the job: nothing is read for it (its id would name a file). */
export class UnknownTrialError extends TunewireError {
  readonly code = 'TRIAL.NOT_FOUND';
  readonly retryable = false;
  constructor(
    readonly jobId: string,
    readonly trialId: string,
  ) {
    super(`job ${jobId} has no trial ${trialId}`);
  }
}

/** One trial's output as the HTTP API and `tunewire logs` show it. */
export interface TrialLogsView {
  readonly jobId: string;
  readonly trialId: string;
  readonly provider: ProviderName;
  /** The end of the output (local jobs): the last 256 KiB, from a line boundary. */
  readonly text?: string;
  /** True when `text` is only the end of the output. */
  readonly truncated?: boolean;
  /** Why there is no text, or none yet. */
  readonly note?: string;
  /** Where the provider shows the output (consoles, log streams, log queries). */
  readonly links: readonly TrialLogLink[];
}

/**
 * A trial's output, or where to read it.
 *
 * 1. Find the job; an unknown job is JobNotFoundError.
 * 2. Find the trial among the job's trials in the ledger; an id it does not list (`../../etc/passwd`, a
 *    trial of another job) is UnknownTrialError, and goes no further: the local engine makes a
 *    file name of it.
 * 3. Ask the job's provider for the trial's logs: text for a local trial, links for a cloud one.
 *    A provider that offers none says so in the note.
 */
export async function trialLogs(deps: Pick<Dependencies, 'ledger' | 'providers'>, jobId: string, trialId: string): Promise<TrialLogsView> {
  const job = await deps.ledger.getJob(jobId);
  if (!job) throw new JobNotFoundError(jobId);
  const trials = await deps.ledger.listTrials(job.jobId);
  if (!trials.some((t) => t.trialId === trialId)) throw new UnknownTrialError(job.jobId, trialId);
  const { provider } = deps.providers.get(job.provider);
  const head = { jobId: job.jobId, trialId, provider: job.provider };
  if (!provider.trialLogs) return { ...head, links: [], note: `${job.provider} offers no trial logs here` };
  const logs = await provider.trialLogs(refOf(job), trialId);
  return {
    ...head,
    ...(logs.text !== undefined ? { text: logs.text } : {}),
    ...(logs.truncated !== undefined ? { truncated: logs.truncated } : {}),
    ...(logs.note !== undefined ? { note: logs.note } : {}),
    links: logs.links,
  };
}
