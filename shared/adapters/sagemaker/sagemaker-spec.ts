import * as z from 'zod';
import { SpecValidationError, type FieldIssue } from '../../domain/errors';
import { deriveJobId } from '../../domain/job';
import { zodIssues, type ParameterSpec, type TuningSpec } from '../../domain/spec';
import { SAGEMAKER_JOB_NAME, sageMakerJobName } from './sagemaker-names';

/**
 * The spec's `trial` section for SageMaker: what one training job of the tuning job looks like
 * (SageMaker's HyperParameterTrainingJobDefinition), in camelCase. Names follow the API's meaning,
 * shortened: `image` is TrainingImage, `inputs` is InputDataConfig, `resources` is ResourceConfig.
 *
 * Defaults applied when the request is built (the API's own defaults where it has them):
 * inputMode File, inputs[].s3DataType S3Prefix, resources.instanceCount 1, resources.volumeSizeGb 30,
 * stopping.maxRuntimeSeconds 86400 (SageMaker's documented default of one day).
 *
 * Several training job definitions (`definitions`, SageMaker's TrainingJobDefinitions, 1 to 10):
 * each names itself and may set any field below; a field set in a definition replaces the
 * top-level field whole (objects are not merged), and `image` and `algorithmName` replace each
 * other. A definition searches the spec's parameters listed in its `parameters` (default: all of
 * them), so ranges can be split between algorithms; its `staticHyperparameters` are added to the
 * spec's. Every parameter must be searched by at least one definition.
 *
 * @example
 *   trial:
 *     image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1
 *     metricDefinitions: [{ name: "validation:auc", regex: "validation-auc:([0-9.]+)" }]
 *     roleArn: arn:aws:iam::123456789012:role/tunewire-dev-us-east-1-training
 *     inputs: [{ channel: train, s3Uri: s3://bucket/churn/train/ }]
 *     output: { s3Uri: s3://bucket/churn/models/ }
 *     resources: { instanceType: ml.m5.xlarge }
 */

const DEFINITION_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
// registry/repository[:tag] or registry/repository[@digest]
const IMAGE = /^[a-zA-Z0-9.-]+(:\d+)?\/[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})?$/;
const ALGORITHM_NAME = /^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:[a-z-]*\/)?[a-zA-Z0-9]([a-zA-Z0-9-]){0,62}(?<!-)$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;
const INSTANCE_TYPE = /^ml\.[a-z0-9-]+\.[a-z0-9]+$/;
const KMS_KEY_ID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
const KMS_KEY = new RegExp(`^(${KMS_KEY_ID}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/${KMS_KEY_ID})$`);
const KMS_KEY_OR_ALIAS = new RegExp(`^(${KMS_KEY_ID}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(key/${KMS_KEY_ID}|alias/[a-zA-Z0-9/_-]+)|alias/[a-zA-Z0-9/_-]+)$`);
const SECURITY_GROUP = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
const CHANNEL_NAME = /^[A-Za-z0-9._-]+$/;
const ENV_KEY = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Instance families with local instance storage: SageMaker refuses a VolumeKmsKeyId on them. */
const LOCAL_STORAGE_FAMILY = /^ml\.(c5d|m5d|r5d|g4dn|g5|g6|g6e|p3dn|p4d|p4de|p5|p5e|p5en|trn1|trn1n|trn2)\./;

export { SAGEMAKER_JOB_NAME };

/** SageMaker's limits, from the API reference. */
export const SAGEMAKER_LIMITS = {
  jobNameLength: 32,
  /** Numeric ranges count 1 each; every categorical value counts 1 (discrete values become categorical ranges). */
  searchedHyperparameters: 20,
  /** Static plus tuned hyperparameters. */
  totalHyperparameters: 100,
  definitions: 10,
  warmStartParents: 5,
  tags: 50,
  /** ResourceLimits.MaxRuntimeInSeconds of the tuning job. */
  tuningRuntimeSeconds: { min: 120, max: 15_768_000 },
  /** StoppingCondition.MaxRuntimeInSeconds of each training job: 28 days. */
  trainingRuntimeSeconds: 2_419_200,
  hyperbandMaxResource: 20_000,
} as const;

/** The defaults the request applies (SageMaker's own where it documents one). */
export const DEFAULT_INPUT_MODE = 'File';
export const DEFAULT_S3_DATA_TYPE = 'S3Prefix';
export const DEFAULT_INSTANCE_COUNT = 1;
export const DEFAULT_VOLUME_SIZE_GB = 30;
/** SageMaker's documented default for a training job's MaxRuntimeInSeconds: one day. */
export const DEFAULT_TRAINING_RUNTIME_SECONDS = 86_400;

/** Static hyperparameter keys SageMaker reads Hyperband's MaxResource from when it is not given. */
const HYPERBAND_EPOCH_KEYS = ['epochs', 'numepochs', 'n-epochs', 'n_epochs', 'num_epochs'];

const required = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`) });
const text = (max: number) => z.string(required('a string')).min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const pattern = (max: number, regex: RegExp, message: string) => text(max).regex(regex, message);
const int = (min: number, max?: number) => {
  const base = z.number(required('a number')).int('must be an integer').min(min, `must be at least ${min}`);
  return max === undefined ? base : base.max(max, `must be at most ${max}`);
};

const s3Uri = pattern(1024, S3_URI, 'must be an S3 URI such as s3://bucket/prefix');
const inputMode = z.enum(['File', 'Pipe', 'FastFile'], { error: () => 'must be one of File, Pipe, FastFile' });

const channel = z.strictObject({
  /** ChannelName: the algorithm reads the channel's data under this name (train, validation, ...). */
  channel: pattern(64, CHANNEL_NAME, 'must be letters, digits, dots, dashes and underscores'),
  s3Uri,
  /** S3Prefix (every object under the prefix), ManifestFile, or AugmentedManifestFile (Pipe mode only). */
  s3DataType: z.enum(['S3Prefix', 'ManifestFile', 'AugmentedManifestFile'], { error: () => 'must be one of S3Prefix, ManifestFile, AugmentedManifestFile' }).optional(),
  /** FullyReplicated: every instance gets all data; ShardedByS3Key: each gets about 1/n of the objects. */
  distribution: z.enum(['FullyReplicated', 'ShardedByS3Key'], { error: () => 'must be FullyReplicated or ShardedByS3Key' }).optional(),
  /** MIME type of the data, e.g. text/csv. */
  contentType: text(256).optional(),
  /** Gzip is read in Pipe mode only. */
  compression: z.enum(['None', 'Gzip'], { error: () => 'must be None or Gzip' }).optional(),
  /** RecordIO wraps each object in a RecordIO record; not in File mode. */
  recordWrapper: z.enum(['None', 'RecordIO'], { error: () => 'must be None or RecordIO' }).optional(),
  /** ShuffleConfig.Seed: shuffles the objects (or manifest lines) in this order. */
  shuffleSeed: int(0).optional(),
  /** Overrides the training input mode for this channel. */
  inputMode: inputMode.optional(),
  /** AttributeNames read from an augmented manifest. */
  attributeNames: z.array(text(256)).min(1, 'needs at least one attribute when given').max(16, 'takes at most 16 attributes').optional(),
});

/** The fields of one training job definition; every one may be set at the top or per definition. */
const definitionFields = {
  /** TrainingImage: registry/repository[:tag] or registry/repository[@digest]. Exactly one of image or algorithmName. */
  image: pattern(255, IMAGE, 'must be an image path registry/repository[:tag] or registry/repository[@digest]').optional(),
  /** AlgorithmName: an algorithm resource (name or ARN) from SageMaker or AWS Marketplace. */
  algorithmName: pattern(170, ALGORITHM_NAME, 'must be an algorithm name or ARN').optional(),
  /** TrainingInputMode; default File. */
  inputMode: inputMode.optional(),
  /** MetricDefinitions: regexes over the job's log, capture group 1 is the value. Required with an image, and must define the objective. */
  metricDefinitions: z
    .array(z.strictObject({ name: text(255), regex: text(500) }))
    .min(1, 'needs at least the objective metric')
    .max(40, 'takes at most 40 metrics')
    .optional(),
  /** The IAM role the training jobs run as. */
  roleArn: z
    .string(required('an IAM role ARN'))
    .min(20, 'must be at least 20 characters')
    .max(2048, 'must be at most 2048 characters')
    .regex(ROLE_ARN, 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/name')
    .optional(),
  /** InputDataConfig: 1 to 20 channels. */
  inputs: z.array(channel).min(1, 'needs at least one channel when given').max(20, 'takes at most 20 channels').optional(),
  /** VpcConfig: the training containers join these subnets with these security groups. */
  vpc: z
    .strictObject({
      securityGroupIds: z
        .array(pattern(32, SECURITY_GROUP, 'must be a security group id such as sg-0123456789abcdef0'))
        .min(1, 'needs 1 to 5 security groups')
        .max(5, 'needs 1 to 5 security groups'),
      subnets: z.array(pattern(32, SUBNET, 'must be a subnet id such as subnet-0123456789abcdef0')).min(1, 'needs 1 to 16 subnets').max(16, 'needs 1 to 16 subnets'),
    })
    .optional(),
  /** OutputDataConfig: where model artifacts go, optionally encrypted with a KMS key (id, ARN, alias or alias ARN). */
  output: z
    .strictObject({
      s3Uri,
      kmsKeyId: pattern(2048, KMS_KEY_OR_ALIAS, 'must be a KMS key id, key ARN, alias/name or alias ARN').optional(),
    })
    .optional(),
  /** ResourceConfig. */
  resources: z
    .strictObject({
      instanceType: pattern(64, INSTANCE_TYPE, 'must be an ML instance type such as ml.m5.xlarge'),
      instanceCount: int(1).optional(),
      volumeSizeGb: int(1).optional(),
      /** Encrypts the storage volume; a KMS key id or key ARN (aliases are not accepted here). */
      volumeKmsKeyId: pattern(2048, KMS_KEY, 'must be a KMS key id or key ARN').optional(),
    })
    .optional(),
  /** StoppingCondition: per training job; maxWaitSeconds (spot capacity wait plus run time) only with spot. */
  stopping: z
    .strictObject({
      maxRuntimeSeconds: int(1, SAGEMAKER_LIMITS.trainingRuntimeSeconds).optional(),
      maxWaitSeconds: int(1).optional(),
    })
    .optional(),
  /** EnableNetworkIsolation. */
  networkIsolation: z.boolean(required('true or false')).optional(),
  /** EnableInterContainerTrafficEncryption. */
  interContainerEncryption: z.boolean(required('true or false')).optional(),
  /** EnableManagedSpotTraining. */
  spot: z.boolean(required('true or false')).optional(),
  /** CheckpointConfig: where spot training keeps checkpoints. */
  checkpoint: z.strictObject({ s3Uri, localPath: text(4096).optional() }).optional(),
  /** RetryStrategy: retries after an InternalServerError. */
  retry: z.strictObject({ maximumRetryAttempts: int(1, 30) }).optional(),
  /** Environment variables of the training containers. */
  environment: z
    .record(z.string(), z.string(required('a string')).max(512, 'must be at most 512 characters'))
    .superRefine((env, ctx) => {
      for (const key of Object.keys(env)) {
        if (!ENV_KEY.test(key) || key.length > 512) ctx.addIssue({ code: 'custom', path: [key], message: 'name must be letters, digits and underscores, not starting with a digit' });
      }
    })
    .optional(),
};

const definition = z.strictObject({
  /** DefinitionName: 1 to 64 letters, digits and inner dashes; unique in the spec. */
  name: pattern(64, DEFINITION_NAME, 'must be 1 to 64 letters, digits and inner dashes'),
  /** The spec parameters this definition searches; default all. */
  parameters: z.array(text(256)).min(1, 'needs at least one parameter when given').optional(),
  /** Added to (and overriding) the spec's staticHyperparameters for this definition. */
  staticHyperparameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  ...definitionFields,
});

export const sageMakerTrialSpecSchema = z.strictObject({
  ...definitionFields,
  /** HyperbandStrategyConfig, for strategy hyperband only: resources (such as epochs) per training job. */
  hyperband: z
    .strictObject({
      minResource: int(1).optional(),
      maxResource: int(1, SAGEMAKER_LIMITS.hyperbandMaxResource).optional(),
    })
    .optional(),
  /** TrainingJobDefinitions: 1 to 10 definitions, each overriding the fields above. */
  definitions: z.array(definition).min(1, 'needs at least one definition when given').max(SAGEMAKER_LIMITS.definitions, `takes at most ${SAGEMAKER_LIMITS.definitions} definitions`).optional(),
});

export type SageMakerTrialSpec = z.output<typeof sageMakerTrialSpecSchema>;
export type SageMakerDefinitionSpec = z.output<typeof definition>;
type DefinitionFields = Omit<SageMakerDefinitionSpec, 'name' | 'parameters' | 'staticHyperparameters'>;

/** One training job definition with the top-level fields filled in, and where each came from. */
export interface EffectiveDefinition extends DefinitionFields {
  /** DefinitionName, when the spec lists definitions. */
  readonly name?: string;
  /** `trial` or `trial.definitions[i]`. */
  readonly path: string;
  readonly parameters: readonly ParameterSpec[];
  readonly staticHyperparameters: Readonly<Record<string, string>>;
  /** The path a field was read from: the definition's own, or the top level it inherited. */
  readonly at: (field: keyof DefinitionFields) => string;
}

/** The definitions a request will carry: the top level alone, or each listed definition merged over it. */
export function effectiveDefinitions(spec: TuningSpec, trial: SageMakerTrialSpec): EffectiveDefinition[] {
  const { definitions, hyperband: _hyperband, ...top } = trial;
  if (!definitions) {
    return [{ ...top, path: 'trial', parameters: spec.parameters, staticHyperparameters: spec.staticHyperparameters, at: (field) => `trial.${field}` }];
  }
  return definitions.map((d, i) => {
    const { name, parameters, staticHyperparameters, ...own } = d;
    const path = `trial.definitions[${i}]`;
    const base: DefinitionFields = { ...top };
    // image and algorithmName are one choice: a definition making it replaces both
    if (own.image !== undefined || own.algorithmName !== undefined) {
      delete base.image;
      delete base.algorithmName;
    }
    const wanted = parameters ? new Set(parameters) : undefined;
    return {
      ...base,
      ...own,
      name,
      path,
      parameters: wanted ? spec.parameters.filter((p) => wanted.has(p.name)) : spec.parameters,
      staticHyperparameters: { ...spec.staticHyperparameters, ...staticHyperparameters },
      at: (field) => (Object.hasOwn(own, field) ? `${path}.${field}` : `trial.${field}`),
    };
  });
}

/** How SageMaker counts a parameter against its limit of 20: each categorical (and discrete) value counts. */
export function sageMakerParameterWeight(p: ParameterSpec): number {
  return p.type === 'categorical' || p.type === 'discrete' ? p.values.length : 1;
}

/** The number of training jobs SageMaker's grid search runs: every combination, summed over definitions. */
export function gridSize(parameters: readonly ParameterSpec[]): number {
  return parameters.reduce((n, p) => n * (p.type === 'categorical' || p.type === 'discrete' ? p.values.length : Number.NaN), 1);
}

/**
 * Field issues of a spec for SageMaker, paths as in the spec (`trial.inputs[0].s3Uri`,
 * `parameters[2].scale`). Empty when SageMaker can take it. Checks the `trial` section and every
 * rule of SageMaker's API reference that holds without calling AWS.
 */
export function sageMakerSpecIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [...specIssues(spec)];
  const parsed = sageMakerTrialSpecSchema.safeParse(spec.trial);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, 'trial'));
    issues.push(...searchIssues(spec, [{ path: 'parameters', parameters: spec.parameters }]));
  } else {
    issues.push(...trialIssues(spec, parsed.data));
  }
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\n${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The `trial` section, typed. Throws `SpecValidationError` naming each bad field. */
export function parseSageMakerTrialSpec(spec: TuningSpec, subject = 'spec'): SageMakerTrialSpec {
  const issues = sageMakerSpecIssues(spec);
  if (issues.length > 0) throw new SpecValidationError(subject, issues);
  return sageMakerTrialSpecSchema.parse(spec.trial);
}

/** Rules on the provider-neutral part of the spec. */
function specIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (spec.provider !== 'sagemaker') issues.push({ path: 'provider', message: 'must be "sagemaker" for the SageMaker provider' });

  // The tuning job is named after the job id, which derives from the spec name (deriveJobId).
  const probe = sageMakerJobName(deriveJobId(spec.name, 'probe'));
  if (!SAGEMAKER_JOB_NAME.test(probe)) {
    issues.push({ path: 'name', message: `gives the tuning job name "${probe}", which SageMaker refuses (at most 32 letters, digits and inner dashes)` });
  }

  spec.parameters.forEach((p, i) => {
    if (p.name.length > 256) issues.push({ path: `parameters[${i}].name`, message: 'must be at most 256 characters for SageMaker' });
    if (p.type === 'double' || p.type === 'integer') {
      if (p.scale === 'log' && !(p.min > 0)) {
        issues.push({ path: `parameters[${i}].scale`, message: `log (SageMaker's Logarithmic) needs a range above 0; min is ${p.min}` });
      }
      if (p.scale === 'reverse_log') {
        if (p.type === 'integer') {
          issues.push({ path: `parameters[${i}].scale`, message: "reverse_log (SageMaker's ReverseLogarithmic) is not available for integer ranges" });
        } else if (!(p.min >= 0 && p.max < 1)) {
          issues.push({ path: `parameters[${i}].scale`, message: `reverse_log (SageMaker's ReverseLogarithmic) needs a range within [0, 1): min >= 0 and max < 1; got [${p.min}, ${p.max}]` });
        }
      }
    } else {
      p.values.forEach((v, j) => {
        if (String(v).length > 256) issues.push({ path: `parameters[${i}].values[${j}]`, message: 'must be at most 256 characters for SageMaker' });
      });
    }
  });

  const tuned = spec.parameters.length;
  const statics = Object.keys(spec.staticHyperparameters);
  if (tuned + statics.length > SAGEMAKER_LIMITS.totalHyperparameters) {
    issues.push({ path: 'staticHyperparameters', message: `SageMaker takes at most ${SAGEMAKER_LIMITS.totalHyperparameters} hyperparameters, static and tuned together; this spec has ${tuned + statics.length}` });
  }
  for (const [key, value] of Object.entries(spec.staticHyperparameters)) {
    if (key.length > 256) issues.push({ path: `staticHyperparameters.${key}`, message: 'name must be at most 256 characters for SageMaker' });
    if (value.length > 2500) issues.push({ path: `staticHyperparameters.${key}`, message: 'must be at most 2500 characters for SageMaker' });
  }

  if (spec.strategy === 'grid') {
    spec.parameters.forEach((p, i) => {
      if (p.type === 'double' || p.type === 'integer') {
        issues.push({ path: `parameters[${i}].type`, message: `must be categorical or discrete for strategy grid: SageMaker's grid search takes categorical ranges only (${p.type} given)` });
      }
    });
  }
  if (spec.strategy === 'hyperband' && spec.earlyStopping !== 'off') {
    issues.push({ path: 'earlyStopping', message: 'must be "off" for strategy hyperband: Hyperband stops training jobs itself' });
  }

  // SageMaker judges a training job by the final value of its objective metric.
  if (spec.measurementSelection === 'best') {
    issues.push({ path: 'measurementSelection', message: 'must be "last" for SageMaker, which judges each training job by the final value of its objective metric' });
  }
  if (spec.budget.maxFailedTrials !== undefined) {
    issues.push({ path: 'budget.maxFailedTrials', message: 'is not available on SageMaker, which has no limit on failed training jobs; remove it' });
  }
  const runtime = spec.budget.maxRuntimeSeconds;
  const { min, max } = SAGEMAKER_LIMITS.tuningRuntimeSeconds;
  if (runtime !== undefined && (runtime < min || runtime > max)) {
    issues.push({ path: 'budget.maxRuntimeSeconds', message: `must be between ${min} and ${max} for SageMaker (ResourceLimits.MaxRuntimeInSeconds)` });
  }

  if (spec.warmStart && spec.warmStart.from.length > SAGEMAKER_LIMITS.warmStartParents) {
    issues.push({ path: 'warmStart.from', message: `takes at most ${SAGEMAKER_LIMITS.warmStartParents} parent jobs on SageMaker` });
  }

  issues.push(...tagIssues(spec.labels));
  return issues;
}

/** Labels become tags, next to tunewire's own `tunewire:job-id`. */
function tagIssues(labels: Readonly<Record<string, string>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const keys = Object.keys(labels);
  if (keys.length > SAGEMAKER_LIMITS.tags - 1) {
    issues.push({ path: 'labels', message: `takes at most ${SAGEMAKER_LIMITS.tags - 1} labels on SageMaker (they become tags, with tunewire:job-id)` });
  }
  for (const key of keys) {
    const value = labels[key] ?? '';
    const at = `labels.${key}`;
    if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key)) {
      issues.push({ path: at, message: 'name must be 1 to 128 letters, digits, spaces and _ . : / = + - @ (a SageMaker tag key)' });
    } else if (key.toLowerCase().startsWith('aws:') || key.startsWith('tunewire:')) {
      issues.push({ path: at, message: 'name must not start with aws: or tunewire: (reserved tag prefixes)' });
    }
    if (value.length > 256 || !TAG_TEXT.test(value)) {
      issues.push({ path: at, message: 'must be at most 256 letters, digits, spaces and _ . : / = + - @ (a SageMaker tag value)' });
    }
  }
  return issues;
}

/** The limit of 20 searched hyperparameters, and grid sizes, per definition. */
function searchIssues(spec: TuningSpec, groups: readonly { path: string; parameters: readonly ParameterSpec[] }[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const group of groups) {
    const weight = group.parameters.reduce((n, p) => n + sageMakerParameterWeight(p), 0);
    if (weight > SAGEMAKER_LIMITS.searchedHyperparameters) {
      issues.push({
        path: group.path,
        message: `SageMaker searches at most ${SAGEMAKER_LIMITS.searchedHyperparameters} hyperparameters, counting every categorical and discrete value; this has ${weight}`,
      });
    }
  }
  if (spec.strategy === 'grid') {
    const size = groups.reduce((n, g) => n + gridSize(g.parameters), 0);
    if (Number.isFinite(size) && size !== spec.budget.maxTrials) {
      issues.push({ path: 'budget.maxTrials', message: `must equal the grid size (${size}) for strategy grid: SageMaker's grid search runs every combination once` });
    }
  }
  return issues;
}

function trialIssues(spec: TuningSpec, trial: SageMakerTrialSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];

  if (trial.hyperband) {
    if (spec.strategy !== 'hyperband') {
      issues.push({ path: 'trial.hyperband', message: `is for strategy hyperband only (strategy is ${spec.strategy})` });
    }
    const { minResource, maxResource } = trial.hyperband;
    if (minResource !== undefined && maxResource !== undefined && minResource > maxResource) {
      issues.push({ path: 'trial.hyperband.minResource', message: `must not exceed maxResource (${maxResource})` });
    }
  }

  const definitions = effectiveDefinitions(spec, trial);
  if (trial.definitions) issues.push(...definitionListIssues(spec, trial.definitions));

  if (spec.strategy === 'hyperband' && trial.hyperband?.maxResource === undefined) {
    const lacking = definitions.filter((d) => !HYPERBAND_EPOCH_KEYS.some((k) => Object.hasOwn(d.staticHyperparameters, k)));
    if (lacking.length > 0) {
      issues.push({
        path: 'trial.hyperband.maxResource',
        message: `is required for strategy hyperband unless a static hyperparameter names the epochs (${HYPERBAND_EPOCH_KEYS.join(', ')})`,
      });
    }
  }

  issues.push(
    ...searchIssues(
      spec,
      definitions.map((d) => ({ path: trial.definitions ? `${d.path}.parameters` : 'parameters', parameters: d.parameters })),
    ),
  );
  for (const d of definitions) issues.push(...definitionIssues(spec, d, trial.definitions !== undefined));
  return issues;
}

function definitionListIssues(spec: TuningSpec, definitions: readonly SageMakerDefinitionSpec[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const known = new Set(spec.parameters.map((p) => p.name));
  const searched = new Set<string>();
  const names = new Map<string, number>();
  definitions.forEach((d, i) => {
    const first = names.get(d.name.toLowerCase());
    if (first !== undefined) issues.push({ path: `trial.definitions[${i}].name`, message: `repeats the name of trial.definitions[${first}]` });
    else names.set(d.name.toLowerCase(), i);
    const listed = new Set<string>();
    (d.parameters ?? [...known]).forEach((name, j) => {
      if (!known.has(name)) issues.push({ path: `trial.definitions[${i}].parameters[${j}]`, message: `"${name}" is not a parameter of the spec` });
      else if (listed.has(name)) issues.push({ path: `trial.definitions[${i}].parameters[${j}]`, message: `repeats "${name}"` });
      listed.add(name);
      searched.add(name);
    });
    for (const key of Object.keys(d.staticHyperparameters ?? {})) {
      if (listed.has(key)) issues.push({ path: `trial.definitions[${i}].staticHyperparameters.${key}`, message: 'is also a parameter this definition searches' });
    }
  });
  spec.parameters.forEach((p, i) => {
    if (!searched.has(p.name)) issues.push({ path: `parameters[${i}]`, message: `"${p.name}" is searched by no definition (trial.definitions[].parameters)` });
  });
  return issues;
}

/** Rules on one effective definition; paths point where each field was written. */
function definitionIssues(spec: TuningSpec, d: EffectiveDefinition, listed: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const orTop = listed ? ' (in the definition or at trial)' : '';

  if (d.image === undefined && d.algorithmName === undefined) {
    issues.push({ path: `${d.path}.image`, message: `one of image or algorithmName is required${orTop}` });
  } else if (d.image !== undefined && d.algorithmName !== undefined) {
    issues.push({ path: d.at('algorithmName'), message: 'must not be given with image: give exactly one of them' });
  }
  if (d.roleArn === undefined) issues.push({ path: `${d.path}.roleArn`, message: `is required${orTop}` });
  if (d.output === undefined) issues.push({ path: `${d.path}.output`, message: `is required${orTop}` });
  if (d.resources === undefined) issues.push({ path: `${d.path}.resources`, message: `is required${orTop}` });

  if (d.image !== undefined && d.metricDefinitions === undefined) {
    issues.push({ path: `${d.path}.metricDefinitions`, message: `is required with an image${orTop}: SageMaker reads the objective from the training log with it` });
  }
  if (d.metricDefinitions) {
    const seen = new Map<string, number>();
    d.metricDefinitions.forEach((m, i) => {
      const first = seen.get(m.name);
      if (first !== undefined) issues.push({ path: `${d.at('metricDefinitions')}[${i}].name`, message: `repeats the name of metricDefinitions[${first}]` });
      else seen.set(m.name, i);
    });
    if (d.image !== undefined && !seen.has(spec.objective.metric)) {
      issues.push({ path: d.at('metricDefinitions'), message: `must define the objective metric "${spec.objective.metric}"` });
    }
  }

  const mode = d.inputMode ?? 'File';
  const channels = new Map<string, number>();
  d.inputs?.forEach((c, i) => {
    const at = `${d.at('inputs')}[${i}]`;
    const first = channels.get(c.channel);
    if (first !== undefined) issues.push({ path: `${at}.channel`, message: `repeats the channel of inputs[${first}]` });
    else channels.set(c.channel, i);
    const channelMode = c.inputMode ?? mode;
    if (c.s3DataType === 'AugmentedManifestFile' && channelMode !== 'Pipe') {
      issues.push({ path: `${at}.s3DataType`, message: `AugmentedManifestFile needs input mode Pipe (this channel reads in ${channelMode} mode)` });
    }
    if (c.attributeNames && c.s3DataType !== 'AugmentedManifestFile') {
      issues.push({ path: `${at}.attributeNames`, message: 'is for s3DataType AugmentedManifestFile only' });
    }
    if (c.compression === 'Gzip' && channelMode !== 'Pipe') {
      issues.push({ path: `${at}.compression`, message: `Gzip is read in Pipe mode only (this channel reads in ${channelMode} mode)` });
    }
    if (c.recordWrapper === 'RecordIO' && channelMode === 'File') {
      issues.push({ path: `${at}.recordWrapper`, message: 'RecordIO is not available in File mode' });
    }
  });

  const runtime = d.stopping?.maxRuntimeSeconds ?? DEFAULT_TRAINING_RUNTIME_SECONDS;
  const wait = d.stopping?.maxWaitSeconds;
  const waitAt = `${d.stopping ? d.at('stopping') : `${d.path}.stopping`}.maxWaitSeconds`;
  if (d.spot) {
    if (wait === undefined) issues.push({ path: waitAt, message: 'is required with spot: how long to wait for spot capacity plus run' });
    else if (wait < runtime) issues.push({ path: waitAt, message: `must be at least maxRuntimeSeconds (${runtime})` });
  } else if (wait !== undefined) {
    issues.push({ path: waitAt, message: 'is for managed spot training only (spot: true)' });
  }

  if (d.resources?.volumeKmsKeyId !== undefined && LOCAL_STORAGE_FAMILY.test(d.resources.instanceType)) {
    issues.push({
      path: `${d.at('resources')}.volumeKmsKeyId`,
      message: `is refused with ${d.resources.instanceType}: its local instance storage is encrypted by the instance itself`,
    });
  }
  return issues;
}
