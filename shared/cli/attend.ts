import type { EventEmitter } from 'node:events';
import { ValidationError } from '../domain/errors';
import type { JobRecord } from '../domain/job';
import type { EmbeddedStack } from '../local-stack/embedded';
import { stopJob } from '../use-cases/stop-job';
import { EXIT } from './outcome';
import type { Output } from './output';
import { checkEngine, waitForJob, type WaitResult } from './wait';

/** Seconds after the first Ctrl-C in which a second one stops the job, unless TUNEWIRE_DETACH_GRACE_SECONDS says otherwise. */
export const DEFAULT_DETACH_GRACE_SECONDS = 3;

export interface AttendOptions {
  readonly quiet?: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Where SIGINT comes from; the process by default. */
  readonly signals?: Pick<EventEmitter, 'on' | 'off'>;
  /** Leaves at once (a third Ctrl-C while a stop is awaited); process.exit by default. */
  readonly exit?: (code: number) => void;
}

/** What attending a job came to: the wait's result, and whether this command stopped the job. */
export interface AttendResult extends WaitResult {
  readonly stoppedHere?: boolean;
}

/**
 * Waits for a job as a person at a terminal expects:
 *
 * - The job runs elsewhere (the local service, a cloud provider): the first Ctrl-C stops the
 *   waiting, not the job, and says how to follow or stop it (`detached`); a second one within the
 *   grace period stops the job, and the command waits until it has stopped.
 * - Its trials run in this very process (a ledger outside the local service): Ctrl-C stops the
 *   job, and the command waits until that is recorded.
 * - Any Ctrl-C after those leaves at once, exit code 130.
 */
export async function attendJob(stack: EmbeddedStack, job: JobRecord, io: Output, options: AttendOptions): Promise<AttendResult> {
  // The handler is in place before the first await: a Ctrl-C right after "submitted" is ours to handle.
  const { jobId } = job;
  const signals = options.signals ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const graceMs = detachGraceSeconds(options.env) * 1000;
  const inProcess = job.provider === 'local' && stack.localProvider.runsHere;
  const detach = new AbortController();
  let presses = 0;
  let secondPress: () => void = () => undefined;
  let stopping: Promise<unknown> | undefined;

  const onInterrupt = () => {
    presses += 1;
    if (presses === 1 && inProcess) {
      io.error(`stopping ${jobId}: its trials run in this process (the ledger is not the local service's); Ctrl-C again to leave at once`);
      stopping = stopJob(stack.deps, jobId).catch((error: unknown) => io.error(`stopping ${jobId} failed: ${error instanceof Error ? error.message : String(error)}`));
    } else if (presses === 1) detach.abort();
    else if (presses === 2 && !inProcess && !stopping) secondPress();
    else exit(EXIT.detached);
  };
  signals.on('SIGINT', onInterrupt);
  try {
    const waited = await guardEngine(stack, job, () => waitForJob(stack, jobId, io, { ...(options.quiet ? { quiet: true } : {}), signal: detach.signal }));
    if (!waited.detached) return { ...waited, ...(stopping ? { stoppedHere: true } : {}) };
    const where = waited.job.provider === 'local' ? 'under the tunewire service' : `on ${waited.job.provider}`;
    io.error(`detached from ${jobId}: it goes on ${where}. Follow it: tunewire wait ${jobId}. Stop it: tunewire stop ${jobId}, or Ctrl-C again within ${graceMs / 1000} s.`);
    const again = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), graceMs);
      secondPress = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    if (!again) return waited;
    io.error(`stopping ${jobId}...`);
    stopping = stopJob(stack.deps, jobId);
    await stopping;
    return { ...(await guardEngine(stack, job, () => waitForJob(stack, jobId, io, options.quiet ? { quiet: true } : {}))), stoppedHere: true };
  } finally {
    signals.off('SIGINT', onInterrupt);
  }
}

/**
 * Runs `work`; when it fails and the job is a local one the service runs, asks the job's state
 * file first whether the service is gone (its DynamoDB Local goes with it, so whatever read the
 * ledger first fails): then the job is interrupted (JobInterruptedError), not the command broken.
 */
async function guardEngine<T>(stack: EmbeddedStack, job: JobRecord, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (job.provider === 'local' && !stack.localProvider.runsHere) await checkEngine(stack, job);
    throw error;
  }
}

/** TUNEWIRE_DETACH_GRACE_SECONDS: a number of seconds, 0 or more; 3 when unset. */
export function detachGraceSeconds(env: NodeJS.ProcessEnv): number {
  const raw = env.TUNEWIRE_DETACH_GRACE_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_DETACH_GRACE_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new ValidationError('environment', [{ path: 'TUNEWIRE_DETACH_GRACE_SECONDS', message: `must be a number of seconds (0 or more), not ${raw}` }]);
  }
  return seconds;
}
