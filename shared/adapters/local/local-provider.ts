import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { ProviderError, SpecValidationError, type FieldIssue } from '../../domain/errors';
import type { JobObservation, ProviderJobRef } from '../../domain/job';
import type { Goal, TuningSpec } from '../../domain/spec';
import type { JobStatus, TrialStatus } from '../../domain/status';
import { isBetter, selectBestTrial, type Trial } from '../../domain/trial';
import type { Clock } from '../../ports/clock';
import { systemClock } from '../../ports/clock';
import type { CreateJobRequest, CreateJobResult, TrialLogs, TrialPage, TuningProvider } from '../../ports/provider';
import {
  compileMetrics,
  fillPlaceholders,
  localTrialSpecIssues,
  parseLocalTrialSpec,
  placeholdersOf,
  readMetric,
  type CompiledMetric,
  type LocalTrialSpec,
  type MetricReport,
} from './local-trial-spec';
import { MedianStoppingRule, type MedianStop } from './early-stopping';
import { readLogTail } from './log-tail';
import { pointSource } from './samplers';
import { resolveSeed, searchIssues, strategyIssue, type ParameterPoint } from './search';

// ---------------------------------------------------------------------------------------------
// The local engine's own vocabulary and event envelope. Like a vendor's, it stops at this adapter:
// the edge parses the envelope and maps the words with the functions below.

/** INTERRUPTED: the engine running the job exited before it finished; `resume` continues it. */
export const LOCAL_JOB_STATUS_WORDS = ['PENDING', 'RUNNING', 'INTERRUPTED', 'STOPPING', 'COMPLETED', 'FAILED', 'STOPPED'] as const;
export type LocalJobStatusWord = (typeof LOCAL_JOB_STATUS_WORDS)[number];
export const LOCAL_TRIAL_STATUS_WORDS = ['RUNNING', 'COMPLETED', 'FAILED', 'STOPPED'] as const;
export type LocalTrialStatusWord = (typeof LOCAL_TRIAL_STATUS_WORDS)[number];

export const LOCAL_EVENT_SOURCE = 'tunewire.local';
export const LOCAL_JOB_STATE_CHANGE = 'Local Tuning Job State Change';
export const LOCAL_TRIAL_STATE_CHANGE = 'Local Trial State Change';

const JOB_WORDS: Readonly<Record<LocalJobStatusWord, JobStatus>> = {
  PENDING: 'pending',
  RUNNING: 'running',
  // a job waiting for `tunewire resume`, as a paused Vertex job waits for its resume
  INTERRUPTED: 'paused',
  STOPPING: 'stopping',
  COMPLETED: 'succeeded',
  FAILED: 'failed',
  STOPPED: 'stopped',
};
const TRIAL_WORDS: Readonly<Record<LocalTrialStatusWord, TrialStatus>> = {
  RUNNING: 'running',
  COMPLETED: 'succeeded',
  FAILED: 'failed',
  STOPPED: 'stopped',
};
const TERMINAL_JOB_WORDS: ReadonlySet<LocalJobStatusWord> = new Set(['COMPLETED', 'FAILED', 'STOPPED']);
const JOB_WORD_RANK: Readonly<Record<LocalJobStatusWord, number>> = { PENDING: 0, RUNNING: 1, INTERRUPTED: 1, STOPPING: 2, COMPLETED: 3, FAILED: 3, STOPPED: 3 };

/** The local engine's job status word in tunewire's vocabulary. @example mapLocalJobStatus('COMPLETED') // 'succeeded' */
export function mapLocalJobStatus(word: string): JobStatus {
  const status = (JOB_WORDS as Readonly<Record<string, JobStatus>>)[word];
  if (!status) throw new ProviderError('local', 'mapStatus', `unknown job status "${word}"`, { retryable: false, code: 'PROVIDER.UNKNOWN_STATUS' });
  return status;
}

/** The local engine's trial status word in tunewire's vocabulary. @example mapLocalTrialStatus('STOPPED') // 'stopped' */
export function mapLocalTrialStatus(word: string): TrialStatus {
  const status = (TRIAL_WORDS as Readonly<Record<string, TrialStatus>>)[word];
  if (!status) throw new ProviderError('local', 'mapStatus', `unknown trial status "${word}"`, { retryable: false, code: 'PROVIDER.UNKNOWN_STATUS' });
  return status;
}

/** A trial as the local engine records and announces it. */
export type LocalTrialDetail = {
  trialId: string;
  status: LocalTrialStatusWord;
  /** The tuned values (static hyperparameters are in the spec). */
  hyperparameters: Record<string, string>;
  objectiveValue?: number;
  objectiveStatus: 'pending' | 'succeeded' | 'failed';
  /** Last value of every metric the trial reported. */
  metrics: Record<string, number>;
  startedAt: string;
  endedAt?: string;
  stoppedEarly: boolean;
  failureReason?: string;
  artifactUri: string;
  exitCode?: number | null;
  signal?: string | null;
  /** The trial was running when its engine exited; a resumed job runs its point again. */
  lost?: boolean;
};

export type LocalJobEventDetail = {
  jobName: string;
  /** For a trial event, the job's status when the trial finished; the trial's is in `trial.status`. */
  status: LocalJobStatusWord;
  /** Orders every change of the job; the envelope id is `${jobName}:${seq}`. */
  seq: number;
  failureReason?: string;
  /** Why the job ended, once it has: target reached, budget used, too many failures, stopped by hand. */
  endReason?: string;
  trialCounts: Partial<Record<LocalTrialStatusWord, number>>;
  /** Finished trials by objective status, as SageMaker's ObjectiveStatusCounters. */
  objectiveCounts?: Partial<Record<LocalTrialDetail['objectiveStatus'], number>>;
  /** Trials that exited 0 without reporting the objective metric. */
  completedWithoutObjective?: number;
  trial?: LocalTrialDetail;
};

/**
 * A local job event's detail in tunewire's vocabulary: what the edge claims for the job. The
 * trial counts and objective counters ride along as cloud providers' observations carry them.
 *
 * @example localJobObservation({ jobName: 'j', status: 'COMPLETED', seq: 9, trialCounts: { COMPLETED: 2 } }, at)
 *   // { status: 'succeeded', providerStatus: 'COMPLETED', trialCounts: { succeeded: 2 }, ... }
 */
export function localJobObservation(
  detail: Pick<LocalJobEventDetail, 'status' | 'failureReason' | 'endReason' | 'objectiveCounts' | 'completedWithoutObjective'> & Partial<Pick<LocalJobEventDetail, 'trialCounts'>>,
  observedAt: string,
): JobObservation {
  // An event without counts (an older engine's, a hand-written one) says nothing about them.
  const trialCounts: Partial<Record<TrialStatus, number>> | undefined = detail.trialCounts ? {} : undefined;
  for (const [word, n] of Object.entries(detail.trialCounts ?? {})) {
    const status = mapLocalTrialStatus(word);
    if (trialCounts) trialCounts[status] = (trialCounts[status] ?? 0) + (n ?? 0);
  }
  const flags = objectiveFlags(detail);
  return {
    status: mapLocalJobStatus(detail.status),
    providerStatus: detail.status,
    observedAt,
    ...(trialCounts ? { trialCounts } : {}),
    ...(detail.failureReason ? { failureReason: detail.failureReason } : {}),
    ...(detail.endReason ? { endReason: detail.endReason } : {}),
    ...(flags.length ? { flags } : {}),
  };
}

/** The flags SageMaker's adapter sets from ObjectiveStatusCounters, and the local engine's own. */
function objectiveFlags(detail: Pick<LocalJobEventDetail, 'status' | 'objectiveCounts' | 'completedWithoutObjective'>): string[] {
  const counts = detail.objectiveCounts ?? {};
  const flags: string[] = detail.status === 'INTERRUPTED' ? [ENGINE_LOST_FLAG] : [];
  if (counts.succeeded) flags.push(`objective-succeeded:${counts.succeeded}`);
  if (counts.pending) flags.push(`objective-pending:${counts.pending}`);
  if (counts.failed) flags.push(`objective-failed:${counts.failed}`);
  if (detail.completedWithoutObjective) flags.push(`${WITHOUT_OBJECTIVE_FLAG}:${detail.completedWithoutObjective}`);
  return flags;
}

/** The flag counting trials that succeeded without reporting the objective metric. */
export const WITHOUT_OBJECTIVE_FLAG = 'succeeded-without-objective';

/**
 * What the local engine reports, shaped as an EventBridge event so the edge parses it the way it
 * parses SageMaker's. One job event per job status change, one trial event per finished trial.
 *
 * @example
 *   { version: '0', id: 'iris-forest-4k2m:7', 'detail-type': 'Local Trial State Change',
 *     source: 'tunewire.local', account: 'local', time: '2025-01-01T00:00:03.000Z', region: 'local',
 *     resources: [], detail: { jobName: 'iris-forest-4k2m', status: 'RUNNING', seq: 7,
 *     trialCounts: { COMPLETED: 1, RUNNING: 2 }, trial: { trialId: 'iris-forest-4k2m-t001', status: 'COMPLETED', ... } } }
 */
export type LocalProviderEvent = {
  version: '0';
  id: string;
  'detail-type': typeof LOCAL_JOB_STATE_CHANGE | typeof LOCAL_TRIAL_STATE_CHANGE;
  source: typeof LOCAL_EVENT_SOURCE;
  account: 'local';
  time: string;
  region: 'local';
  resources: string[];
  detail: LocalJobEventDetail;
};

// ---------------------------------------------------------------------------------------------
// The job's state file: `<workDir>/jobs/<jobName>.json`, replaced whole (temp file + rename) on
// every change, so readers in any process see one consistent version.

type LocalTrialRecord = LocalTrialDetail & {
  /** The seq of this trial's last change; `listTrials` reads from a cursor on it. */
  seq: number;
  /** Which of the search's points it ran (0-based); absent in older files, where trial tNNN ran point NNN-1. */
  point?: number;
  /** The trial's process (and process group) while it runs. */
  pid?: number;
};

interface LocalJobState {
  format: 1;
  jobName: string;
  jobId: string;
  status: LocalJobStatusWord;
  seq: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  /** When the last `resume` started it again. */
  resumedAt?: string;
  endedAt?: string;
  failureReason?: string;
  endReason?: string;
  /** The search seed, kept so a run can be told apart from, or repeated as, another. */
  seed: number;
  /** The process running the job; when it is gone before the job ends, the job is interrupted. */
  enginePid: number;
  /** Milliseconds the job ran under engines that have exited: a resumed run has the rest of budget.maxRuntimeSeconds. */
  ranMs?: number;
  spec: TuningSpec;
  trials: LocalTrialRecord[];
}

export interface LocalProviderOptions {
  /** Where job state, trial logs and model artifacts go. */
  readonly workDir: string;
  /** The engine's event stream; a failing emit is logged and the run goes on. */
  readonly emit: (event: LocalProviderEvent) => Promise<void>;
  readonly clock?: Clock;
  /** Base for relative trial commands and `trial.cwd`; default: the process's cwd. */
  readonly cwd?: string;
  /** Environment the trials inherit (and where PATH is looked up); default: the process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Time between SIGTERM and SIGKILL when a trial is stopped or times out; default 5. */
  readonly killGraceSeconds?: number;
  /** Where the engine's own complaints go; default stderr. */
  readonly log?: (line: string) => void;
}

/** How a run is started: the environment its trials get (the submitting command's, when the service runs it). */
export interface LocalRunOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The flag a local job carries while it is interrupted: its engine exited, `tunewire resume` continues it. */
export const ENGINE_LOST_FLAG = 'engine_lost';

const TRIAL_PAGE_SIZE = 100;
const STOP_POLL_MS = 500;
const SETTLE_AFTER_EXIT_MS = 1000;
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The local engine: a real tuning run on one machine. Trials are child processes (no shell) whose
 * metrics are read from their output with regexes; grid, random or bayesian search; median early
 * stopping; parallel trials, failure budget, runtime budget and target objective as the managed
 * services have them.
 *
 * @example
 *   const provider = new LocalProvider({ workDir: '.tunewire', emit: async (e) => bus.put(e) });
 *   provider.validate(spec);
 *   const { ref } = await provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec });
 *   await provider.waitForJob(ref.providerJobName);
 *   const { trials } = await provider.listTrials(ref, undefined, spec);
 */
export class LocalProvider implements TuningProvider {
  readonly name = 'local' as const;
  /** The engine writes its state before it announces it: its events are the truth. */
  readonly eventsNeedConfirmation = false;
  /** Its trials are child processes of this one. */
  readonly runsHere = true;

  private readonly workDir: string;
  private readonly cwd: string;
  private readonly clock: Clock;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly runs = new Map<string, JobRun>();

  constructor(private readonly options: LocalProviderOptions) {
    this.workDir = resolve(options.workDir);
    this.cwd = resolve(options.cwd ?? process.cwd());
    this.clock = options.clock ?? systemClock;
    this.env = options.env ?? process.env;
  }

  /** The engine's rules, and whether the trial command can run; `options.env` is the PATH it is looked up on (default: the engine's). */
  validate(spec: TuningSpec, options: LocalRunOptions = {}): void {
    const issues: FieldIssue[] = [];
    if (spec.provider !== 'local') issues.push({ path: 'provider', message: `is "${spec.provider}", not local` });
    const strategy = strategyIssue(spec);
    if (strategy) issues.push(strategy);
    if (spec.warmStart) issues.push({ path: 'warmStart', message: 'is not supported by the local engine' });
    issues.push(...searchIssues(spec));
    const trialIssues = localTrialSpecIssues(spec);
    issues.push(...trialIssues);
    if (trialIssues.length === 0) issues.push(...this.commandIssues(parseLocalTrialSpec(spec), options.env ?? this.env));
    if (issues.length > 0) throw new SpecValidationError('spec', issues);
  }

  render(spec: TuningSpec, job: { readonly jobId: string; readonly providerJobName: string }): LocalJobPlan {
    const trial = parseLocalTrialSpec(spec);
    return {
      jobName: job.providerJobName,
      strategy: spec.strategy,
      objective: spec.objective,
      measurementSelection: spec.measurementSelection,
      maxTrials: spec.budget.maxTrials,
      parallelTrials: spec.budget.parallelTrials,
      maxFailedTrials: spec.budget.maxFailedTrials ?? null,
      maxRuntimeSeconds: spec.budget.maxRuntimeSeconds ?? null,
      targetObjective: spec.budget.targetObjective ?? null,
      parameters: spec.parameters,
      staticHyperparameters: spec.staticHyperparameters,
      command: trial.command,
      metrics: trial.metrics,
      cwd: resolve(this.cwd, trial.cwd ?? '.'),
      timeoutSeconds: trial.timeoutSeconds ?? null,
      stateFile: this.statePath(job.providerJobName),
    };
  }

  providerJobName(jobId: string): string {
    return jobId;
  }

  /**
   * Creates the job's state file exclusively (a hard link fails if it exists), so two creates of
   * one job, in this process or another, start one run; the loser adopts.
   */
  async create(request: CreateJobRequest, options: LocalRunOptions = {}): Promise<CreateJobResult> {
    const jobName = request.providerJobName;
    const ref: ProviderJobRef = { provider: 'local', providerJobName: jobName };
    this.checkJobName(jobName);
    // The rules the run itself depends on; `validate` adds the ones about this machine.
    const issues = [...searchIssues(request.spec), ...localTrialSpecIssues(request.spec)];
    if (issues.length > 0) throw new SpecValidationError('spec', issues);
    const trial = parseLocalTrialSpec(request.spec);
    if (this.runs.has(jobName)) return { ref, adopted: true };

    const now = this.clock.now().toISOString();
    const state: LocalJobState = {
      format: 1,
      jobName,
      jobId: request.jobId,
      status: 'PENDING',
      seq: 1,
      createdAt: now,
      updatedAt: now,
      seed: resolveSeed(request.spec),
      enginePid: process.pid,
      spec: request.spec,
      trials: [],
    };
    const file = this.statePath(jobName);
    try {
      await mkdir(this.jobsDir(), { recursive: true });
      if (!(await createExclusive(file, JSON.stringify(state, null, 2)))) return { ref, adopted: true };
    } catch (error) {
      throw new ProviderError('local', 'create', `cannot write ${file}: ${(error as Error).message}`, { retryable: true, cause: error });
    }

    const journal = new JobJournal(state, file, this.options.emit, this.clock, this.logLine);
    journal.announce(journal.jobEvent());
    this.startRun(journal, trial, options);
    return { ref, adopted: false };
  }

  /**
   * Continues an interrupted job (its engine exited before it finished) in this process: the
   * trials that finished are kept, the ones that were running are marked lost and their points
   * run again, and the search goes on with what is left of the budget. A job this process already
   * runs is left alone (`resumed: false`); a finished one, or one another live engine runs, is refused.
   */
  async resume(providerJobName: string, options: LocalRunOptions = {}): Promise<{ readonly resumed: boolean }> {
    const run = this.runs.get(providerJobName);
    if (run && !run.finished) return { resumed: false };
    const state = await this.readState(providerJobName, 'resume');
    if (TERMINAL_JOB_WORDS.has(state.status)) {
      throw new ProviderError('local', 'resume', `job ${providerJobName} has already ended (${state.status}); there is nothing to resume`, { retryable: false, code: 'PROVIDER.JOB_ENDED' });
    }
    if (ownedBy(state, this.runs)) {
      throw new ProviderError('local', 'resume', `job ${providerJobName} is still running under pid ${state.enginePid}`, { retryable: false, code: 'PROVIDER.JOB_RUNNING' });
    }
    const journal = new JobJournal(state, this.statePath(providerJobName), this.options.emit, this.clock, this.logLine);
    if (state.status !== 'INTERRUPTED') await this.markInterrupted(journal);
    await journal.change(
      (_seq, at) => {
        state.status = 'RUNNING';
        state.enginePid = process.pid;
        state.resumedAt = at;
      },
      undefined,
      true,
    );
    this.startRun(journal, parseLocalTrialSpec(state.spec), options);
    return { resumed: true };
  }

  /**
   * Marks every unfinished job whose engine has exited as interrupted (its running trials lost),
   * and ends whatever those trials left running. The local service does this when it starts, so the
   * ledger learns at once which jobs wait for `resume`. Returns the interrupted jobs' names.
   */
  async recoverInterrupted(): Promise<string[]> {
    let names: string[];
    try {
      names = (await readdir(this.jobsDir())).filter((name) => name.endsWith('.json'));
    } catch {
      return [];
    }
    const recovered: string[] = [];
    for (const name of names) {
      const jobName = name.slice(0, -'.json'.length);
      if (!JOB_NAME.test(jobName) || this.runs.has(jobName)) continue;
      let state: LocalJobState;
      try {
        state = await this.readState(jobName, 'recover');
      } catch {
        continue; // a temp file, or not ours
      }
      if (TERMINAL_JOB_WORDS.has(state.status) || state.status === 'INTERRUPTED' || ownedBy(state, this.runs)) continue;
      await this.markInterrupted(new JobJournal(state, this.statePath(jobName), this.options.emit, this.clock, this.logLine));
      recovered.push(jobName);
    }
    return recovered;
  }

  private async markInterrupted(journal: JobJournal): Promise<void> {
    const state = journal.state;
    // the engine's last word: it ran until about then
    const lastSeen = Date.parse(state.updatedAt);
    const running = state.trials.filter((t) => t.status === 'RUNNING');
    const graceMs = (this.options.killGraceSeconds ?? 5) * 1000;
    await Promise.all(running.map((t) => (t.pid ? killGroupGracefully(t.pid, graceMs) : undefined)));
    const reason = `lost: the local engine (pid ${state.enginePid}) exited while it ran`;
    for (const trial of running) {
      await journal.change((_seq, at) => {
        trial.status = 'STOPPED';
        trial.endedAt = at;
        trial.failureReason = reason;
        trial.lost = true;
        delete trial.pid;
      }, trial);
    }
    await journal.change(
      () => {
        const since = Date.parse(state.resumedAt ?? state.startedAt ?? state.createdAt);
        state.ranMs = (state.ranMs ?? 0) + Math.max(0, lastSeen - since);
        state.status = 'INTERRUPTED';
      },
      undefined,
      true,
    );
    await journal.flush();
  }

  private startRun(journal: JobJournal, trial: LocalTrialSpec, options: LocalRunOptions): void {
    const jobName = journal.state.jobName;
    const run = new JobRun(journal, {
      trial,
      metrics: compileMetrics(trial),
      trialCwd: resolve(this.cwd, trial.cwd ?? '.'),
      jobDir: join(this.jobsDir(), jobName),
      stopMarker: this.stopMarkerPath(jobName),
      env: options.env ?? this.env,
      killGraceMs: (this.options.killGraceSeconds ?? 5) * 1000,
      log: this.logLine,
    });
    this.runs.set(jobName, run);
    run.start();
  }

  async describe(ref: ProviderJobRef): Promise<JobObservation> {
    const state = await this.readState(ref.providerJobName, 'describe');
    const trials = state.trials.map(toTrial);
    const best = selectBestTrial(trials, state.spec.objective.goal);
    const observation = localJobObservation(jobDetailOf(state), state.updatedAt);
    const base = { ...observation, ...(best ? { providerBestTrialId: best.trialId } : {}) };
    if (!TERMINAL_JOB_WORDS.has(state.status) && !ownedBy(state, this.runs)) {
      // Nobody runs this job any more: it waits for `resume` (or `stop`), and the ledger must not wait for it.
      return { ...base, status: 'paused', providerStatus: 'INTERRUPTED', flags: [ENGINE_LOST_FLAG] };
    }
    return base;
  }

  /**
   * Trials whose last change is after the cursor (a seq), oldest change first, 100 per page.
   * The cursor returned is the last seq the page covers; passing it back returns only news.
   */
  async listTrials(ref: ProviderJobRef, cursor: string | undefined, _spec: TuningSpec): Promise<TrialPage> {
    const after = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new ProviderError('local', 'listTrials', `cursor "${cursor}" is not a seq`, { retryable: false, code: 'PROVIDER.BAD_CURSOR' });
    }
    const state = await this.readState(ref.providerJobName, 'listTrials');
    const changed = state.trials.filter((t) => t.seq > after).sort((a, b) => a.seq - b.seq);
    const page = changed.slice(0, TRIAL_PAGE_SIZE);
    const last = page.length < changed.length ? (page[page.length - 1]?.seq ?? after) : Math.max(after, state.seq);
    return { trials: page.map(toTrial), cursor: String(last), complete: page.length === changed.length };
  }

  /**
   * Stops the job: running trials get SIGTERM, then SIGKILL after the grace period; the job goes
   * stopping, then stopped once every trial has ended. Returns once stopping is recorded. A job
   * run by another live process is asked through a stop file it watches.
   */
  async stop(ref: ProviderJobRef): Promise<void> {
    const name = ref.providerJobName;
    const run = this.runs.get(name);
    if (run && !run.finished) {
      await run.halt('stop');
      return;
    }
    const state = await this.readState(name, 'stop');
    if (TERMINAL_JOB_WORDS.has(state.status)) return;
    if (ownedBy(state, this.runs)) {
      await writeFile(this.stopMarkerPath(name), this.clock.now().toISOString());
      return;
    }
    await this.stopOrphan(state);
  }

  /**
   * The end of a trial's log file (`<workDir>/jobs/<jobName>/logs/<trialId>.log`, the last 256 KiB
   * from a line boundary). The trial id becomes a file name, so only the engine's own form of it
   * for this job (`<jobName>-t<number>`) is read.
   */
  async trialLogs(ref: ProviderJobRef, trialId: string): Promise<TrialLogs> {
    const jobName = ref.providerJobName;
    this.checkJobName(jobName);
    if (!/^t\d{1,9}$/.test(trialId.startsWith(`${jobName}-`) ? trialId.slice(jobName.length + 1) : '')) {
      throw new ProviderError('local', 'trialLogs', `"${trialId.slice(0, 80)}" is not a trial of job ${jobName}`, { retryable: false, code: 'PROVIDER.BAD_TRIAL_ID' });
    }
    const path = join(this.jobsDir(), jobName, 'logs', `${trialId}.log`);
    const tail = await readLogTail(path);
    if (!tail) return { text: '', links: [], note: `trial ${trialId} has no output yet (it has not started)` };
    return { ...tail, links: [{ label: 'log file', url: pathToFileURL(path).href }] };
  }

  /** Resolves when this process's run of the job has finished and announced everything. */
  waitForJob(providerJobName: string): Promise<void> {
    return this.runs.get(providerJobName)?.done ?? Promise.resolve();
  }

  /** Stops every run this provider started and waits for them to end. */
  async close(): Promise<void> {
    const runs = [...this.runs.values()].filter((r) => !r.finished);
    await Promise.all(runs.map((r) => r.halt('stop')));
    await Promise.all(runs.map((r) => r.done));
  }

  // -------------------------------------------------------------------------------------------

  private readonly logLine = (line: string): void => {
    if (this.options.log) this.options.log(line);
    else process.stderr.write(`tunewire local: ${line}\n`);
  };

  private jobsDir(): string {
    return join(this.workDir, 'jobs');
  }

  private statePath(jobName: string): string {
    return join(this.jobsDir(), `${jobName}.json`);
  }

  private stopMarkerPath(jobName: string): string {
    return join(this.jobsDir(), `${jobName}.stop`);
  }

  private checkJobName(jobName: string): void {
    if (!JOB_NAME.test(jobName)) {
      throw new ProviderError('local', 'create', `job name "${jobName}" must be letters, digits, dots, dashes and underscores (at most 128)`, {
        retryable: false,
        code: 'PROVIDER.INVALID_NAME',
      });
    }
  }

  private async readState(jobName: string, operation: string): Promise<LocalJobState> {
    this.checkJobName(jobName);
    let text: string;
    try {
      text = await readFile(this.statePath(jobName), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ProviderError('local', operation, `job ${jobName} does not exist`, { retryable: false, code: 'PROVIDER.NOT_FOUND', cause: error });
      }
      throw new ProviderError('local', operation, `cannot read job ${jobName}: ${(error as Error).message}`, { retryable: true, cause: error });
    }
    const state = JSON.parse(text) as LocalJobState;
    if (state.format !== 1 || state.jobName !== jobName) {
      throw new ProviderError('local', operation, `${this.statePath(jobName)} is not a local job state file`, { retryable: false });
    }
    return state;
  }

  /** The engine that ran the job is gone: end its leftover trial processes and record the stop. */
  private async stopOrphan(state: LocalJobState): Promise<void> {
    const journal = new JobJournal(state, this.statePath(state.jobName), this.options.emit, this.clock, this.logLine);
    await journal.setJobStatus('STOPPING');
    const running = state.trials.filter((t) => t.status === 'RUNNING');
    await Promise.all(running.map((t) => (t.pid ? killGroupGracefully(t.pid, (this.options.killGraceSeconds ?? 5) * 1000) : undefined)));
    for (const trial of running) {
      await journal.change((_seq, at) => {
        trial.status = 'STOPPED';
        trial.endedAt = at;
        trial.failureReason = 'stopped after its engine had exited';
        delete trial.pid;
      }, trial);
    }
    await journal.setJobStatus('STOPPED');
    await journal.flush();
  }

  private commandIssues(trial: LocalTrialSpec, env: Readonly<Record<string, string | undefined>>): FieldIssue[] {
    const cwd = resolve(this.cwd, trial.cwd ?? '.');
    if (!isDirectory(cwd)) return [{ path: trial.cwd ? 'trial.cwd' : 'trial.command[0]', message: `directory ${cwd} does not exist` }];
    const executable = trial.command[0] ?? '';
    if (placeholdersOf(executable).length > 0) return [];
    if (executable.includes('/') || executable.includes('\\') || isAbsolute(executable)) {
      const path = resolve(cwd, executable);
      if (!existsSync(path)) return [{ path: 'trial.command[0]', message: `${executable} does not exist (looked for ${path})` }];
      if (!isExecutableFile(path)) return [{ path: 'trial.command[0]', message: `${path} is not an executable file` }];
      return [];
    }
    const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
    const extensions = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
    const found = dirs.some((dir) => extensions.some((ext) => isExecutableFile(join(resolve(cwd, dir), executable + ext))));
    return found ? [] : [{ path: 'trial.command[0]', message: `"${executable}" was not found on PATH` }];
  }
}

/** A local job whose engine still runs it, as its state file tells. */
export interface RunningLocalJob {
  readonly jobName: string;
  readonly jobId: string;
  /** The process running the job (the engine). */
  readonly enginePid: number;
}

/**
 * The jobs under `workDir` that are not finished and whose engine process is alive: what the local
 * service must not stop under. Read from the state files, so it works from any process.
 *
 * @example
 *   const running = await runningLocalJobs('.tunewire/local');
 *   if (running.length > 0) console.log(`busy: ${running.map((j) => j.jobId).join(', ')}`);
 */
export async function runningLocalJobs(workDir: string): Promise<RunningLocalJob[]> {
  const dir = join(resolve(workDir), 'jobs');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  const running: RunningLocalJob[] = [];
  for (const name of names) {
    try {
      const state = JSON.parse(await readFile(join(dir, name), 'utf8')) as LocalJobState;
      if (state.format === 1 && !TERMINAL_JOB_WORDS.has(state.status) && engineOwns(state)) {
        running.push({ jobName: state.jobName, jobId: state.jobId, enginePid: state.enginePid });
      }
    } catch {
      // a temp file, or one replaced while we read it: the next look sees it whole
    }
  }
  return running;
}

/** Asks the engine running a local job (in any process) to stop it, through the stop file it watches. */
export async function requestLocalStop(workDir: string, jobName: string): Promise<void> {
  if (!JOB_NAME.test(jobName)) return;
  await writeFile(join(resolve(workDir), 'jobs', `${jobName}.stop`), new Date().toISOString());
}

/** What `render` returns: the local engine's plan for a job. */
export interface LocalJobPlan {
  readonly jobName: string;
  readonly strategy: TuningSpec['strategy'];
  readonly objective: TuningSpec['objective'];
  readonly measurementSelection: TuningSpec['measurementSelection'];
  readonly maxTrials: number;
  readonly parallelTrials: number;
  readonly maxFailedTrials: number | null;
  readonly maxRuntimeSeconds: number | null;
  readonly targetObjective: number | null;
  readonly parameters: TuningSpec['parameters'];
  readonly staticHyperparameters: TuningSpec['staticHyperparameters'];
  readonly command: readonly string[];
  readonly metrics: LocalTrialSpec['metrics'];
  readonly cwd: string;
  readonly timeoutSeconds: number | null;
  readonly stateFile: string;
}

// ---------------------------------------------------------------------------------------------

/**
 * The job's record keeper: every change gets the next seq, is written to the state file, and
 * only then announced, in seq order. Writes and emits run on two queues so a slow (or
 * re-entrant) event consumer never holds up the run.
 */
class JobJournal {
  private writes: Promise<void> = Promise.resolve();
  private events: Promise<void> = Promise.resolve();

  constructor(
    readonly state: LocalJobState,
    private readonly file: string,
    private readonly emit: (event: LocalProviderEvent) => Promise<void>,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  get status(): LocalJobStatusWord {
    return this.state.status;
  }

  /** Applies a change, persists it, and announces it (a job event, or a trial event when given the finished trial). */
  change(mutate: (seq: number, at: string) => void, finishedTrial?: LocalTrialRecord, announceJob = false): Promise<void> {
    const seq = ++this.state.seq;
    const at = this.clock.now().toISOString();
    this.state.updatedAt = at;
    mutate(seq, at);
    if (finishedTrial) finishedTrial.seq = seq;
    const snapshot = JSON.stringify(this.state, null, 2);
    const event = announceJob ? this.jobEvent() : finishedTrial && finishedTrial.status !== 'RUNNING' ? this.trialEvent(finishedTrial) : undefined;
    const written = this.writes.then(() => this.persist(snapshot, seq));
    this.writes = written;
    return written.then(() => {
      if (event) this.announce(event);
    });
  }

  /** Moves the job forward; a word that does not advance (a late STOPPING after FAILED) changes nothing. */
  async setJobStatus(word: LocalJobStatusWord, failureReason?: string, endReason?: string): Promise<void> {
    if (JOB_WORD_RANK[word] <= JOB_WORD_RANK[this.state.status]) return;
    await this.change(
      (_seq, at) => {
        this.state.status = word;
        if (word === 'RUNNING') this.state.startedAt = at;
        if (TERMINAL_JOB_WORDS.has(word)) this.state.endedAt = at;
        if (failureReason) this.state.failureReason = failureReason;
        if (endReason) this.state.endReason = endReason;
      },
      undefined,
      true,
    );
  }

  jobEvent(): LocalProviderEvent {
    return this.envelope(LOCAL_JOB_STATE_CHANGE, undefined);
  }

  trialEvent(trial: LocalTrialRecord): LocalProviderEvent {
    const { seq: _seq, pid: _pid, ...detail } = trial;
    return this.envelope(LOCAL_TRIAL_STATE_CHANGE, structuredClone(detail));
  }

  announce(event: LocalProviderEvent): void {
    this.events = this.events.then(async () => {
      try {
        await this.emit(event);
      } catch (error) {
        // The reconciler repairs a lost event; the run must go on.
        this.log(`emitting ${event.id} (${event.detail.status}) failed: ${(error as Error)?.message ?? String(error)}`);
      }
    });
  }

  /** Resolves when every change so far is written and announced. */
  async flush(): Promise<void> {
    await this.writes;
    await this.events;
  }

  private envelope(detailType: LocalProviderEvent['detail-type'], trial: LocalTrialDetail | undefined): LocalProviderEvent {
    const s = this.state;
    return {
      version: '0',
      id: `${s.jobName}:${s.seq}`,
      'detail-type': detailType,
      source: LOCAL_EVENT_SOURCE,
      account: 'local',
      time: s.updatedAt,
      region: 'local',
      resources: [],
      detail: { ...jobDetailOf(s), ...(trial ? { trial } : {}) },
    };
  }

  private async persist(snapshot: string, seq: number): Promise<void> {
    const temp = `${this.file}.${process.pid}.${seq}.tmp`;
    try {
      await writeFile(temp, snapshot);
      await rename(temp, this.file);
    } catch (error) {
      this.log(`writing ${this.file} (seq ${seq}) failed: ${(error as Error).message}`);
      await unlink(temp).catch(() => undefined);
    }
  }
}

interface RunSettings {
  readonly trial: LocalTrialSpec;
  readonly metrics: readonly CompiledMetric[];
  readonly trialCwd: string;
  readonly jobDir: string;
  readonly stopMarker: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly killGraceMs: number;
  readonly log: (line: string) => void;
}

type HaltReason = 'stop' | 'runtime' | 'target' | 'failures';
/** stop: the job is ending; timeout: trial.timeoutSeconds; early: the early-stopping rule. */
type KillReason = 'stop' | 'timeout' | 'early';

interface ActiveTrial {
  readonly trialId: string;
  readonly finished: Promise<void>;
  child?: ChildProcess;
  /** Why the engine is ending it; the first reason wins. */
  killReason?: KillReason;
  /** Why the early-stopping rule ended it. */
  earlyStop?: MedianStop;
  killTimer?: NodeJS.Timeout;
  exited: boolean;
}

interface TrialOutcome {
  readonly status: Exclude<LocalTrialStatusWord, 'RUNNING'>;
  readonly failureReason?: string;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  /** The trial's last non-blank output line. */
  readonly lastLine?: string;
  readonly stoppedEarly?: boolean;
}

/**
 * One run of a job in this process: schedules trials from the search, at most `parallelTrials`
 * at once, until the search is done or a budget ends it.
 */
class JobRun {
  readonly done: Promise<void>;
  finished = false;
  private startRun!: () => void;
  private readonly active = new Map<string, ActiveTrial>();
  private haltReason: HaltReason | undefined;
  private failedCount = 0;
  private completedCount = 0;
  /** Trials finished when the target objective was first reached. */
  private targetReachedAfter = 0;
  private readonly spec: TuningSpec;
  /** earlyStopping auto; a resumed run starts it afresh (the journal keeps no curves). */
  private readonly stopper: MedianStoppingRule | undefined;

  constructor(
    private readonly journal: JobJournal,
    private readonly settings: RunSettings,
  ) {
    this.spec = journal.state.spec;
    this.stopper = this.spec.earlyStopping === 'auto' ? new MedianStoppingRule({ goal: this.spec.objective.goal }) : undefined;
    // A resumed run counts what finished before it; trials lost with the old engine do not count.
    for (const trial of journal.state.trials) {
      if (trial.status === 'FAILED') this.failedCount++;
      if (trial.status === 'COMPLETED') this.completedCount++;
    }
    const started = new Promise<void>((go) => (this.startRun = go));
    this.done = started
      .then(() => this.execute())
      .catch((error: unknown) => this.settings.log(`run of ${journal.state.jobName} broke: ${(error as Error)?.stack ?? String(error)}`))
      .finally(() => {
        this.finished = true;
      });
  }

  start(): void {
    this.startRun();
  }

  /** Ends the run early: no new trials; running trials get SIGTERM (then SIGKILL) and end stopped. */
  async halt(reason: 'stop' | 'runtime'): Promise<void> {
    if (this.haltReason === 'stop' || this.haltReason === 'runtime') return;
    this.haltReason = reason;
    const pending = this.journal.setJobStatus('STOPPING');
    for (const trial of this.active.values()) this.terminate(trial, 'stop');
    await pending;
  }

  private async execute(): Promise<void> {
    const budget = this.spec.budget;
    let runtimeTimer: NodeJS.Timeout | undefined;
    let stopPoll: NodeJS.Timeout | undefined;
    try {
      await this.journal.setJobStatus('RUNNING');
      if (budget.maxRuntimeSeconds !== undefined) {
        const leftMs = Math.max(0, budget.maxRuntimeSeconds * 1000 - (this.journal.state.ranMs ?? 0));
        runtimeTimer = setTimeout(() => void this.halt('runtime'), leftMs);
      }
      stopPoll = setInterval(() => {
        if (existsSync(this.settings.stopMarker)) void this.halt('stop');
      }, STOP_POLL_MS);

      // The search repeats from its seed; a resumed run goes on from what finished (samplers.ts).
      const trials = this.journal.state.trials;
      const nextPoint = pointSource(this.spec, this.journal.state.seed, () => trials.map((t) => ({ ...t, point: pointOf(t) })));
      let index = trials.reduce((most, t) => Math.max(most, trialNumber(t)), 0);
      for (;;) {
        while (this.haltReason === undefined && this.active.size < budget.parallelTrials) {
          const next = nextPoint();
          if (!next) break;
          this.launch(++index, next.point, next.pointIndex);
        }
        if (this.active.size === 0) break;
        await Promise.race([...this.active.values()].map((t) => t.finished));
      }
      clearTimeout(runtimeTimer);
      clearInterval(stopPoll);
      await this.finish();
    } catch (error) {
      this.settings.log(`run of ${this.journal.state.jobName} failed: ${(error as Error)?.stack ?? String(error)}`);
      for (const trial of this.active.values()) this.terminate(trial, 'stop');
      await Promise.all([...this.active.values()].map((t) => t.finished));
      await this.journal.setJobStatus('FAILED', `local engine error: ${(error as Error)?.message ?? String(error)}`);
    } finally {
      clearTimeout(runtimeTimer);
      clearInterval(stopPoll);
      await unlink(this.settings.stopMarker).catch(() => undefined);
      await this.journal.flush();
    }
  }

  private async finish(): Promise<void> {
    const budget = this.spec.budget;
    const ran = this.journal.state.trials.length;
    switch (this.haltReason) {
      case 'stop':
        return this.journal.setJobStatus('STOPPED', undefined, 'stopped by hand');
      case 'runtime': {
        const reason = `reached budget.maxRuntimeSeconds (${budget.maxRuntimeSeconds} s)`;
        return this.journal.setJobStatus('STOPPED', reason, reason);
      }
      case 'failures': {
        const reason = `${this.failedCount} trial(s) failed, budget.maxFailedTrials is ${budget.maxFailedTrials}`;
        return this.journal.setJobStatus('FAILED', reason, `too many failed trials: ${reason}`);
      }
      case 'target':
        return this.journal.setJobStatus('COMPLETED', undefined, `target objective ${budget.targetObjective} reached after ${this.targetReachedAfter} of ${budget.maxTrials} trial(s) (budget.targetObjective)`);
      case undefined: {
        const used = ran >= budget.maxTrials ? `budget.maxTrials (${budget.maxTrials}) used` : `the grid's ${ran} point(s) all ran`;
        if (this.completedCount > 0) return this.journal.setJobStatus('COMPLETED', undefined, used);
        const reason = `no trial succeeded (${this.failedCount} failed)`;
        return this.journal.setJobStatus('FAILED', reason, `${used}; ${reason}`);
      }
    }
  }

  private launch(index: number, point: ParameterPoint, pointIndex: number): void {
    const trialId = `${this.journal.state.jobName}-t${String(index).padStart(3, '0')}`;
    const entry: { -readonly [K in keyof ActiveTrial]: ActiveTrial[K] } = { trialId, finished: Promise.resolve(), exited: false };
    entry.finished = this.runTrial(entry, point, pointIndex)
      .catch((error: unknown) => this.settings.log(`trial ${trialId} broke: ${(error as Error)?.stack ?? String(error)}`))
      .finally(() => this.active.delete(trialId));
    this.active.set(trialId, entry);
  }

  private async runTrial(entry: ActiveTrial, point: ParameterPoint, pointIndex: number): Promise<void> {
    const artifactDir = join(this.settings.jobDir, entry.trialId);
    const record: LocalTrialRecord = {
      trialId: entry.trialId,
      status: 'RUNNING',
      hyperparameters: { ...point },
      objectiveStatus: 'pending',
      metrics: {},
      startedAt: '',
      stoppedEarly: false,
      artifactUri: `${pathToFileURL(artifactDir).href}/`,
      seq: 0,
      point: pointIndex,
    };
    await this.journal.change((seq, at) => {
      record.startedAt = at;
      record.seq = seq;
      this.journal.state.trials.push(record);
    });

    // the local engine's default, like Vertex's: a trial's best reported value
    const selection = this.spec.measurementSelection ?? 'best';
    const reader = new MetricReader(this.settings.metrics, this.spec.objective.metric, this.spec.objective.goal, selection);
    let outcome: TrialOutcome;
    if (this.haltReason === 'stop' || this.haltReason === 'runtime') {
      outcome = { status: 'STOPPED', failureReason: 'stopped before it started' };
    } else {
      try {
        await mkdir(artifactDir, { recursive: true });
        await mkdir(join(this.settings.jobDir, 'logs'), { recursive: true });
        outcome = await this.spawnTrial(entry, record, point, artifactDir, reader);
      } catch (error) {
        outcome = { status: 'FAILED', failureReason: `could not start: ${(error as Error).message}` };
      }
    }

    const objective = reader.objectiveValue();
    if (outcome.status === 'COMPLETED') this.stopper?.complete(entry.trialId);
    else this.stopper?.discard(entry.trialId);
    await this.journal.change(
      (_seq, at) => {
        record.status = outcome.status;
        record.stoppedEarly = outcome.stoppedEarly === true;
        record.endedAt = at;
        record.metrics = reader.lastValues();
        // A failed trial has no objective (its reported values stay in `metrics`).
        const measured = outcome.status !== 'FAILED' ? objective : undefined;
        if (measured !== undefined) record.objectiveValue = measured;
        record.objectiveStatus = measured !== undefined ? 'succeeded' : 'failed';
        if (outcome.failureReason) record.failureReason = outcome.failureReason;
        else if (measured === undefined) {
          const last = outcome.lastLine ? `; last output: ${truncate(outcome.lastLine, 200)}` : '; it printed nothing';
          record.failureReason = `exited 0 without reporting the objective metric ${this.spec.objective.metric}${last}; log: ${this.logPath(entry.trialId)}`;
        }
        if (outcome.exitCode !== undefined) record.exitCode = outcome.exitCode;
        if (outcome.signal !== undefined) record.signal = outcome.signal;
        delete record.pid;
      },
      record,
    );
    // the job's trial counts moved: a job event says so, as a cloud job's describe would show it
    await this.journal.change(() => undefined, undefined, true);
    this.afterTrial(outcome, objective);
  }

  /** Applies the budget rules a finished trial may trigger: no new trials after it, the job's outcome. */
  private afterTrial(outcome: TrialOutcome, objective: number | undefined): void {
    const budget = this.spec.budget;
    if (outcome.status === 'FAILED') {
      this.failedCount++;
      // maxFailedTrials 0 tolerates no failure, so it ends the job at the first, as 1 does.
      if (budget.maxFailedTrials !== undefined && this.failedCount >= Math.max(1, budget.maxFailedTrials)) this.haltReason ??= 'failures';
    }
    if (outcome.status === 'COMPLETED') {
      this.completedCount++;
      const target = budget.targetObjective;
      if (target !== undefined && objective !== undefined && (objective === target || isBetter(this.spec.objective.goal, objective, target))) {
        if (this.haltReason === undefined) {
          this.haltReason = 'target';
          this.targetReachedAfter = this.failedCount + this.completedCount;
        }
      }
    }
  }

  private spawnTrial(entry: ActiveTrial, record: LocalTrialRecord, point: ParameterPoint, artifactDir: string, reader: MetricReader): Promise<TrialOutcome> {
    const { trial, env: baseEnv, trialCwd } = this.settings;
    const values = { ...this.spec.staticHyperparameters, ...point };
    const [executable = '', ...args] = trial.command.map((arg) => fillPlaceholders(arg, values));
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(baseEnv)) if (value !== undefined) env[key] = value;
    for (const [key, value] of Object.entries(trial.env ?? {})) env[key] = fillPlaceholders(value, values);
    Object.assign(env, {
      TUNEWIRE_HYPERPARAMETERS: JSON.stringify(values),
      TUNEWIRE_TRIAL_ID: entry.trialId,
      TUNEWIRE_JOB_NAME: this.journal.state.jobName,
      TUNEWIRE_MODEL_DIR: artifactDir,
    });

    return new Promise<TrialOutcome>((settle) => {
      const logFile = createWriteStream(this.logPath(entry.trialId));
      logFile.on('error', (error) => this.settings.log(`trial ${entry.trialId} log: ${error.message}`));
      const tail: string[] = [];
      let settled = false;
      let timeoutTimer: NodeJS.Timeout | undefined;
      let settleTimer: NodeJS.Timeout | undefined;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let spawnError: Error | undefined;

      const done = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeoutTimer);
        clearTimeout(settleTimer);
        clearTimeout(entry.killTimer);
        logFile.end();
        settle(this.classify(entry, exit, spawnError, tail));
      };

      let child: ChildProcess;
      try {
        // Its own process group (POSIX), so a stop reaches whatever the trial started.
        child = spawn(executable, args, { cwd: trialCwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
      } catch (error) {
        spawnError = error as Error;
        done();
        return;
      }
      entry.child = child;

      const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
        const report = reader.scan(line);
        if (report) this.judge(entry, report);
        logFile.write(`${stream === 'stderr' ? '! ' : ''}${line}\n`);
        if (line.trim()) {
          tail.push(line.trim());
          if (tail.length > 20) tail.shift();
        }
      };
      if (child.stdout) createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', onLine('stdout'));
      if (child.stderr) createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', onLine('stderr'));

      child.on('spawn', () => {
        if (child.pid !== undefined) {
          record.pid = child.pid;
          trackTrialGroup(child.pid);
          // Recorded so a stop from another process can reach the trial if this engine dies.
          void this.journal.change(() => undefined);
        }
        if (entry.killReason) this.terminate(entry, entry.killReason);
      });
      child.on('error', (error) => {
        if (child.pid === undefined) {
          spawnError = error;
          done();
        } else this.settings.log(`trial ${entry.trialId}: ${error.message}`);
      });
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        entry.exited = true;
        if (child.pid !== undefined) untrackTrialGroup(child.pid);
        clearTimeout(entry.killTimer);
        // Whatever the trial left behind in its group goes with it.
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        // 'close' follows once output is drained; do not wait on a grandchild holding the pipe.
        settleTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          done();
        }, SETTLE_AFTER_EXIT_MS);
      });
      child.on('close', (code, signal) => {
        exit ??= { code, signal };
        setImmediate(done);
      });

      if (trial.timeoutSeconds !== undefined) {
        timeoutTimer = setTimeout(() => this.terminate(entry, 'timeout'), trial.timeoutSeconds * 1000);
      }
    });
  }

  /** Early stopping: a trial whose objective falls behind the completed trials' median is ended. */
  private judge(entry: ActiveTrial, report: Required<MetricReport>): void {
    // a trial that has exited, or is already being ended, is past judging
    if (!this.stopper || entry.exited || entry.killReason) return;
    const verdict = this.stopper.report(entry.trialId, report.step, report.value);
    if (!verdict) return;
    entry.earlyStop = verdict;
    this.terminate(entry, 'early');
  }

  private logPath(trialId: string): string {
    return join(this.settings.jobDir, 'logs', `${trialId}.log`);
  }

  /** SIGTERM to the trial's process group, SIGKILL after the grace period if it is still there. */
  private terminate(entry: ActiveTrial, reason: KillReason): void {
    entry.killReason ??= reason;
    const child = entry.child;
    if (!child || child.pid === undefined || entry.exited || entry.killTimer) return;
    const pid = child.pid;
    if (!signalGroup(pid, 'SIGTERM')) child.kill('SIGTERM');
    entry.killTimer = setTimeout(() => {
      if (!entry.exited && !signalGroup(pid, 'SIGKILL')) child.kill('SIGKILL');
    }, this.settings.killGraceMs);
  }

  private classify(
    entry: ActiveTrial,
    exit: { code: number | null; signal: NodeJS.Signals | null } | undefined,
    spawnError: Error | undefined,
    tail: readonly string[],
  ): TrialOutcome {
    const [executable = ''] = this.settings.trial.command;
    if (spawnError || !exit) {
      return { status: 'FAILED', failureReason: `could not start ${executable}: ${spawnError?.message ?? 'no exit status'}` };
    }
    const facts = { exitCode: exit.code, signal: exit.signal };
    // Whatever it exits with after the engine's signal, the signal decided the outcome.
    if (entry.killReason === 'stop') {
      const why = this.haltReason === 'runtime' ? 'the job reached budget.maxRuntimeSeconds' : 'the job was stopped';
      return { status: 'STOPPED', failureReason: `stopped: ${why}`, ...facts };
    }
    if (entry.killReason === 'early') {
      const stop = entry.earlyStop;
      const why = stop ? `: at step ${stop.step} its best ${stop.best} was worse than the median ${Number(stop.median.toPrecision(6))} of ${stop.trials} completed trial(s)` : '';
      return { status: 'STOPPED', stoppedEarly: true, failureReason: `stopped early (earlyStopping: auto)${why}`, ...facts };
    }
    if (entry.killReason === 'timeout') {
      return { status: 'FAILED', failureReason: `timed out after ${this.settings.trial.timeoutSeconds} s (trial.timeoutSeconds)`, ...facts };
    }
    if (exit.code === 0) return { status: 'COMPLETED', ...facts, ...(tail.length ? { lastLine: tail[tail.length - 1] as string } : {}) };
    // The line that says what went wrong is rarely the last (Node ends with its version line).
    const telling = [...tail].reverse().find((line) => /\b(error|exception|fatal|panic)\b/i.test(line)) ?? tail[tail.length - 1];
    const said = telling ? `: ${truncate(telling, 300)}` : '';
    if (exit.signal) return { status: 'FAILED', failureReason: `killed by signal ${exit.signal}${said}`, ...facts };
    return { status: 'FAILED', failureReason: `exited with code ${exit.code}${said}`, ...facts };
  }
}

/**
 * Reads metric values from trial output lines; the objective under the spec's measurement
 * selection. Each objective value is also an intermediate report: at the step its regex captured,
 * or else the step after the last one (the first report is step 1).
 */
class MetricReader {
  private readonly last: Record<string, number> = {};
  private objective: number | undefined;
  private step = 0;

  constructor(
    private readonly metrics: readonly CompiledMetric[],
    private readonly objectiveMetric: string,
    private readonly goal: Goal,
    private readonly selection: 'best' | 'last',
  ) {}

  /** Takes one line; returns the objective's report when the line has one. */
  scan(line: string): Required<MetricReport> | undefined {
    let report: Required<MetricReport> | undefined;
    for (const metric of this.metrics) {
      const read = readMetric(metric, line);
      if (!read) continue;
      const value = read.value;
      this.last[metric.name] = value;
      if (metric.name !== this.objectiveMetric) continue;
      if (this.selection === 'last' || this.objective === undefined || isBetter(this.goal, value, this.objective)) this.objective = value;
      this.step = read.step ?? this.step + 1;
      report = { value, step: this.step };
    }
    return report;
  }

  objectiveValue(): number | undefined {
    return this.objective;
  }

  lastValues(): Record<string, number> {
    return { ...this.last };
  }
}

// ---------------------------------------------------------------------------------------------

/** The number in a trial id: 3 for `job-t003`. */
function trialNumber(record: LocalTrialRecord): number {
  const match = /-t(\d+)$/.exec(record.trialId);
  return match ? Number(match[1]) : 0;
}

/** The search point a trial ran; files written before points were recorded ran point n-1 as trial n. */
function pointOf(record: LocalTrialRecord): number {
  return record.point ?? trialNumber(record) - 1;
}

function toTrial(record: LocalTrialRecord): Trial {
  return {
    trialId: record.trialId,
    status: mapLocalTrialStatus(record.status),
    hyperparameters: record.hyperparameters,
    ...(record.objectiveValue !== undefined ? { objectiveValue: record.objectiveValue } : {}),
    objectiveStatus: record.objectiveStatus,
    ...(record.startedAt ? { startedAt: record.startedAt } : {}),
    ...(record.endedAt ? { endedAt: record.endedAt } : {}),
    stoppedEarly: record.stoppedEarly,
    ...(record.failureReason ? { failureReason: record.failureReason } : {}),
    artifactUri: record.artifactUri,
    metrics: record.metrics,
  };
}

/** The job's part of an event detail: status, reasons and counts, from its state. */
function jobDetailOf(s: LocalJobState): LocalJobEventDetail {
  const finished = s.trials.filter((t) => t.status !== 'RUNNING');
  const withoutObjective = s.trials.filter((t) => t.status === 'COMPLETED' && t.objectiveStatus === 'failed').length;
  return {
    jobName: s.jobName,
    status: s.status,
    seq: s.seq,
    ...(s.failureReason ? { failureReason: s.failureReason } : {}),
    ...(s.endReason ? { endReason: s.endReason } : {}),
    trialCounts: countTrials(s.trials, (t) => t.status),
    objectiveCounts: countTrials(finished, (t) => t.objectiveStatus),
    ...(withoutObjective ? { completedWithoutObjective: withoutObjective } : {}),
  };
}

function countTrials<K extends string>(trials: readonly LocalTrialRecord[], key: (t: LocalTrialRecord) => K): Partial<Record<K, number>> {
  const counts: Partial<Record<K, number>> = {};
  for (const trial of trials) {
    const k = key(trial);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** Writes `file` only if it does not exist, atomically: a hard link to a complete temp file. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const temp = `${file}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.new`;
  await writeFile(temp, content);
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

// Trials run in their own process groups, so they would outlive an engine that exits without
// stopping them; on a normal exit, whatever still runs goes with the engine.
const liveTrialGroups = new Set<number>();
let exitHookInstalled = false;

function trackTrialGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveTrialGroups) signalGroup(group, 'SIGKILL');
    });
  }
  liveTrialGroups.add(pid);
}

function untrackTrialGroup(pid: number): void {
  liveTrialGroups.delete(pid);
}

/** Signals a process group; false when there is no such group (or on Windows, which has none). */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  if (process.platform === 'win32') return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** An unfinished job still has its engine: not interrupted, and the process that runs it is alive. */
function engineOwns(state: LocalJobState): boolean {
  return state.status !== 'INTERRUPTED' && isAlive(state.enginePid);
}

/** As engineOwns, seen from an engine: a run it has counts whatever the file says. */
function ownedBy(state: LocalJobState, runs: ReadonlyMap<string, JobRun>): boolean {
  return runs.has(state.jobName) || engineOwns(state);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A process that has exited but not been reaped yet (its parent has not waited for it) still takes signals. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

async function killGroupGracefully(pid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pid, 'SIGTERM')) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (isAlive(pid) || groupAlive(pid))) await new Promise((r) => setTimeout(r, 100));
  if (!signalGroup(pid, 'SIGKILL')) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function groupAlive(pid: number): boolean {
  if (process.platform === 'win32') return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, process.platform === 'win32' ? fsConstants.F_OK : fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
