import { SingleBar, Presets, type Options as BarOptions, type Params as BarParams } from 'cli-progress';
import { setTimeout as sleep } from 'node:timers/promises';
import { TunewireError } from '../domain/errors';
import { isTerminalJobStatus, isTerminalTrialStatus } from '../domain/status';
import { naturalCompare } from '../domain/study';
import { selectBestTrial, type Trial } from '../domain/trial';
import { refOf, type JobRecord } from '../domain/job';
import type { PromotionRecord } from '../ports/ledger';
import { ENGINE_LOST_FLAG } from '../adapters/local/local-provider';
import type { EmbeddedStack } from '../local-stack/embedded';
import { reconcileJob } from '../use-cases/reconcile-job';
import { formatDuration } from '../domain/format';
import { fmt, hyper, type Output } from './output';

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

/** What the progress display says of a job at one reading of the ledger. */
export interface Progress {
  /** Trials that have finished (in a terminal status). */
  readonly done: number;
  /** The budget's maxTrials, or more when more trials finished (a resumed job runs its lost trials' points again). */
  readonly total: number;
  /** Trials running: the ledger's running trials, or the provider's count when it says more. */
  readonly running: number;
  readonly failed: number;
  /** The best objective so far, once a finished trial has one. */
  readonly best?: number;
}

/**
 * The progress of a job from its trials in the ledger and its record's trial counts.
 *
 * @example progressOf(job, trials) // { done: 5, total: 12, running: 2, failed: 1, best: 0.93 }
 */
export function progressOf(job: Pick<JobRecord, 'spec' | 'trialCounts'>, trials: readonly Trial[]): Progress {
  const done = trials.filter((t) => isTerminalTrialStatus(t.status)).length;
  const running = Math.max(trials.filter((t) => t.status === 'running').length, job.trialCounts?.running ?? 0);
  const failed = trials.filter((t) => t.status === 'failed').length;
  const best = selectBestTrial(trials, job.spec.objective.goal)?.objectiveValue;
  return { done, total: Math.max(job.spec.budget.maxTrials, done), running, failed, ...(best !== undefined ? { best } : {}) };
}

/**
 * The counts a finished-trial line ends with when there is no bar (off a TTY).
 *
 * @example progressCounts({ done: 5, total: 12, running: 2, failed: 1, best: 0.93 }) // '[5/12, 2 running, 1 failed, best 0.93]'
 */
export function progressCounts(progress: Progress): string {
  return `[${progress.done}/${progress.total}, ${progress.running} running, ${progress.failed} failed${progress.best !== undefined ? `, best ${fmt(progress.best)}` : ''}]`;
}

/** What the bar shows besides the counts: the job's status and when the job started (ms since the epoch). */
export interface BarPayload extends Progress {
  readonly status: string;
  readonly startedAtMs: number;
  /** Trials finished before this wait began: the ETA waits for one more. */
  readonly doneAtStart: number;
}

/**
 * The bar's line: ` trials ████░░ 5/12 | 2 running | 1 failed | best 0.9300 | 3m05s elapsed | ETA 4m10s | running`.
 * The best appears once a trial has one; the ETA once a trial has finished in this wait (cli-progress
 * estimates it from the pace since then); elapsed counts from the job's start, not the wait's.
 */
export function progressBarText(payload: BarPayload, bar: string, nowMs: number, etaSeconds: number | undefined): string {
  const elapsed = formatDuration(Math.max(0, Math.round((nowMs - payload.startedAtMs) / 1000)));
  return [
    ` trials ${bar} ${payload.done}/${payload.total}`,
    `${payload.running} running`,
    `${payload.failed} failed`,
    ...(payload.best !== undefined ? [`best ${fmt(payload.best)}`] : []),
    `${elapsed} elapsed`,
    ...(etaSeconds !== undefined ? [`ETA ${formatDuration(etaSeconds)}`] : []),
    payload.status,
  ].join(' | ');
}

/** cli-progress's format function: our line, with cli-progress's own bar and ETA. */
function barFormat(options: BarOptions, params: BarParams, payload: BarPayload): string {
  const size = options.barsize ?? 40;
  const filled = Math.round(Math.min(1, Math.max(0, params.progress)) * size);
  const bar = (options.barCompleteString ?? '').slice(0, filled) + (options.barIncompleteString ?? '').slice(0, size - filled);
  // cli-progress says 'NULL' or 'INF' when it cannot estimate; before a trial finished its 0 means nothing either
  const eta = params.value > payload.doneAtStart && typeof params.eta === 'number' && Number.isFinite(params.eta) ? params.eta : undefined;
  return progressBarText(payload, bar, params.stopTime ?? Date.now(), eta);
}

export interface WaitResult {
  readonly job: JobRecord;
  readonly promotion?: PromotionRecord;
  /** True when the wait was given up (Ctrl-C) before the job ended. */
  readonly detached?: boolean;
}

/**
 * Waits until the job is finished and its consequences (trial fan-out, promotion) have settled,
 * showing progress (unless `quiet`): a bar on a TTY (`progressBarText`), otherwise a line per
 * finished trial ending with the counts as of that trial (`progressCounts`).
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
  const progress = progressOf(first, await ledger.listTrials(jobId));
  const startedAtMs = Date.parse(first.submittedAt ?? first.createdAt) || Date.now();
  const bar =
    !options.quiet && process.stdout.isTTY ? new SingleBar({ format: barFormat, hideCursor: true, etaBuffer: first.spec.budget.maxTrials }, Presets.shades_classic) : undefined;
  bar?.start(progress.total, progress.done, { ...progress, status: first.status, startedAtMs, doneAtStart: progress.done } satisfies BarPayload);
  const seen = new Set<string>();
  /** The finished trials printed so far, in the order printed: each line's counts are as of its trial. */
  const printed: Trial[] = [];
  let barDone = progress.done;
  let last = first;

  const report = async () => {
    const [job, trials] = await Promise.all([ledger.getJob(jobId), ledger.listTrials(jobId)]);
    last = job ?? last;
    const running = trials.filter((t) => t.status === 'running');
    const fresh = trials
      .filter((t) => isTerminalTrialStatus(t.status) && !seen.has(t.trialId))
      .sort((a, b) => (a.endedAt ?? '').localeCompare(b.endedAt ?? '') || naturalCompare(a.trialId, b.trialId));
    for (const t of fresh) {
      seen.add(t.trialId);
      printed.push(t);
      if (bar || options.quiet) continue;
      const counts = progressCounts(progressOf(last, [...printed, ...running]));
      io.line(`  ${t.trialId} ${t.status}${t.objectiveValue !== undefined ? ` ${t.objectiveValue}` : ''}  ${hyper(t)}${t.failureReason ? `  (${t.failureReason})` : ''}  ${counts}`);
    }
    if (bar) {
      const now = progressOf(last, trials);
      const best = now.best ?? last.bestTrial?.objectiveValue;
      if (now.total !== bar.getTotal()) bar.setTotal(now.total);
      const payload = { ...now, ...(best !== undefined ? { best } : {}), status: last.status };
      // the value only when it moves: each value given is a sample of cli-progress's ETA
      if (now.done !== barDone) bar.update((barDone = now.done), payload);
      else bar.update(payload);
    }
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
