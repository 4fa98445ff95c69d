import { Option, type Command } from 'commander';
import { setTimeout as delay } from 'node:timers/promises';
import { JobNotFoundError, ValidationError } from '../domain/errors';
import type { JobRecord } from '../domain/job';
import { isTerminalJobStatus, TRIAL_STATUSES, type TrialStatus } from '../domain/status';
import { parameterColumns, parseSort, sortKeys, sortRows, trialRows, trialsCsv, type TrialRow } from '../domain/study';
import type { Trial } from '../domain/trial';
import { parseJobQuery } from '../edge/job-query';
import { jobView, trialView } from '../edge/views';
import type { EmbeddedStack } from '../local-stack/embedded';
import { reconcileJob } from '../use-cases/reconcile-job';
import { EXIT, jobExitCode, outcomeLine, promotionLine } from './outcome';
import { attendJob } from './attend';
import { describeJob, fmt, trialTable, type Output } from './output';
import { formatAge, trialCountsCell } from '../domain/format';
import { checkEngine } from './wait';

/** `tunewire jobs` shows this many unless --limit says otherwise. */
export const DEFAULT_JOBS_LIMIT = 50;
/** The ledger reads every job for a list anyway; this only bounds what is printed. */
export const MAX_JOBS_LIMIT = 10_000;
/** Seconds between ledger reads while following a job, unless TUNEWIRE_POLL_SECONDS says otherwise. */
const DEFAULT_POLL_SECONDS = { local: 2, cloud: 10 } as const;

export interface JobCommandContext {
  readonly io: Output;
  readonly env: NodeJS.ProcessEnv;
  /** The exit code a command that waited for a job sets from its outcome (see outcome.ts). */
  readonly result: { code: number };
  readonly withStack: <T>(work: (stack: EmbeddedStack) => Promise<T>) => Promise<T>;
}

/** The jobs as a table, in the order given, ages measured from `now`. */
export function jobsTable(jobs: readonly JobRecord[], now: Date): string[] {
  const head = ['job', 'name', 'provider', 'status', 'best', 'trials', 'age'];
  const rows = jobs.map((j) => [j.jobId, j.name, j.provider, j.status, fmt(j.bestTrial?.objectiveValue), trialCountsCell(j), formatAge(now.getTime() - Date.parse(j.createdAt))]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [render(head), ...rows.map(render)];
}

/**
 * Milliseconds between reads while following a job: TUNEWIRE_POLL_SECONDS when set (a positive
 * number, else bad input), otherwise 2 s for a local job and 10 s for a cloud one.
 */
export function pollIntervalMs(env: NodeJS.ProcessEnv, provider: JobRecord['provider']): number {
  const raw = env.TUNEWIRE_POLL_SECONDS;
  if (raw === undefined || raw === '') return (provider === 'local' ? DEFAULT_POLL_SECONDS.local : DEFAULT_POLL_SECONDS.cloud) * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new ValidationError('environment', [{ path: 'TUNEWIRE_POLL_SECONDS', message: `must be a number of seconds above 0, not ${raw}` }]);
  }
  return seconds * 1000;
}

export interface FollowOptions {
  /** The job as it stands now; called once per interval. */
  readonly read: () => Promise<JobRecord>;
  readonly intervalMs: number;
  /** Called with the first reading and with each one whose status or trial counts differ. */
  readonly onChange: (job: JobRecord) => void;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Reads a job every `intervalMs` until it is terminal, reporting each change; returns the job as
 * it ended.
 *
 * 1. Read the job.
 * 2. When its status or trial counts differ from the last reading, report it.
 * 3. Terminal: return it. Otherwise sleep the interval and go to 1.
 */
export async function followJob(options: FollowOptions): Promise<JobRecord> {
  const sleep = options.sleep ?? delay;
  let last: string | undefined;
  for (;;) {
    const job = await options.read();
    const seen = JSON.stringify([job.status, Object.entries(job.trialCounts ?? {}).sort()]);
    if (seen !== last) options.onChange(job);
    last = seen;
    if (isTerminalJobStatus(job.status)) return job;
    await sleep(options.intervalMs);
  }
}

/**
 * The job from the ledger, for following it. A cloud job's events do not reach this process, so a
 * job not yet ended is described first, as the reconciler does (`submit --wait` does the same).
 */
function readerOf(stack: EmbeddedStack, jobId: string): () => Promise<JobRecord> {
  const get = async () => {
    const job = await stack.deps.ledger.getJob(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    return job;
  };
  return async () => {
    const job = await get();
    // a local job whose engine is gone is never going to end by itself: say so (JobInterruptedError)
    if (job.provider === 'local' && !isTerminalJobStatus(job.status)) await checkEngine(stack, job);
    if (job.provider === 'local' || isTerminalJobStatus(job.status)) return job;
    await reconcileJob(stack.deps, job, 'cli-watch');
    return get();
  };
}

/**
 * The job for `status`: the ledger's record, unless it is a cloud job not yet ended whose record
 * is older than the poll interval; then the provider is asked first, as the reconciler would, and
 * what it says goes through the ledger. When the provider cannot be asked (no credentials, no
 * network) the ledger's record is shown, with a note saying how old it is and why.
 */
export async function freshJob(ctx: JobCommandContext, stack: EmbeddedStack, job: JobRecord): Promise<JobRecord> {
  if (job.provider === 'local' || isTerminalJobStatus(job.status)) return job;
  const age = Date.now() - Date.parse(job.updatedAt);
  if (!(age > pollIntervalMs(ctx.env, job.provider))) return job;
  try {
    await reconcileJob(stack.deps, job, 'cli-status');
    await stack.bus.drain({ except: ['notify'] });
  } catch (error) {
    ctx.io.error(`note: the ledger's record of ${job.jobId} (updated ${job.updatedAt}) is shown; asking ${job.provider} failed: ${error instanceof Error ? error.message : String(error)}`);
    return job;
  }
  return (await stack.deps.ledger.getJob(job.jobId)) ?? job;
}

/** Follows a job, printing its status block (or JSON) on each change; sets the exit code from its end. */
export async function watchJob(ctx: JobCommandContext, stack: EmbeddedStack, job: JobRecord, options: { json?: boolean }): Promise<void> {
  const { io } = ctx;
  let printed = false;
  const final = await followJob({
    read: readerOf(stack, job.jobId),
    intervalMs: pollIntervalMs(ctx.env, job.provider),
    onChange: (current) => {
      if (options.json) return io.json(jobView(current));
      if (printed) io.line();
      printed = true;
      describeJob(current).forEach((l) => io.line(l));
    },
  });
  ctx.result.code = jobExitCode(final);
  if (!options.json) io.line(outcomeLine(final));
}

/** `tunewire jobs` and `tunewire wait`. */
export function registerJobCommands(program: Command, ctx: JobCommandContext): void {
  const { io } = ctx;
  program
    .command('jobs')
    .description('jobs in the ledger, newest first')
    .option('--status <status>', 'only jobs in this status')
    .option('--provider <provider>', 'only jobs on this provider')
    .option('--name <substring>', 'only jobs whose name contains this')
    .option('--limit <n>', `at most this many jobs (default ${DEFAULT_JOBS_LIMIT})`)
    .option('--json', 'print JSON')
    .action((opts: { status?: string; provider?: string; name?: string; limit?: string; json?: boolean }) => {
      // bad filters are refused before the stack is touched
      const query = parseJobQuery(
        { status: opts.status, provider: opts.provider, name: opts.name, limit: opts.limit },
        { subject: 'options', label: (p) => `--${p}`, defaultLimit: DEFAULT_JOBS_LIMIT, maxLimit: MAX_JOBS_LIMIT },
      );
      return ctx.withStack(async (stack) => {
        const { jobs, next } = await stack.deps.ledger.listJobs(query);
        if (opts.json) return io.json(jobs.map(jobView));
        if (jobs.length === 0) return io.line('no jobs');
        jobsTable(jobs, new Date()).forEach((l) => io.line(l));
        if (next) io.line(`(the ${jobs.length} newest shown; --limit shows more)`);
      });
    });

  program
    .command('wait <job>')
    .description('wait for a job to end; the exit code says how it ended (0 succeeded, 3 failed, 4 stopped, 5 no objective, 6 interrupted)')
    .option('--json', 'print JSON')
    .action((jobId: string, opts: { json?: boolean }) =>
      ctx.withStack(async (stack) => {
        const job = await stack.deps.ledger.getJob(jobId);
        if (!job) throw new JobNotFoundError(jobId);
        const { final, promotionText, detached } = await waitUntilEnded(ctx, stack, job, opts);
        if (detached) return void (ctx.result.code = EXIT.detached);
        ctx.result.code = jobExitCode(final);
        if (opts.json) return io.json(jobView(final));
        describeJob(final).forEach((l) => io.line(l));
        if (promotionText) io.line(promotionText);
        io.line(outcomeLine(final));
      }),
    );
}

/**
 * The wait `submit` does (for a cloud job, describing it as the reconciler does), up to its
 * promotion; a job that has ended already waits only for that. Ctrl-C stops the waiting, and a
 * second one the job (attend.ts).
 */
async function waitUntilEnded(
  ctx: JobCommandContext,
  stack: EmbeddedStack,
  job: JobRecord,
  opts: { json?: boolean },
): Promise<{ final: JobRecord; promotionText?: string; detached?: boolean }> {
  const waited = await attendJob(stack, job, ctx.io, { quiet: Boolean(opts.json), env: ctx.env });
  if (waited.detached) return { final: waited.job, detached: true };
  if (!waited.promotion) return { final: waited.job };
  const championExists = Boolean(await stack.deps.ledger.getChampion(waited.promotion.model));
  return { final: waited.job, promotionText: promotionLine(waited.promotion, championExists) };
}

/** What `trials` prints, from its options: the rows to show, filtered and sorted. */
export interface TrialsQuery {
  readonly status?: TrialStatus;
  readonly sort?: { readonly key: string; readonly direction: 'asc' | 'desc' };
}

/**
 * The `trials` filters, parsed before the ledger is read. `--status` is a trial status; `--sort`
 * is a key with `-` for descending, checked against the job's columns later (`sortedTrialRows`).
 */
export function parseTrialsQuery(opts: { readonly status?: string | undefined; readonly sort?: string | undefined }): TrialsQuery {
  const status = TRIAL_STATUSES.find((s) => s === opts.status);
  if (opts.status !== undefined && !status) throw new ValidationError('options', [{ path: '--status', message: `must be one of ${TRIAL_STATUSES.join(', ')}, not ${opts.status}` }]);
  const sort = opts.sort === undefined ? undefined : parseSort(opts.sort);
  return { ...(status ? { status } : {}), ...(sort ? { sort } : {}) };
}

/**
 * The rows `trials` shows: every trial's row (the best marked among all of them), then those of
 * the asked status, sorted by the asked key (natural trial order by default). An unknown sort key
 * is bad input listing the keys this job has.
 */
export function sortedTrialRows(job: JobRecord, trials: readonly Trial[], query: TrialsQuery): { parameters: string[]; rows: TrialRow[] } {
  const all = trialRows(job.spec, trials, { bestTrialId: job.bestTrial?.trialId });
  const parameters = parameterColumns(job.spec, all);
  const keys = sortKeys(parameters);
  const { sort } = query;
  if (sort && !keys.includes(sort.key)) {
    throw new ValidationError('options', [{ path: '--sort', message: `must be one of ${keys.join(', ')} (a leading - sorts descending, e.g. -objective), not ${sort.key}` }]);
  }
  const shown = query.status ? all.filter((r) => r.status === query.status) : all;
  return { parameters, rows: sort ? sortRows(shown, sort.key, sort.direction) : shown };
}

/**
 * A trial as `trials --json` prints it: the ledger's trial (as before), its hyperparameters typed
 * by the spec (numbers as numbers), its duration in seconds when known, and whether it is the best.
 */
export function trialJson(trial: Trial, row: TrialRow) {
  return { ...trialView(trial), hyperparameters: row.hyperparameters, ...(row.durationSeconds !== undefined ? { durationSeconds: row.durationSeconds } : {}), best: row.best };
}

/** `tunewire trials`. */
export function registerTrialsCommand(program: Command, ctx: JobCommandContext): void {
  const { io } = ctx;
  program
    .command('trials <job>')
    .description("a job's trials: one column per parameter, objective, status, duration; the best marked *")
    .option('--status <status>', `only trials in this status (${TRIAL_STATUSES.join(', ')})`)
    .option('--sort <key>', 'sort by trial, objective, duration, status or a parameter name; -key sorts descending (--sort -objective)')
    .option('--json', 'print JSON: the trials, hyperparameters typed, each with best')
    .addOption(new Option('--csv', 'print CSV (RFC 4180 quoting): trial, the parameters, objective, status, stoppedEarly, durationSeconds, failureReason, best').conflicts('json'))
    .action((jobId: string, opts: { status?: string; sort?: string; json?: boolean; csv?: boolean }) => {
      const query = parseTrialsQuery(opts);
      return ctx.withStack(async (stack) => {
        const job = await stack.deps.ledger.getJob(jobId);
        if (!job) throw new JobNotFoundError(jobId);
        const trials = await stack.deps.ledger.listTrials(jobId);
        const { parameters, rows } = sortedTrialRows(job, trials, query);
        if (opts.json) {
          const byId = new Map(trials.map((t) => [t.trialId, t]));
          return io.json(rows.map((row) => trialJson(byId.get(row.trialId) as Trial, row)));
        }
        // LF-ended like every line tunewire prints, through the same filter that keeps control characters off the terminal
        if (opts.csv) return io.line(trialsCsv(parameters, rows, { newline: '\n' }).slice(0, -1));
        if (rows.length === 0) return io.line(query.status ? `no ${query.status} trials` : 'no trials yet');
        trialTable(parameters, rows).forEach((l) => io.line(l));
      });
    });
}
