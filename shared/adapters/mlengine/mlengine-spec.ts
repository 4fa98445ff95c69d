import * as z from 'zod';
import { SpecValidationError, type FieldIssue } from '../../domain/errors';
import { zodIssues, type TuningSpec } from '../../domain/spec';

/**
 * The spec's `trial` section for the legacy Cloud ML Engine v1 `projects.jobs` API, and the
 * provider rules the service would otherwise enforce after the fact. Field names follow the API's
 * `TrainingInput` (camelCase), so a reader of the reference finds each one by name.
 *
 * Only what the reference's `TrainingInput` has is accepted. Fields that newer AI Platform
 * versions added (`scheduling`, `serviceAccount`, `network`, `encryptionConfig`, evaluators,
 * `useChiefInTfConfig`, `enableWebAccess`) are refused by name; `maxRunningTime` comes from
 * `budget.maxRuntimeSeconds`.
 *
 * @example
 *   trial:
 *     project: tunewire-demo
 *     region: us-central1
 *     scaleTier: BASIC
 *     packageUris: [gs://tunewire-demo/census/trainer-0.1.tar.gz]
 *     pythonModule: trainer.task
 *     runtimeVersion: "1.15"
 *     pythonVersion: "3.7"
 *     jobDir: gs://tunewire-demo/census/jobs
 *     args: [--train-files=gs://tunewire-demo/census/adult.data.csv]
 */

/** The reference gives `scaleTier` no list; these are the v1 API's `ScaleTier` values. */
export const MLENGINE_SCALE_TIERS = ['BASIC', 'STANDARD_1', 'PREMIUM_1', 'BASIC_GPU', 'BASIC_TPU', 'CUSTOM'] as const;
export type MlEngineScaleTier = (typeof MLENGINE_SCALE_TIERS)[number];

/** AI Platform machine types, as the reference lists them under `masterType`. */
export const MLENGINE_LEGACY_MACHINE_TYPES = [
  'standard',
  'large_model',
  'complex_model_s',
  'complex_model_m',
  'complex_model_l',
  'standard_gpu',
  'complex_model_m_gpu',
  'complex_model_l_gpu',
  'standard_p100',
  'complex_model_m_p100',
  'standard_v100',
  'large_model_v100',
  'complex_model_m_v100',
  'complex_model_l_v100',
  'cloud_tpu',
] as const;

/** Compute Engine machine types the reference allows in the same fields. */
export const MLENGINE_COMPUTE_ENGINE_MACHINE_TYPES = [
  'n1-standard-4',
  'n1-standard-8',
  'n1-standard-16',
  'n1-standard-32',
  'n1-standard-64',
  'n1-standard-96',
  'n1-highmem-2',
  'n1-highmem-4',
  'n1-highmem-8',
  'n1-highmem-16',
  'n1-highmem-32',
  'n1-highmem-64',
  'n1-highmem-96',
  'n1-highcpu-16',
  'n1-highcpu-32',
  'n1-highcpu-64',
  'n1-highcpu-96',
] as const;

export const MLENGINE_MACHINE_TYPES = [...MLENGINE_LEGACY_MACHINE_TYPES, ...MLENGINE_COMPUTE_ENGINE_MACHINE_TYPES] as const;
export type MlEngineMachineType = (typeof MLENGINE_MACHINE_TYPES)[number];

const COMPUTE_ENGINE_TYPES: ReadonlySet<string> = new Set(MLENGINE_COMPUTE_ENGINE_MACHINE_TYPES);

export function isComputeEngineMachineType(type: string): boolean {
  return COMPUTE_ENGINE_TYPES.has(type);
}

/** ML Engine's job id: letters, digits and underscores, starting with a letter, at most 128. */
export const MLENGINE_JOB_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

/** The label tunewire puts on every job it creates, to recognise its own job when adopting one. */
export const MLENGINE_JOB_ID_LABEL = 'tunewire-job-id';

/** Google Cloud's label rules (the reference only says "arbitrary strings"; the service enforces these). */
export const MLENGINE_MAX_LABELS = 64;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/** Limits the reference states. */
export const MLENGINE_MAX_DISCRETE_VALUES = 1000;
export const MLENGINE_MAX_PACKAGE_URIS = 100;
/** `maxTrials`, `maxParallelTrials` and `maxFailedTrials` are int32 in the API. */
const INT32_MAX = 2_147_483_647;

const ALGORITHMS: Readonly<Record<TuningSpec['strategy'], string | undefined>> = {
  bayesian: 'ALGORITHM_UNSPECIFIED',
  random: 'RANDOM_SEARCH',
  grid: 'GRID_SEARCH',
  hyperband: undefined,
};

/** The `HyperparameterSpec.algorithm` for a strategy; undefined when ML Engine has none. */
export function mlEngineAlgorithm(strategy: TuningSpec['strategy']): string | undefined {
  return ALGORITHMS[strategy];
}

const GCS_URI = /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/\S*)?$/;
const gcsUri = z.string().regex(GCS_URI, 'must be a Cloud Storage URI (gs://bucket/path)');
/** "This image must be in Container Registry" (gcr.io and its regional hosts). */
const CONTAINER_REGISTRY_IMAGE = /^([a-z]+\.)?gcr\.io\/[a-z][a-z0-9.:-]*[a-z0-9](\/[a-z0-9._/-]+)?(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})?$/;

const enumOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: () => `must be one of ${values.join(', ')}` });

const machineType = enumOf(MLENGINE_MACHINE_TYPES);

const replicaConfig = z.strictObject({
  /** A custom container; replicas without one use `masterConfig.imageUri`. */
  imageUri: z.string().regex(CONTAINER_REGISTRY_IMAGE, 'must be an image in Container Registry (gcr.io/<project>/<image>[:tag])').optional(),
  /** Only for Compute Engine machine types. */
  acceleratorConfig: z
    .strictObject({
      /** e.g. NVIDIA_TESLA_K80, NVIDIA_TESLA_P100, NVIDIA_TESLA_V100, TPU_V2 */
      type: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an accelerator type such as NVIDIA_TESLA_K80'),
      count: z.number().int('must be an integer').min(1, 'must be at least 1'),
    })
    .optional(),
});

export const mlEngineTrialSpecSchema = z.strictObject({
  /** The Google Cloud project the job runs in; the provider's default project when left out. */
  project: z
    .string()
    .regex(/^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a project id: 6 to 30 lowercase letters, digits and dashes, starting with a letter')
    .optional(),
  /** Required: the Compute Engine region to train in, e.g. us-central1. */
  region: z.string().regex(/^[a-z]+(-[a-z]+)+[0-9]+$/, 'must be a region such as us-central1'),
  /** Required. CUSTOM takes the machine types and counts below; the others are fixed clusters. */
  scaleTier: enumOf(MLENGINE_SCALE_TIERS),
  /** CUSTOM only, and required then. */
  masterType: machineType.optional(),
  /** `imageUri` (a custom container) works with any scale tier; `acceleratorConfig` needs a Compute Engine masterType. */
  masterConfig: replicaConfig.optional(),
  /** CUSTOM only; required when workerCount is above 0. */
  workerType: machineType.optional(),
  workerCount: z.number().int('must be an integer').min(0, 'must not be negative').optional(),
  workerConfig: replicaConfig.optional(),
  /** CUSTOM only; required when parameterServerCount is above 0. */
  parameterServerType: machineType.optional(),
  parameterServerCount: z.number().int('must be an integer').min(0, 'must not be negative').optional(),
  parameterServerConfig: replicaConfig.optional(),
  /** The trainer package and its dependencies; at least one unless masterConfig.imageUri is set. */
  packageUris: z.array(gcsUri).max(MLENGINE_MAX_PACKAGE_URIS, `must hold at most ${MLENGINE_MAX_PACKAGE_URIS} URIs`).default([]),
  /** The module to run after installing the packages; required unless masterConfig.imageUri is set. */
  pythonModule: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a Python module name such as trainer.task')
    .optional(),
  /** e.g. "1.15"; the service's default is 1.0. Not together with masterConfig.imageUri. */
  runtimeVersion: z.string().regex(/^[0-9]+\.[0-9]+$/, 'must be a version such as "1.15" (quote it in YAML)').optional(),
  /** e.g. "3.7"; the service's default is 2.7. Python 3 needs runtimeVersion 1.4 or later. */
  pythonVersion: z.string().regex(/^[0-9]+\.[0-9]+$/, 'must be a version such as "3.7" (quote it in YAML)').optional(),
  /**
   * Where training output goes, passed to the trainer as `--job-dir`. A trial's model is read from
   * `<jobDir>/<trialId>`, so the trainer must write there; required when the spec promotes.
   */
  jobDir: gcsUri.optional(),
  /** Arguments for every trial; static hyperparameters are appended as `--name=value`. */
  args: z.array(z.string()).default([]),
  /** The TensorFlow summary tag the service optimizes; defaults to objective.metric. */
  hyperparameterMetricTag: z.string().min(1, 'must not be empty').optional(),
});

export type MlEngineTrialSpec = z.output<typeof mlEngineTrialSpecSchema>;
export type MlEngineReplicaConfig = NonNullable<MlEngineTrialSpec['masterConfig']>;

/** Fields of newer AI Platform versions, or of the API placed elsewhere in the spec: named, so the message helps. */
const REFUSED_TRIAL_FIELDS: Readonly<Record<string, string>> = {
  scheduling: 'is not in the ML Engine v1 TrainingInput this provider follows; use budget.maxRuntimeSeconds for the running time',
  maxRunningTime: 'comes from budget.maxRuntimeSeconds; set it there',
  maxWaitTime: 'is not in the ML Engine v1 TrainingInput this provider follows',
  serviceAccount: 'is not in the ML Engine v1 TrainingInput this provider follows (jobs run as the service agent)',
  network: 'is not in the ML Engine v1 TrainingInput this provider follows',
  encryptionConfig: 'is not in the ML Engine v1 TrainingInput this provider follows',
  evaluatorType: 'is not in the ML Engine v1 TrainingInput this provider follows (no evaluator replicas)',
  evaluatorCount: 'is not in the ML Engine v1 TrainingInput this provider follows (no evaluator replicas)',
  evaluatorConfig: 'is not in the ML Engine v1 TrainingInput this provider follows (no evaluator replicas)',
  useChiefInTfConfig: 'is not in the ML Engine v1 TrainingInput this provider follows',
  enableWebAccess: 'is not in the ML Engine v1 TrainingInput this provider follows',
  hyperparameters: 'is built from parameters, strategy, budget and earlyStopping; set those instead',
};

/** A name ML Engine can pass as `--name=value`. */
const FLAG_NAME = /^[^\s=-][^\s=]*$/;
const FLAG_NAME_MESSAGE = "must be usable as a command-line flag (--name=value): no spaces or '=', not starting with '-'";

/**
 * Every ML Engine rule the spec breaks, with field paths. Provider rules on the shared fields come
 * first (parameters, strategy, budget, warm start, labels), then the `trial` section (paths
 * prefixed `trial.`), then rules across the two. Empty when the spec can be sent as it is.
 *
 * The project may be left out here; the provider checks that it has a default then.
 */
export function mlEngineSpecIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [...parameterIssues(spec), ...searchIssues(spec), ...labelIssues(spec)];

  const raw = spec.trial;
  const refused = Object.keys(raw).filter((key) => Object.hasOwn(REFUSED_TRIAL_FIELDS, key));
  for (const key of refused) issues.push({ path: `trial.${key}`, message: REFUSED_TRIAL_FIELDS[key] ?? 'is not a known field' });
  const rest = Object.fromEntries(Object.entries(raw).filter(([key]) => !refused.includes(key)));
  const parsed = mlEngineTrialSpecSchema.safeParse(rest);
  if (!parsed.success) return [...issues, ...zodIssues(parsed.error, 'trial')];
  issues.push(...trialIssues(parsed.data), ...crossIssues(spec, parsed.data));
  return issues;
}

/** The `trial` section, typed. Throws `SpecValidationError` naming each bad field of the whole spec. */
export function parseMlEngineTrialSpec(spec: TuningSpec, subject = 'spec'): MlEngineTrialSpec {
  const issues = mlEngineSpecIssues(spec);
  if (issues.length > 0) throw new SpecValidationError(subject, issues);
  return mlEngineTrialSpecSchema.parse(spec.trial);
}

function parameterIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  spec.parameters.forEach((p, i) => {
    const at = `parameters[${i}]`;
    if (!FLAG_NAME.test(p.name)) issues.push({ path: `${at}.name`, message: FLAG_NAME_MESSAGE });
    switch (p.type) {
      case 'double':
      case 'integer':
        // A range of one point is a static hyperparameter; the service wants maxValue above minValue.
        if (p.max <= p.min) issues.push({ path: `${at}.max`, message: `must be above min (${p.min}) for ML Engine` });
        if ((p.scale === 'log' || p.scale === 'reverse_log') && p.min <= 0) {
          const scaleType = p.scale === 'log' ? 'UNIT_LOG_SCALE' : 'UNIT_REVERSE_LOG_SCALE';
          issues.push({ path: `${at}.min`, message: `must be above 0 for scale ${p.scale} (${scaleType} needs a strictly positive range)` });
        }
        break;
      case 'discrete': {
        if (p.values.length > MLENGINE_MAX_DISCRETE_VALUES) {
          issues.push({ path: `${at}.values`, message: `must hold at most ${MLENGINE_MAX_DISCRETE_VALUES} values for ML Engine (has ${p.values.length})` });
        }
        const drop = p.values.findIndex((v, j) => j > 0 && v <= (p.values[j - 1] as number));
        if (drop > 0) {
          issues.push({
            path: `${at}.values`,
            message: `must be strictly increasing for ML Engine: value ${drop} (${p.values[drop]}) is not above ${p.values[drop - 1]}`,
          });
        }
        break;
      }
      case 'categorical':
        p.values.forEach((v, j) => {
          if (v === '') issues.push({ path: `${at}.values[${j}]`, message: 'must not be empty' });
        });
        break;
    }
  });
  for (const name of Object.keys(spec.staticHyperparameters)) {
    if (!FLAG_NAME.test(name)) issues.push({ path: `staticHyperparameters.${name}`, message: FLAG_NAME_MESSAGE });
  }
  return issues;
}

function searchIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (mlEngineAlgorithm(spec.strategy) === undefined) {
    issues.push({ path: 'strategy', message: `ML Engine has no ${spec.strategy} search; use bayesian, random or grid` });
  }
  if (spec.strategy === 'grid') {
    spec.parameters.forEach((p, i) => {
      if (p.type === 'double') {
        issues.push({ path: `parameters[${i}].type`, message: 'must be integer, categorical or discrete for grid search (GRID_SEARCH has no double parameters)' });
      }
    });
  }
  const { budget } = spec;
  const int32 = (value: number | undefined, path: string) => {
    if (value !== undefined && value > INT32_MAX) issues.push({ path, message: `must be at most ${INT32_MAX}` });
  };
  int32(budget.maxTrials, 'budget.maxTrials');
  int32(budget.parallelTrials, 'budget.parallelTrials');
  int32(budget.maxFailedTrials, 'budget.maxFailedTrials');
  if (budget.targetObjective !== undefined) {
    issues.push({ path: 'budget.targetObjective', message: 'is not supported by ML Engine: its HyperparameterSpec has no goal value that ends the job' });
  }
  if (spec.measurementSelection === 'best') {
    // The service judges and searches on each trial's final metric; allMetrics, which would hold
    // the history, "is not currently populated" (the reference). A best-seen value cannot be read.
    issues.push({ path: 'measurementSelection', message: 'must be "last" (or left out) for ML Engine, which reports only the final value of each trial\'s objective metric' });
  }
  if (spec.warmStart && spec.warmStart.from.length > 1) {
    issues.push({ path: 'warmStart.from', message: `must name one parent job for ML Engine (resumePreviousJobId takes one), not ${spec.warmStart.from.length}` });
  }
  return issues;
}

function labelIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const keys = Object.keys(spec.labels);
  if (keys.length + 1 > MLENGINE_MAX_LABELS) {
    issues.push({ path: 'labels', message: `must hold at most ${MLENGINE_MAX_LABELS - 1} labels (tunewire adds ${MLENGINE_JOB_ID_LABEL})` });
  }
  for (const [key, value] of Object.entries(spec.labels)) {
    if (key === MLENGINE_JOB_ID_LABEL) issues.push({ path: `labels.${key}`, message: 'is set by tunewire' });
    else if (!LABEL_KEY.test(key)) {
      issues.push({ path: `labels.${key}`, message: 'key must be 1 to 63 lowercase letters, digits, dashes or underscores, starting with a letter' });
    }
    if (!LABEL_VALUE.test(value)) issues.push({ path: `labels.${key}`, message: 'value must be at most 63 lowercase letters, digits, dashes or underscores' });
  }
  return issues;
}

/** The reference's rules across `TrainingInput` fields. */
function trialIssues(trial: MlEngineTrialSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path: `trial.${path}`, message });
  const custom = trial.scaleTier === 'CUSTOM';
  const image = trial.masterConfig?.imageUri;

  if (custom && !trial.masterType) add('masterType', 'is required when scaleTier is CUSTOM');
  const customOnly = ['masterType', 'workerType', 'workerCount', 'workerConfig', 'parameterServerType', 'parameterServerCount', 'parameterServerConfig'] as const;
  if (!custom) {
    for (const key of customOnly) if (trial[key] !== undefined) add(key, `can only be used when scaleTier is CUSTOM (it is ${trial.scaleTier})`);
  }
  if (custom && (trial.workerCount ?? 0) > 0 && !trial.workerType) add('workerType', 'is required when workerCount is above 0');
  if (custom && (trial.parameterServerCount ?? 0) > 0 && !trial.parameterServerType) {
    add('parameterServerType', 'is required when parameterServerCount is above 0');
  }

  // Worker and parameter-server types must be of the master's kind (AI Platform or Compute Engine);
  // cloud_tpu workers are the documented exception (a custom TPU machine).
  if (trial.masterType) {
    const masterKind = isComputeEngineMachineType(trial.masterType);
    const kindName = masterKind ? 'a Compute Engine' : 'an AI Platform';
    if (trial.workerType && trial.workerType !== 'cloud_tpu' && isComputeEngineMachineType(trial.workerType) !== masterKind) {
      add('workerType', `must be ${kindName} machine type, as masterType (${trial.masterType}) is`);
    }
    if (trial.parameterServerType && isComputeEngineMachineType(trial.parameterServerType) !== masterKind) {
      add('parameterServerType', `must be ${kindName} machine type, as masterType (${trial.masterType}) is`);
    }
  }
  const acceleratorNeedsComputeEngine = (config: 'masterConfig' | 'workerConfig' | 'parameterServerConfig', type: string | undefined, typeField: string) => {
    if (trial[config]?.acceleratorConfig && !(type && isComputeEngineMachineType(type))) {
      add(`${config}.acceleratorConfig`, `can only be set when ${typeField} is a Compute Engine machine type (n1-...)`);
    }
  };
  acceleratorNeedsComputeEngine('masterConfig', trial.masterType, 'masterType');
  acceleratorNeedsComputeEngine('workerConfig', trial.workerType, 'workerType');
  acceleratorNeedsComputeEngine('parameterServerConfig', trial.parameterServerType, 'parameterServerType');

  if (image) {
    if (trial.runtimeVersion) add('runtimeVersion', 'must not be set with masterConfig.imageUri (only one of the two)');
  } else {
    if (trial.packageUris.length === 0) add('packageUris', 'needs at least one package (or a custom container in masterConfig.imageUri)');
    if (!trial.pythonModule) add('pythonModule', 'is required (unless masterConfig.imageUri runs a custom container)');
    for (const config of ['workerConfig', 'parameterServerConfig'] as const) {
      if (trial[config]?.imageUri) add(`${config}.imageUri`, 'needs masterConfig.imageUri too (replicas of one job run custom containers together)');
    }
    if (trial.pythonVersion && major(trial.pythonVersion) >= 3 && versionBelow(trial.runtimeVersion ?? '1.0', '1.4')) {
      add('pythonVersion', `Python ${trial.pythonVersion} needs runtimeVersion 1.4 or later (${trial.runtimeVersion ? `it is ${trial.runtimeVersion}` : 'the default is 1.0'})`);
    }
  }
  return issues;
}

function crossIssues(spec: TuningSpec, trial: MlEngineTrialSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (spec.promotion && !trial.jobDir) {
    issues.push({ path: 'trial.jobDir', message: `is required to promote (promotion.model ${spec.promotion.model}): a trial's model is read from <jobDir>/<trialId>` });
  }
  const tuned = new Set(spec.parameters.map((p) => p.name));
  const statics = new Set(Object.keys(spec.staticHyperparameters));
  trial.args.forEach((arg, i) => {
    const flag = /^--([^=]+)(=|$)/.exec(arg)?.[1];
    if (flag === undefined) return;
    if (tuned.has(flag)) issues.push({ path: `trial.args[${i}]`, message: `sets the tuned parameter ${flag}, which ML Engine passes to each trial itself` });
    else if (statics.has(flag)) issues.push({ path: `trial.args[${i}]`, message: `sets ${flag}, which staticHyperparameters already passes as --${flag}=<value>` });
    else if (flag === 'job-dir' && trial.jobDir) issues.push({ path: `trial.args[${i}]`, message: 'sets --job-dir, which ML Engine passes from trial.jobDir' });
  });
  return issues;
}

function major(version: string): number {
  return Number(version.split('.')[0]);
}

function versionBelow(version: string, floor: string): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  const [c = 0, d = 0] = floor.split('.').map(Number);
  return a < c || (a === c && b < d);
}
