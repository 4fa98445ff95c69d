import { ProviderError, SpecValidationError } from '../../domain/errors';
import type { ProviderJobRef } from '../../domain/job';
import type { ParameterSpec, TuningSpec } from '../../domain/spec';
import {
  MLENGINE_JOB_ID_LABEL,
  MLENGINE_JOB_ID_PATTERN,
  mlEngineAlgorithm,
  parseMlEngineTrialSpec,
  type MlEngineReplicaConfig,
  type MlEngineTrialSpec,
} from './mlengine-spec';

// ---------------------------------------------------------------------------------------------
// The ML Engine v1 `projects.jobs` resource, as the reference gives it. JSON maps int64 to a
// string ("A String" in the reference: workerCount, acceleratorConfig.count, completedTrialCount,
// trainingStep) and int32 to a number (maxTrials and the other HyperparameterSpec counts).

export const MLENGINE_JOB_STATES = ['STATE_UNSPECIFIED', 'QUEUED', 'PREPARING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLING', 'CANCELLED'] as const;
export type MlEngineJobState = (typeof MLENGINE_JOB_STATES)[number];

export type MlEngineGoal = 'MAXIMIZE' | 'MINIMIZE';
export type MlEngineParameterType = 'DOUBLE' | 'INTEGER' | 'CATEGORICAL' | 'DISCRETE';
export type MlEngineScaleType = 'UNIT_LINEAR_SCALE' | 'UNIT_LOG_SCALE' | 'UNIT_REVERSE_LOG_SCALE';
export type MlEngineAlgorithm = 'ALGORITHM_UNSPECIFIED' | 'GRID_SEARCH' | 'RANDOM_SEARCH';

export interface MlEngineAcceleratorConfig {
  /** int64 as a string. */
  count?: string;
  type?: string;
}

export interface MlEngineReplicaConfigBody {
  acceleratorConfig?: MlEngineAcceleratorConfig;
  imageUri?: string;
}

export interface MlEngineParameterSpecBody {
  parameterName: string;
  type: MlEngineParameterType;
  minValue?: number;
  maxValue?: number;
  categoricalValues?: string[];
  discreteValues?: number[];
  scaleType?: MlEngineScaleType;
}

export interface MlEngineHyperparameterSpec {
  goal: MlEngineGoal;
  params: MlEngineParameterSpecBody[];
  maxTrials?: number;
  maxParallelTrials?: number;
  maxFailedTrials?: number;
  hyperparameterMetricTag?: string;
  enableTrialEarlyStopping?: boolean;
  resumePreviousJobId?: string;
  algorithm?: MlEngineAlgorithm;
}

export interface MlEngineTrainingInput {
  scaleTier: string;
  masterType?: string;
  masterConfig?: MlEngineReplicaConfigBody;
  workerType?: string;
  /** int64 as a string. */
  workerCount?: string;
  workerConfig?: MlEngineReplicaConfigBody;
  parameterServerType?: string;
  /** int64 as a string. */
  parameterServerCount?: string;
  parameterServerConfig?: MlEngineReplicaConfigBody;
  packageUris?: string[];
  pythonModule?: string;
  args?: string[];
  hyperparameters?: MlEngineHyperparameterSpec;
  region: string;
  runtimeVersion?: string;
  pythonVersion?: string;
  jobDir?: string;
  /** A protobuf Duration in JSON: `"86400s"`. */
  maxRunningTime?: string;
}

export interface MlEngineMetric {
  /** int64 as a string. */
  trainingStep?: string;
  objectiveValue?: number;
}

export interface MlEngineBuiltInAlgorithmOutput {
  framework?: string;
  modelPath?: string;
  runtimeVersion?: string;
  pythonVersion?: string;
}

/**
 * One trial of a tuning job. The reference lists successful trials only and has no per-trial
 * state or times; later API versions add `state`, `startTime` and `endTime`, read when present.
 */
export interface MlEngineHyperparameterOutput {
  trialId?: string;
  hyperparameters?: Record<string, string>;
  finalMetric?: MlEngineMetric;
  /** "This field is not currently populated" (the reference). */
  allMetrics?: MlEngineMetric[];
  isTrialStoppedEarly?: boolean;
  builtInAlgorithmOutput?: MlEngineBuiltInAlgorithmOutput;
  /** Not in the reference: newer API versions. */
  state?: string;
  startTime?: string;
  endTime?: string;
}

export interface MlEngineTrainingOutput {
  /** int64 as a string: trials that completed successfully. */
  completedTrialCount?: string;
  trials?: MlEngineHyperparameterOutput[];
  isHyperparameterTuningJob?: boolean;
  isBuiltInAlgorithmJob?: boolean;
  consumedMLUnits?: number;
  hyperparameterMetricTag?: string;
  builtInAlgorithmOutput?: MlEngineBuiltInAlgorithmOutput;
}

export interface MlEnginePredictionInput {
  modelName?: string;
  versionName?: string;
  uri?: string;
  runtimeVersion?: string;
  signatureName?: string;
  batchSize?: string;
  inputPaths?: string[];
  maxWorkerCount?: string;
  outputPath?: string;
  dataFormat?: string;
  outputDataFormat?: string;
  region?: string;
}

export interface MlEnginePredictionOutput {
  outputPath?: string;
  nodeHours?: number;
  predictionCount?: string;
  errorCount?: string;
}

/** A training or prediction job: what `create` takes and what `get`, `list` and `patch` return. */
export interface MlEngineJob {
  jobId: string;
  labels?: Record<string, string>;
  trainingInput?: MlEngineTrainingInput;
  predictionInput?: MlEnginePredictionInput;
  // Output only:
  state?: MlEngineJobState | (string & {});
  errorMessage?: string;
  trainingOutput?: MlEngineTrainingOutput;
  predictionOutput?: MlEnginePredictionOutput;
  createTime?: string;
  startTime?: string;
  endTime?: string;
  /** Optimistic concurrency for `patch`. */
  etag?: string;
}

export interface MlEngineListJobsResponse {
  jobs?: MlEngineJob[];
  nextPageToken?: string;
}

// ---------------------------------------------------------------------------------------------

/**
 * The ML Engine job id for a tunewire job id: dashes become underscores, and an id that does not
 * start with a letter gets a `T` in front. One-to-one on tunewire ids (lowercase letters, digits
 * and dashes, see `deriveJobId`): they hold no underscore and no capital, so no two map alike.
 *
 * @example mlEngineJobId('census-mlengine-4k2m9x0abc') // 'census_mlengine_4k2m9x0abc'
 * @example mlEngineJobId('2024-retune-ab') // 'T2024_retune_ab'
 */
export function mlEngineJobId(jobId: string): string {
  const underscored = jobId.replace(/-/g, '_');
  const id = /^[A-Za-z]/.test(underscored) ? underscored : `T${underscored}`;
  if (!MLENGINE_JOB_ID_PATTERN.test(id)) {
    throw new ProviderError('mlengine', 'providerJobName', `job id "${jobId}" cannot become an ML Engine job id (letters, digits and underscores, at most 128)`, {
      retryable: false,
      code: 'PROVIDER.BAD_JOB_NAME',
    });
  }
  return id;
}

/** `projects/<project>/jobs/<jobId>`, the job's resource name. */
export function mlEngineJobName(project: string, jobId: string): string {
  return `projects/${project}/jobs/${jobId}`;
}

/** Project and job id of a resource name; undefined when it is not one. */
export function parseMlEngineJobName(name: string): { project: string; jobId: string } | undefined {
  const match = /^projects\/([^/]+)\/jobs\/([^/]+)$/.exec(name);
  return match ? { project: match[1] as string, jobId: match[2] as string } : undefined;
}

/** The project a spec's job runs in: `trial.project`, else the provider's default. */
export function mlEngineProjectOf(spec: TuningSpec, defaultProject?: string): string | undefined {
  const project = spec.trial['project'];
  return typeof project === 'string' && project ? project : defaultProject;
}

const SCALE_TYPES: Readonly<Record<'auto' | 'linear' | 'log' | 'reverse_log', MlEngineScaleType>> = {
  // The reference "strongly recommends" some scaling for numbers; auto means linear here.
  auto: 'UNIT_LINEAR_SCALE',
  linear: 'UNIT_LINEAR_SCALE',
  log: 'UNIT_LOG_SCALE',
  reverse_log: 'UNIT_REVERSE_LOG_SCALE',
};

function parameterBody(p: ParameterSpec): MlEngineParameterSpecBody {
  switch (p.type) {
    case 'double':
      return { parameterName: p.name, type: 'DOUBLE', minValue: p.min, maxValue: p.max, scaleType: SCALE_TYPES[p.scale] };
    case 'integer':
      return { parameterName: p.name, type: 'INTEGER', minValue: p.min, maxValue: p.max, scaleType: SCALE_TYPES[p.scale] };
    case 'categorical':
      return { parameterName: p.name, type: 'CATEGORICAL', categoricalValues: [...p.values] };
    case 'discrete':
      return { parameterName: p.name, type: 'DISCRETE', discreteValues: [...p.values] };
  }
}

function replicaBody(config: MlEngineReplicaConfig | undefined): MlEngineReplicaConfigBody | undefined {
  if (!config) return undefined;
  return {
    ...(config.acceleratorConfig ? { acceleratorConfig: { count: String(config.acceleratorConfig.count), type: config.acceleratorConfig.type } } : {}),
    ...(config.imageUri ? { imageUri: config.imageUri } : {}),
  };
}

/**
 * `trial.args`, then each static hyperparameter as `--name=value`, sorted by name so the body does
 * not depend on key order. ML Engine adds each trial's tuned values as `--name=value` itself.
 */
export function mlEngineArgs(spec: TuningSpec, trial: Pick<MlEngineTrialSpec, 'args'>): string[] {
  const statics = Object.entries(spec.staticHyperparameters)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `--${name}=${value}`);
  return [...trial.args, ...statics];
}

export interface BuildMlEngineJobOptions {
  readonly jobId: string;
  readonly providerJobName: string;
  /** Resolved warm-start parent (one at most); without it, `warmStart.from[0]` is mapped by `mlEngineJobId`. */
  readonly warmStartParents?: readonly ProviderJobRef[];
  /** The provider's default project, for a spec without `trial.project`. */
  readonly project?: string;
}

/**
 * The body of `projects.jobs.create` for a spec. Throws `SpecValidationError` when the spec breaks
 * an ML Engine rule (see `mlEngineSpecIssues`), so nothing invalid can be rendered.
 *
 * Mapping decisions: scale `auto` → UNIT_LINEAR_SCALE; strategy bayesian → ALGORITHM_UNSPECIFIED
 * (the service's default, Bayesian optimization); `budget.maxFailedTrials` 0 → 1 (ML Engine reads
 * 0 as "the service decides", tunewire as "no failure tolerated"), left out → left out;
 * `budget.maxRuntimeSeconds` → `maxRunningTime`; earlyStopping auto → enableTrialEarlyStopping;
 * `hyperparameterMetricTag` defaults to objective.metric; labels are the spec's plus
 * `tunewire-job-id: <jobId>`.
 *
 * @example
 *   const body = buildMlEngineJob(spec, { jobId, providerJobName: mlEngineJobId(jobId) });
 *   await client.create(project, body);
 */
export function buildMlEngineJob(spec: TuningSpec, options: BuildMlEngineJobOptions): MlEngineJob {
  const trial = parseMlEngineTrialSpec(spec);
  if (!MLENGINE_JOB_ID_PATTERN.test(options.providerJobName)) {
    throw new ProviderError('mlengine', 'render', `"${options.providerJobName}" is not an ML Engine job id`, { retryable: false, code: 'PROVIDER.BAD_JOB_NAME' });
  }
  const project = mlEngineProjectOf(spec, options.project);
  const resumePreviousJobId = resumeJobId(spec, options, project);
  const { budget } = spec;

  const hyperparameters: MlEngineHyperparameterSpec = {
    goal: spec.objective.goal === 'maximize' ? 'MAXIMIZE' : 'MINIMIZE',
    params: spec.parameters.map(parameterBody),
    maxTrials: budget.maxTrials,
    maxParallelTrials: budget.parallelTrials,
    ...(budget.maxFailedTrials !== undefined ? { maxFailedTrials: Math.max(1, budget.maxFailedTrials) } : {}),
    hyperparameterMetricTag: trial.hyperparameterMetricTag ?? spec.objective.metric,
    enableTrialEarlyStopping: spec.earlyStopping === 'auto',
    ...(resumePreviousJobId ? { resumePreviousJobId } : {}),
    algorithm: mlEngineAlgorithm(spec.strategy) as MlEngineAlgorithm,
  };

  const masterConfig = replicaBody(trial.masterConfig);
  const workerConfig = replicaBody(trial.workerConfig);
  const parameterServerConfig = replicaBody(trial.parameterServerConfig);
  const args = mlEngineArgs(spec, trial);
  const trainingInput: MlEngineTrainingInput = {
    scaleTier: trial.scaleTier,
    ...(trial.masterType ? { masterType: trial.masterType } : {}),
    ...(masterConfig ? { masterConfig } : {}),
    ...(trial.workerType ? { workerType: trial.workerType } : {}),
    ...(trial.workerCount !== undefined ? { workerCount: String(trial.workerCount) } : {}),
    ...(workerConfig ? { workerConfig } : {}),
    ...(trial.parameterServerType ? { parameterServerType: trial.parameterServerType } : {}),
    ...(trial.parameterServerCount !== undefined ? { parameterServerCount: String(trial.parameterServerCount) } : {}),
    ...(parameterServerConfig ? { parameterServerConfig } : {}),
    ...(trial.packageUris.length > 0 ? { packageUris: [...trial.packageUris] } : {}),
    ...(trial.pythonModule ? { pythonModule: trial.pythonModule } : {}),
    ...(args.length > 0 ? { args } : {}),
    hyperparameters,
    region: trial.region,
    ...(trial.runtimeVersion ? { runtimeVersion: trial.runtimeVersion } : {}),
    ...(trial.pythonVersion ? { pythonVersion: trial.pythonVersion } : {}),
    ...(trial.jobDir ? { jobDir: trial.jobDir } : {}),
    ...(budget.maxRuntimeSeconds !== undefined ? { maxRunningTime: `${budget.maxRuntimeSeconds}s` } : {}),
  };

  return {
    jobId: options.providerJobName,
    labels: { ...spec.labels, [MLENGINE_JOB_ID_LABEL]: labelValue(options.jobId) },
    trainingInput,
  };
}

function labelValue(jobId: string): string {
  if (!/^[a-z0-9_-]{1,63}$/.test(jobId)) {
    throw new ProviderError('mlengine', 'render', `job id "${jobId}" cannot be a label value (lowercase letters, digits, dashes, underscores, at most 63)`, {
      retryable: false,
      code: 'PROVIDER.BAD_JOB_NAME',
    });
  }
  return jobId;
}

/** The parent's ML Engine job id; it must be in the same project (resumePreviousJobId is a bare id). */
function resumeJobId(spec: TuningSpec, options: BuildMlEngineJobOptions, project: string | undefined): string | undefined {
  if (!spec.warmStart) return undefined;
  const parent = options.warmStartParents?.[0];
  if (!parent) return mlEngineJobId(spec.warmStart.from[0] as string);
  const where = parent.providerJobId ? parseMlEngineJobName(parent.providerJobId) : undefined;
  if (where && project && where.project !== project) {
    throw new SpecValidationError('spec', [
      { path: 'warmStart.from[0]', message: `job ran in project ${where.project}; ML Engine resumes only a job of the same project (${project})` },
    ]);
  }
  return where?.jobId ?? parent.providerJobName;
}
