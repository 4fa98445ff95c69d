import { SingleBar, Presets } from 'cli-progress';
import { setTimeout as sleep } from 'node:timers/promises';
import { TunewireError } from '../domain/errors';
import { isTerminalJobStatus, isTerminalTrialStatus } from '../domain/status';
import { refOf, type JobRecord } from '../domain/job';
import type { PromotionRecord } from '../ports/ledger';
import { ENGINE_LOST_FLAG } from '../adapters/local/local-provider';
import type { EmbeddedStack } from '../local-stack/embedded';
import { reconcileJob } from '../use-cases/reconcile-job';
import { hyper, type Output } from './output';

const POLL_MS = 400;

/** How often a cloud job is described while the CLI waits; events do the work where deployed. */
function cloudPollMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.TUNEWIRE_POLL_SECONDS ?? 10);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000;
}
/** From the engine's last word to the ledger's: the trial fan-out, the announcement and the promotion. */
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * A local job whose engine exited before it finished (the service was killed, the machine
 * rebooted): nothing runs it, and `tunewire resume <job>` continues it. The CLI exits 6.
 */
export class JobInterruptedError extends TunewireError {
  readonly code = 'JOB.INTERRUPTED';
  readonly retryable = false;

  constructor(readonly jobId: string) {
    super(`job ${jobId} is interrupted: the local engine running it exited before it finished. \`tunewire resume ${jobId}\` continues it with the rest of its budget; \`tunewire stop ${jobId}\` ends it`);
  }
}

/**
 * Throws JobInterruptedError when the job is a local one whose engine is gone. Reads the job's
 * state file, not the ledger: when the service dies its DynamoDB Local goes with it.
 */
export async function checkEngine(stack: EmbeddedStack, job: JobRecord): Promise<{ readonly ended: boolean }> {
  if (job.provider !== 'local') return { ended: isTerminalJobStatus(job.status) };
  const observed = await stack.localProvider.describe(refOf(job));
  if (observed.flags?.includes(ENGINE_LOST_FLAG)) throw new JobInterruptedError(job.jobId);
  return { ended: isTerminalJobStatus(observed.status) };
}

export interface WaitOptions {
  readonly quiet?: boolean;
  /** Aborted: stop waiting and return what is known (`detached`); the job goes on where it runs. */
  readonly signal?: AbortSignal;
}

export interface WaitResult {
  readonly job: JobRecord;
  readonly promotion?: PromotionRecord;
  /** True when the wait was given up (Ctrl-C) before the job ended. */
  readonly detached?: boolean;
}

/**
 * Waits until the job is finished and its consequences (trial fan-out, promotion) have settled,
 * showing progress: a bar on a TTY, a line per finished trial otherwise.
 *
 * 1. A local job run by this process, or any job that has already ended: wait for its run, then
 *    for the ledger's consequences (60 s at most).
 * 2. A local job run by the service: read the ledger until it ends; the job's state file says
 *    when its engine has finished (then the ledger has 60 s) or is gone (JobInterruptedError).
 * 3. A cloud job: describe it every poll interval, as the reconciler does.
 */
export async function waitForJob(stack: EmbeddedStack, jobId: string, io: Output, options: WaitOptions = {}): Promise<WaitResult> {
  const { ledger } = stack.deps;
  const first = (await ledger.getJob(jobId)) as JobRecord;
  const bar = !options.quiet && process.stdout.isTTY ? new SingleBar({ format: ' trials {bar} {value}/{total} | best {best} | {status}', hideCursor: true }, Presets.shades_classic) : undefined;
  bar?.start(first.spec.budget.maxTrials, 0, { best: '-', status: first.status });
  const seen = new Set<string>();
  let last = first;

  const report = async () => {
    const [job, trials] = await Promise.all([ledger.getJob(jobId), ledger.listTrials(jobId)]);
    const finished = trials.filter((t) => isTerminalTrialStatus(t.status));
    for (const t of finished) {
      if (seen.has(t.trialId)) continue;
      seen.add(t.trialId);
      if (!bar && !options.quiet) io.line(`  ${t.trialId} ${t.status}${t.objectiveValue !== undefined ? ` ${t.objectiveValue}` : ''}  ${hyper(t)}${t.failureReason ? `  (${t.failureReason})` : ''}`);
    }
    bar?.update(finished.length, { best: job?.bestTrial?.objectiveValue ?? '-', status: job?.status ?? '?' });
    last = job ?? last;
    return last;
  };

  /** One look at the ledger: the job (described first when it is a cloud job) and, once it has settled, the result. */
  const readOnce = async (): Promise<{ job: JobRecord; settled?: WaitResult }> => {
    // webhook deliveries are not the job's consequences: a failing receiver must not hold the wait
    await stack.bus.drain({ except: ['notify'] });
    let job = await report();
    // A cloud provider's events do not reach this process: describe it, as the reconciler does.
    if (first.provider !== 'local' && !isTerminalJobStatus(job.status)) {
      await reconcileJob(stack.deps, job, 'cli-wait');
      await stack.bus.drain({ except: ['notify'] });
      job = await report();
    }
    const promotion = await promotionOf(stack, job);
    const settled = isTerminalJobStatus(job.status) && job.announcedStatus === job.status && (!job.spec.promotion || promotion);
    return settled ? { job, settled: { job, ...(promotion ? { promotion } : {}) } } : { job };
  };

  const timer = setInterval(() => void report().catch(() => undefined), POLL_MS);
  try {
    const local = first.provider === 'local';
    const runsHere = local && stack.localProvider.runsHere;
    if (runsHere) await stack.localProvider.waitForJob(first.providerJobName);
    // a job that has ended (here, or before the wait began) has a minute for its consequences
    let deadline = runsHere || isTerminalJobStatus(first.status) ? Date.now() + SETTLE_TIMEOUT_MS : Number.POSITIVE_INFINITY;
    for (;;) {
      if (options.signal?.aborted) return { job: last, detached: true };
      if (local && !runsHere && deadline === Number.POSITIVE_INFINITY && (await checkEngine(stack, first)).ended) deadline = Date.now() + SETTLE_TIMEOUT_MS;
      let settled: WaitResult | undefined;
      let job: JobRecord;
      try {
        ({ job, settled } = await readOnce());
      } catch (error) {
        // the service's DynamoDB Local goes with it: a ledger that stopped answering may mean that
        if (local && !runsHere) await checkEngine(stack, first);
        throw error;
      }
      if (settled) return settled;
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not settle: status ${job.status}, announced ${job.announcedStatus ?? 'nothing'}`);
      const pause = local || isTerminalJobStatus(job.status) ? POLL_MS : cloudPollMs();
      await sleep(pause, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
    }
  } finally {
    clearInterval(timer);
    bar?.stop();
  }
}

/** The promotion decided for this job, when its spec asks for one and it has been decided. */
export async function promotionOf(stack: EmbeddedStack, job: JobRecord): Promise<PromotionRecord | undefined> {
  if (!job.spec.promotion) return undefined;
  const records = await stack.deps.ledger.listPromotions(job.spec.promotion.model);
  return records.filter((r) => r.jobId === job.jobId).at(-1);
}
