import type {
  CategoricalParameterRange,
  Channel,
  ContinuousParameterRange,
  CreateHyperParameterTuningJobCommandInput,
  HyperParameterScalingType,
  HyperParameterTrainingJobDefinition,
  HyperParameterTuningJobConfig,
  HyperParameterTuningJobObjective,
  HyperParameterTuningJobStrategyType,
  IntegerParameterRange,
  ParameterRanges,
  Tag,
} from '@aws-sdk/client-sagemaker';
import { SpecValidationError } from '../../domain/errors';
import type { ProviderJobRef } from '../../domain/job';
import type { ParameterSpec, Scale, Strategy, TuningSpec } from '../../domain/spec';
import { sageMakerJobName } from './sagemaker-names';
import {
  DEFAULT_INPUT_MODE,
  DEFAULT_INSTANCE_COUNT,
  DEFAULT_S3_DATA_TYPE,
  DEFAULT_TRAINING_RUNTIME_SECONDS,
  DEFAULT_VOLUME_SIZE_GB,
  effectiveDefinitions,
  parseSageMakerTrialSpec,
  type EffectiveDefinition,
} from './sagemaker-spec';

export { sageMakerJobName };

/** The tag every tuning job carries (and SageMaker copies to its training jobs): the tunewire job id. */
export const JOB_ID_TAG = 'tunewire:job-id';

const STRATEGY: Readonly<Record<Strategy, HyperParameterTuningJobStrategyType>> = {
  bayesian: 'Bayesian',
  random: 'Random',
  grid: 'Grid',
  hyperband: 'Hyperband',
};

const SCALING: Readonly<Record<Scale, HyperParameterScalingType>> = {
  auto: 'Auto',
  linear: 'Linear',
  log: 'Logarithmic',
  reverse_log: 'ReverseLogarithmic',
};

/**
 * The CreateHyperParameterTuningJob request for a spec, in the API's own names. Validates first
 * (throws `SpecValidationError` naming each bad field), so nothing invalid is ever sent.
 *
 * One definition goes in `TrainingJobDefinition`, with the objective and ranges in the tuning job
 * config; a spec listing `trial.definitions` goes in `TrainingJobDefinitions`, each with its name,
 * `TuningObjective` and `HyperParameterRanges`, as SageMaker wants them then. Numbers are sent as
 * strings where the API takes strings. Grid search sends no MaxNumberOfTrainingJobs: SageMaker
 * runs every combination (validation made sure `budget.maxTrials` says how many).
 */
export function buildCreateTuningJobRequest(
  spec: TuningSpec,
  job: { readonly jobId: string; readonly providerJobName: string; readonly warmStartParents?: readonly ProviderJobRef[] },
): CreateHyperParameterTuningJobCommandInput {
  const trial = parseSageMakerTrialSpec(spec);
  const definitions = effectiveDefinitions(spec, trial);
  const several = trial.definitions !== undefined;
  const objective: HyperParameterTuningJobObjective = { Type: spec.objective.goal === 'maximize' ? 'Maximize' : 'Minimize', MetricName: spec.objective.metric };

  const config: HyperParameterTuningJobConfig = {
    Strategy: STRATEGY[spec.strategy],
    ...(spec.strategy === 'hyperband' && trial.hyperband
      ? {
          StrategyConfig: {
            HyperbandStrategyConfig: {
              ...(trial.hyperband.minResource !== undefined ? { MinResource: trial.hyperband.minResource } : {}),
              ...(trial.hyperband.maxResource !== undefined ? { MaxResource: trial.hyperband.maxResource } : {}),
            },
          },
        }
      : {}),
    ...(several ? {} : { HyperParameterTuningJobObjective: objective, ParameterRanges: parameterRanges(spec.parameters) }),
    ResourceLimits: {
      ...(spec.strategy === 'grid' ? {} : { MaxNumberOfTrainingJobs: spec.budget.maxTrials }),
      MaxParallelTrainingJobs: spec.budget.parallelTrials,
      ...(spec.budget.maxRuntimeSeconds !== undefined ? { MaxRuntimeInSeconds: spec.budget.maxRuntimeSeconds } : {}),
    },
    TrainingJobEarlyStoppingType: spec.earlyStopping === 'auto' ? 'Auto' : 'Off',
    ...(spec.budget.targetObjective !== undefined ? { TuningJobCompletionCriteria: { TargetObjectiveMetricValue: spec.budget.targetObjective } } : {}),
  };

  const rendered = definitions.map((d) => trainingJobDefinition(d, several ? { objective } : undefined));
  return {
    HyperParameterTuningJobName: job.providerJobName,
    HyperParameterTuningJobConfig: config,
    ...(several ? { TrainingJobDefinitions: rendered } : { TrainingJobDefinition: rendered[0] }),
    ...warmStart(spec, job.warmStartParents),
    Tags: tags(spec, job.jobId),
  };
}

/** Ranges in SageMaker's three kinds; discrete values become a categorical range of their strings. */
export function parameterRanges(parameters: readonly ParameterSpec[]): ParameterRanges {
  const integer: IntegerParameterRange[] = [];
  const continuous: ContinuousParameterRange[] = [];
  const categorical: CategoricalParameterRange[] = [];
  for (const p of parameters) {
    if (p.type === 'integer') integer.push({ Name: p.name, MinValue: String(p.min), MaxValue: String(p.max), ScalingType: SCALING[p.scale] });
    else if (p.type === 'double') continuous.push({ Name: p.name, MinValue: String(p.min), MaxValue: String(p.max), ScalingType: SCALING[p.scale] });
    else categorical.push({ Name: p.name, Values: p.values.map(String) });
  }
  return {
    ...(integer.length ? { IntegerParameterRanges: integer } : {}),
    ...(continuous.length ? { ContinuousParameterRanges: continuous } : {}),
    ...(categorical.length ? { CategoricalParameterRanges: categorical } : {}),
  };
}

function trainingJobDefinition(d: EffectiveDefinition, named: { objective: HyperParameterTuningJobObjective } | undefined): HyperParameterTrainingJobDefinition {
  // validation guarantees these; the checks keep the types honest
  if (!d.roleArn || !d.output || !d.resources) throw new Error(`${d.path} was not validated`);
  const statics = d.staticHyperparameters;
  return {
    ...(named && d.name !== undefined
      ? { DefinitionName: d.name, TuningObjective: named.objective, HyperParameterRanges: parameterRanges(d.parameters) }
      : {}),
    ...(Object.keys(statics).length ? { StaticHyperParameters: { ...statics } } : {}),
    AlgorithmSpecification: {
      ...(d.image !== undefined ? { TrainingImage: d.image } : { AlgorithmName: d.algorithmName }),
      TrainingInputMode: d.inputMode ?? DEFAULT_INPUT_MODE,
      ...(d.metricDefinitions ? { MetricDefinitions: d.metricDefinitions.map((m) => ({ Name: m.name, Regex: m.regex })) } : {}),
    },
    RoleArn: d.roleArn,
    ...(d.inputs ? { InputDataConfig: d.inputs.map(channel) } : {}),
    ...(d.vpc ? { VpcConfig: { SecurityGroupIds: [...d.vpc.securityGroupIds], Subnets: [...d.vpc.subnets] } } : {}),
    OutputDataConfig: {
      S3OutputPath: d.output.s3Uri,
      ...(d.output.kmsKeyId !== undefined ? { KmsKeyId: d.output.kmsKeyId } : {}),
    },
    ResourceConfig: {
      InstanceType: d.resources.instanceType as NonNullable<HyperParameterTrainingJobDefinition['ResourceConfig']>['InstanceType'],
      InstanceCount: d.resources.instanceCount ?? DEFAULT_INSTANCE_COUNT,
      VolumeSizeInGB: d.resources.volumeSizeGb ?? DEFAULT_VOLUME_SIZE_GB,
      ...(d.resources.volumeKmsKeyId !== undefined ? { VolumeKmsKeyId: d.resources.volumeKmsKeyId } : {}),
    },
    StoppingCondition: {
      MaxRuntimeInSeconds: d.stopping?.maxRuntimeSeconds ?? DEFAULT_TRAINING_RUNTIME_SECONDS,
      ...(d.stopping?.maxWaitSeconds !== undefined ? { MaxWaitTimeInSeconds: d.stopping.maxWaitSeconds } : {}),
    },
    ...(d.networkIsolation !== undefined ? { EnableNetworkIsolation: d.networkIsolation } : {}),
    ...(d.interContainerEncryption !== undefined ? { EnableInterContainerTrafficEncryption: d.interContainerEncryption } : {}),
    ...(d.spot !== undefined ? { EnableManagedSpotTraining: d.spot } : {}),
    ...(d.checkpoint
      ? { CheckpointConfig: { S3Uri: d.checkpoint.s3Uri, ...(d.checkpoint.localPath !== undefined ? { LocalPath: d.checkpoint.localPath } : {}) } }
      : {}),
    ...(d.retry ? { RetryStrategy: { MaximumRetryAttempts: d.retry.maximumRetryAttempts } } : {}),
    ...(d.environment && Object.keys(d.environment).length ? { Environment: { ...d.environment } } : {}),
  };
}

function channel(c: NonNullable<EffectiveDefinition['inputs']>[number]): Channel {
  return {
    ChannelName: c.channel,
    DataSource: {
      S3DataSource: {
        S3DataType: c.s3DataType ?? DEFAULT_S3_DATA_TYPE,
        S3Uri: c.s3Uri,
        ...(c.distribution !== undefined ? { S3DataDistributionType: c.distribution } : {}),
        ...(c.attributeNames ? { AttributeNames: [...c.attributeNames] } : {}),
      },
    },
    ...(c.contentType !== undefined ? { ContentType: c.contentType } : {}),
    ...(c.compression !== undefined ? { CompressionType: c.compression } : {}),
    ...(c.recordWrapper !== undefined ? { RecordWrapperType: c.recordWrapper } : {}),
    ...(c.inputMode !== undefined ? { InputMode: c.inputMode } : {}),
    ...(c.shuffleSeed !== undefined ? { ShuffleConfig: { Seed: c.shuffleSeed } } : {}),
  };
}

/** WarmStartConfig from the parents' provider refs, which the use case resolved from `warmStart.from`. */
function warmStart(spec: TuningSpec, parents: readonly ProviderJobRef[] | undefined): Pick<CreateHyperParameterTuningJobCommandInput, 'WarmStartConfig'> {
  if (!spec.warmStart) return {};
  const resolved = parents ?? [];
  if (resolved.length !== spec.warmStart.from.length) {
    throw new SpecValidationError('spec', [
      { path: 'warmStart.from', message: `names ${spec.warmStart.from.length} parent job(s) but ${resolved.length} were resolved to SageMaker tuning jobs` },
    ]);
  }
  const foreign = resolved.findIndex((p) => p.provider !== 'sagemaker');
  if (foreign >= 0) {
    throw new SpecValidationError('spec', [{ path: `warmStart.from[${foreign}]`, message: `is a ${resolved[foreign]?.provider} job; SageMaker warm-starts from SageMaker tuning jobs only` }]);
  }
  return {
    WarmStartConfig: {
      ParentHyperParameterTuningJobs: resolved.map((p) => ({ HyperParameterTuningJobName: p.providerJobName })),
      WarmStartType: spec.warmStart.type === 'identical_data_and_algorithm' ? 'IdenticalDataAndAlgorithm' : 'TransferLearning',
    },
  };
}

/** The spec's labels, then the job id; SageMaker copies the tuning job's tags to its training jobs. */
function tags(spec: TuningSpec, jobId: string): Tag[] {
  return [...Object.entries(spec.labels).map(([Key, Value]) => ({ Key, Value })), { Key: JOB_ID_TAG, Value: jobId }];
}
