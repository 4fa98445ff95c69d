import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateHyperParameterTuningJobCommandInput } from '@aws-sdk/client-sagemaker';
import { describe, expect, it } from 'vitest';
import { SpecValidationError, type FieldIssue } from '../../../../shared/domain/errors';
import { deriveJobId } from '../../../../shared/domain/job';
import { parseSpec, parseSpecText, type TuningSpec } from '../../../../shared/domain/spec';
import { buildCreateTuningJobRequest, sageMakerJobName } from '../../../../shared/adapters/sagemaker/sagemaker-request';
import { SAGEMAKER_JOB_NAME, parseSageMakerTrialSpec, sageMakerSpecIssues } from '../../../../shared/adapters/sagemaker/sagemaker-spec';

const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const ROLE = 'arn:aws:iam::123456789012:role/tunewire-training';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${KEY_ID}`;

/** The smallest trial section SageMaker takes with an image. */
const minimalTrial = {
  image: IMAGE,
  metricDefinitions: [{ name: 'validation:auc', regex: 'validation-auc:([0-9.]+)' }],
  roleArn: ROLE,
  output: { s3Uri: 's3://tunewire-data/churn/models/' },
  resources: { instanceType: 'ml.m5.xlarge' },
};

function spec(overrides: Record<string, unknown> = {}, trial: Record<string, unknown> = minimalTrial): TuningSpec {
  return parseSpec({
    name: 'churn-xgb',
    provider: 'sagemaker',
    objective: { metric: 'validation:auc', goal: 'maximize' },
    parameters: [
      { name: 'eta', type: 'double', min: 0.01, max: 0.5, scale: 'log' },
      { name: 'max_depth', type: 'integer', min: 3, max: 10 },
    ],
    strategy: 'bayesian',
    budget: { maxTrials: 20, parallelTrials: 4 },
    measurementSelection: 'last',
    trial,
    ...overrides,
  });
}

function issues(s: TuningSpec): FieldIssue[] {
  return sageMakerSpecIssues(s);
}

function pathsOf(s: TuningSpec): string[] {
  return issues(s).map((i) => i.path);
}

const job = { jobId: 'churn-xgb-4k2m9q7zta', providerJobName: 'churn-xgb-4k2m9q7zta' };

describe('sageMakerJobName', () => {
  it('keeps a job id that SageMaker takes as it is', () => {
    const id = deriveJobId('churn-xgb', 'key-1');
    expect(sageMakerJobName(id)).toBe(id);
    expect(sageMakerJobName('a')).toBe('a');
  });

  it('cuts and hashes an id that does not fit, deterministically and within 32 characters', () => {
    const long = 'customer-churn-gradient-boosting-nightly-retune-2024';
    const name = sageMakerJobName(long);
    expect(name).toHaveLength(32);
    expect(name).toMatch(SAGEMAKER_JOB_NAME);
    expect(name.startsWith('customer-churn-gradient')).toBe(true);
    expect(sageMakerJobName(long)).toBe(name);
    expect(sageMakerJobName(`${long}x`)).not.toBe(name);
  });

  it('lowercases, because SageMaker ARNs carry names in lowercase', () => {
    const name = sageMakerJobName('Churn_XGB--01');
    expect(name).toMatch(/^churn-xgb-01-[0-9a-f]{8}$/);
    expect(sageMakerJobName('___')).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('buildCreateTuningJobRequest', () => {
  it('renders a spec using every field as the exact request', () => {
    const full = spec(
      {
        parameters: [
          { name: 'eta', type: 'double', min: 0.01, max: 0.5, scale: 'log' },
          { name: 'gamma', type: 'double', min: 0, max: 0.99, scale: 'reverse_log' },
          { name: 'max_depth', type: 'integer', min: 3, max: 10, scale: 'linear' },
          { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
          { name: 'subsample', type: 'discrete', values: [0.5, 0.75, 1] },
        ],
        budget: { maxTrials: 30, parallelTrials: 3, maxRuntimeSeconds: 7200, targetObjective: 0.97 },
        earlyStopping: 'auto',
        staticHyperparameters: { num_round: 200, objective: 'binary:logistic' },
        warmStart: { from: ['churn-xgb-aaaaaaaaaa'], type: 'transfer_learning' },
        labels: { team: 'growth' },
      },
      {
        image: IMAGE,
        inputMode: 'Pipe',
        metricDefinitions: [
          { name: 'validation:auc', regex: 'validation-auc:([0-9.]+)' },
          { name: 'train:auc', regex: 'train-auc:([0-9.]+)' },
        ],
        roleArn: ROLE,
        inputs: [
          {
            channel: 'train',
            s3Uri: 's3://tunewire-data/churn/train.manifest',
            s3DataType: 'AugmentedManifestFile',
            attributeNames: ['source-ref', 'label'],
            distribution: 'ShardedByS3Key',
            contentType: 'application/x-recordio',
            compression: 'Gzip',
            recordWrapper: 'RecordIO',
            shuffleSeed: 7,
          },
          { channel: 'validation', s3Uri: 's3://tunewire-data/churn/validation/', inputMode: 'File', contentType: 'text/csv' },
        ],
        vpc: { securityGroupIds: ['sg-0123456789abcdef0'], subnets: ['subnet-0123abcd', 'subnet-4567ef01'] },
        output: { s3Uri: 's3://tunewire-data/churn/models/', kmsKeyId: 'alias/tunewire' },
        resources: { instanceType: 'ml.m5.2xlarge', instanceCount: 2, volumeSizeGb: 50, volumeKmsKeyId: KEY_ARN },
        stopping: { maxRuntimeSeconds: 3600, maxWaitSeconds: 7200 },
        networkIsolation: true,
        interContainerEncryption: true,
        spot: true,
        checkpoint: { s3Uri: 's3://tunewire-data/churn/checkpoints/', localPath: '/opt/ml/checkpoints' },
        retry: { maximumRetryAttempts: 2 },
        environment: { LOG_LEVEL: 'debug' },
      },
    );
    expect(issues(full)).toEqual([]);

    const request = buildCreateTuningJobRequest(full, {
      ...job,
      warmStartParents: [{ provider: 'sagemaker', providerJobName: 'churn-xgb-aaaaaaaaaa' }],
    });
    const expected: CreateHyperParameterTuningJobCommandInput = {
      HyperParameterTuningJobName: 'churn-xgb-4k2m9q7zta',
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'validation:auc' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 30, MaxParallelTrainingJobs: 3, MaxRuntimeInSeconds: 7200 },
        ParameterRanges: {
          IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '3', MaxValue: '10', ScalingType: 'Linear' }],
          ContinuousParameterRanges: [
            { Name: 'eta', MinValue: '0.01', MaxValue: '0.5', ScalingType: 'Logarithmic' },
            { Name: 'gamma', MinValue: '0', MaxValue: '0.99', ScalingType: 'ReverseLogarithmic' },
          ],
          CategoricalParameterRanges: [
            { Name: 'booster', Values: ['gbtree', 'dart'] },
            { Name: 'subsample', Values: ['0.5', '0.75', '1'] },
          ],
        },
        TrainingJobEarlyStoppingType: 'Auto',
        TuningJobCompletionCriteria: { TargetObjectiveMetricValue: 0.97 },
      },
      TrainingJobDefinition: {
        StaticHyperParameters: { num_round: '200', objective: 'binary:logistic' },
        AlgorithmSpecification: {
          TrainingImage: IMAGE,
          TrainingInputMode: 'Pipe',
          MetricDefinitions: [
            { Name: 'validation:auc', Regex: 'validation-auc:([0-9.]+)' },
            { Name: 'train:auc', Regex: 'train-auc:([0-9.]+)' },
          ],
        },
        RoleArn: ROLE,
        InputDataConfig: [
          {
            ChannelName: 'train',
            DataSource: {
              S3DataSource: {
                S3DataType: 'AugmentedManifestFile',
                S3Uri: 's3://tunewire-data/churn/train.manifest',
                S3DataDistributionType: 'ShardedByS3Key',
                AttributeNames: ['source-ref', 'label'],
              },
            },
            ContentType: 'application/x-recordio',
            CompressionType: 'Gzip',
            RecordWrapperType: 'RecordIO',
            ShuffleConfig: { Seed: 7 },
          },
          {
            ChannelName: 'validation',
            DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://tunewire-data/churn/validation/' } },
            ContentType: 'text/csv',
            InputMode: 'File',
          },
        ],
        VpcConfig: { SecurityGroupIds: ['sg-0123456789abcdef0'], Subnets: ['subnet-0123abcd', 'subnet-4567ef01'] },
        OutputDataConfig: { S3OutputPath: 's3://tunewire-data/churn/models/', KmsKeyId: 'alias/tunewire' },
        ResourceConfig: { InstanceType: 'ml.m5.2xlarge', InstanceCount: 2, VolumeSizeInGB: 50, VolumeKmsKeyId: KEY_ARN },
        StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
        EnableNetworkIsolation: true,
        EnableInterContainerTrafficEncryption: true,
        EnableManagedSpotTraining: true,
        CheckpointConfig: { S3Uri: 's3://tunewire-data/churn/checkpoints/', LocalPath: '/opt/ml/checkpoints' },
        RetryStrategy: { MaximumRetryAttempts: 2 },
        Environment: { LOG_LEVEL: 'debug' },
      },
      WarmStartConfig: {
        ParentHyperParameterTuningJobs: [{ HyperParameterTuningJobName: 'churn-xgb-aaaaaaaaaa' }],
        WarmStartType: 'TransferLearning',
      },
      Tags: [
        { Key: 'team', Value: 'growth' },
        { Key: 'tunewire:job-id', Value: 'churn-xgb-4k2m9q7zta' },
      ],
    };
    expect(request).toEqual(expected);
  });

  it('applies the documented defaults to a minimal spec', () => {
    const request = buildCreateTuningJobRequest(spec(), job);
    expect(request.TrainingJobDefinition).toEqual({
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File', MetricDefinitions: [{ Name: 'validation:auc', Regex: 'validation-auc:([0-9.]+)' }] },
      RoleArn: ROLE,
      OutputDataConfig: { S3OutputPath: 's3://tunewire-data/churn/models/' },
      ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
      StoppingCondition: { MaxRuntimeInSeconds: 86400 },
    });
    expect(request.HyperParameterTuningJobConfig?.TrainingJobEarlyStoppingType).toBe('Off');
    expect(request.HyperParameterTuningJobConfig?.ResourceLimits).toEqual({ MaxNumberOfTrainingJobs: 20, MaxParallelTrainingJobs: 4 });
    expect(request.WarmStartConfig).toBeUndefined();
    expect(request.Tags).toEqual([{ Key: 'tunewire:job-id', Value: job.jobId }]);
  });

  it('takes an algorithm resource instead of an image, without metric definitions', () => {
    const { image: _image, metricDefinitions: _metrics, ...rest } = minimalTrial;
    const s = spec({ objective: { metric: 'validation:auc', goal: 'minimize' } }, { ...rest, algorithmName: 'arn:aws:sagemaker:us-east-1:123456789012:algorithm/churn-boost' });
    expect(issues(s)).toEqual([]);
    const request = buildCreateTuningJobRequest(s, job);
    expect(request.TrainingJobDefinition?.AlgorithmSpecification).toEqual({
      AlgorithmName: 'arn:aws:sagemaker:us-east-1:123456789012:algorithm/churn-boost',
      TrainingInputMode: 'File',
    });
    expect(request.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective).toEqual({ Type: 'Minimize', MetricName: 'validation:auc' });
  });

  it('renders several definitions with their names, objective and ranges, splitting the parameters', () => {
    const s = spec(
      {
        parameters: [
          { name: 'eta', type: 'double', min: 0.01, max: 0.5 },
          { name: 'max_depth', type: 'integer', min: 3, max: 10 },
          { name: 'l2', type: 'double', min: 0.001, max: 1, scale: 'log' },
        ],
        staticHyperparameters: { num_round: '100' },
      },
      {
        ...minimalTrial,
        definitions: [
          { name: 'xgb', parameters: ['eta', 'max_depth'] },
          {
            name: 'linear',
            parameters: ['l2'],
            image: '382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1',
            metricDefinitions: [{ name: 'validation:auc', regex: 'auc=([0-9.]+)' }],
            resources: { instanceType: 'ml.c5.xlarge', volumeSizeGb: 5 },
            staticHyperparameters: { predictor_type: 'binary_classifier' },
          },
        ],
      },
    );
    expect(issues(s)).toEqual([]);
    const request = buildCreateTuningJobRequest(s, job);
    expect(request.TrainingJobDefinition).toBeUndefined();
    expect(request.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective).toBeUndefined();
    expect(request.HyperParameterTuningJobConfig?.ParameterRanges).toBeUndefined();
    const [xgb, linear] = request.TrainingJobDefinitions ?? [];
    expect(request.TrainingJobDefinitions).toHaveLength(2);
    expect(xgb).toMatchObject({
      DefinitionName: 'xgb',
      TuningObjective: { Type: 'Maximize', MetricName: 'validation:auc' },
      HyperParameterRanges: {
        IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '3', MaxValue: '10', ScalingType: 'Auto' }],
        ContinuousParameterRanges: [{ Name: 'eta', MinValue: '0.01', MaxValue: '0.5', ScalingType: 'Auto' }],
      },
      StaticHyperParameters: { num_round: '100' },
      AlgorithmSpecification: { TrainingImage: IMAGE },
      ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
    });
    expect(linear).toMatchObject({
      DefinitionName: 'linear',
      HyperParameterRanges: { ContinuousParameterRanges: [{ Name: 'l2', MinValue: '0.001', MaxValue: '1', ScalingType: 'Logarithmic' }] },
      StaticHyperParameters: { num_round: '100', predictor_type: 'binary_classifier' },
      AlgorithmSpecification: { TrainingImage: '382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1', MetricDefinitions: [{ Name: 'validation:auc', Regex: 'auc=([0-9.]+)' }] },
      // a field set in a definition replaces the top-level one whole
      ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: 1, VolumeSizeInGB: 5 },
      RoleArn: ROLE,
    });
  });

  it('renders warm start from the parents the use case resolved', () => {
    const s = spec({ warmStart: { from: ['a-1', 'b-2'], type: 'identical_data_and_algorithm' } });
    const request = buildCreateTuningJobRequest(s, {
      ...job,
      warmStartParents: [
        { provider: 'sagemaker', providerJobName: 'churn-xgb-parent0001', providerJobId: 'arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/churn-xgb-parent0001' },
        { provider: 'sagemaker', providerJobName: 'churn-xgb-parent0002' },
      ],
    });
    expect(request.WarmStartConfig).toEqual({
      ParentHyperParameterTuningJobs: [{ HyperParameterTuningJobName: 'churn-xgb-parent0001' }, { HyperParameterTuningJobName: 'churn-xgb-parent0002' }],
      WarmStartType: 'IdenticalDataAndAlgorithm',
    });
  });

  it('refuses warm start when the parents were not resolved, or are not SageMaker jobs', () => {
    const s = spec({ warmStart: { from: ['a-1'], type: 'transfer_learning' } });
    expect(() => buildCreateTuningJobRequest(s, job)).toThrow(SpecValidationError);
    expect(() => buildCreateTuningJobRequest(s, { ...job, warmStartParents: [{ provider: 'local', providerJobName: 'a-1' }] })).toThrow(/warmStart.from\[0\]/);
  });

  it('renders grid search without MaxNumberOfTrainingJobs', () => {
    const s = spec({
      parameters: [
        { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
        { name: 'max_depth', type: 'discrete', values: [3, 6, 9] },
      ],
      strategy: 'grid',
      budget: { maxTrials: 6, parallelTrials: 2 },
    });
    expect(issues(s)).toEqual([]);
    const config = buildCreateTuningJobRequest(s, job).HyperParameterTuningJobConfig;
    expect(config?.Strategy).toBe('Grid');
    expect(config?.ResourceLimits).toEqual({ MaxParallelTrainingJobs: 2 });
    expect(config?.ParameterRanges).toEqual({
      CategoricalParameterRanges: [
        { Name: 'booster', Values: ['gbtree', 'dart'] },
        { Name: 'max_depth', Values: ['3', '6', '9'] },
      ],
    });
  });

  it('renders Hyperband with its strategy config', () => {
    const s = spec({ strategy: 'hyperband' }, { ...minimalTrial, hyperband: { minResource: 1, maxResource: 81 } });
    expect(issues(s)).toEqual([]);
    const config = buildCreateTuningJobRequest(s, job).HyperParameterTuningJobConfig;
    expect(config?.Strategy).toBe('Hyperband');
    expect(config?.StrategyConfig).toEqual({ HyperbandStrategyConfig: { MinResource: 1, MaxResource: 81 } });
    expect(config?.TrainingJobEarlyStoppingType).toBe('Off');
  });

  it('refuses to build from an invalid spec', () => {
    expect(() => buildCreateTuningJobRequest(spec({}, { ...minimalTrial, roleArn: 'role' }), job)).toThrow(SpecValidationError);
  });
});

describe('sageMakerSpecIssues', () => {
  it('accepts the example spec', () => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'sagemaker-xgboost', 'spec.yaml'), 'utf8');
    const example = parseSpecText(text, 'examples/sagemaker-xgboost/spec.yaml');
    expect(issues(example)).toEqual([]);
    expect(parseSageMakerTrialSpec(example).image).toContain('sagemaker-xgboost');
    expect(buildCreateTuningJobRequest(example, job).HyperParameterTuningJobConfig?.ResourceLimits).toEqual({
      MaxNumberOfTrainingJobs: 20,
      MaxParallelTrainingJobs: 4,
      MaxRuntimeInSeconds: 21600,
    });
  });

  it('names bad fields of the trial section at their paths', () => {
    const bad = spec(
      {},
      {
        ...minimalTrial,
        roleArn: 'arn:aws:iam::123:user/me',
        inputs: [{ channel: 'train', s3Uri: 'https://example.com/data', s3DataType: 'Everything' }],
        resources: { instanceType: 'm5.xlarge', volumeKmsKeyId: 'alias/not-here' },
        output: { s3Uri: 's3://tunewire-data/models/', kmsKeyId: 'key with spaces' },
        vpc: { securityGroupIds: ['default'], subnets: [] },
        retry: { maximumRetryAttempts: 31 },
        environment: { 'BAD-NAME': 'x' },
        imagee: IMAGE,
      },
    );
    expect(pathsOf(bad).sort()).toEqual(
      [
        'trial.environment.BAD-NAME',
        'trial.imagee',
        'trial.inputs[0].s3DataType',
        'trial.inputs[0].s3Uri',
        'trial.output.kmsKeyId',
        'trial.resources.instanceType',
        'trial.resources.volumeKmsKeyId',
        'trial.retry.maximumRetryAttempts',
        'trial.roleArn',
        'trial.vpc.securityGroupIds[0]',
        'trial.vpc.subnets',
      ].sort(),
    );
  });

  it('wants exactly one of image or algorithmName, and the required fields', () => {
    expect(issues(spec({}, {}))).toEqual([
      { path: 'trial.image', message: 'one of image or algorithmName is required' },
      { path: 'trial.roleArn', message: 'is required' },
      { path: 'trial.output', message: 'is required' },
      { path: 'trial.resources', message: 'is required' },
    ]);
    expect(pathsOf(spec({}, { ...minimalTrial, algorithmName: 'xgboost' }))).toEqual(['trial.algorithmName']);
  });

  it('wants metric definitions with an image, defining the objective once each', () => {
    const { metricDefinitions: _m, ...noMetrics } = minimalTrial;
    expect(pathsOf(spec({}, noMetrics))).toEqual(['trial.metricDefinitions']);
    const other = spec({}, { ...minimalTrial, metricDefinitions: [{ name: 'train:auc', regex: 'a=(.*)' }, { name: 'train:auc', regex: 'b=(.*)' }] });
    expect(issues(other)).toEqual([
      { path: 'trial.metricDefinitions[1].name', message: 'repeats the name of metricDefinitions[0]' },
      { path: 'trial.metricDefinitions', message: 'must define the objective metric "validation:auc"' },
    ]);
  });

  it('refuses job names SageMaker would not take', () => {
    // deriveJobId keeps every spec name within SageMaker's 32 characters; the rule guards that it stays so
    const longest = spec({ name: 'a'.repeat(63) });
    expect(sageMakerJobName(deriveJobId(longest.name, 'x'))).toMatch(SAGEMAKER_JOB_NAME);
    expect(pathsOf(longest)).toEqual([]);
  });

  it('counts every categorical and discrete value against the limit of 20 hyperparameters', () => {
    const many = spec({
      parameters: [
        { name: 'a', type: 'double', min: 0, max: 1 },
        { name: 'b', type: 'categorical', values: Array.from({ length: 12 }, (_, i) => `v${i}`) },
        { name: 'c', type: 'discrete', values: [1, 2, 3, 4, 5, 6, 7, 8] },
      ],
    });
    expect(issues(many)).toEqual([{ path: 'parameters', message: expect.stringContaining('at most 20 hyperparameters') }]);
    expect(issues(many)[0]?.message).toContain('this has 21');
    const twenty = spec({ parameters: [{ name: 'b', type: 'categorical', values: Array.from({ length: 20 }, (_, i) => `v${i}`) }] });
    expect(issues(twenty)).toEqual([]);
  });

  it('allows Logarithmic only above 0', () => {
    const s = spec({ parameters: [{ name: 'eta', type: 'double', min: 0, max: 0.5, scale: 'log' }, { name: 'depth', type: 'integer', min: -1, max: 5, scale: 'log' }] });
    expect(pathsOf(s)).toEqual(['parameters[0].scale', 'parameters[1].scale']);
  });

  it('allows ReverseLogarithmic only within [0, 1) and never for integers', () => {
    const s = spec({
      parameters: [
        { name: 'ok', type: 'double', min: 0, max: 0.999, scale: 'reverse_log' },
        { name: 'one', type: 'double', min: 0.5, max: 1, scale: 'reverse_log' },
        { name: 'neg', type: 'double', min: -0.1, max: 0.5, scale: 'reverse_log' },
        { name: 'int', type: 'integer', min: 0, max: 0, scale: 'reverse_log' },
      ],
    });
    expect(issues(s)).toEqual([
      { path: 'parameters[1].scale', message: expect.stringContaining('within [0, 1)') },
      { path: 'parameters[2].scale', message: expect.stringContaining('within [0, 1)') },
      { path: 'parameters[3].scale', message: expect.stringContaining('not available for integer ranges') },
    ]);
  });

  it('wants MaxWaitTimeInSeconds with spot only, and not below MaxRuntimeInSeconds', () => {
    expect(issues(spec({}, { ...minimalTrial, spot: true }))).toEqual([{ path: 'trial.stopping.maxWaitSeconds', message: expect.stringContaining('required with spot') }]);
    expect(issues(spec({}, { ...minimalTrial, spot: true, stopping: { maxRuntimeSeconds: 3600, maxWaitSeconds: 1800 } }))).toEqual([
      { path: 'trial.stopping.maxWaitSeconds', message: 'must be at least maxRuntimeSeconds (3600)' },
    ]);
    expect(issues(spec({}, { ...minimalTrial, spot: true, stopping: { maxWaitSeconds: 3600 } }))).toEqual([
      { path: 'trial.stopping.maxWaitSeconds', message: 'must be at least maxRuntimeSeconds (86400)' },
    ]);
    expect(issues(spec({}, { ...minimalTrial, stopping: { maxWaitSeconds: 90000 } }))).toEqual([
      { path: 'trial.stopping.maxWaitSeconds', message: 'is for managed spot training only (spot: true)' },
    ]);
    expect(pathsOf(spec({}, { ...minimalTrial, stopping: { maxRuntimeSeconds: 2_419_201 } }))).toEqual(['trial.stopping.maxRuntimeSeconds']);
  });

  it('checks grid search: categorical ranges only, and maxTrials equal to the grid', () => {
    const numeric = spec({ strategy: 'grid', budget: { maxTrials: 4 } });
    expect(pathsOf(numeric)).toEqual(['parameters[0].type', 'parameters[1].type']);
    const wrongSize = spec({ strategy: 'grid', parameters: [{ name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] }], budget: { maxTrials: 5, parallelTrials: 1 } });
    expect(issues(wrongSize)).toEqual([{ path: 'budget.maxTrials', message: expect.stringContaining('must equal the grid size (2)') }]);
  });

  it('checks Hyperband: early stopping off, a resource limit, and its config for Hyperband only', () => {
    expect(issues(spec({ strategy: 'hyperband', earlyStopping: 'auto' }, { ...minimalTrial, hyperband: { maxResource: 50 } }))).toEqual([
      { path: 'earlyStopping', message: expect.stringContaining('must be "off" for strategy hyperband') },
    ]);
    expect(pathsOf(spec({ strategy: 'hyperband' }))).toEqual(['trial.hyperband.maxResource']);
    expect(pathsOf(spec({ strategy: 'hyperband', staticHyperparameters: { epochs: '30' } }))).toEqual([]);
    expect(pathsOf(spec({ strategy: 'hyperband' }, { ...minimalTrial, hyperband: { minResource: 10, maxResource: 5 } }))).toEqual(['trial.hyperband.minResource']);
    expect(pathsOf(spec({ strategy: 'hyperband' }, { ...minimalTrial, hyperband: { maxResource: 20_001 } }))).toEqual(['trial.hyperband.maxResource']);
    expect(pathsOf(spec({}, { ...minimalTrial, hyperband: { maxResource: 9 } }))).toEqual(['trial.hyperband']);
  });

  it('checks what SageMaker cannot do: best-of measurement, failed-trial limits, long tuning runtimes', () => {
    expect(pathsOf(spec({ measurementSelection: 'best' }))).toEqual(['measurementSelection']);
    expect(pathsOf(spec({ budget: { maxTrials: 20, parallelTrials: 4, maxFailedTrials: 3 } }))).toEqual(['budget.maxFailedTrials']);
    expect(pathsOf(spec({ budget: { maxTrials: 20, parallelTrials: 4, maxRuntimeSeconds: 60 } }))).toEqual(['budget.maxRuntimeSeconds']);
    expect(pathsOf(spec({ budget: { maxTrials: 20, parallelTrials: 4, maxRuntimeSeconds: 15_768_001 } }))).toEqual(['budget.maxRuntimeSeconds']);
    expect(pathsOf(spec({ provider: 'local' }))).toEqual(['provider']);
  });

  it('checks channel rules that depend on the input mode', () => {
    const s = spec(
      {},
      {
        ...minimalTrial,
        inputMode: 'FastFile',
        inputs: [
          { channel: 'train', s3Uri: 's3://tunewire-data/a.manifest', s3DataType: 'AugmentedManifestFile' },
          { channel: 'train', s3Uri: 's3://tunewire-data/b/', compression: 'Gzip', attributeNames: ['x'] },
          { channel: 'extra', s3Uri: 's3://tunewire-data/c/', inputMode: 'File', recordWrapper: 'RecordIO' },
          { channel: 'piped', s3Uri: 's3://tunewire-data/d/', inputMode: 'Pipe', compression: 'Gzip', recordWrapper: 'RecordIO', s3DataType: 'AugmentedManifestFile' },
        ],
      },
    );
    expect(pathsOf(s)).toEqual([
      'trial.inputs[0].s3DataType',
      'trial.inputs[1].channel',
      'trial.inputs[1].attributeNames',
      'trial.inputs[1].compression',
      'trial.inputs[2].recordWrapper',
    ]);
  });

  it('refuses a volume KMS key on instances with local storage, and KMS aliases for volumes', () => {
    expect(pathsOf(spec({}, { ...minimalTrial, resources: { instanceType: 'ml.g5.2xlarge', volumeKmsKeyId: KEY_ID } }))).toEqual(['trial.resources.volumeKmsKeyId']);
    expect(pathsOf(spec({}, { ...minimalTrial, resources: { instanceType: 'ml.m5.xlarge', volumeKmsKeyId: KEY_ID } }))).toEqual([]);
    expect(pathsOf(spec({}, { ...minimalTrial, resources: { instanceType: 'ml.m5.xlarge', volumeKmsKeyId: 'alias/x' } }))).toEqual(['trial.resources.volumeKmsKeyId']);
  });

  it('checks labels as SageMaker tags', () => {
    const s = spec({ labels: { 'tunewire:job-id': 'x', 'aws:owner': 'y', team: 'a|b', ok: 'fine' } });
    expect(pathsOf(s)).toEqual(['labels.tunewire:job-id', 'labels.aws:owner', 'labels.team']);
    const tooMany = spec({ labels: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])) });
    expect(pathsOf(tooMany)).toEqual(['labels']);
  });

  it('checks definitions: names, parameter split, inherited fields, at most 10', () => {
    const s = spec(
      { parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }, { name: 'max_depth', type: 'integer', min: 3, max: 10 }, { name: 'unused', type: 'double', min: 0, max: 1 }] },
      {
        ...minimalTrial,
        definitions: [
          { name: 'xgb', parameters: ['eta', 'nope', 'eta'], staticHyperparameters: { eta: '0.1' } },
          { name: 'XGB', parameters: ['max_depth'], algorithmName: 'my-algorithm', roleArn: undefined },
          { name: 'bad_name', parameters: ['max_depth'] },
        ],
      },
    );
    expect(pathsOf(s)).toEqual(['trial.definitions[2].name']);
    const fixedName = spec(
      { parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }, { name: 'max_depth', type: 'integer', min: 3, max: 10 }, { name: 'unused', type: 'double', min: 0, max: 1 }] },
      {
        ...minimalTrial,
        definitions: [
          { name: 'xgb', parameters: ['eta', 'nope', 'eta'], staticHyperparameters: { eta: '0.1' } },
          { name: 'XGB', parameters: ['max_depth'], algorithmName: 'my-algorithm' },
        ],
      },
    );
    expect(issues(fixedName)).toEqual([
      { path: 'trial.definitions[0].parameters[1]', message: '"nope" is not a parameter of the spec' },
      { path: 'trial.definitions[0].parameters[2]', message: 'repeats "eta"' },
      { path: 'trial.definitions[0].staticHyperparameters.eta', message: 'is also a parameter this definition searches' },
      { path: 'trial.definitions[1].name', message: 'repeats the name of trial.definitions[0]' },
      { path: 'parameters[2]', message: '"unused" is searched by no definition (trial.definitions[].parameters)' },
    ]);
    const eleven = spec({}, { ...minimalTrial, definitions: Array.from({ length: 11 }, (_, i) => ({ name: `d${i}` })) });
    expect(pathsOf(eleven)).toEqual(['trial.definitions']);
    const { roleArn: _role, ...noRole } = minimalTrial;
    const missing = spec({}, { ...noRole, definitions: [{ name: 'a', roleArn: ROLE }, { name: 'b' }] });
    expect(issues(missing)).toEqual([{ path: 'trial.definitions[1].roleArn', message: 'is required (in the definition or at trial)' }]);
  });

  it('counts the limit of 20 per definition', () => {
    const s = spec(
      {
        parameters: [
          { name: 'a', type: 'categorical', values: Array.from({ length: 15 }, (_, i) => `a${i}`) },
          { name: 'b', type: 'categorical', values: Array.from({ length: 15 }, (_, i) => `b${i}`) },
        ],
      },
      { ...minimalTrial, definitions: [{ name: 'one', parameters: ['a'] }, { name: 'two', parameters: ['b'] }, { name: 'both' }] },
    );
    expect(issues(s)).toEqual([{ path: 'trial.definitions[2].parameters', message: expect.stringContaining('this has 30') }]);
  });
});
