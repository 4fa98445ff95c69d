import { createRng } from '../../shared/adapters/local/search';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A wire-level SageMaker: the part of the API tunewire uses, over AWS JSON 1.1 (`POST /`,
 * `X-Amz-Target: SageMaker.<Operation>`), so the real @aws-sdk/client-sagemaker talks to it.
 * Errors are HTTP 400 with `{"__type", "message"}` and become the SDK's typed exceptions; times on
 * the wire are epoch seconds (numbers, millisecond fractions). Tuning jobs live in memory; tests
 * drive them with the control API (`addTrainingJob`, `setStatus`, `advance`, `autopilot`) and hear
 * what SageMaker would send to EventBridge through `onEvent`.
 *
 * Where SageMaker's behaviour is odd, the fake copies it: DescribeTrainingJob and
 * DescribeModelPackageGroup answer a missing name with ValidationException, as does
 * CreateModelPackageGroup for a name that exists, and StopHyperParameterTuningJob for a job that
 * is no longer running.
 *
 * Training Job State Change events come in the shapes the documents allow (`trainingJobEvents`):
 * AWS's documented example has neither FinalMetricDataList nor TuningJobArn, only the tuning
 * job's tags, which SageMaker copies to every training job it launches. What the listing reports
 * as a training job's objective may differ from the metric its event carried (`listedObjective`).
 *
 * @example
 *   const fake = await new FakeSageMaker().start();
 *   const client = new SageMakerClient({ endpoint: fake.endpoint, region: 'us-east-1', credentials });
 *   fake.onEvent((event) => bus.inject(event));
 *   const trial = fake.addTrainingJob('churn-xgb-4k2m', { status: 'Completed', objective: 0.91 });
 */

export const FAKE_SAGEMAKER_OPERATIONS = [
  'CreateHyperParameterTuningJob',
  'DescribeHyperParameterTuningJob',
  'ListTrainingJobsForHyperParameterTuningJob',
  'StopHyperParameterTuningJob',
  'DescribeTrainingJob',
  'ListTags',
  'CreateModelPackageGroup',
  'DescribeModelPackageGroup',
  'CreateModelPackage',
  'ListModelPackages',
] as const;
export type FakeSageMakerOperation = (typeof FAKE_SAGEMAKER_OPERATIONS)[number];

export type SageMakerJobStatus = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
export type SageMakerObjectiveStatus = 'Succeeded' | 'Pending' | 'Failed';

const TERMINAL: ReadonlySet<SageMakerJobStatus> = new Set(['Completed', 'Failed', 'Stopped']);

export const TUNING_JOB_STATE_CHANGE = 'SageMaker HyperParameter Tuning Job State Change';
export const TRAINING_JOB_STATE_CHANGE = 'SageMaker Training Job State Change';

type Json = Record<string, unknown>;

/** An event as EventBridge delivers it to a rule's target. */
export interface FakeSageMakerEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': typeof TUNING_JOB_STATE_CHANGE | typeof TRAINING_JOB_STATE_CHANGE;
  readonly source: 'aws.sagemaker';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: Json;
}

export interface RecordedSageMakerRequest {
  readonly operation: string;
  readonly target: string;
  readonly contentType: string | undefined;
  readonly body: Json;
  /** True when the fake answered with an injected ThrottlingException. */
  readonly throttled: boolean;
}

export interface TrainingJobInit {
  /** Default InProgress. */
  readonly status?: SageMakerJobStatus;
  /** The final objective value; without one a finished job's ObjectiveStatus is Failed. */
  readonly objective?: number;
  /**
   * What the listing and BestTrainingJob report as the objective
   * (FinalHyperParameterTuningJobObjectiveMetric), when it should differ from `objective`, which
   * DescribeTrainingJob and the job's event carry as its final metric. Default `objective`.
   */
  readonly listedObjective?: number;
  /** Overrides what the status and objective imply. */
  readonly objectiveStatus?: SageMakerObjectiveStatus;
  /** The tuned values; default: drawn from the job's ranges. */
  readonly hyperparameters?: Record<string, string>;
  /** For jobs created with TrainingJobDefinitions. */
  readonly definitionName?: string;
  readonly failureReason?: string;
  /** Default: the fake's clock, strictly after the previous training job of any job. */
  readonly creationTime?: Date;
}

export interface TrainingJobUpdate {
  readonly objective?: number;
  /** See `TrainingJobInit.listedObjective`. */
  readonly listedObjective?: number;
  readonly objectiveStatus?: SageMakerObjectiveStatus;
  readonly failureReason?: string;
}

export interface ThrottleOptions {
  /** Fraction of calls refused, in [0, 1]. */
  readonly rate: number;
  /** Only these operations; default all. */
  readonly operations?: readonly FakeSageMakerOperation[];
  /** Seeds the choice, so a run throttles the same calls every time. Default 1. */
  readonly seed?: number;
}

export interface AutopilotOptions {
  /** Time between steps: each step finishes the running trial and starts the next. */
  readonly trialEveryMs: number;
  /** Trials per job, at most the job's MaxNumberOfTrainingJobs; default that maximum. */
  readonly trials?: number;
  /** Objective of the i-th trial of a job (0-based). */
  readonly objective?: (i: number) => number;
}

/**
 * The shape of the Training Job State Change events the fake emits. Every shape carries the
 * tuning job's tags in `Tags` (a map of key to value), as SageMaker propagates them.
 *  - `full`: TuningJobArn and FinalMetricDataList, as some real events have them (the default).
 *  - `without-metrics`: TuningJobArn, but no FinalMetricDataList.
 *  - `documented`: AWS's documented example: neither TuningJobArn nor FinalMetricDataList.
 */
export type TrainingJobEventShape = 'full' | 'without-metrics' | 'documented';

export interface FakeSageMakerOptions {
  readonly region?: string;
  readonly account?: string;
  /** Milliseconds since the epoch; default Date.now. Creation times are kept strictly increasing. */
  readonly now?: () => number;
  /** Default `full`; `trainingJobEvents(shape)` changes it until `reset`. */
  readonly trainingJobEvents?: TrainingJobEventShape;
}

interface TuningJob {
  readonly name: string;
  readonly arn: string;
  readonly request: Json;
  readonly tags: { Key: string; Value: string }[];
  status: SageMakerJobStatus;
  failureReason?: string;
  readonly createdMs: number;
  modifiedMs: number;
  endedMs?: number;
  readonly trainingJobs: TrainingJob[];
  launched: number;
  readonly random: () => number;
}

interface TrainingJob {
  readonly name: string;
  readonly arn: string;
  readonly tuning: TuningJob;
  readonly index: number;
  readonly definitionName?: string;
  readonly createdMs: number;
  startedMs: number;
  endedMs?: number;
  modifiedMs: number;
  status: SageMakerJobStatus;
  readonly tuned: Record<string, string>;
  /** The final metric DescribeTrainingJob and the event carry. */
  objective?: number;
  /** What the listing reports instead, when set. */
  listedObjective?: number;
  objectiveStatus: SageMakerObjectiveStatus;
  failureReason?: string;
}

interface ModelPackageGroup {
  readonly name: string;
  readonly arn: string;
  readonly createdMs: number;
  readonly request: Json;
  readonly packages: ModelPackage[];
}

interface ModelPackage {
  readonly arn: string;
  readonly version: number;
  readonly createdMs: number;
  readonly request: Json;
}

class FakeError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const TUNING_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/;
const GROUP_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export class FakeSageMaker {
  readonly requests: RecordedSageMakerRequest[] = [];
  /** Requests received per operation, throttled ones included. */
  readonly calls: Record<string, number> = {};
  /** Requests refused with an injected ThrottlingException, per operation. */
  readonly throttled: Record<string, number> = {};
  /** Every event emitted, in order. */
  readonly events: FakeSageMakerEvent[] = [];
  endpoint = '';

  private readonly region: string;
  private readonly account: string;
  private readonly clock: () => number;
  private lastMs = 0;
  private server: Server | undefined;
  private readonly tuningJobs = new Map<string, TuningJob>();
  private readonly trainingJobs = new Map<string, TrainingJob>();
  private readonly groups = new Map<string, ModelPackageGroup>();
  private readonly packagesByToken = new Map<string, ModelPackage>();
  private readonly listeners = new Set<(event: FakeSageMakerEvent) => unknown>();
  private readonly deliveries = new Set<Promise<unknown>>();
  private throttling: { rate: number; operations?: ReadonlySet<string>; random: () => number } | undefined;
  private failures: { operation: string; type: string; message: string; status: number; remaining: number }[] = [];
  private pilot: { options: AutopilotOptions; timer: NodeJS.Timeout } | undefined;
  private nextRequestId = 1;
  private nextEventId = 1;
  private readonly initialEventShape: TrainingJobEventShape;
  private eventShape: TrainingJobEventShape;

  constructor(options: FakeSageMakerOptions = {}) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '123456789012';
    this.clock = options.now ?? Date.now;
    this.initialEventShape = options.trainingJobEvents ?? 'full';
    this.eventShape = this.initialEventShape;
  }

  async start(options: { port?: number; host?: string } = {}): Promise<this> {
    const host = options.host ?? '127.0.0.1';
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(options.port ?? 0, host, resolve);
    });
    const { port } = this.server.address() as AddressInfo;
    this.endpoint = `http://${host}:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.stopAutopilot();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  /**
   * Forgets every job, package, request, event, throttle and failure, and goes back to the event
   * shape the constructor chose; the server keeps running.
   */
  reset(): void {
    this.stopAutopilot();
    this.requests.length = 0;
    this.events.length = 0;
    for (const record of [this.calls, this.throttled]) for (const key of Object.keys(record)) delete record[key];
    this.tuningJobs.clear();
    this.trainingJobs.clear();
    this.groups.clear();
    this.packagesByToken.clear();
    this.throttling = undefined;
    this.failures = [];
    this.eventShape = this.initialEventShape;
  }

  // ---------------------------------------------------------------------------------------------
  // Control API

  /** Requests of one operation, parsed, in arrival order (throttled ones left out). */
  requestsOf(operation: FakeSageMakerOperation): Json[] {
    return this.requests.filter((r) => r.operation === operation && !r.throttled).map((r) => r.body);
  }

  /** The shape of the Training Job State Change events emitted from now on, until `reset`. */
  trainingJobEvents(shape: TrainingJobEventShape): void {
    this.eventShape = shape;
  }

  /** Calls `listener` with every event from now on; returns the unsubscribe. */
  onEvent(listener: (event: FakeSageMakerEvent) => unknown): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits until every listener promise started so far has settled. */
  async drainEvents(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  /** Refuses a seeded fraction of calls with ThrottlingException; `rate: 0` turns it off. */
  throttle(options: ThrottleOptions): void {
    this.throttling =
      options.rate > 0
        ? { rate: options.rate, random: mulberry32(options.seed ?? 1), ...(options.operations ? { operations: new Set(options.operations) } : {}) }
        : undefined;
  }

  /** The next `times` calls of `operation` fail with `{"__type": type}` and HTTP `status`. */
  fail(operation: FakeSageMakerOperation, options: { times?: number; type?: string; message?: string; status?: number } = {}): void {
    this.failures.push({
      operation,
      type: options.type ?? 'InternalFailure',
      message: options.message ?? 'fake: chosen to fail',
      status: options.status ?? 500,
      remaining: options.times ?? 1,
    });
  }

  /** A tuning job as the fake holds it, for assertions (the create request verbatim, status, tags). */
  tuningJob(name: string): { readonly request: Json; readonly status: SageMakerJobStatus; readonly arn: string; readonly tags: readonly { Key: string; Value: string }[]; readonly trainingJobNames: readonly string[] } {
    const job = this.job(name);
    return { request: job.request, status: job.status, arn: job.arn, tags: job.tags, trainingJobNames: job.trainingJobs.map((t) => t.name) };
  }

  /**
   * Creates a tuning job directly, as someone else (another tool, another account user) would:
   * the tests' "foreign job with the same name".
   */
  seedTuningJob(request: Json & { HyperParameterTuningJobName: string }, tags: { Key: string; Value: string }[] = []): string {
    return this.createTuningJob({ ...request, Tags: tags }).arn;
  }

  /** The versions of a Model Package Group, oldest first (CreateModelPackage with a known ClientToken adds none). */
  modelPackageArns(groupName: string): string[] {
    return (this.groups.get(groupName)?.packages ?? []).map((p) => p.arn);
  }

  /** Launches a training job in a tuning job; returns its name. A finished one emits its event. */
  addTrainingJob(tuningJobName: string, init: TrainingJobInit = {}): string {
    const tuning = this.job(tuningJobName);
    const index = ++tuning.launched;
    const createdMs = init.creationTime ? init.creationTime.getTime() : this.tick();
    const name = trainingJobName(tuning.name, index);
    const status = init.status ?? 'InProgress';
    const training: TrainingJob = {
      name,
      arn: this.arn('training-job', name.toLowerCase()),
      tuning,
      index,
      ...(init.definitionName ? { definitionName: init.definitionName } : {}),
      createdMs,
      startedMs: createdMs,
      modifiedMs: createdMs,
      status: 'InProgress',
      tuned: init.hyperparameters ?? sampleHyperparameters(this.rangesOf(tuning, init.definitionName), tuning.random),
      ...(init.listedObjective !== undefined ? { listedObjective: init.listedObjective } : {}),
      objectiveStatus: 'Pending',
    };
    tuning.trainingJobs.push(training);
    this.trainingJobs.set(name, training);
    tuning.modifiedMs = Math.max(tuning.modifiedMs, createdMs);
    if (status !== 'InProgress') this.moveTrainingJob(training, status, init);
    else if (init.objectiveStatus) training.objectiveStatus = init.objectiveStatus;
    return name;
  }

  /** Moves a training job to `status`; a finish emits its Training Job State Change event. */
  setTrainingJobStatus(trainingJobName: string, status: SageMakerJobStatus, update: TrainingJobUpdate = {}): void {
    const training = this.trainingJobs.get(trainingJobName);
    if (!training) throw new Error(`fake SageMaker: no training job ${trainingJobName}`);
    this.moveTrainingJob(training, status, update);
  }

  /**
   * What the listing and BestTrainingJob report as a training job's objective from now on, apart
   * from the final metric its event carried; `undefined` makes them agree again. No event.
   */
  setListedObjective(trainingJobName: string, value: number | undefined): void {
    const training = this.trainingJobs.get(trainingJobName);
    if (!training) throw new Error(`fake SageMaker: no training job ${trainingJobName}`);
    if (value === undefined) delete training.listedObjective;
    else training.listedObjective = value;
  }

  /** Sets a tuning job's status (emitting its event); terminal statuses set the end time. */
  setStatus(tuningJobName: string, status: SageMakerJobStatus, failureReason?: string): void {
    this.moveTuningJob(this.job(tuningJobName), status, failureReason);
  }

  /**
   * One step of SageMaker's own work: a Stopping job stops its unfinished training jobs and
   * becomes Stopped.
   */
  advance(): void {
    for (const job of this.tuningJobs.values()) if (job.status === 'Stopping') this.finishStopping(job);
  }

  /**
   * Walks every tuning job, those created later included, through its life by itself: each step
   * finishes the running trial (Completed, objective `objective(i)`) and starts the next, until
   * `trials` have run; then the job is Completed. A job that reaches its
   * TargetObjectiveMetricValue completes early; a Stopping job stops at the next step.
   */
  autopilot(options: AutopilotOptions): void {
    this.stopAutopilot();
    const timer = setInterval(() => this.autopilotStep(), Math.max(1, options.trialEveryMs));
    this.pilot = { options, timer };
  }

  stopAutopilot(): void {
    if (this.pilot) clearInterval(this.pilot.timer);
    this.pilot = undefined;
  }

  /** One autopilot step for every job; tests may call it instead of waiting for the timer. */
  autopilotStep(options: AutopilotOptions | undefined = this.pilot?.options): void {
    if (!options) throw new Error('fake SageMaker: autopilot is not configured');
    for (const job of this.tuningJobs.values()) {
      if (job.status === 'Stopping') {
        this.finishStopping(job);
        continue;
      }
      if (job.status !== 'InProgress') continue;
      const objective = options.objective ?? defaultObjective;
      for (const training of job.trainingJobs) {
        if (training.status === 'InProgress') this.moveTrainingJob(training, 'Completed', { objective: objective(training.index - 1) });
      }
      const limit = Math.min(options.trials ?? Number.POSITIVE_INFINITY, maxTrainingJobs(job.request));
      if (this.reachedTarget(job) || job.launched >= limit) this.moveTuningJob(job, 'Completed');
      else this.addTrainingJob(job.name);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Wire

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('SageMaker.') ? target.slice('SageMaker.'.length) : '';
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `fake-${this.nextRequestId++}` });
      res.end(JSON.stringify(body));
    };
    let body: Json;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Json;
    } catch {
      reply(400, { __type: 'SerializationException', message: 'body is not JSON' });
      return;
    }
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    const throttled = this.shouldThrottle(operation);
    this.requests.push({ operation, target, contentType: req.headers['content-type'], body, throttled });
    if (throttled) {
      this.throttled[operation] = (this.throttled[operation] ?? 0) + 1;
      reply(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
      return;
    }
    const failure = this.failures.find((f) => f.operation === operation && f.remaining > 0);
    if (failure) {
      failure.remaining -= 1;
      reply(failure.status, { __type: failure.type, message: failure.message });
      return;
    }
    try {
      reply(200, this.dispatch(req.method ?? '', operation, body));
    } catch (error) {
      if (error instanceof FakeError) reply(error.status, { __type: error.type, message: error.message });
      else reply(500, { __type: 'InternalFailure', message: (error as Error).message });
    }
  }

  private shouldThrottle(operation: string): boolean {
    const t = this.throttling;
    if (!t || (t.operations && !t.operations.has(operation))) return false;
    return t.random() < t.rate;
  }

  private dispatch(method: string, operation: string, body: Json): Json {
    if (method !== 'POST') throw new FakeError('UnknownOperationException', `fake SageMaker takes POST, not ${method}`);
    switch (operation) {
      case 'CreateHyperParameterTuningJob':
        return { HyperParameterTuningJobArn: this.createTuningJob(body).arn };
      case 'DescribeHyperParameterTuningJob':
        return this.describeTuningJob(this.existingJob(str(body.HyperParameterTuningJobName)));
      case 'ListTrainingJobsForHyperParameterTuningJob':
        return this.listTrainingJobs(body);
      case 'StopHyperParameterTuningJob':
        return this.stopTuningJob(str(body.HyperParameterTuningJobName));
      case 'DescribeTrainingJob':
        return this.describeTrainingJob(str(body.TrainingJobName));
      case 'ListTags':
        return this.listTags(body);
      case 'CreateModelPackageGroup':
        return this.createGroup(body);
      case 'DescribeModelPackageGroup':
        return this.describeGroup(str(body.ModelPackageGroupName));
      case 'CreateModelPackage':
        return this.createModelPackage(body);
      case 'ListModelPackages':
        return this.listModelPackages(body);
      default:
        throw new FakeError('UnknownOperationException', `fake SageMaker does not do ${operation || '(no X-Amz-Target)'}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Tuning jobs

  private createTuningJob(body: Json): TuningJob {
    const name = str(body.HyperParameterTuningJobName);
    if (!TUNING_JOB_NAME.test(name)) {
      throw new FakeError('ValidationException', `1 validation error detected: Value '${name}' at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}`);
    }
    if (!isObject(body.HyperParameterTuningJobConfig)) throw new FakeError('ValidationException', 'HyperParameterTuningJobConfig is required');
    if (!isObject(body.TrainingJobDefinition) && !Array.isArray(body.TrainingJobDefinitions)) {
      throw new FakeError('ValidationException', 'Either TrainingJobDefinition or TrainingJobDefinitions must be provided');
    }
    if (this.tuningJobs.has(name)) {
      throw new FakeError('ResourceInUse', `Hyperparameter tuning job names must be unique within an AWS account and region, and a hyperparameter tuning job with this name already exists: ${this.arn('hyper-parameter-tuning-job', name.toLowerCase())}`);
    }
    const now = this.tick();
    const { Tags, ...request } = body;
    const job: TuningJob = {
      name,
      arn: this.arn('hyper-parameter-tuning-job', name.toLowerCase()),
      request,
      tags: Array.isArray(Tags) ? (Tags as { Key: string; Value: string }[]) : [],
      status: 'InProgress',
      createdMs: now,
      modifiedMs: now,
      trainingJobs: [],
      launched: 0,
      random: mulberry32(seedOf(name)),
    };
    this.tuningJobs.set(name, job);
    this.emitTuningJobEvent(job);
    return job;
  }

  private describeTuningJob(job: TuningJob): Json {
    const r = job.request;
    const counters = { Completed: 0, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 };
    const objectives = { Succeeded: 0, Pending: 0, Failed: 0 };
    for (const t of job.trainingJobs) {
      if (t.status === 'Completed') counters.Completed++;
      else if (t.status === 'Failed') counters.NonRetryableError++;
      else if (t.status === 'Stopped') counters.Stopped++;
      else counters.InProgress++;
      objectives[t.objectiveStatus]++;
    }
    const best = this.bestOf(job, job.trainingJobs);
    const overall = this.overallBest(job);
    return omitUndefined({
      HyperParameterTuningJobName: job.name,
      HyperParameterTuningJobArn: job.arn,
      HyperParameterTuningJobConfig: r.HyperParameterTuningJobConfig,
      TrainingJobDefinition: r.TrainingJobDefinition,
      TrainingJobDefinitions: r.TrainingJobDefinitions,
      HyperParameterTuningJobStatus: job.status,
      CreationTime: seconds(job.createdMs),
      HyperParameterTuningEndTime: job.endedMs === undefined ? undefined : seconds(job.endedMs),
      LastModifiedTime: seconds(job.modifiedMs),
      TrainingJobStatusCounters: counters,
      ObjectiveStatusCounters: objectives,
      BestTrainingJob: best ? this.summary(best) : undefined,
      OverallBestTrainingJob: overall ? this.summary(overall) : undefined,
      WarmStartConfig: r.WarmStartConfig,
      Autotune: r.Autotune,
      FailureReason: job.failureReason,
    });
  }

  private stopTuningJob(name: string): Json {
    const job = this.existingJob(name);
    if (job.status !== 'InProgress') {
      throw new FakeError('ValidationException', `The request was rejected because the hyperparameter tuning job is in status ${job.status}.`);
    }
    this.moveTuningJob(job, 'Stopping');
    return {};
  }

  private finishStopping(job: TuningJob): void {
    for (const training of job.trainingJobs) {
      if (!TERMINAL.has(training.status)) this.moveTrainingJob(training, 'Stopped', {});
    }
    this.moveTuningJob(job, 'Stopped');
  }

  private moveTuningJob(job: TuningJob, status: SageMakerJobStatus, failureReason?: string): void {
    const now = this.tick();
    job.status = status;
    job.modifiedMs = now;
    if (TERMINAL.has(status)) job.endedMs = now;
    if (failureReason !== undefined) job.failureReason = failureReason;
    this.emitTuningJobEvent(job);
  }

  private reachedTarget(job: TuningJob): boolean {
    const config = job.request.HyperParameterTuningJobConfig as Json | undefined;
    const target = (config?.TuningJobCompletionCriteria as Json | undefined)?.TargetObjectiveMetricValue;
    const best = this.bestOf(job, job.trainingJobs);
    const value = best && listedObjective(best);
    if (typeof target !== 'number' || value === undefined) return false;
    return this.objectiveOf(job).Type === 'Minimize' ? value <= target : value >= target;
  }

  // ---------------------------------------------------------------------------------------------
  // Training jobs

  private moveTrainingJob(training: TrainingJob, status: SageMakerJobStatus, update: TrainingJobUpdate): void {
    const now = Math.max(this.tick(), training.createdMs);
    training.status = status;
    training.modifiedMs = now;
    if (update.objective !== undefined) training.objective = update.objective;
    if (update.listedObjective !== undefined) training.listedObjective = update.listedObjective;
    if (update.failureReason !== undefined) training.failureReason = update.failureReason;
    if (TERMINAL.has(status)) {
      training.endedMs = now;
      // Stopped early (Auto early stopping) or by hand, a job still reports the metric it reached.
      training.objectiveStatus = update.objectiveStatus ?? (listedObjective(training) !== undefined && status !== 'Failed' ? 'Succeeded' : 'Failed');
      if (status === 'Failed') training.failureReason ??= 'AlgorithmError: the training container exited with code 1';
    } else if (update.objectiveStatus) training.objectiveStatus = update.objectiveStatus;
    training.tuning.modifiedMs = Math.max(training.tuning.modifiedMs, now);
    if (TERMINAL.has(status)) this.emitTrainingJobEvent(training);
  }

  private listTrainingJobs(body: Json): Json {
    const job = this.existingJob(str(body.HyperParameterTuningJobName));
    const sortBy = str(body.SortBy ?? 'Name');
    const order = str(body.SortOrder ?? 'Ascending');
    const max = body.MaxResults === undefined ? 10 : Number(body.MaxResults);
    if (!['Name', 'CreationTime', 'Status', 'FinalObjectiveMetricValue'].includes(sortBy)) throw new FakeError('ValidationException', `SortBy ${sortBy} is not valid`);
    if (!['Ascending', 'Descending'].includes(order)) throw new FakeError('ValidationException', `SortOrder ${order} is not valid`);
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      throw new FakeError('ValidationException', `1 validation error detected: Value '${String(body.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100`);
    }
    const status = body.StatusEquals === undefined ? undefined : str(body.StatusEquals);
    const query = createHash('sha256').update(JSON.stringify([job.name, status ?? null, sortBy, order])).digest('base64url').slice(0, 16);

    const key = (t: TrainingJob): string | number =>
      sortBy === 'Name' ? t.name : sortBy === 'CreationTime' ? t.createdMs : sortBy === 'Status' ? t.status : (listedObjective(t) as number);
    const direction = order === 'Descending' ? -1 : 1;
    const compare = (a: [string | number, string], b: [string | number, string]) => direction * (compareValues(a[0], b[0]) || compareValues(a[1], b[1]));

    let items = job.trainingJobs.filter((t) => (status === undefined || t.status === status) && (sortBy !== 'FinalObjectiveMetricValue' || listedObjective(t) !== undefined));
    items = items.sort((a, b) => compare([key(a), a.name], [key(b), b.name]));
    if (body.NextToken !== undefined) {
      const after = decodeToken(str(body.NextToken), query);
      items = items.filter((t) => compare([key(t), t.name], after) > 0);
    }
    const page = items.slice(0, max);
    const last = page[page.length - 1];
    return omitUndefined({
      TrainingJobSummaries: page.map((t) => this.summary(t)),
      NextToken: items.length > max && last ? encodeToken(query, [key(last), last.name]) : undefined,
    });
  }

  private describeTrainingJob(name: string): Json {
    const training = this.trainingJobs.get(name);
    if (!training) throw new FakeError('ValidationException', 'Requested resource not found.');
    const definition = this.definitionOf(training.tuning, training.definitionName);
    const algorithm = (definition.AlgorithmSpecification ?? {}) as Json;
    const output = (definition.OutputDataConfig ?? {}) as Json;
    const objective = this.objectiveOf(training.tuning, training.definitionName);
    return omitUndefined({
      TrainingJobName: training.name,
      TrainingJobArn: training.arn,
      TuningJobArn: training.tuning.arn,
      ModelArtifacts: { S3ModelArtifacts: artifactUri(output, training.name) },
      TrainingJobStatus: training.status,
      SecondaryStatus: secondaryStatus(training.status),
      FailureReason: training.failureReason,
      // SageMaker adds the tuning objective's name to every training job a tuning job launches.
      HyperParameters: { ...((definition.StaticHyperParameters ?? {}) as Record<string, string>), ...training.tuned, _tuning_objective_metric: objective.MetricName },
      AlgorithmSpecification: omitUndefined({
        TrainingImage: algorithm.TrainingImage,
        AlgorithmName: algorithm.AlgorithmName,
        TrainingInputMode: algorithm.TrainingInputMode ?? 'File',
        MetricDefinitions: algorithm.MetricDefinitions,
      }),
      RoleArn: definition.RoleArn,
      InputDataConfig: definition.InputDataConfig,
      OutputDataConfig: definition.OutputDataConfig,
      ResourceConfig: definition.ResourceConfig,
      StoppingCondition: definition.StoppingCondition,
      CreationTime: seconds(training.createdMs),
      TrainingStartTime: seconds(training.startedMs),
      TrainingEndTime: training.endedMs === undefined ? undefined : seconds(training.endedMs),
      LastModifiedTime: seconds(training.modifiedMs),
      FinalMetricDataList:
        training.objective === undefined ? undefined : [{ MetricName: objective.MetricName, Value: training.objective, Timestamp: seconds(training.endedMs ?? training.modifiedMs) }],
    });
  }

  private summary(t: TrainingJob): Json {
    const objective = this.objectiveOf(t.tuning, t.definitionName);
    const value = listedObjective(t);
    return omitUndefined({
      TrainingJobDefinitionName: t.definitionName,
      TrainingJobName: t.name,
      TrainingJobArn: t.arn,
      TuningJobName: t.tuning.name,
      CreationTime: seconds(t.createdMs),
      TrainingStartTime: seconds(t.startedMs),
      TrainingEndTime: t.endedMs === undefined ? undefined : seconds(t.endedMs),
      TrainingJobStatus: t.status,
      TunedHyperParameters: t.tuned,
      FailureReason: t.failureReason,
      FinalHyperParameterTuningJobObjectiveMetric:
        value === undefined || t.objectiveStatus !== 'Succeeded' ? undefined : { Type: objective.Type, MetricName: objective.MetricName, Value: value },
      ObjectiveStatus: t.objectiveStatus,
    });
  }

  /**
   * BestTrainingJob as SageMaker names it: the Completed training job with the best
   * FinalHyperParameterTuningJobObjectiveMetric (the listed objective) for the objective's Type;
   * the earlier one on a tie.
   */
  private bestOf(job: TuningJob, candidates: readonly TrainingJob[]): TrainingJob | undefined {
    const minimize = this.objectiveOf(job).Type === 'Minimize';
    let best: { t: TrainingJob; value: number } | undefined;
    for (const t of candidates) {
      const value = listedObjective(t);
      if (t.status !== 'Completed' || t.objectiveStatus !== 'Succeeded' || value === undefined) continue;
      if (!best || (minimize ? value < best.value : value > best.value)) best = { t, value };
    }
    return best?.t;
  }

  /** For IDENTICAL_DATA_AND_ALGORITHM warm starts: the best over this job and its parents. */
  private overallBest(job: TuningJob): TrainingJob | undefined {
    const warm = job.request.WarmStartConfig as Json | undefined;
    if (warm?.WarmStartType !== 'IdenticalDataAndAlgorithm') return undefined;
    const parents = Array.isArray(warm.ParentHyperParameterTuningJobs) ? (warm.ParentHyperParameterTuningJobs as Json[]) : [];
    const pool = [...job.trainingJobs];
    for (const parent of parents) pool.push(...(this.tuningJobs.get(str(parent.HyperParameterTuningJobName))?.trainingJobs ?? []));
    return this.bestOf(job, pool);
  }

  private objectiveOf(job: TuningJob, definitionName?: string): { Type: string; MetricName: string } {
    const config = (job.request.HyperParameterTuningJobConfig ?? {}) as Json;
    const fromDefinition = this.definitionOf(job, definitionName).TuningObjective as Json | undefined;
    const objective = (config.HyperParameterTuningJobObjective as Json | undefined) ?? fromDefinition ?? {};
    return { Type: str(objective.Type ?? 'Maximize'), MetricName: str(objective.MetricName ?? 'objective') };
  }

  private definitionOf(job: TuningJob, definitionName?: string): Json {
    const many = Array.isArray(job.request.TrainingJobDefinitions) ? (job.request.TrainingJobDefinitions as Json[]) : [];
    return (
      (definitionName ? many.find((d) => d.DefinitionName === definitionName) : undefined) ??
      (job.request.TrainingJobDefinition as Json | undefined) ??
      many[0] ??
      {}
    );
  }

  private rangesOf(job: TuningJob, definitionName?: string): Json {
    const config = (job.request.HyperParameterTuningJobConfig ?? {}) as Json;
    return ((config.ParameterRanges as Json | undefined) ?? (this.definitionOf(job, definitionName).HyperParameterRanges as Json | undefined) ?? {}) as Json;
  }

  // ---------------------------------------------------------------------------------------------
  // Tags and the model registry

  private listTags(body: Json): Json {
    const arn = str(body.ResourceArn);
    // A training job carries the tags of the tuning job that launched it.
    const job = [...this.tuningJobs.values()].find((j) => j.arn === arn) ?? [...this.trainingJobs.values()].find((t) => t.arn === arn)?.tuning;
    const group = [...this.groups.values()].find((g) => g.arn === arn);
    if (!job && !group) throw new FakeError('ValidationException', `Resource ${arn} not found`);
    const tags = job ? job.tags : Array.isArray(group?.request.Tags) ? (group?.request.Tags as { Key: string; Value: string }[]) : [];
    const max = body.MaxResults === undefined ? 50 : Number(body.MaxResults);
    const start = body.NextToken === undefined ? 0 : Number(Buffer.from(str(body.NextToken), 'base64url').toString('utf8'));
    const page = tags.slice(start, start + max);
    return omitUndefined({ Tags: page, NextToken: start + max < tags.length ? Buffer.from(String(start + max)).toString('base64url') : undefined });
  }

  private createGroup(body: Json): Json {
    const name = str(body.ModelPackageGroupName);
    if (!GROUP_NAME.test(name)) throw new FakeError('ValidationException', `ModelPackageGroupName '${name}' is not valid`);
    const existing = this.groups.get(name);
    if (existing) throw new FakeError('ValidationException', `Model Package Group already exists: ${existing.arn}`);
    const group: ModelPackageGroup = { name, arn: this.arn('model-package-group', name.toLowerCase()), createdMs: this.tick(), request: body, packages: [] };
    this.groups.set(name, group);
    return { ModelPackageGroupArn: group.arn };
  }

  private describeGroup(name: string): Json {
    const group = this.groups.get(name);
    if (!group) throw new FakeError('ValidationException', `ModelPackageGroup ${name} does not exist.`);
    return omitUndefined({
      ModelPackageGroupName: group.name,
      ModelPackageGroupArn: group.arn,
      ModelPackageGroupDescription: group.request.ModelPackageGroupDescription,
      CreationTime: seconds(group.createdMs),
      CreatedBy: {},
      ModelPackageGroupStatus: 'Completed',
    });
  }

  private createModelPackage(body: Json): Json {
    const token = body.ClientToken === undefined ? undefined : str(body.ClientToken);
    if (token !== undefined && !/^[a-zA-Z0-9-]{1,36}$/.test(token)) {
      throw new FakeError('ValidationException', `ClientToken '${token}' must match ^[a-zA-Z0-9-]+$ and be at most 36 characters`);
    }
    // Idempotent on ClientToken: the same token is the same package.
    const known = token === undefined ? undefined : this.packagesByToken.get(token);
    if (known) return { ModelPackageArn: known.arn };
    const groupName = str(body.ModelPackageGroupName);
    const group = this.groups.get(groupName);
    if (!group) throw new FakeError('ValidationException', `Model Package Group ${groupName} does not exist.`);
    const version = group.packages.length + 1;
    const modelPackage: ModelPackage = { arn: this.arn('model-package', `${group.name.toLowerCase()}/${version}`), version, createdMs: this.tick(), request: body };
    group.packages.push(modelPackage);
    if (token !== undefined) this.packagesByToken.set(token, modelPackage);
    return { ModelPackageArn: modelPackage.arn };
  }

  private listModelPackages(body: Json): Json {
    const groupName = body.ModelPackageGroupName === undefined ? undefined : str(body.ModelPackageGroupName);
    const groups = groupName === undefined ? [...this.groups.values()] : [this.groups.get(groupName)].filter((g): g is ModelPackageGroup => g !== undefined);
    const packages = groups.flatMap((g) => g.packages.map((p) => ({ g, p }))).sort((a, b) => b.p.createdMs - a.p.createdMs);
    return {
      ModelPackageSummaryList: packages.map(({ g, p }) =>
        omitUndefined({
          ModelPackageGroupName: g.name,
          ModelPackageVersion: p.version,
          ModelPackageArn: p.arn,
          ModelPackageDescription: p.request.ModelPackageDescription,
          CreationTime: seconds(p.createdMs),
          ModelPackageStatus: 'Completed',
          ModelApprovalStatus: p.request.ModelApprovalStatus ?? 'PendingManualApproval',
        }),
      ),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Events, shaped as AWS documents them (times in the detail are strings of epoch milliseconds)

  private emitTuningJobEvent(job: TuningJob): void {
    const view = this.describeTuningJob(job);
    const detail = omitUndefined({
      HyperParameterTuningJobName: job.name,
      HyperParameterTuningJobArn: job.arn,
      HyperParameterTuningJobConfig: job.request.HyperParameterTuningJobConfig,
      TrainingJobDefinition: job.request.TrainingJobDefinition,
      TrainingJobDefinitions: job.request.TrainingJobDefinitions,
      HyperParameterTuningJobStatus: job.status,
      CreationTime: String(job.createdMs),
      HyperParameterTuningEndTime: job.endedMs === undefined ? undefined : String(job.endedMs),
      LastModifiedTime: String(job.modifiedMs),
      TrainingJobStatusCounters: view.TrainingJobStatusCounters,
      ObjectiveStatusCounters: view.ObjectiveStatusCounters,
      BestTrainingJob: this.eventSummary(this.bestOf(job, job.trainingJobs)),
      FailureReason: job.failureReason,
      Tags: Object.fromEntries(job.tags.map((t) => [t.Key, t.Value])),
    });
    this.emit(TUNING_JOB_STATE_CHANGE, job.arn, job.modifiedMs, detail);
  }

  /** In the shape `trainingJobEvents` chose; every shape carries the tuning job's tags. */
  private emitTrainingJobEvent(training: TrainingJob): void {
    const { TuningJobArn, FinalMetricDataList, ...view } = this.describeTrainingJob(training.name);
    const shape = this.eventShape;
    const detail = omitUndefined({
      ...view,
      TuningJobArn: shape === 'documented' ? undefined : TuningJobArn,
      CreationTime: String(training.createdMs),
      TrainingStartTime: String(training.startedMs),
      TrainingEndTime: training.endedMs === undefined ? undefined : String(training.endedMs),
      LastModifiedTime: String(training.modifiedMs),
      FinalMetricDataList:
        shape === 'full' && Array.isArray(FinalMetricDataList)
          ? (FinalMetricDataList as Json[]).map((m) => ({ ...m, Timestamp: String(training.endedMs ?? training.modifiedMs) }))
          : undefined,
      SecondaryStatusTransitions: [],
      Tags: Object.fromEntries(training.tuning.tags.map((t) => [t.Key, t.Value])),
    });
    this.emit(TRAINING_JOB_STATE_CHANGE, training.arn, training.modifiedMs, detail);
  }

  private eventSummary(t: TrainingJob | undefined): Json | undefined {
    if (!t) return undefined;
    const s = this.summary(t);
    return omitUndefined({
      ...s,
      CreationTime: String(t.createdMs),
      TrainingStartTime: String(t.startedMs),
      TrainingEndTime: t.endedMs === undefined ? undefined : String(t.endedMs),
    });
  }

  private emit(detailType: FakeSageMakerEvent['detail-type'], arn: string, atMs: number, detail: Json): void {
    const event: FakeSageMakerEvent = {
      version: '0',
      id: uuidOf(`${arn}\n${this.nextEventId++}`),
      'detail-type': detailType,
      source: 'aws.sagemaker',
      account: this.account,
      time: new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources: [arn],
      detail,
    };
    this.events.push(event);
    for (const listener of this.listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise) {
          const delivery = result.catch((error: unknown) => console.error(`fake SageMaker: an event listener failed: ${(error as Error).message}`));
          this.deliveries.add(delivery);
          void delivery.finally(() => this.deliveries.delete(delivery));
        }
      } catch (error) {
        console.error(`fake SageMaker: an event listener failed: ${(error as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private job(name: string): TuningJob {
    const job = this.tuningJobs.get(name);
    if (!job) throw new Error(`fake SageMaker: no tuning job ${name}`);
    return job;
  }

  private existingJob(name: string): TuningJob {
    const job = this.tuningJobs.get(name);
    if (!job) throw new FakeError('ResourceNotFound', `Amazon SageMaker can't find a tuning job with name ${name}`);
    return job;
  }

  private arn(kind: string, name: string): string {
    return `arn:aws:sagemaker:${this.region}:${this.account}:${kind}/${name}`;
  }

  /** The fake's clock, strictly increasing so every creation time is distinct. */
  private tick(): number {
    this.lastMs = Math.max(this.clock(), this.lastMs + 1);
    return this.lastMs;
  }
}

// -----------------------------------------------------------------------------------------------

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new FakeError('ValidationException', `expected a string, got ${JSON.stringify(value)}`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function omitUndefined(object: Json): Json {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

/** Epoch seconds, as the AWS JSON protocols carry timestamps. */
function seconds(ms: number): number {
  return ms / 1000;
}

function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Opaque to clients: the last item's sort key, bound to the query that produced it. */
function encodeToken(query: string, after: [string | number, string]): string {
  return Buffer.from(JSON.stringify({ q: query, a: after })).toString('base64url');
}

function decodeToken(token: string, query: string): [string | number, string] {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { q?: unknown; a?: unknown };
    if (parsed.q === query && Array.isArray(parsed.a) && parsed.a.length === 2) return parsed.a as [string | number, string];
  } catch {
    // falls through to the refusal
  }
  throw new FakeError('ValidationException', 'Invalid pagination token: it does not belong to this request.');
}

/** The objective the listing reports: FinalHyperParameterTuningJobObjectiveMetric's value. */
function listedObjective(t: TrainingJob): number | undefined {
  return t.listedObjective ?? t.objective;
}

function trainingJobName(tuningJobName: string, index: number): string {
  const suffix = createHash('sha256').update(`${tuningJobName}\n${index}`).digest('hex').slice(0, 8);
  return `${tuningJobName}-${String(index).padStart(3, '0')}-${suffix}`;
}

function artifactUri(output: Json, trainingJobName: string): string {
  const base = typeof output.S3OutputPath === 'string' ? output.S3OutputPath.replace(/\/+$/, '') : 's3://fake-sagemaker-output';
  return `${base}/${trainingJobName}/output/model.tar.gz`;
}

function secondaryStatus(status: SageMakerJobStatus): string {
  return status === 'InProgress' ? 'Training' : status;
}

function maxTrainingJobs(request: Json): number {
  const config = (request.HyperParameterTuningJobConfig ?? {}) as Json;
  const limits = (config.ResourceLimits ?? {}) as Json;
  return typeof limits.MaxNumberOfTrainingJobs === 'number' ? limits.MaxNumberOfTrainingJobs : 10;
}

function defaultObjective(i: number): number {
  return Number((0.5 + 0.45 * (1 - 1 / (i + 2))).toFixed(6));
}

/** Tuned values drawn from the job's ranges, as the strings SageMaker passes to the container. */
function sampleHyperparameters(ranges: Json, random: () => number): Record<string, string> {
  const out: Record<string, string> = {};
  const list = (key: string) => (Array.isArray(ranges[key]) ? (ranges[key] as Json[]) : []);
  for (const r of list('IntegerParameterRanges')) {
    const [min, max] = [Number(r.MinValue), Number(r.MaxValue)];
    out[str(r.Name)] = String(Math.floor(min + random() * (max - min + 1)));
  }
  for (const r of list('ContinuousParameterRanges')) {
    const [min, max] = [Number(r.MinValue), Number(r.MaxValue)];
    const value = r.ScalingType === 'Logarithmic' && min > 0 ? Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min))) : min + random() * (max - min);
    out[str(r.Name)] = String(Number(value.toPrecision(6)));
  }
  for (const r of list('CategoricalParameterRanges')) {
    const values = Array.isArray(r.Values) ? (r.Values as string[]) : [];
    out[str(r.Name)] = values[Math.floor(random() * values.length)] ?? '';
  }
  return out;
}

function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A small seeded generator (the local engine's): the same seed throttles the same calls. */
const mulberry32 = createRng;
