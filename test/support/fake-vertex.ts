import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protos } from '@google-cloud/aiplatform';

/**
 * A wire-level Vertex AI: a gRPC server built from the protos shipped in @google-cloud/aiplatform,
 * enough of JobService (hyperparameter tuning jobs), ModelService (Model Registry) and
 * google.longrunning.Operations for the real `v1.JobServiceClient` and `v1.ModelServiceClient` to
 * talk to over insecure credentials. It records every request as it arrived, counts calls, can
 * throttle, and lets a test (or the autopilot) move jobs and trials along.
 *
 * What it does not do: authenticate, validate the whole StudySpec, run anything. Where the real
 * service's behaviour is not documented the fake picks one and says so at the method.
 */

const aiplatform = protos.google.cloud.aiplatform.v1;
type IJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
type ITrial = protos.google.cloud.aiplatform.v1.ITrial;
type IMeasurement = protos.google.cloud.aiplatform.v1.IMeasurement;
type IModel = protos.google.cloud.aiplatform.v1.IModel;
type IOperation = protos.google.longrunning.IOperation;
type ITimestamp = protos.google.protobuf.ITimestamp;
type IValue = protos.google.protobuf.IValue;

export type VertexJobState = keyof typeof protos.google.cloud.aiplatform.v1.JobState;
export type VertexTrialState = keyof typeof protos.google.cloud.aiplatform.v1.Trial.State;

export const FAKE_VERTEX_METHODS = [
  'CreateHyperparameterTuningJob',
  'GetHyperparameterTuningJob',
  'ListHyperparameterTuningJobs',
  'CancelHyperparameterTuningJob',
  'DeleteHyperparameterTuningJob',
  'UploadModel',
  'GetModel',
  'ListModels',
  'ListModelVersions',
  'MergeVersionAliases',
  'GetOperation',
] as const;
export type FakeVertexMethod = (typeof FAKE_VERTEX_METHODS)[number];

/** How the fake decodes requests (proto-loader): camelCase fields, enum names, int64 as strings, unset fields left out. */
export const FAKE_DECODE_OPTIONS = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: false } as const;

export interface RecordedVertexCall {
  readonly method: FakeVertexMethod;
  /** The request as decoded from the wire, with {@link FAKE_DECODE_OPTIONS}. */
  readonly request: unknown;
  readonly throttled: boolean;
}

export interface FakeMeasurement {
  readonly metrics: Readonly<Record<string, number>>;
  readonly stepCount?: number;
}

export interface FakeTrialInput {
  /** Default `ACTIVE`. */
  readonly state?: VertexTrialState;
  /** Default the next number after the job's last trial, as Vertex numbers them ("1", "2", ...). */
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, number | string>>;
  /**
   * May lack the study's metric (a trainer that reported its last measurement without it) while
   * `measurements` carry it: Vertex keeps what was reported.
   */
  readonly finalMeasurement?: FakeMeasurement;
  readonly measurements?: readonly FakeMeasurement[];
  readonly infeasibleReason?: string;
  /**
   * When a trial reaching SUCCEEDED or INFEASIBLE ended (study.proto's end_time: "when the Trial's
   * status changed to SUCCEEDED or INFEASIBLE"); default the fake's clock at that change. Ignored
   * for other states, which have no end time.
   */
  readonly endTime?: Date;
}

export interface AutopilotOptions {
  /** One step of every unfinished job per tick. Default 200 ms. */
  readonly trialEveryMs?: number;
  /** Trials per job; default the job's maxTrialCount. */
  readonly trials?: number;
  /** The objective value of a finished trial; default a deterministic value in [0.5, 0.9). */
  readonly objective?: (trial: { readonly jobName: string; readonly index: number; readonly parameters: Readonly<Record<string, number | string>> }) => number;
  /** Every n-th trial ends INFEASIBLE instead of SUCCEEDED (0: never, the default). */
  readonly infeasibleEvery?: number;
  /**
   * Every n-th trial is stopped early by the service (0: never, the default): after its
   * measurement it is STOPPING for one tick, seen so by any Get in between, then SUCCEEDED with
   * the final measurement the service selects (`completeTrial`).
   */
  readonly stoppingEvery?: number;
  /**
   * Every n-th trial ends SUCCEEDED with a final measurement that lacks the study's metric, while
   * its intermediate measurement carries it (0: never, the default).
   */
  readonly finalWithoutObjectiveEvery?: number;
}

export interface FakeVertexOptions {
  /** Default 0 (any free port). */
  readonly port?: number;
  readonly host?: string;
  readonly now?: () => Date;
}

const TERMINAL_JOB_STATES: ReadonlySet<VertexJobState> = new Set([
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
]);
const TERMINAL_TRIAL_STATES: ReadonlySet<VertexTrialState> = new Set(['SUCCEEDED', 'INFEASIBLE']);

const LOCATION = /^projects\/([^/]+)\/locations\/([^/]+)$/;
const JOB_NAME = /^(projects\/[^/]+\/locations\/[^/]+)\/hyperparameterTuningJobs\/(\d+)$/;
const MODEL_NAME = /^(projects\/[^/]+\/locations\/[^/]+)\/models\/([^/@]+)(?:@([^/@]+))?$/;
const ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]$/;
const MODEL_ID = /^[a-z_][a-z0-9_-]{0,62}$/;
const DEFAULT_PAGE_SIZE = 100;

/** A gRPC status the fake answers with. */
class FakeStatus extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

interface StoredJob {
  job: IJob;
}

interface StoredModel {
  readonly id: string;
  readonly name: string;
  readonly versions: IModel[];
  nextVersion: number;
}

interface StoredOperation {
  readonly operation: IOperation;
  /** GetOperation calls still answered with done = false. */
  pollsLeft: number;
}

let protoRoots: { aiplatform: string; gax: string } | undefined;

/** Where the protos are: the aiplatform package's `build/protos` and google-gax's (its package.json is not exported). */
export function vertexProtoDirs(): { aiplatform: string; gax: string } {
  if (protoRoots) return protoRoots;
  const require = createRequire(import.meta.url);
  const aiplatformMain = require.resolve('@google-cloud/aiplatform');
  const aiplatformRoot = dirname(require.resolve('@google-cloud/aiplatform/package.json'));
  // Resolve google-gax as aiplatform itself does, then walk up from its entry point to the package folder.
  let dir = dirname(createRequire(aiplatformMain).resolve('google-gax'));
  while (!existsSync(join(dir, 'build', 'protos', 'google', 'longrunning', 'operations.proto'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('fake Vertex: google-gax protos not found next to @google-cloud/aiplatform');
    dir = up;
  }
  protoRoots = { aiplatform: join(aiplatformRoot, 'build', 'protos'), gax: join(dir, 'build', 'protos') };
  return protoRoots;
}

let packageDefinition: protoLoader.PackageDefinition | undefined;

function loadDefinition(): protoLoader.PackageDefinition {
  if (packageDefinition) return packageDefinition;
  const dirs = vertexProtoDirs();
  packageDefinition = protoLoader.loadSync(
    ['google/cloud/aiplatform/v1/job_service.proto', 'google/cloud/aiplatform/v1/model_service.proto', 'google/longrunning/operations.proto'],
    { ...FAKE_DECODE_OPTIONS, includeDirs: [dirs.aiplatform, dirs.gax] },
  );
  return packageDefinition;
}

function service(name: string): grpc.ServiceDefinition {
  const definition = loadDefinition()[name];
  if (!definition || 'format' in definition) throw new Error(`fake Vertex: service ${name} is not in the protos`);
  return definition as grpc.ServiceDefinition;
}

/**
 * A message as the fake would have received it: `value` in the SDK's request form (what a caller
 * passes to the client) encoded and decoded with the fake's options. Lets a test compare what it
 * meant to send with what arrived.
 *
 * @example expect(fake.requestsOf('CreateHyperparameterTuningJob')[0]).toEqual({ parent, hyperparameterTuningJob: asReceived('HyperparameterTuningJob', job) })
 */
export function asReceived(type: 'HyperparameterTuningJob' | 'Model', value: object): Record<string, unknown> {
  if (type === 'Model') {
    const model = aiplatform.Model;
    return model.toObject(model.decode(model.encode(model.fromObject(value)).finish()), FAKE_DECODE_OPTIONS);
  }
  const job = aiplatform.HyperparameterTuningJob;
  return job.toObject(job.decode(job.encode(job.fromObject(value)).finish()), FAKE_DECODE_OPTIONS);
}

export class FakeVertex {
  readonly calls: Partial<Record<FakeVertexMethod, number>> = {};
  readonly requests: RecordedVertexCall[] = [];
  private readonly jobs = new Map<string, StoredJob>();
  private readonly models = new Map<string, StoredModel>();
  private readonly operations = new Map<string, StoredOperation>();
  private readonly now: () => Date;
  private server: grpc.Server | undefined;
  private nextJobNumber = 0;
  private nextModelNumber = 0;
  private nextOperationNumber = 0;
  private throttling: { rate: number; methods?: ReadonlySet<FakeVertexMethod>; debt: number } = { rate: 0, debt: 0 };
  private lroPolls = 0;
  private autopilotTimer: NodeJS.Timeout | undefined;
  /** `127.0.0.1:N` */
  endpoint = '';
  host = '127.0.0.1';
  port = 0;

  private constructor(options: FakeVertexOptions) {
    this.now = options.now ?? (() => new Date());
    this.host = options.host ?? '127.0.0.1';
  }

  static async start(options: FakeVertexOptions = {}): Promise<FakeVertex> {
    const fake = new FakeVertex(options);
    await fake.listen(options.port ?? 0);
    return fake;
  }

  /** Options for `new v1.JobServiceClient(...)` / `new v1.ModelServiceClient(...)` that reach this fake. */
  clientOptions(): { apiEndpoint: string; port: number; sslCreds: grpc.ChannelCredentials } {
    return { apiEndpoint: this.host, port: this.port, sslCreds: grpc.credentials.createInsecure() };
  }

  async stop(): Promise<void> {
    this.stopAutopilot();
    const server = this.server;
    this.server = undefined;
    server?.forceShutdown();
  }

  /** Forgets every job, model, operation, call and setting. */
  reset(): void {
    this.stopAutopilot();
    for (const key of Object.keys(this.calls) as FakeVertexMethod[]) delete this.calls[key];
    this.requests.length = 0;
    this.jobs.clear();
    this.models.clear();
    this.operations.clear();
    this.throttling = { rate: 0, debt: 0 };
    this.lroPolls = 0;
  }

  /** Calls of every method together. */
  totalCalls(): number {
    return Object.values(this.calls).reduce((n, c) => n + (c ?? 0), 0);
  }

  /** The requests one method received, in order, as decoded from the wire. */
  requestsOf(method: FakeVertexMethod): unknown[] {
    return this.requests.filter((r) => r.method === method).map((r) => r.request);
  }

  /**
   * From now on a fraction `rate` of calls (of `methods`, default all) fail with RESOURCE_EXHAUSTED
   * (code 8). Deterministic: the first call after this is refused whenever rate > 0, then the
   * refusals are spread evenly (rate 0.5 refuses every other call, rate 1 all). `rate: 0` ends it.
   */
  throttle(options: { rate: number; methods?: readonly FakeVertexMethod[] }): void {
    const rate = Math.min(1, Math.max(0, options.rate));
    this.throttling = { rate, debt: rate > 0 ? 1 - rate : 0, ...(options.methods ? { methods: new Set(options.methods) } : {}) };
  }

  /** Long-running operations (UploadModel) answer GetOperation with done = false this many times first. Default 0: done at once. */
  setOperationPolls(polls: number): void {
    this.lroPolls = polls;
  }

  // -------------------------------------------------------------------------------------------
  // Control API for tests

  /** The job as the service holds it now (with trials), or undefined. */
  job(name: string): IJob | undefined {
    const stored = this.jobs.get(name);
    return stored ? structuredClone(stored.job) : undefined;
  }

  jobNames(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * Appends a trial to a job; returns its id. Terminal states get an end time (`endTime`, else
   * now), others none; the measurements are the ones given (SUCCEEDED without a final measurement
   * gets none: use `completeTrial` for the service's own choice).
   */
  addTrial(jobName: string, input: FakeTrialInput = {}): string {
    const stored = this.storedJob(jobName);
    const trials = (stored.job.trials ??= []);
    const id = input.id ?? String(trials.reduce((max, t) => Math.max(max, Number(t.id) || 0), 0) + 1);
    const state = input.state ?? 'ACTIVE';
    const trial: ITrial = {
      id,
      state,
      parameters: Object.entries(input.parameters ?? {}).map(([parameterId, value]) => ({ parameterId, value: toValue(value) })),
      startTime: this.timestamp(),
      ...(input.measurements ? { measurements: input.measurements.map(toMeasurement) } : {}),
      ...(input.finalMeasurement ? { finalMeasurement: toMeasurement(input.finalMeasurement) } : {}),
      ...(input.infeasibleReason ? { infeasibleReason: input.infeasibleReason } : {}),
      ...(TERMINAL_TRIAL_STATES.has(state) ? { endTime: this.timestamp(input.endTime) } : {}),
    };
    trials.push(trial);
    this.touch(stored.job);
    return id;
  }

  /**
   * Changes a trial in place, as Vertex does (a trial keeps its position and id). Any state may be
   * set, so a test can walk a trial ACTIVE → STOPPING → SUCCEEDED, each visible to the Gets in
   * between; a terminal state gets an end time (`endTime`, else now, kept if it had one).
   */
  updateTrial(jobName: string, trialId: string, patch: Omit<FakeTrialInput, 'id' | 'parameters'>): void {
    const stored = this.storedJob(jobName);
    const trial = this.storedTrial(stored, trialId);
    if (patch.state) {
      trial.state = patch.state;
      if (TERMINAL_TRIAL_STATES.has(patch.state)) trial.endTime = patch.endTime ? this.timestamp(patch.endTime) : (trial.endTime ?? this.timestamp());
    }
    if (patch.measurements) trial.measurements = patch.measurements.map(toMeasurement);
    if (patch.finalMeasurement) trial.finalMeasurement = toMeasurement(patch.finalMeasurement);
    if (patch.infeasibleReason) trial.infeasibleReason = patch.infeasibleReason;
    this.touch(stored.job);
  }

  /**
   * Ends a trial as the service does: SUCCEEDED with `finalMeasurement` when given (it may lack the
   * metric), else with the one the service selects from the reported measurements by the job's
   * measurementSelectionType (LAST_MEASUREMENT, or unspecified: the last; BEST_MEASUREMENT: the
   * best value of the study's metric for its goal); INFEASIBLE when there is none ("done but
   * missing the final_measurement").
   */
  completeTrial(jobName: string, trialId: string, options: { readonly finalMeasurement?: FakeMeasurement; readonly endTime?: Date } = {}): void {
    const stored = this.storedJob(jobName);
    const trial = this.storedTrial(stored, trialId);
    const final = options.finalMeasurement ? toMeasurement(options.finalMeasurement) : selectedMeasurement(stored.job, trial.measurements ?? []);
    if (final) {
      trial.state = 'SUCCEEDED';
      trial.finalMeasurement = final;
    } else {
      trial.state = 'INFEASIBLE';
      trial.infeasibleReason ||= 'The trial ended without a final measurement.';
    }
    trial.endTime = options.endTime ? this.timestamp(options.endTime) : (trial.endTime ?? this.timestamp());
    this.touch(stored.job);
  }

  /** Sets a job's state directly (any state, even backwards). Terminal states get an end time; `error` becomes `job.error`. */
  setState(jobName: string, state: VertexJobState, error?: { code: number; message: string }): void {
    const stored = this.storedJob(jobName);
    stored.job.state = state;
    if (state === 'JOB_STATE_RUNNING') stored.job.startTime ??= this.timestamp();
    if (TERMINAL_JOB_STATES.has(state)) stored.job.endTime ??= this.timestamp();
    if (error) stored.job.error = { code: error.code, message: error.message };
    this.touch(stored.job);
  }

  /**
   * One step of the service's own work for every job: QUEUED/PENDING start RUNNING, CANCELLING
   * becomes CANCELLED. Running trials are left alone (use `addTrial`/`updateTrial` or `autopilot`).
   */
  advance(): void {
    for (const stored of this.jobs.values()) {
      const state = stored.job.state as VertexJobState;
      if (state === 'JOB_STATE_QUEUED' || state === 'JOB_STATE_PENDING') this.setState(jobNameOf(stored), 'JOB_STATE_RUNNING');
      else if (state === 'JOB_STATE_CANCELLING') this.finishCancel(stored);
    }
  }

  /**
   * Runs jobs on a timer: each tick finishes the running trials of every running job (SUCCEEDED
   * with the objective metric of the job's StudySpec) and starts the next one, until the job has
   * `trials` trials; then the job SUCCEEDS. Pending jobs start, cancelling jobs end CANCELLED.
   * Returns a function that stops it.
   */
  autopilot(options: AutopilotOptions = {}): () => void {
    this.stopAutopilot();
    this.autopilotTimer = setInterval(() => this.autopilotTick(options), options.trialEveryMs ?? 200);
    this.autopilotTimer.unref();
    return () => this.stopAutopilot();
  }

  /** One tick of the autopilot, now: for a test that looks at the jobs between ticks. */
  autopilotTick(options: AutopilotOptions = {}): void {
    const objective = options.objective ?? ((t) => 0.5 + 0.4 * unitHash(`${t.jobName}#${t.index}#objective`));
    for (const stored of [...this.jobs.values()]) this.pilotStep(stored, options, objective);
  }

  stopAutopilot(): void {
    if (this.autopilotTimer) clearInterval(this.autopilotTimer);
    this.autopilotTimer = undefined;
  }

  /** Every version of a model, by its resource name or id. */
  modelVersions(model: string): IModel[] {
    const stored = this.models.get(model) ?? [...this.models.values()].find((m) => m.id === model);
    return stored ? structuredClone(stored.versions) : [];
  }

  modelNames(): string[] {
    return [...this.models.keys()];
  }

  // -------------------------------------------------------------------------------------------

  private async listen(port: number): Promise<void> {
    const server = new grpc.Server();
    server.addService(service('google.cloud.aiplatform.v1.JobService'), {
      CreateHyperparameterTuningJob: this.unary('CreateHyperparameterTuningJob', (r: protos.google.cloud.aiplatform.v1.ICreateHyperparameterTuningJobRequest) =>
        this.createJob(r),
      ),
      GetHyperparameterTuningJob: this.unary('GetHyperparameterTuningJob', (r: protos.google.cloud.aiplatform.v1.IGetHyperparameterTuningJobRequest) =>
        this.storedJobOrStatus(r.name).job,
      ),
      ListHyperparameterTuningJobs: this.unary('ListHyperparameterTuningJobs', (r: protos.google.cloud.aiplatform.v1.IListHyperparameterTuningJobsRequest) =>
        this.listJobs(r),
      ),
      CancelHyperparameterTuningJob: this.unary('CancelHyperparameterTuningJob', (r: protos.google.cloud.aiplatform.v1.ICancelHyperparameterTuningJobRequest) =>
        this.cancelJob(r),
      ),
      DeleteHyperparameterTuningJob: this.unary('DeleteHyperparameterTuningJob', (r: protos.google.cloud.aiplatform.v1.IDeleteHyperparameterTuningJobRequest) =>
        this.deleteJob(r),
      ),
    });
    server.addService(service('google.cloud.aiplatform.v1.ModelService'), {
      UploadModel: this.unary('UploadModel', (r: protos.google.cloud.aiplatform.v1.IUploadModelRequest) => this.uploadModel(r)),
      GetModel: this.unary('GetModel', (r: protos.google.cloud.aiplatform.v1.IGetModelRequest) => this.getModel(r.name)),
      ListModels: this.unary('ListModels', (r: protos.google.cloud.aiplatform.v1.IListModelsRequest) => this.listModels(r)),
      ListModelVersions: this.unary('ListModelVersions', (r: protos.google.cloud.aiplatform.v1.IListModelVersionsRequest) => this.listModelVersions(r)),
      MergeVersionAliases: this.unary('MergeVersionAliases', (r: protos.google.cloud.aiplatform.v1.IMergeVersionAliasesRequest) =>
        this.mergeVersionAliases(r),
      ),
    });
    server.addService(service('google.longrunning.Operations'), {
      GetOperation: this.unary('GetOperation', (r: protos.google.longrunning.IGetOperationRequest) => this.getOperation(r.name)),
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${this.host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, actual) => (error ? reject(error) : resolve(actual))),
    );
    this.server = server;
    this.port = bound;
    this.endpoint = `${this.host}:${bound}`;
  }

  /** Counts, records, throttles, then answers; a thrown FakeStatus becomes that gRPC status. */
  private unary<Req, Res>(method: FakeVertexMethod, handle: (request: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      this.calls[method] = (this.calls[method] ?? 0) + 1;
      const throttled = this.shouldThrottle(method);
      this.requests.push({ method, request: structuredClone(call.request), throttled });
      if (throttled) {
        callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `Quota exceeded for aiplatform.googleapis.com (fake throttle on ${method})` });
        return;
      }
      try {
        callback(null, structuredClone(handle(call.request)));
      } catch (error) {
        if (error instanceof FakeStatus) callback({ code: error.code, details: error.message });
        else callback({ code: grpc.status.INTERNAL, details: `fake Vertex broke: ${(error as Error)?.stack ?? String(error)}` });
      }
    };
  }

  private shouldThrottle(method: FakeVertexMethod): boolean {
    const t = this.throttling;
    if (t.rate <= 0 || (t.methods && !t.methods.has(method))) return false;
    t.debt += t.rate;
    if (t.debt < 1 - 1e-9) return false;
    t.debt -= 1;
    return true;
  }

  // ---- JobService -----------------------------------------------------------------------------

  private createJob(request: protos.google.cloud.aiplatform.v1.ICreateHyperparameterTuningJobRequest): IJob {
    const parent = requireLocation(request.parent);
    const input = request.hyperparameterTuningJob;
    if (!input) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'hyperparameter_tuning_job is required');
    const missing = (
      [
        ['display_name', input.displayName],
        ['study_spec', input.studySpec],
        ['trial_job_spec', input.trialJobSpec],
        ['max_trial_count', input.maxTrialCount],
        ['parallel_trial_count', input.parallelTrialCount],
      ] as const
    ).filter(([, v]) => v === undefined || v === null || v === '' || v === 0);
    if (missing.length) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `required fields missing: ${missing.map(([f]) => f).join(', ')}`);
    if (!input.studySpec?.metrics?.length) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'study_spec.metrics must not be empty');
    if (!input.studySpec.parameters?.length) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'study_spec.parameters must not be empty');
    if ((input.displayName ?? '').length > 128) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'display_name is longer than 128 characters');

    this.nextJobNumber += 1;
    const id = String(6_917_529_027_641_081_856n + BigInt(this.nextJobNumber));
    const at = this.timestamp();
    // Output-only fields a caller sets are ignored, as the service does.
    const { name: _n, trials: _t, state: _s, createTime: _c, startTime: _st, endTime: _e, updateTime: _u, error: _er, ...settable } = input;
    const job: IJob = { ...settable, name: `${parent}/hyperparameterTuningJobs/${id}`, state: 'JOB_STATE_PENDING', createTime: at, updateTime: at, trials: [] };
    this.jobs.set(job.name as string, { job });
    return job;
  }

  private listJobs(request: protos.google.cloud.aiplatform.v1.IListHyperparameterTuningJobsRequest): protos.google.cloud.aiplatform.v1.IListHyperparameterTuningJobsResponse {
    const parent = requireLocation(request.parent);
    const matches = compileFilter(request.filter ?? '', {
      display_name: (j: IJob) => j.displayName ?? '',
      state: (j: IJob) => String(j.state ?? ''),
      labels: (j: IJob) => j.labels ?? {},
    });
    const all = [...this.jobs.values()].map((s) => s.job).filter((j) => (j.name ?? '').startsWith(`${parent}/`) && matches(j));
    const { page, nextPageToken } = paginate(all, request.pageSize, request.pageToken, `jobs|${parent}|${request.filter ?? ''}`);
    // The list leaves trials out (job_service.proto: "trials of the jobs will be not be returned").
    return { hyperparameterTuningJobs: page.map(({ trials: _trials, ...job }) => job), ...(nextPageToken ? { nextPageToken } : {}) };
  }

  /**
   * CANCELLING at once; `advance` (or the autopilot) ends it CANCELLED with error code 1, as the
   * proto describes. Cancelling a finished job is FAILED_PRECONDITION (the fake's reading of the
   * service; cancelling twice while CANCELLING is accepted).
   */
  private cancelJob(request: protos.google.cloud.aiplatform.v1.ICancelHyperparameterTuningJobRequest): protos.google.protobuf.IEmpty {
    const stored = this.storedJobOrStatus(request.name);
    const state = stored.job.state as VertexJobState;
    if (TERMINAL_JOB_STATES.has(state)) {
      throw new FakeStatus(grpc.status.FAILED_PRECONDITION, `Cannot cancel HyperparameterTuningJob ${request.name ?? ''} because it is in state ${state}.`);
    }
    stored.job.state = 'JOB_STATE_CANCELLING';
    for (const trial of stored.job.trials ?? []) if (trial.state === 'ACTIVE' || trial.state === 'REQUESTED') trial.state = 'STOPPING';
    this.touch(stored.job);
    return {};
  }

  /** A done operation at once. A job that has not finished cannot be deleted (FAILED_PRECONDITION). */
  private deleteJob(request: protos.google.cloud.aiplatform.v1.IDeleteHyperparameterTuningJobRequest): IOperation {
    const stored = this.storedJobOrStatus(request.name);
    if (!TERMINAL_JOB_STATES.has(stored.job.state as VertexJobState)) {
      throw new FakeStatus(grpc.status.FAILED_PRECONDITION, `HyperparameterTuningJob ${request.name ?? ''} is ${String(stored.job.state)}; cancel it first.`);
    }
    this.jobs.delete(request.name as string);
    const location = (request.name as string).replace(/\/hyperparameterTuningJobs\/.*$/, '');
    return this.newOperation(location, { typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: new Uint8Array() }, 0);
  }

  /**
   * CANCELLING → CANCELLED. Trials that were stopped end as `completeTrial` ends them: SUCCEEDED
   * with the measurement the service selects if they reported any, else INFEASIBLE (the fake's
   * choice).
   */
  private finishCancel(stored: StoredJob): void {
    const name = jobNameOf(stored);
    for (const trial of stored.job.trials ?? []) {
      if (TERMINAL_TRIAL_STATES.has(trial.state as VertexTrialState)) continue;
      if (trial.finalMeasurement) {
        this.updateTrial(name, trial.id as string, { state: 'SUCCEEDED' });
        continue;
      }
      if (!trial.measurements?.length) trial.infeasibleReason ||= 'The trial was stopped because its job was cancelled.';
      this.completeTrial(name, trial.id as string);
    }
    this.setState(name, 'JOB_STATE_CANCELLED', { code: grpc.status.CANCELLED, message: 'CANCELED' });
  }

  private pilotStep(stored: StoredJob, options: AutopilotOptions, objective: NonNullable<AutopilotOptions['objective']>): void {
    const job = stored.job;
    const name = jobNameOf(stored);
    const state = job.state as VertexJobState;
    if (state === 'JOB_STATE_QUEUED' || state === 'JOB_STATE_PENDING') return this.setState(name, 'JOB_STATE_RUNNING');
    if (state === 'JOB_STATE_CANCELLING') return this.finishCancel(stored);
    if (state !== 'JOB_STATE_RUNNING') return;

    const metricId = job.studySpec?.metrics?.[0]?.metricId ?? 'objective';
    const every = (n: number | undefined, index: number) => (n ?? 0) > 0 && index % (n ?? 1) === 0;
    for (const trial of job.trials ?? []) {
      const id = trial.id as string;
      // stopped by the service on the tick before: it ends now
      if (trial.state === 'STOPPING') {
        this.completeTrial(name, id);
        continue;
      }
      if (trial.state !== 'ACTIVE' && trial.state !== 'REQUESTED') continue;
      const index = Number(trial.id);
      if (every(options.infeasibleEvery, index)) {
        this.updateTrial(name, id, { state: 'INFEASIBLE', infeasibleReason: 'Trial reported no objective (fake autopilot).' });
        continue;
      }
      const parameters = Object.fromEntries((trial.parameters ?? []).map((p) => [p.parameterId ?? '', fromValue(p.value)]));
      const value = objective({ jobName: name, index, parameters });
      const measurement = { metrics: { [metricId]: value }, stepCount: 1 };
      if (every(options.stoppingEvery, index)) {
        this.updateTrial(name, id, { state: 'STOPPING', measurements: [measurement] });
      } else if (every(options.finalWithoutObjectiveEvery, index)) {
        this.updateTrial(name, id, { state: 'SUCCEEDED', measurements: [measurement], finalMeasurement: { metrics: {}, stepCount: 2 } });
      } else {
        this.updateTrial(name, id, { state: 'SUCCEEDED', measurements: [measurement], finalMeasurement: measurement });
      }
    }
    const target = options.trials ?? job.maxTrialCount ?? 1;
    const count = job.trials?.length ?? 0;
    if (count < target) {
      this.addTrial(name, { state: 'ACTIVE', parameters: sampleParameters(job, `${name}#${count + 1}`) });
    } else if ((job.trials ?? []).every((t) => TERMINAL_TRIAL_STATES.has(t.state as VertexTrialState))) {
      this.setState(name, 'JOB_STATE_SUCCEEDED');
    }
  }

  // ---- ModelService ---------------------------------------------------------------------------

  /**
   * Makes the model (or, with `parent_model`, its next version) at once and answers with a
   * long-running operation carrying UploadModelResponse; done at once unless `setOperationPolls`.
   * The first version gets the `default` alias. An alias another version holds moves to the new one.
   */
  private uploadModel(request: protos.google.cloud.aiplatform.v1.IUploadModelRequest): IOperation {
    const parent = requireLocation(request.parent);
    const input = request.model;
    if (!input?.displayName) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'model.display_name is required');
    if (!input.containerSpec?.imageUri) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'model.container_spec.image_uri is required');
    for (const alias of input.versionAliases ?? []) checkAlias(alias);

    let stored: StoredModel;
    if (request.parentModel) {
      const found = this.models.get(request.parentModel);
      if (!found || !found.name.startsWith(`${parent}/`)) throw new FakeStatus(grpc.status.NOT_FOUND, `Model ${request.parentModel} not found.`);
      stored = found;
    } else {
      const id = request.modelId || String(3_458_764_513_820_540_928n + BigInt(++this.nextModelNumber));
      if (request.modelId && !MODEL_ID.test(request.modelId)) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `model_id ${request.modelId} is not valid`);
      const name = `${parent}/models/${id}`;
      if (this.models.has(name)) throw new FakeStatus(grpc.status.ALREADY_EXISTS, `Model ${name} already exists.`);
      stored = { id, name, versions: [], nextVersion: 1 };
      this.models.set(name, stored);
    }

    const at = this.timestamp();
    const versionId = String(stored.nextVersion++);
    const { name: _n, versionId: _v, versionAliases, createTime: _c, updateTime: _u, versionCreateTime: _vc, versionUpdateTime: _vu, ...settable } = input;
    const version: IModel = {
      ...settable,
      name: stored.name,
      versionId,
      versionAliases: [],
      createTime: stored.versions[0]?.createTime ?? at,
      updateTime: at,
      versionCreateTime: at,
      versionUpdateTime: at,
    };
    stored.versions.push(version);
    const aliases = [...(stored.versions.length === 1 ? ['default'] : []), ...(versionAliases ?? [])];
    for (const alias of aliases) this.moveAlias(stored, alias, version);

    const response = aiplatform.UploadModelResponse.encode({ model: stored.name, modelVersionId: versionId }).finish();
    return this.newOperation(parent, { typeUrl: 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse', value: response }, this.lroPolls);
  }

  /** `models/<id>`: the default version; `models/<id>@<version id or alias>`: that version. */
  private getModel(name: string | null | undefined): IModel {
    const match = MODEL_NAME.exec(name ?? '');
    if (!match) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `${name ?? ''} is not a model resource name`);
    const stored = this.models.get(`${match[1]}/models/${match[2]}`);
    const version = stored && this.versionOf(stored, match[3] ?? 'default');
    if (!version) throw new FakeStatus(grpc.status.NOT_FOUND, `Model ${name ?? ''} not found.`);
    return version;
  }

  private listModels(request: protos.google.cloud.aiplatform.v1.IListModelsRequest): protos.google.cloud.aiplatform.v1.IListModelsResponse {
    const parent = requireLocation(request.parent);
    const matches = compileFilter(request.filter ?? '', {
      display_name: (m: IModel) => m.displayName ?? '',
      model: (m: IModel) => (m.name ?? '').split('/').pop() ?? '',
      labels: (m: IModel) => m.labels ?? {},
    });
    const defaults = [...this.models.values()]
      .filter((m) => m.name.startsWith(`${parent}/`))
      .map((m) => this.versionOf(m, 'default'))
      .filter((m): m is IModel => m !== undefined && matches(m));
    const { page, nextPageToken } = paginate(defaults, request.pageSize, request.pageToken, `models|${parent}|${request.filter ?? ''}`);
    return { models: page, ...(nextPageToken ? { nextPageToken } : {}) };
  }

  private listModelVersions(request: protos.google.cloud.aiplatform.v1.IListModelVersionsRequest): protos.google.cloud.aiplatform.v1.IListModelVersionsResponse {
    const stored = this.models.get(request.name ?? '');
    if (!stored) throw new FakeStatus(grpc.status.NOT_FOUND, `Model ${request.name ?? ''} not found.`);
    const matches = compileFilter(request.filter ?? '', { labels: (m: IModel) => m.labels ?? {} });
    const { page, nextPageToken } = paginate(stored.versions.filter(matches), request.pageSize, request.pageToken, `versions|${stored.name}|${request.filter ?? ''}`);
    return { models: page, ...(nextPageToken ? { nextPageToken } : {}) };
  }

  /**
   * `name` must carry a version id (`models/<id>@<n>`). `x` puts alias x on that version, taking it
   * from whichever version held it (aliases are unique per model); `-x` takes it off. The
   * `default` alias can move but not be removed.
   */
  private mergeVersionAliases(request: protos.google.cloud.aiplatform.v1.IMergeVersionAliasesRequest): IModel {
    const match = MODEL_NAME.exec(request.name ?? '');
    if (!match?.[3] || !/^\d+$/.test(match[3])) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `name must include a version id: ${request.name ?? ''}`);
    const stored = this.models.get(`${match[1]}/models/${match[2]}`);
    const version = stored && this.versionOf(stored, match[3]);
    if (!stored || !version) throw new FakeStatus(grpc.status.NOT_FOUND, `Model ${request.name ?? ''} not found.`);
    if (!request.versionAliases?.length) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'version_aliases must not be empty');
    for (const entry of request.versionAliases) {
      const removing = entry.startsWith('-');
      const alias = removing ? entry.slice(1) : entry;
      checkAlias(alias);
      if (removing && alias === 'default') throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'the default alias cannot be removed; move it to another version');
    }
    for (const entry of request.versionAliases) {
      if (entry.startsWith('-')) version.versionAliases = (version.versionAliases ?? []).filter((a) => a !== entry.slice(1));
      else this.moveAlias(stored, entry, version);
    }
    version.versionUpdateTime = this.timestamp();
    return version;
  }

  private moveAlias(stored: StoredModel, alias: string, to: IModel): void {
    for (const version of stored.versions) {
      if (version !== to && version.versionAliases?.includes(alias)) {
        version.versionAliases = version.versionAliases.filter((a) => a !== alias);
        version.versionUpdateTime = this.timestamp();
      }
    }
    if (!to.versionAliases?.includes(alias)) to.versionAliases = [...(to.versionAliases ?? []), alias];
  }

  private versionOf(stored: StoredModel, idOrAlias: string): IModel | undefined {
    return /^\d+$/.test(idOrAlias) ? stored.versions.find((v) => v.versionId === idOrAlias) : stored.versions.find((v) => v.versionAliases?.includes(idOrAlias));
  }

  // ---- Operations -----------------------------------------------------------------------------

  private newOperation(location: string, response: { typeUrl: string; value: Uint8Array }, polls: number): IOperation {
    const name = `${location}/operations/${++this.nextOperationNumber}`;
    // proto-loader keeps google.protobuf.Any's own field names (type_url), whatever keepCase says.
    const operation: IOperation = { name, done: true, response: { type_url: response.typeUrl, value: Buffer.from(response.value) } };
    this.operations.set(name, { operation, pollsLeft: polls });
    return polls > 0 ? { name, done: false } : operation;
  }

  private getOperation(name: string | null | undefined): IOperation {
    const stored = this.operations.get(name ?? '');
    if (!stored) throw new FakeStatus(grpc.status.NOT_FOUND, `Operation ${name ?? ''} not found.`);
    if (stored.pollsLeft > 0) {
      stored.pollsLeft -= 1;
      return { name: stored.operation.name ?? null, done: false };
    }
    return stored.operation;
  }

  // ---- helpers --------------------------------------------------------------------------------

  private storedJob(name: string): StoredJob {
    const stored = this.jobs.get(name);
    if (!stored) throw new Error(`fake Vertex: no job ${name} (have ${[...this.jobs.keys()].join(', ') || 'none'})`);
    return stored;
  }

  private storedJobOrStatus(name: string | null | undefined): StoredJob {
    if (!JOB_NAME.test(name ?? '')) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `${name ?? ''} is not a HyperparameterTuningJob resource name`);
    const stored = this.jobs.get(name as string);
    if (!stored) throw new FakeStatus(grpc.status.NOT_FOUND, `HyperparameterTuningJob ${name ?? ''} not found.`);
    return stored;
  }

  private storedTrial(stored: StoredJob, trialId: string): ITrial {
    const trial = stored.job.trials?.find((t) => t.id === trialId);
    if (!trial) throw new Error(`fake Vertex: job ${jobNameOf(stored)} has no trial ${trialId}`);
    return trial;
  }

  private touch(job: IJob): void {
    job.updateTime = this.timestamp();
  }

  private timestamp(at?: Date): ITimestamp {
    const ms = (at ?? this.now()).getTime();
    return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
  }
}

function jobNameOf(stored: StoredJob): string {
  return stored.job.name as string;
}

function requireLocation(parent: string | null | undefined): string {
  if (!LOCATION.test(parent ?? '')) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `parent must be projects/{project}/locations/{location}, got "${parent ?? ''}"`);
  return parent as string;
}

function checkAlias(alias: string): void {
  if (!ALIAS.test(alias) || /^\d+$/.test(alias)) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `version alias "${alias}" must match [a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]`);
}

function toValue(value: number | string): IValue {
  return typeof value === 'number' ? { numberValue: value } : { stringValue: value };
}

function fromValue(value: IValue | null | undefined): number | string {
  if (typeof value?.numberValue === 'number') return value.numberValue;
  return value?.stringValue ?? '';
}

function toMeasurement(m: FakeMeasurement): IMeasurement {
  return {
    ...(m.stepCount !== undefined ? { stepCount: String(m.stepCount) } : {}),
    metrics: Object.entries(m.metrics).map(([metricId, value]) => ({ metricId, value })),
  };
}

/**
 * The measurement the service makes final when a trial ends without one, by the job's
 * measurementSelectionType: BEST_MEASUREMENT takes the best value of the study's first metric for
 * its goal (measurements without it skipped; the earliest of equals), anything else the last.
 */
function selectedMeasurement(job: IJob, measurements: readonly IMeasurement[]): IMeasurement | undefined {
  const selection = String(job.studySpec?.measurementSelectionType ?? '');
  if (selection !== 'BEST_MEASUREMENT' && selection !== '2') return measurements[measurements.length - 1];
  const metric = job.studySpec?.metrics?.[0];
  const minimize = String(metric?.goal ?? '') === 'MINIMIZE' || String(metric?.goal ?? '') === '2';
  let best: { m: IMeasurement; value: number } | undefined;
  for (const m of measurements) {
    const value = m.metrics?.find((x) => x.metricId === metric?.metricId)?.value;
    if (typeof value !== 'number') continue;
    if (!best || (minimize ? value < best.value : value > best.value)) best = { m, value };
  }
  return best?.m ?? measurements[measurements.length - 1];
}

/** A deterministic number in [0, 1) from a string (FNV-1a). */
function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}

/** A point in the job's search space, deterministic in `seed`. */
function sampleParameters(job: IJob, seed: string): Record<string, number | string> {
  const point: Record<string, number | string> = {};
  for (const p of job.studySpec?.parameters ?? []) {
    const id = p.parameterId ?? '';
    const u = unitHash(`${seed}#${id}`);
    if (p.doubleValueSpec) {
      const [min, max] = [p.doubleValueSpec.minValue ?? 0, p.doubleValueSpec.maxValue ?? 1];
      point[id] = min + u * (max - min);
    } else if (p.integerValueSpec) {
      const [min, max] = [Number(p.integerValueSpec.minValue ?? 0), Number(p.integerValueSpec.maxValue ?? 0)];
      point[id] = min + Math.floor(u * (max - min + 1));
    } else if (p.categoricalValueSpec?.values?.length) {
      const values = p.categoricalValueSpec.values;
      point[id] = values[Math.floor(u * values.length)] ?? values[0] ?? '';
    } else if (p.discreteValueSpec?.values?.length) {
      const values = p.discreteValueSpec.values;
      point[id] = values[Math.floor(u * values.length)] ?? values[0] ?? 0;
    }
  }
  return point;
}

/** Page tokens are opaque to callers: the offset, tied to the query it came from. */
function paginate<T>(items: readonly T[], pageSize: number | null | undefined, pageToken: string | null | undefined, query: string): { page: T[]; nextPageToken?: string } {
  const size = pageSize && pageSize > 0 ? pageSize : DEFAULT_PAGE_SIZE;
  let offset = 0;
  if (pageToken) {
    let decoded: { q?: unknown; o?: unknown };
    try {
      decoded = JSON.parse(Buffer.from(pageToken, 'base64url').toString('utf8')) as { q?: unknown; o?: unknown };
    } catch {
      throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'page_token is not valid');
    }
    if (decoded.q !== query || typeof decoded.o !== 'number') throw new FakeStatus(grpc.status.INVALID_ARGUMENT, 'page_token does not belong to this query');
    offset = decoded.o;
  }
  const page = items.slice(offset, offset + size);
  const next = offset + size;
  return next < items.length ? { page, nextPageToken: Buffer.from(JSON.stringify({ q: query, o: next })).toString('base64url') } : { page };
}

type FieldReaders<T> = { readonly labels?: (item: T) => Readonly<Record<string, string>> } & Readonly<Record<string, ((item: T) => string) | ((item: T) => Readonly<Record<string, string>>)>>;

/**
 * The subset of the documented list filter (AIP-160) the fake understands: terms joined by AND;
 * a term is `field = value`, `field != value`, `field : value` (substring, `*` wildcards) or
 * `labels.key : *` (key exists). Values are "quoted" or bare words. Field names may be snake_case
 * or camelCase. Anything else (OR, NOT, parentheses, unknown fields) is INVALID_ARGUMENT, so a
 * caller relying on more than the fake knows fails loudly.
 *
 * @example compileFilter('display_name="churn" AND labels.tunewire-job-id="abc"', readers)
 */
export function compileFilter<T>(filter: string, fields: FieldReaders<T>): (item: T) => boolean {
  const text = filter.trim();
  if (!text) return () => true;
  const terms = text.split(/\s+AND\s+/);
  const predicates = terms.map((term) => {
    const match = /^\s*([A-Za-z_][\w]*)(?:\.("(?:[^"\\]|\\.)*"|[\w-]+))?\s*(!=|=|:)\s*("(?:[^"\\]|\\.)*"|[^\s"()]+)\s*$/.exec(term);
    if (!match) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `filter term not understood by the fake: "${term}"`);
    const [, rawField = '', rawKey, op, rawValue = ''] = match;
    const field = rawField.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const value = unquote(rawValue);
    if (field === 'labels') {
      const read = fields.labels;
      if (!read || !rawKey) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `filter field "${rawField}" is not supported here`);
      const key = unquote(rawKey);
      if (op === ':' && value === '*') return (item: T) => Object.hasOwn(read(item), key);
      return (item: T) => compare(read(item)[key], op, value);
    }
    const read = fields[field] as ((item: T) => string) | undefined;
    if (!read || rawKey) throw new FakeStatus(grpc.status.INVALID_ARGUMENT, `filter field "${rawField}${rawKey ? `.${rawKey}` : ''}" is not supported by the fake`);
    return (item: T) => compare(read(item), op, value);
  });
  return (item) => predicates.every((p) => p(item));
}

function compare(actual: string | undefined, op: string | undefined, expected: string): boolean {
  if (op === '=') return actual === expected;
  if (op === '!=') return actual !== expected;
  if (actual === undefined) return false;
  if (!expected.includes('*')) return actual.includes(expected);
  const pattern = new RegExp(`^${expected.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return pattern.test(actual);
}

function unquote(text: string): string {
  return text.startsWith('"') ? (JSON.parse(text) as string) : text;
}
