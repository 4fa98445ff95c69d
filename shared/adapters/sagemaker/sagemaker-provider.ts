import * as z from 'zod';
import { fingerprints, readProviderCursor } from '../provider-cursor';
import { createHash } from 'node:crypto';
import {
  CreateHyperParameterTuningJobCommand,
  DescribeHyperParameterTuningJobCommand,
  ListTagsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  ResourceInUse,
  ResourceLimitExceeded,
  ResourceNotFound,
  SageMakerServiceException,
  StopHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  type DescribeHyperParameterTuningJobCommandOutput,
  type ListTrainingJobsForHyperParameterTuningJobCommandOutput,
  type ParameterRanges,
  type SageMakerClient,
  type Tag,
} from '@aws-sdk/client-sagemaker';
import { ProviderError, SpecValidationError } from '../../domain/errors';
import type { JobObservation, ProviderJobRef } from '../../domain/job';
import type { TuningSpec } from '../../domain/spec';
import { isTerminalTrialStatus } from '../../domain/status';
import type { Trial } from '../../domain/trial';
import type { Clock } from '../../ports/clock';
import { systemClock } from '../../ports/clock';
import type { CreateJobRequest, CreateJobResult, TrialLogs, TrialPage, TuningProvider } from '../../ports/provider';
import { regionOfArn, sageMakerTrialLinks } from './sagemaker-links';
import { sageMakerJobName } from './sagemaker-names';
import { JOB_ID_TAG, buildCreateTuningJobRequest } from './sagemaker-request';
import { observationFromDescribe, trialFromSummary } from './sagemaker-responses';
import { sageMakerSpecIssues } from './sagemaker-spec';

/** ListTrainingJobsForHyperParameterTuningJob's largest page. */
export const SAGEMAKER_MAX_PAGE_SIZE = 100;

export interface SageMakerProviderOptions {
  /**
   * Built once by the composition root. Its retry strategy absorbs throttling and 5xx: build it
   * with the standard strategy (the default) and the attempts the deployment can afford, e.g.
   * `new SageMakerClient({ maxAttempts: 8 })`. The provider never retries by itself.
   */
  readonly client: SageMakerClient;
  readonly clock?: Clock;
  /** MaxResults of each trial listing call, 1 to 100; default 100. */
  readonly pageSize?: number;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Error codes AWS uses for throttling (the SDK's standard retry strategy knows the same set). */
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
]);

/**
 * SageMaker answers several "not here" and "not now" cases with a plain ValidationException
 * (DescribeTrainingJob of a missing job, a stale NextToken, stopping a finished job). The code is
 * the wire's `__type`, a stable contract; messages are never read.
 */
export function isValidationException(error: unknown): boolean {
  return error instanceof SageMakerServiceException && error.name === 'ValidationException';
}

const MISSING_AWS_CREDENTIALS =
  'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (after `aws configure` or `aws sso login`)';

/**
 * What an SDK failure means to tunewire. Retryable: throttling that outlasted the client's own
 * retries, 5xx, and calls that got no answer at all (network, timeout). Everything else is the
 * request's fault and stays so on a retry.
 */
export function toProviderError(operation: string, error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof SageMakerServiceException) {
    const status = error.$metadata?.httpStatusCode ?? 0;
    const throttled = THROTTLING_CODES.has(error.name) || status === 429 || error.$retryable?.throttling === true;
    const server = !throttled && (error.$fault === 'server' || status >= 500);
    const code = throttled
      ? 'PROVIDER.THROTTLED'
      : server
        ? 'PROVIDER.UNAVAILABLE'
        : error instanceof ResourceNotFound
          ? 'PROVIDER.JOB_NOT_FOUND'
          : error instanceof ResourceInUse
            ? 'PROVIDER.CONFLICT'
            : error instanceof ResourceLimitExceeded
              ? 'PROVIDER.LIMIT_EXCEEDED'
              : 'PROVIDER.REJECTED';
    return new ProviderError('sagemaker', operation, `${error.name}: ${error.message}`, { retryable: throttled || server, code, cause: error });
  }
  // No answer from SageMaker: connection refused or reset, DNS, a timeout.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ProviderError('sagemaker', operation, message, { retryable: true, code: 'PROVIDER.UNREACHABLE', cause: error });
}

// ---------------------------------------------------------------------------------------------
// The trial cursor

/**
 * The position of incremental trial reads, kept by the ledger as an opaque JSON string.
 *
 * Trials are listed newest first (SortBy CreationTime, Descending), so a listing meets what is new
 * before what is old, and one already seen never moves ahead of one not yet seen. A scan reads
 * pages until it meets a trial created before the watermark `w`, or the listing ends. A
 * `listTrials` call returns after the first page that brings news, carrying the unfinished scan in
 * `s`; pages without news it reads on by itself. A first listing of N trials thus costs
 * ceil(N/100) List calls, and the call that confirms nothing changed one more.
 *
 * Between scans (no `s`), after the last complete scan:
 *  - `w`: every trial created before `w` (epoch ms) was settled (finished, objective no longer
 *    pending) and has been returned settled; such a trial never changes again, so it is never read
 *    again. `w` is the creation time of the oldest trial still unsettled, or of the newest trial
 *    when none was; it only moves forward.
 *  - `h`, `hn`: the newest creation time seen, and the names of the trials created at exactly `h`.
 *    A trial created after `h` (or at `h` and not in `hn`) is new.
 *  - `u`: name → fingerprint of every trial that was unsettled, all created at or after `w`. At
 *    most the job's parallel trials, so the cursor stays small however large the job grows.
 *  - A trial created in [w, h] and not in `u` was settled and returned: it is skipped.
 * So a trial is returned when it is new, or when it was unsettled and its fingerprint (status,
 * objective, times, failure) changed. A scan that finds no news yields the same cursor string,
 * and no call returns the cursor it was given while a scan goes on: that is how a caller looping
 * "until the cursor stops moving" stops (after one List call, unless an unfinished trial lies
 * deeper than a page).
 *
 * During a scan, `s` holds SageMaker's NextToken and what the scan has seen so far: `lo` the
 * oldest unsettled creation time, `hi`/`hin` the newest creation time and its names, `u` the
 * unsettled fingerprints. The news test still uses the state before the scan; when the scan ends,
 * `s` becomes the next state. If SageMaker refuses a stored NextToken (expired), the scan starts
 * again from its first page: trials may be returned twice, which the ledger absorbs, never lost.
 *
 * Assumed of SageMaker: a trial appears in the listing no later than any trial created after it.
 */
interface TrialCursor {
  readonly v: 1;
  readonly w?: number;
  readonly h?: number;
  readonly hn?: readonly string[];
  readonly u?: Readonly<Record<string, string>>;
  readonly s?: ScanProgress;
}

interface ScanProgress {
  readonly t: string;
  readonly lo?: number;
  readonly hi?: number;
  readonly hin?: readonly string[];
  readonly u?: Readonly<Record<string, string>>;
}

const names = z.array(z.string());
const cursorSchema = z.object({
  v: z.literal(1),
  w: z.number().optional(),
  h: z.number().optional(),
  hn: names.optional(),
  u: fingerprints.optional(),
  s: z
    .object({ t: z.string(), lo: z.number().optional(), hi: z.number().optional(), hin: names.optional(), u: fingerprints.optional() })
    .optional(),
});

function parseCursor(cursor: string | undefined): TrialCursor {
  return cursor === undefined ? { v: 1 } : readProviderCursor('sagemaker', cursor, cursorSchema);
}

/** Deterministic: the same state is the same string (names sorted, empty parts left out). */
function writeCursor(c: TrialCursor): string {
  const sortedNames = (a: readonly string[] | undefined) => (a && a.length > 0 ? [...a].sort() : undefined);
  const sortedPrints = (r: Readonly<Record<string, string>> | undefined) => {
    const keys = Object.keys(r ?? {}).sort();
    return keys.length > 0 ? Object.fromEntries(keys.map((k) => [k, (r as Record<string, string>)[k]])) : undefined;
  };
  const s = c.s && { t: c.s.t, lo: c.s.lo, hi: c.s.hi, hin: sortedNames(c.s.hin), u: sortedPrints(c.s.u) };
  return JSON.stringify({ v: 1, w: c.w, h: c.h, hn: sortedNames(c.hn), u: sortedPrints(c.u), s });
}

/** Finished, and SageMaker has judged its objective: nothing about the trial changes any more. */
function isSettled(trial: Trial): boolean {
  return isTerminalTrialStatus(trial.status) && trial.objectiveStatus !== 'pending';
}

/** What may still change about a trial; equal fingerprints mean nothing worth storing changed. */
function fingerprint(trial: Trial): string {
  const facts = [trial.status, trial.objectiveStatus ?? null, trial.objectiveValue ?? null, trial.startedAt ?? null, trial.endedAt ?? null, trial.failureReason ?? null, trial.stoppedEarly];
  return createHash('sha256').update(JSON.stringify(facts)).digest('base64url').slice(0, 12);
}

function isNews(before: TrialCursor, name: string, created: number, print: string): boolean {
  const previous = before.u?.[name];
  if (previous !== undefined) return previous !== print;
  if (before.h === undefined || created > before.h) return true;
  if (created === before.h) return !(before.hn ?? []).includes(name);
  return false;
}

// ---------------------------------------------------------------------------------------------

/**
 * SageMaker hyperparameter tuning. A tunewire job is one tuning job, named from the job id and
 * tagged `tunewire:job-id`; its training jobs are the trials. EventBridge events are hints: the
 * truth is what DescribeHyperParameterTuningJob says.
 *
 * @example
 *   const provider = new SageMakerProvider({ client: new SageMakerClient({ maxAttempts: 8 }) });
 *   provider.validate(spec);
 *   const { ref } = await provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec });
 *   const observation = await provider.describe(ref);
 */
export class SageMakerProvider implements TuningProvider {
  readonly name = 'sagemaker' as const;
  /** SageMaker's events may repeat, arrive late or lack fields: Describe is the truth. */
  readonly eventsNeedConfirmation = true;

  private readonly client: SageMakerClient;
  private readonly clock: Clock;
  private readonly pageSize: number;

  constructor(options: SageMakerProviderOptions) {
    this.client = options.client;
    this.clock = options.clock ?? systemClock;
    const size = options.pageSize ?? SAGEMAKER_MAX_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > SAGEMAKER_MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer from 1 to ${SAGEMAKER_MAX_PAGE_SIZE}, not ${size}`);
    }
    this.pageSize = size;
  }

  validate(spec: TuningSpec): void {
    const issues = sageMakerSpecIssues(spec);
    if (issues.length > 0) throw new SpecValidationError('spec', issues);
  }

  render(
    spec: TuningSpec,
    job: { readonly jobId: string; readonly providerJobName: string; readonly warmStartParents?: readonly ProviderJobRef[] },
  ): CreateHyperParameterTuningJobCommandInput {
    return buildCreateTuningJobRequest(spec, job);
  }

  providerJobName(jobId: string): string {
    return sageMakerJobName(jobId);
  }

  /**
   * Creates the tuning job. "Already exists" is a retried submit when the job carries our
   * `tunewire:job-id` tag with this job id: it is adopted. Any other job of that name belongs to
   * someone else and is refused, never adopted.
   */
  async create(request: CreateJobRequest): Promise<CreateJobResult> {
    this.validate(request.spec);
    const input = this.render(request.spec, request);
    const name = request.providerJobName;
    await this.requireCredentials('create');
    try {
      const output = await this.client.send(new CreateHyperParameterTuningJobCommand(input));
      return { ref: this.ref(name, output.HyperParameterTuningJobArn), adopted: false };
    } catch (error) {
      if (!(error instanceof ResourceInUse)) throw toProviderError('create', error);
    }
    const existing = await this.describeRaw(name, 'create');
    await this.checkOwnership(request.jobId, name, existing, input);
    return { ref: this.ref(name, existing.HyperParameterTuningJobArn), adopted: true };
  }

  async describe(ref: ProviderJobRef): Promise<JobObservation> {
    const described = await this.describeRaw(ref.providerJobName, 'describe');
    const observation = observationFromDescribe(described);
    // An answer with no time at all is dated when it was read, not at the epoch.
    const dated = described.LastModifiedTime ?? described.HyperParameterTuningEndTime ?? described.CreationTime;
    return dated ? observation : { ...observation, observedAt: this.clock.now().toISOString() };
  }

  /**
   * New and changed trials since `cursor` (see `TrialCursor`). A call returns as soon as a page
   * brings news, so a long first listing advances page by page; pages without news are read on
   * within the call, so a scan that finds nothing returns the very cursor it was given.
   */
  async listTrials(ref: ProviderJobRef, cursor: string | undefined, spec: TuningSpec): Promise<TrialPage> {
    const before = parseCursor(cursor);
    const { s: _scan, ...state } = before;
    let scan: Omit<ScanProgress, 't'> & { t?: string } = before.s ?? {};
    const trials: Trial[] = [];
    let restarted = false;

    for (;;) {
      let output: ListTrainingJobsForHyperParameterTuningJobCommandOutput;
      try {
        output = await this.listPage(ref.providerJobName, scan.t);
      } catch (error) {
        // A stored NextToken SageMaker no longer takes: the scan starts over (once), losing nothing.
        if (scan.t === undefined || restarted || !isValidationException(error)) throw toProviderError('listTrials', error);
        [scan, restarted] = [{}, true];
        continue;
      }

      const unsettled: Record<string, string> = { ...scan.u };
      let { lo, hi } = scan;
      let hin = [...(scan.hin ?? [])];
      let reachedSettled = false;
      for (const summary of output.TrainingJobSummaries ?? []) {
        const created = summary.CreationTime?.getTime();
        if (created !== undefined && before.w !== undefined && created < before.w) {
          reachedSettled = true;
          break;
        }
        const trial = trialFromSummary(summary, spec);
        if (created === undefined) {
          // Never seen without one; returned every time rather than guessed at.
          trials.push(trial);
          continue;
        }
        const name = trial.trialId;
        const print = fingerprint(trial);
        if (!isSettled(trial)) {
          unsettled[name] = print;
          lo = lo === undefined ? created : Math.min(lo, created);
        }
        if (hi === undefined || created > hi) [hi, hin] = [created, [name]];
        else if (created === hi && !hin.includes(name)) hin.push(name);
        if (isNews(before, name, created, print)) trials.push(trial);
      }

      if (reachedSettled || !output.NextToken) {
        // The scan is complete: what it saw becomes the state the next scan starts from.
        let [h, hn] = [before.h, before.hn ?? []];
        if (hi !== undefined && (h === undefined || hi > h)) [h, hn] = [hi, hin];
        else if (hi !== undefined && hi === h) hn = [...new Set([...hn, ...hin])];
        const w = lo ?? h ?? before.w;
        return { trials, cursor: writeCursor({ v: 1, w, h, hn, u: unsettled }), complete: true };
      }
      scan = { t: output.NextToken, lo, hi, hin, u: unsettled };
      const next = writeCursor({ ...state, s: { t: output.NextToken, lo, hi, hin, u: unsettled } });
      // Never hand back the cursor we were given while the scan goes on (a restarted scan can
      // reproduce it): to a caller, an unchanged cursor means "nothing more to read".
      if (trials.length > 0 && next !== cursor) return { trials, cursor: next };
    }
  }

  /**
   * The training job SageMaker itself names best, read now: DescribeHyperParameterTuningJob's
   * BestTrainingJob (the completed training job with the best final objective metric), mapped in
   * full like a listed trial. Undefined while SageMaker names none. A warm-started job's
   * OverallBestTrainingJob may be a parent's training job, so it is not this job's best.
   */
  async bestTrial(ref: ProviderJobRef, spec: TuningSpec): Promise<Trial | undefined> {
    const described = await this.describeRaw(ref.providerJobName, 'bestTrial');
    return described.BestTrainingJob ? trialFromSummary(described.BestTrainingJob, spec) : undefined;
  }

  /** Stops the tuning job; one already stopping or finished is left as it is. */
  async stop(ref: ProviderJobRef): Promise<void> {
    const name = ref.providerJobName;
    try {
      await this.client.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
      return;
    } catch (error) {
      if (error instanceof ResourceNotFound) throw this.notFound('stop', name, error);
      // SageMaker refuses to stop a job that is not InProgress; Describe says whether that is why.
      if (!isValidationException(error)) throw toProviderError('stop', error);
      const described = await this.describeRaw(name, 'stop');
      const status = described.HyperParameterTuningJobStatus;
      if (status === 'Stopping' || status === 'Stopped' || status === 'Completed' || status === 'Failed') return;
      throw toProviderError('stop', error);
    }
  }

  /**
   * Where a trial's output is: SageMaker writes each training job's output to CloudWatch Logs
   * (log group /aws/sagemaker/TrainingJobs, streams `<TrainingJobName>/algo-1-<epoch>`), and the
   * trial id is the training job name. Links only; nothing is read from AWS. The region is the
   * tuning job's own (from its ARN), else the client's.
   */
  async trialLogs(ref: ProviderJobRef, trialId: string): Promise<TrialLogs> {
    const region = regionOfArn(ref.providerJobId) ?? (await this.client.config.region());
    return { links: sageMakerTrialLinks(region, trialId) };
  }

  // -------------------------------------------------------------------------------------------

  private ref(name: string, arn: string | undefined): ProviderJobRef {
    return { provider: 'sagemaker', providerJobName: name, ...(arn ? { providerJobId: arn } : {}) };
  }

  private async describeRaw(name: string, operation: string): Promise<DescribeHyperParameterTuningJobCommandOutput> {
    try {
      return await this.client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
    } catch (error) {
      if (error instanceof ResourceNotFound) throw this.notFound(operation, name, error);
      throw toProviderError(operation, error);
    }
  }

  private listPage(name: string, nextToken: string | undefined): Promise<ListTrainingJobsForHyperParameterTuningJobCommandOutput> {
    return this.client.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: name,
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: this.pageSize,
        ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
      }),
    );
  }

  /**
   * Whether the tuning job found under our name is ours: the `tunewire:job-id` tag is decisive
   * when our request carries it. Without it (a mapping that sends no tags), the objective, the
   * strategy and the ranges searched must match what this job would have created.
   */
  private async checkOwnership(
    jobId: string,
    name: string,
    existing: DescribeHyperParameterTuningJobCommandOutput,
    input: CreateHyperParameterTuningJobCommandInput,
  ): Promise<void> {
    const refuse = (why: string) =>
      new ProviderError('sagemaker', 'create', `a tuning job named ${name} already exists and was not created by tunewire job ${jobId} (${why}); choose another job id or delete that job`, {
        retryable: false,
        code: 'PROVIDER.NAME_TAKEN',
      });
    const ourTag = (input.Tags ?? []).find((t) => t.Key === JOB_ID_TAG);
    if (ourTag) {
      const arn = existing.HyperParameterTuningJobArn;
      if (!arn) throw refuse('SageMaker returned no ARN to read its tags from');
      const theirs = (await this.listTags(arn)).find((t) => t.Key === JOB_ID_TAG);
      if (theirs?.Value !== ourTag.Value) throw refuse(theirs ? `its ${JOB_ID_TAG} tag is ${JSON.stringify(theirs.Value)}` : `it has no ${JOB_ID_TAG} tag`);
      return;
    }
    const mismatch = configMismatch(input, existing);
    if (mismatch) throw refuse(mismatch);
  }

  private async listTags(arn: string): Promise<Tag[]> {
    const tags: Tag[] = [];
    let token: string | undefined;
    do {
      const page = await this.client
        .send(new ListTagsCommand({ ResourceArn: arn, MaxResults: 100, ...(token ? { NextToken: token } : {}) }))
        .catch((error: unknown) => {
          throw toProviderError('create', error);
        });
      tags.push(...(page.Tags ?? []));
      token = page.NextToken;
    } while (token);
    return tags;
  }

  /**
   * Resolves the client's credentials before a call, so a machine without any gets one line saying
   * what to set instead of the SDK's chain of provider errors. Any failure here is about
   * credentials: nothing has been sent yet.
   */
  private async requireCredentials(operation: string): Promise<void> {
    try {
      await this.client.config.credentials();
    } catch (error) {
      throw new ProviderError('sagemaker', operation, MISSING_AWS_CREDENTIALS, { retryable: false, code: 'PROVIDER.NO_CREDENTIALS', cause: error });
    }
  }

  private notFound(operation: string, name: string, cause: unknown): ProviderError {
    return new ProviderError('sagemaker', operation, `tuning job ${name} was not found`, { retryable: false, code: 'PROVIDER.JOB_NOT_FOUND', cause });
  }
}

/** The first difference between what we would create and the job that exists, if any. */
function configMismatch(input: CreateHyperParameterTuningJobCommandInput, existing: DescribeHyperParameterTuningJobCommandOutput): string | undefined {
  const ours = input.HyperParameterTuningJobConfig;
  const theirs = existing.HyperParameterTuningJobConfig;
  if (ours?.Strategy !== theirs?.Strategy) return `its strategy is ${theirs?.Strategy}`;
  const [o, t] = [ours?.HyperParameterTuningJobObjective, theirs?.HyperParameterTuningJobObjective];
  if (o?.MetricName !== t?.MetricName || o?.Type !== t?.Type) return `its objective is ${t?.Type} ${t?.MetricName}`;
  if (ours?.ResourceLimits?.MaxNumberOfTrainingJobs !== theirs?.ResourceLimits?.MaxNumberOfTrainingJobs) return 'its training job budget differs';
  const ranges = (r: ParameterRanges | undefined) =>
    [...(r?.IntegerParameterRanges ?? []), ...(r?.ContinuousParameterRanges ?? []), ...(r?.CategoricalParameterRanges ?? [])].map((p) => p.Name).sort().join(',');
  if (ranges(ours?.ParameterRanges) !== ranges(theirs?.ParameterRanges)) return 'it searches other hyperparameters';
  const image = (d: { AlgorithmSpecification?: { TrainingImage?: string; AlgorithmName?: string } } | undefined) => d?.AlgorithmSpecification?.TrainingImage ?? d?.AlgorithmSpecification?.AlgorithmName;
  if (image(input.TrainingJobDefinition) !== image(existing.TrainingJobDefinition)) return 'it trains another image';
  return undefined;
}
