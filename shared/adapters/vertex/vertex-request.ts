import type { protos } from '@google-cloud/aiplatform';
import type { ParameterSpec, Scale, TuningSpec } from '../../domain/spec';
import { JOB_STATES, TRIAL_STATES } from './vertex-responses';
import { DISPLAY_NAME_MAX, JOB_ID_LABEL, parseVertexTrialSpec, type VertexWorkerPool } from './vertex-spec';

type V1 = typeof protos.google.cloud.aiplatform.v1;
type IHyperparameterTuningJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
type IParameterSpec = protos.google.cloud.aiplatform.v1.StudySpec.IParameterSpec;
type IWorkerPoolSpec = protos.google.cloud.aiplatform.v1.IWorkerPoolSpec;
type IStudySpec = protos.google.cloud.aiplatform.v1.IStudySpec;
type ICustomJobSpec = protos.google.cloud.aiplatform.v1.ICustomJobSpec;

type EnvVars = NonNullable<VertexWorkerPool['container']>['env'];
type ScaleName = keyof V1['StudySpec']['ParameterSpec']['ScaleType'];
type AlgorithmName = keyof V1['StudySpec']['Algorithm'];

const SCALE_TYPES: Readonly<Record<'linear' | 'log' | 'reverse_log', ScaleName>> = {
  linear: 'UNIT_LINEAR_SCALE',
  log: 'UNIT_LOG_SCALE',
  reverse_log: 'UNIT_REVERSE_LOG_SCALE',
};

/** bayesian is Vertex's default algorithm, so it is sent as no algorithm at all; hyperband was refused by validation. */
const ALGORITHMS: Readonly<Record<TuningSpec['strategy'], AlgorithmName | undefined>> = {
  bayesian: undefined,
  random: 'RANDOM_SEARCH',
  grid: 'GRID_SEARCH',
  hyperband: undefined,
};

/**
 * The job's display name: the spec name (or `trial.displayName`) and the job id, e.g.
 * `churn-vertex (churn-vertex-4k2m9x0abc)`. Vertex picks the resource id, so the job id in the
 * name (and in the `tunewire-job-id` label) is what finds the job again; the name is cut, never
 * the job id, to stay within Vertex's 128 characters.
 */
export function vertexDisplayName(spec: TuningSpec, jobId: string): string {
  const override = spec.trial['displayName'];
  const base = typeof override === 'string' && override.length > 0 ? override : spec.name;
  const suffix = ` (${jobId})`;
  const room = Math.max(0, DISPLAY_NAME_MAX - [...suffix].length);
  return [...base].slice(0, room).join('') + suffix;
}

function parameterSpec(p: ParameterSpec): IParameterSpec {
  switch (p.type) {
    case 'double':
      return { parameterId: p.name, doubleValueSpec: { minValue: p.min, maxValue: p.max }, ...scaleOf(p.scale) };
    case 'integer':
      // int64: decimal strings, which protobufjs takes (Long.fromValue) and the client itself returns (longs: String)
      return { parameterId: p.name, integerValueSpec: { minValue: String(p.min), maxValue: String(p.max) }, ...scaleOf(p.scale) };
    case 'categorical':
      // ScaleType: "Leave unset for CATEGORICAL parameters"
      return { parameterId: p.name, categoricalValueSpec: { values: [...p.values] } };
    case 'discrete':
      // "The list should be in increasing order": a discrete set has no meaningful order, so tunewire sorts it
      return { parameterId: p.name, discreteValueSpec: { values: [...p.values].sort((a, b) => a - b) } };
  }
}

/** `auto` leaves ScaleType unset: "By default, no scaling is applied". */
function scaleOf(scale: Scale): Pick<IParameterSpec, 'scaleType'> {
  return scale === 'auto' ? {} : { scaleType: SCALE_TYPES[scale] };
}

function studySpec(spec: TuningSpec): IStudySpec {
  const algorithm = ALGORITHMS[spec.strategy];
  return {
    metrics: [{ metricId: spec.objective.metric, goal: spec.objective.goal === 'maximize' ? 'MAXIMIZE' : 'MINIMIZE' }],
    parameters: spec.parameters.map(parameterSpec),
    ...(algorithm ? { algorithm } : {}),
    measurementSelectionType: spec.measurementSelection === 'best' ? 'BEST_MEASUREMENT' : 'LAST_MEASUREMENT',
    // earlyStopping auto is the median rule, as SageMaker's Auto is: a trial whose best value is below
    // the median of completed trials' running averages at the same step is stopped. Steps, not elapsed
    // time, so fast and slow hyperparameters compare fairly: trainers report global_step with each metric.
    ...(spec.earlyStopping === 'auto' ? { medianAutomatedStoppingSpec: { useElapsedDuration: false } } : {}),
    // The job-wide runtime budget: Vertex stops suggesting trials once it has passed (trials already
    // running finish, each bounded by trial.timeoutSeconds).
    ...(spec.budget.maxRuntimeSeconds !== undefined
      ? { studyStoppingConfig: { maximumRuntimeConstraint: { maxDuration: { seconds: String(spec.budget.maxRuntimeSeconds) } } } }
      : {}),
  };
}

/** Static hyperparameters reach every pool as `--name=value`, the form in which Vertex passes the tuned ones. */
function workerPoolSpec(pool: VertexWorkerPool, staticArgs: readonly string[]): IWorkerPoolSpec {
  if (Object.keys(pool).length === 0) return {};
  const withStatics = (args: readonly string[] | undefined): { args?: string[] } => {
    const all = [...(args ?? []), ...staticArgs];
    return all.length > 0 ? { args: all } : {};
  };
  const env = (vars: EnvVars) =>
    vars && vars.length > 0 ? { env: vars.map((v) => ({ name: v.name, value: v.value })) } : {};
  const diskSpec = {
    ...(pool.diskType !== undefined ? { bootDiskType: pool.diskType } : {}),
    ...(pool.diskSizeGb !== undefined ? { bootDiskSizeGb: pool.diskSizeGb } : {}),
  };
  return {
    machineSpec: {
      machineType: pool.machineType,
      ...(pool.acceleratorType !== undefined ? { acceleratorType: pool.acceleratorType, acceleratorCount: pool.acceleratorCount ?? 1 } : {}),
    },
    replicaCount: String(pool.replicaCount ?? 1),
    ...(Object.keys(diskSpec).length > 0 ? { diskSpec } : {}),
    ...(pool.container
      ? {
          containerSpec: {
            imageUri: pool.container.imageUri,
            ...(pool.container.command ? { command: [...pool.container.command] } : {}),
            ...withStatics(pool.container.args),
            ...env(pool.container.env),
          },
        }
      : {}),
    ...(pool.pythonPackage
      ? {
          pythonPackageSpec: {
            executorImageUri: pool.pythonPackage.executorImageUri,
            packageUris: [...pool.pythonPackage.packageUris],
            pythonModule: pool.pythonPackage.pythonModule,
            ...withStatics(pool.pythonPackage.args),
            ...env(pool.pythonPackage.env),
          },
        }
      : {}),
  };
}

/**
 * The HyperparameterTuningJob for JobServiceClient.createHyperparameterTuningJob: camelCase
 * fields, enums by name, int64 as decimal strings, durations as `{ seconds }`. Validates first and
 * throws `SpecValidationError` naming each field Vertex would refuse.
 *
 * Vertex assigns the resource id, so `providerJobName` is not sent: the job id travels in the
 * display name and in the `tunewire-job-id` label, which a retried submit looks for.
 *
 * @example
 *   const job = buildHyperparameterTuningJob(spec, { jobId, providerJobName });
 *   await client.createHyperparameterTuningJob({ parent: vertexParent(trial), hyperparameterTuningJob: job });
 */
export function buildHyperparameterTuningJob(spec: TuningSpec, job: { jobId: string; providerJobName: string }): IHyperparameterTuningJob {
  const trial = parseVertexTrialSpec(spec);
  const staticArgs = Object.entries(spec.staticHyperparameters).map(([name, value]) => `--${name}=${value}`);
  // 0 in the spec means "tolerate no failure", which for Vertex is 1: its 0 means "Vertex decides"
  const maxFailed = trial.maxFailedTrials ?? (spec.budget.maxFailedTrials !== undefined ? Math.max(1, spec.budget.maxFailedTrials) : undefined);
  const scheduling = {
    ...(trial.timeoutSeconds !== undefined ? { timeout: { seconds: String(trial.timeoutSeconds) } } : {}),
    ...(trial.restartJobOnWorkerRestart !== undefined ? { restartJobOnWorkerRestart: trial.restartJobOnWorkerRestart } : {}),
  };
  const trialJobSpec: ICustomJobSpec = {
    workerPoolSpecs: trial.workerPoolSpecs.map((pool) => workerPoolSpec(pool, staticArgs)),
    baseOutputDirectory: { outputUriPrefix: trial.baseOutputDirectory },
    ...(trial.serviceAccount !== undefined ? { serviceAccount: trial.serviceAccount } : {}),
    ...(trial.network !== undefined ? { network: trial.network } : {}),
    ...(trial.reservedIpRanges !== undefined ? { reservedIpRanges: [...trial.reservedIpRanges] } : {}),
    ...(Object.keys(scheduling).length > 0 ? { scheduling } : {}),
    ...(trial.enableWebAccess !== undefined ? { enableWebAccess: trial.enableWebAccess } : {}),
    ...(trial.enableDashboardAccess !== undefined ? { enableDashboardAccess: trial.enableDashboardAccess } : {}),
    ...(trial.tensorboard !== undefined ? { tensorboard: trial.tensorboard } : {}),
  };
  return {
    displayName: vertexDisplayName(spec, job.jobId),
    studySpec: studySpec(spec),
    maxTrialCount: spec.budget.maxTrials,
    parallelTrialCount: spec.budget.parallelTrials,
    ...(maxFailed !== undefined ? { maxFailedTrialCount: maxFailed } : {}),
    trialJobSpec,
    labels: { ...spec.labels, [JOB_ID_LABEL]: job.jobId.toLowerCase() },
    ...(trial.encryptionKey !== undefined ? { encryptionSpec: { kmsKeyName: trial.encryptionKey } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The REST/JSON form (proto3 JSON mapping), for `tunewire render --provider vertex`.

/** Enum numbers as the protos number them, for fields tunewire sends or reads; an unknown number stays a number. */
const ENUM_NAMES: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  goal: { 0: 'GOAL_TYPE_UNSPECIFIED', 1: 'MAXIMIZE', 2: 'MINIMIZE' },
  scaleType: { 0: 'SCALE_TYPE_UNSPECIFIED', 1: 'UNIT_LINEAR_SCALE', 2: 'UNIT_LOG_SCALE', 3: 'UNIT_REVERSE_LOG_SCALE' },
  algorithm: { 0: 'ALGORITHM_UNSPECIFIED', 2: 'GRID_SEARCH', 3: 'RANDOM_SEARCH' },
  measurementSelectionType: { 0: 'MEASUREMENT_SELECTION_TYPE_UNSPECIFIED', 1: 'LAST_MEASUREMENT', 2: 'BEST_MEASUREMENT' },
  observationNoise: { 0: 'OBSERVATION_NOISE_UNSPECIFIED', 1: 'LOW', 2: 'HIGH' },
  acceleratorType: {
    0: 'ACCELERATOR_TYPE_UNSPECIFIED', 1: 'NVIDIA_TESLA_K80', 2: 'NVIDIA_TESLA_P100', 3: 'NVIDIA_TESLA_V100', 4: 'NVIDIA_TESLA_P4',
    5: 'NVIDIA_TESLA_T4', 6: 'TPU_V2', 7: 'TPU_V3', 8: 'NVIDIA_TESLA_A100', 9: 'NVIDIA_A100_80GB', 10: 'TPU_V4_POD', 11: 'NVIDIA_L4',
    12: 'TPU_V5_LITEPOD', 13: 'NVIDIA_H100_80GB', 14: 'NVIDIA_H100_MEGA_80GB', 15: 'NVIDIA_H200_141GB', 16: 'NVIDIA_B200',
    17: 'NVIDIA_GB200', 18: 'NVIDIA_RTX_PRO_6000',
  },
  strategy: { 0: 'STRATEGY_UNSPECIFIED', 1: 'ON_DEMAND', 2: 'LOW_COST', 3: 'STANDARD', 4: 'SPOT', 6: 'FLEX_START' },
};

/** int64 fields by their message: proto3 JSON writes them as strings. */
const INT64_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  integerValueSpec: new Set(['minValue', 'maxValue', 'defaultValue']),
  parentIntValues: new Set(['values']),
  convexAutomatedStoppingSpec: new Set(['maxStepCount', 'minStepCount', 'minMeasurementCount']),
  workerPoolSpecs: new Set(['replicaCount']),
  measurements: new Set(['stepCount']),
  finalMeasurement: new Set(['stepCount']),
};
const DURATION_FIELDS = new Set(['timeout', 'maxWaitDuration', 'maxDuration', 'maxDurationNoProgress', 'elapsedDuration']);
const TIMESTAMP_FIELDS = new Set(['createTime', 'startTime', 'endTime', 'updateTime']);
/** google.protobuf.*Value wrappers: JSON writes the bare value. */
const WRAPPER_FIELDS = new Set(['shouldStopAsap', 'minNumTrials', 'maxNumTrials', 'maxNumTrialsNoProgress']);
/** The virtual oneof fields @grpc/proto-loader adds (`oneofs: true`): they name the set member and are not API fields. */
const ONEOF_FIELDS = new Set(['parameterValueSpec', 'automatedStoppingSpec', 'task', 'parentValueCondition', 'constraint', 'kind']);

type LongLike = { low: number; high: number; unsigned?: boolean; toString(): string };
function isLong(value: unknown): value is LongLike {
  return typeof value === 'object' && value !== null && typeof (value as LongLike).low === 'number' && typeof (value as LongLike).high === 'number';
}

/** int64 as a decimal string; JSON numbers lose precision above 2^53. */
export function int64String(value: unknown): string {
  if (isLong(value)) return value.toString();
  return typeof value === 'number' ? String(Math.trunc(value)) : String(value);
}

function fraction(nanos: number): string {
  if (!nanos) return '';
  const digits = String(nanos).padStart(9, '0');
  return `.${digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits}`;
}

/** google.protobuf.Duration in JSON: "3600s", "1.500s". */
export function durationString(value: { seconds?: unknown; nanos?: number | null }): string {
  return `${int64String(value.seconds ?? 0)}${fraction(value.nanos ?? 0)}s`;
}

/** google.protobuf.Timestamp in JSON: RFC 3339 in UTC, with 0, 3, 6 or 9 fractional digits. */
export function timestampString(value: { seconds?: unknown; nanos?: number | null }): string {
  const seconds = Number(int64String(value.seconds ?? 0));
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return `${iso}${fraction(value.nanos ?? 0)}Z`;
}

/** google.protobuf.Value as proto-loader shapes it ({ numberValue, kind }) or as a plain value. */
function protobufValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  if (v['numberValue'] !== undefined && v['numberValue'] !== null) return v['numberValue'];
  if (v['stringValue'] !== undefined && v['stringValue'] !== null) return v['stringValue'];
  if (v['boolValue'] !== undefined && v['boolValue'] !== null) return v['boolValue'];
  if (v['nullValue'] !== undefined && v['nullValue'] !== null) return null;
  if (v['listValue'] && typeof v['listValue'] === 'object') return ((v['listValue'] as { values?: unknown[] }).values ?? []).map(protobufValue);
  if (v['structValue'] && typeof v['structValue'] === 'object') {
    const fields = (v['structValue'] as { fields?: Record<string, unknown> }).fields ?? {};
    return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, protobufValue(f)]));
  }
  return toJson(value, '');
}

/** Converts a value found under `field` (array elements share their array's field name). */
function toJson(value: unknown, field: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (isLong(value)) return value.toString();
  if (Array.isArray(value)) return value.map((item) => toJson(item, field)).filter((item) => item !== undefined);
  if (typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if (DURATION_FIELDS.has(field)) return durationString(o);
  if (TIMESTAMP_FIELDS.has(field)) return timestampString(o);
  if (WRAPPER_FIELDS.has(field) && 'value' in o) return o['value'];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    if (ONEOF_FIELDS.has(k) && typeof v === 'string' && Object.hasOwn(o, v)) continue;
    const converted = convertField(k, v, field, o);
    if (converted !== undefined) out[k] = converted;
  }
  return out;
}

function convertField(k: string, v: unknown, objectField: string, o: Record<string, unknown>): unknown {
  if (INT64_FIELDS[objectField]?.has(k)) return Array.isArray(v) ? v.map(int64String) : int64String(v);
  if (k === 'state' && typeof v === 'number') {
    // a job's state is a JobState; a trial's (an element of `trials`) is a Trial.State
    const names: readonly string[] = objectField === 'trials' ? TRIAL_STATES : JOB_STATES;
    return names[v] ?? v;
  }
  if (typeof v === 'number' && ENUM_NAMES[k] !== undefined) return ENUM_NAMES[k]?.[v] ?? v;
  if (k === 'value' && objectField === 'parameters' && 'parameterId' in o) return protobufValue(v);
  return toJson(v, k);
}

/**
 * The job in the REST/JSON form of the API reference (proto3 JSON): the same camelCase names,
 * enums by name, int64 as strings, durations as "3600s", timestamps in RFC 3339, no nulls.
 *
 * @example toApiJson(buildHyperparameterTuningJob(spec, job)) // { displayName: ..., trialJobSpec: { scheduling: { timeout: '3600s' } } }
 */
export function toApiJson(job: IHyperparameterTuningJob): unknown {
  return toJson(job, '');
}
