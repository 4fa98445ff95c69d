import { readFileSync } from 'node:fs';
import { protos } from '@google-cloud/aiplatform';
import { describe, expect, it } from 'vitest';
import { SpecValidationError } from '../../../../shared/domain/errors';
import { parseSpec, parseSpecText, type TuningSpec } from '../../../../shared/domain/spec';
import { buildHyperparameterTuningJob, toApiJson, vertexDisplayName } from '../../../../shared/adapters/vertex/vertex-request';
import { parseVertexTrialSpec, vertexParent, vertexSpecIssues } from '../../../../shared/adapters/vertex/vertex-spec';

const V1 = protos.google.cloud.aiplatform.v1;
const JOB = { jobId: 'churn-vertex-4k2m9x0abc', providerJobName: 'churn-vertex-4k2m9x0abc' };

/** A spec that uses every field the Vertex adapter reads. */
const fullInput = {
  name: 'churn-vertex',
  provider: 'vertex',
  objective: { metric: 'auc', goal: 'maximize' },
  parameters: [
    { name: 'learning_rate', type: 'double', min: 0.001, max: 0.3, scale: 'log' },
    { name: 'max_depth', type: 'integer', min: 3, max: 10, scale: 'linear' },
    { name: 'gamma', type: 'double', min: 0.1, max: 1, scale: 'reverse_log' },
    { name: 'min_child_weight', type: 'integer', min: 1, max: 20 },
    { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
    { name: 'subsample', type: 'discrete', values: [1.0, 0.5, 0.75] },
  ],
  strategy: 'random',
  budget: { maxTrials: 40, parallelTrials: 5, maxFailedTrials: 4, maxRuntimeSeconds: 86400 },
  earlyStopping: 'auto',
  measurementSelection: 'last',
  staticHyperparameters: { num_round: 200, objective: 'binary:logistic' },
  trial: {
    project: 'tunewire-demo',
    location: 'us-central1',
    workerPoolSpecs: [
      {
        machineType: 'n1-standard-8',
        acceleratorType: 'NVIDIA_TESLA_T4',
        acceleratorCount: 2,
        replicaCount: 1,
        diskType: 'pd-ssd',
        diskSizeGb: 200,
        container: {
          imageUri: 'us-central1-docker.pkg.dev/tunewire-demo/training/churn:1.4.0',
          command: ['python', '-m', 'trainer.task'],
          args: ['--data=gs://tunewire-demo-data/churn'],
          env: [{ name: 'LOG_LEVEL', value: 'debug' }],
        },
      },
      {
        machineType: 'n1-highmem-4',
        replicaCount: 3,
        pythonPackage: {
          executorImageUri: 'us-docker.pkg.dev/vertex-ai/training/xgboost-cpu.1-7:latest',
          packageUris: ['gs://tunewire-demo-artifacts/pkg/trainer-0.1.tar.gz'],
          pythonModule: 'trainer.task',
          args: ['--role=worker'],
          env: [{ name: 'ROLE', value: 'worker' }],
        },
      },
      {},
      { machineType: 'e2-standard-4', container: { imageUri: 'us-central1-docker.pkg.dev/tunewire-demo/training/eval:1.0' } },
    ],
    baseOutputDirectory: 'gs://tunewire-demo-artifacts/churn/',
    serviceAccount: 'vertex-training@tunewire-demo.iam.gserviceaccount.com',
    network: 'projects/123456789/global/networks/ml-vpc',
    reservedIpRanges: ['vertex-ai-range'],
    timeoutSeconds: 7200,
    restartJobOnWorkerRestart: true,
    enableWebAccess: true,
    enableDashboardAccess: false,
    tensorboard: 'projects/tunewire-demo/locations/us-central1/tensorboards/4411',
    encryptionKey: 'projects/tunewire-demo/locations/us-central1/keyRings/ml/cryptoKeys/training',
    maxFailedTrials: 6,
    displayName: 'Churn weekly retune',
  },
  labels: { team: 'growth', model: 'churn' },
};

const fullSpec = (): TuningSpec => parseSpec(structuredClone(fullInput));

/** The small valid spec each rule test bends one field of. */
const baseInput = {
  name: 'rule-test',
  provider: 'vertex',
  objective: { metric: 'accuracy', goal: 'maximize' },
  parameters: [
    { name: 'depth', type: 'integer', min: 1, max: 8 },
    { name: 'lr', type: 'double', min: 0.01, max: 0.1 },
  ],
  strategy: 'bayesian',
  budget: { maxTrials: 4, parallelTrials: 2 },
  trial: {
    project: 'tunewire-demo',
    location: 'europe-west4',
    workerPoolSpecs: [{ machineType: 'n1-standard-4', container: { imageUri: 'europe-docker.pkg.dev/p/r/train:1' } }],
    baseOutputDirectory: 'gs://tunewire-demo-out/rules',
  },
};

type Input = typeof baseInput & Record<string, unknown>;

function specWith(change: (input: Input) => void): TuningSpec {
  const input = structuredClone(baseInput) as Input;
  change(input);
  return parseSpec(input);
}

/** The value at a path such as `trialJobSpec.workerPoolSpecs[1].replicaCount`: reads JSON without `any`. */
function at(value: unknown, path: string): unknown {
  const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
  return keys.reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

function trialOf(input: Input): Record<string, unknown> {
  return input.trial as unknown as Record<string, unknown>;
}
function poolOf(input: Input, i = 0): Record<string, unknown> {
  return (input.trial.workerPoolSpecs as unknown as Record<string, unknown>[])[i] as Record<string, unknown>;
}

describe('buildHyperparameterTuningJob', () => {
  it('maps a spec using every field to the exact job', () => {
    expect(buildHyperparameterTuningJob(fullSpec(), JOB)).toEqual({
      displayName: 'Churn weekly retune (churn-vertex-4k2m9x0abc)',
      studySpec: {
        metrics: [{ metricId: 'auc', goal: 'MAXIMIZE' }],
        parameters: [
          { parameterId: 'learning_rate', doubleValueSpec: { minValue: 0.001, maxValue: 0.3 }, scaleType: 'UNIT_LOG_SCALE' },
          { parameterId: 'max_depth', integerValueSpec: { minValue: '3', maxValue: '10' }, scaleType: 'UNIT_LINEAR_SCALE' },
          { parameterId: 'gamma', doubleValueSpec: { minValue: 0.1, maxValue: 1 }, scaleType: 'UNIT_REVERSE_LOG_SCALE' },
          { parameterId: 'min_child_weight', integerValueSpec: { minValue: '1', maxValue: '20' } },
          { parameterId: 'booster', categoricalValueSpec: { values: ['gbtree', 'dart'] } },
          { parameterId: 'subsample', discreteValueSpec: { values: [0.5, 0.75, 1] } },
        ],
        algorithm: 'RANDOM_SEARCH',
        measurementSelectionType: 'LAST_MEASUREMENT',
        medianAutomatedStoppingSpec: { useElapsedDuration: false },
        studyStoppingConfig: { maximumRuntimeConstraint: { maxDuration: { seconds: '86400' } } },
      },
      maxTrialCount: 40,
      parallelTrialCount: 5,
      maxFailedTrialCount: 6,
      trialJobSpec: {
        workerPoolSpecs: [
          {
            machineSpec: { machineType: 'n1-standard-8', acceleratorType: 'NVIDIA_TESLA_T4', acceleratorCount: 2 },
            replicaCount: '1',
            diskSpec: { bootDiskType: 'pd-ssd', bootDiskSizeGb: 200 },
            containerSpec: {
              imageUri: 'us-central1-docker.pkg.dev/tunewire-demo/training/churn:1.4.0',
              command: ['python', '-m', 'trainer.task'],
              args: ['--data=gs://tunewire-demo-data/churn', '--num_round=200', '--objective=binary:logistic'],
              env: [{ name: 'LOG_LEVEL', value: 'debug' }],
            },
          },
          {
            machineSpec: { machineType: 'n1-highmem-4' },
            replicaCount: '3',
            pythonPackageSpec: {
              executorImageUri: 'us-docker.pkg.dev/vertex-ai/training/xgboost-cpu.1-7:latest',
              packageUris: ['gs://tunewire-demo-artifacts/pkg/trainer-0.1.tar.gz'],
              pythonModule: 'trainer.task',
              args: ['--role=worker', '--num_round=200', '--objective=binary:logistic'],
              env: [{ name: 'ROLE', value: 'worker' }],
            },
          },
          {},
          {
            machineSpec: { machineType: 'e2-standard-4' },
            replicaCount: '1',
            containerSpec: { imageUri: 'us-central1-docker.pkg.dev/tunewire-demo/training/eval:1.0', args: ['--num_round=200', '--objective=binary:logistic'] },
          },
        ],
        baseOutputDirectory: { outputUriPrefix: 'gs://tunewire-demo-artifacts/churn/' },
        serviceAccount: 'vertex-training@tunewire-demo.iam.gserviceaccount.com',
        network: 'projects/123456789/global/networks/ml-vpc',
        reservedIpRanges: ['vertex-ai-range'],
        scheduling: { timeout: { seconds: '7200' }, restartJobOnWorkerRestart: true },
        enableWebAccess: true,
        enableDashboardAccess: false,
        tensorboard: 'projects/tunewire-demo/locations/us-central1/tensorboards/4411',
      },
      labels: { team: 'growth', model: 'churn', 'tunewire-job-id': 'churn-vertex-4k2m9x0abc' },
      encryptionSpec: { kmsKeyName: 'projects/tunewire-demo/locations/us-central1/keyRings/ml/cryptoKeys/training' },
    });
  });

  it("is accepted as is by the client's codec: encoding and decoding it changes nothing", () => {
    const job = buildHyperparameterTuningJob(fullSpec(), JOB);
    const Type = V1.HyperparameterTuningJob;
    const decoded = Type.decode(Type.encode(Type.fromObject(job)).finish());
    // the options google-gax gives @grpc/proto-loader, less `defaults`, so unset fields stay unset
    expect(Type.toObject(decoded, { longs: String, enums: String })).toEqual(job);
  });

  it('sends bayesian as no algorithm (the Vertex default) and grid as GRID_SEARCH', () => {
    expect(buildHyperparameterTuningJob(specWith(() => {}), JOB).studySpec).not.toHaveProperty('algorithm');
    const grid = specWith((s) => {
      s.strategy = 'grid';
      s.parameters = [{ name: 'depth', type: 'integer', min: 1, max: 8 }];
    });
    expect(buildHyperparameterTuningJob(grid, JOB).studySpec?.algorithm).toBe('GRID_SEARCH');
  });

  it('maps measurement selection best, goal minimize, and leaves early stopping off', () => {
    const spec = specWith((s) => {
      s.objective = { metric: 'loss', goal: 'minimize' };
      s['measurementSelection'] = 'best';
      s['earlyStopping'] = 'off';
    });
    const study = buildHyperparameterTuningJob(spec, JOB).studySpec;
    expect(study?.metrics).toEqual([{ metricId: 'loss', goal: 'MINIMIZE' }]);
    expect(study?.measurementSelectionType).toBe('BEST_MEASUREMENT');
    expect(study).not.toHaveProperty('medianAutomatedStoppingSpec');
    expect(study).not.toHaveProperty('decayCurveStoppingSpec');
    expect(study).not.toHaveProperty('studyStoppingConfig');
  });

  it("sends budget.maxFailedTrials 0 as 1, since Vertex's 0 means 'Vertex decides'; the trial override goes as is", () => {
    const zero = specWith((s) => (s.budget = { ...s.budget, maxFailedTrials: 0 } as Input['budget']));
    expect(buildHyperparameterTuningJob(zero, JOB).maxFailedTrialCount).toBe(1);
    const override = specWith((s) => {
      s.budget = { ...s.budget, maxFailedTrials: 3 } as Input['budget'];
      trialOf(s)['maxFailedTrials'] = 0;
    });
    expect(buildHyperparameterTuningJob(override, JOB).maxFailedTrialCount).toBe(0);
    expect(buildHyperparameterTuningJob(specWith(() => {}), JOB)).not.toHaveProperty('maxFailedTrialCount');
  });

  it('defaults acceleratorCount to 1 and lowercases the job id label', () => {
    const spec = specWith((s) => (poolOf(s)['acceleratorType'] = 'NVIDIA_L4'));
    const job = buildHyperparameterTuningJob(spec, { jobId: 'Rule-Test-ABC', providerJobName: 'x' });
    expect(job.trialJobSpec?.workerPoolSpecs?.[0]?.machineSpec).toEqual({ machineType: 'n1-standard-4', acceleratorType: 'NVIDIA_L4', acceleratorCount: 1 });
    expect(job.labels).toEqual({ 'tunewire-job-id': 'rule-test-abc' });
  });

  it('sends nothing for a spec Vertex would refuse: it throws SpecValidationError', () => {
    const bad = specWith((s) => (s.strategy = 'hyperband'));
    expect(() => buildHyperparameterTuningJob(bad, JOB)).toThrow(SpecValidationError);
  });
});

describe('vertexDisplayName', () => {
  it('is the spec name and the job id, or the override and the job id', () => {
    expect(vertexDisplayName(specWith(() => {}), 'rule-test-7h3k')).toBe('rule-test (rule-test-7h3k)');
    expect(vertexDisplayName(fullSpec(), JOB.jobId)).toBe('Churn weekly retune (churn-vertex-4k2m9x0abc)');
  });

  it('cuts the name, never the job id, to stay within 128 characters', () => {
    const long = specWith((s) => (trialOf(s)['displayName'] = 'é'.repeat(96)));
    const name = vertexDisplayName(long, 'x'.repeat(40));
    expect([...name]).toHaveLength(128);
    expect(name.endsWith(` (${'x'.repeat(40)})`)).toBe(true);
  });
});

describe('toApiJson', () => {
  it('writes the REST form: int64 as strings, durations as "7200s", enums by name', () => {
    const json = toApiJson(buildHyperparameterTuningJob(fullSpec(), JOB));
    expect(at(json, 'studySpec.parameters[1]')).toEqual({ parameterId: 'max_depth', integerValueSpec: { minValue: '3', maxValue: '10' }, scaleType: 'UNIT_LINEAR_SCALE' });
    expect(at(json, 'studySpec.studyStoppingConfig')).toEqual({ maximumRuntimeConstraint: { maxDuration: '86400s' } });
    expect(at(json, 'trialJobSpec.scheduling')).toEqual({ timeout: '7200s', restartJobOnWorkerRestart: true });
    expect(at(json, 'trialJobSpec.workerPoolSpecs[1].replicaCount')).toBe('3');
    expect(at(json, 'trialJobSpec.workerPoolSpecs[2]')).toEqual({});
    expect(at(json, 'maxTrialCount')).toBe(40);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it("matches protobufjs's own JSON for everything but durations", () => {
    const job = buildHyperparameterTuningJob(fullSpec(), JOB);
    const reference = V1.HyperparameterTuningJob.fromObject(job).toJSON();
    (at(reference, 'studySpec.studyStoppingConfig.maximumRuntimeConstraint') as Record<string, unknown>)['maxDuration'] = '86400s';
    (at(reference, 'trialJobSpec.scheduling') as Record<string, unknown>)['timeout'] = '7200s';
    expect(toApiJson(job)).toEqual(reference);
  });

  it('converts what the client reads back: enum numbers, Longs, timestamps, Values, oneof markers, nulls', () => {
    const Type = V1.HyperparameterTuningJob;
    const read = Type.toObject(
      Type.decode(
        Type.encode(
          Type.fromObject({
            name: 'projects/1/locations/us-central1/hyperparameterTuningJobs/77',
            state: 'JOB_STATE_RUNNING',
            updateTime: { seconds: 1_741_000_000, nanos: 250_000_000 },
            studySpec: { metrics: [{ metricId: 'auc', goal: 'MAXIMIZE' }], parameters: [{ parameterId: 'd', integerValueSpec: { minValue: 1, maxValue: 9 } }] },
            trials: [
              {
                id: '1',
                state: 'SUCCEEDED',
                parameters: [{ parameterId: 'd', value: { numberValue: 4 } }],
                finalMeasurement: { stepCount: 10, elapsedDuration: { seconds: 90, nanos: 500_000_000 }, metrics: [{ metricId: 'auc', value: 0.91 }] },
              },
            ],
          }),
        ).finish(),
      ),
      // google-gax reads with longs: String, enums: String; Longs and enum numbers here prove both are converted
      { enums: Number, defaults: true, oneofs: true },
    );
    const json = toApiJson(read);
    expect(at(json, 'state')).toBe('JOB_STATE_RUNNING');
    expect(at(json, 'updateTime')).toBe('2025-03-03T11:06:40.250Z');
    expect(at(json, 'studySpec.metrics')).toEqual([{ metricId: 'auc', goal: 'MAXIMIZE' }]);
    expect(at(json, 'studySpec.parameters[0]')).toEqual({
      parameterId: 'd',
      integerValueSpec: { minValue: '1', maxValue: '9' },
      scaleType: 'SCALE_TYPE_UNSPECIFIED',
      conditionalParameterSpecs: [],
    });
    expect(at(json, 'trials[0].state')).toBe('SUCCEEDED');
    expect(at(json, 'trials[0].parameters')).toEqual([{ parameterId: 'd', value: 4 }]);
    expect(at(json, 'trials[0].finalMeasurement')).toEqual({ stepCount: '10', elapsedDuration: '90.500s', metrics: [{ metricId: 'auc', value: 0.91 }] });
  });
});

describe('vertexSpecIssues', () => {
  it('accepts the full spec, the small spec and examples/vertex-tabular/spec.yaml', () => {
    expect(vertexSpecIssues(fullSpec())).toEqual([]);
    expect(vertexSpecIssues(specWith(() => {}))).toEqual([]);
    const example = parseSpecText(readFileSync(new URL('../../../../examples/vertex-tabular/spec.yaml', import.meta.url), 'utf8'));
    expect(example.provider).toBe('vertex');
    expect(vertexSpecIssues(example)).toEqual([]);
    const trial = parseVertexTrialSpec(example);
    expect(vertexParent(trial)).toBe('projects/tunewire-demo/locations/us-central1');
    expect(buildHyperparameterTuningJob(example, JOB).trialJobSpec?.workerPoolSpecs?.[0]?.containerSpec?.args).toContain('--num_round=300');
  });

  const rules: [string, (s: Input) => void, string, RegExp][] = [
    ['a missing trial field', (s) => delete trialOf(s)['project'], 'trial.project', /expected string/],
    ['an unknown trial field', (s) => (trialOf(s)['region'] = 'us-central1'), 'trial.region', /not a known field/],
    ['a bad location', (s) => (trialOf(s)['location'] = 'US Central'), 'trial.location', /region/],
    ['a bad project', (s) => (trialOf(s)['project'] = 'My_Project'), 'trial.project', /project id/],
    ['a bad machine type', (s) => (poolOf(s)['machineType'] = 'N1 standard'), 'trial.workerPoolSpecs[0].machineType', /machine type/],
    ['a missing machine type', (s) => delete poolOf(s)['machineType'], 'trial.workerPoolSpecs[0].machineType', /required/],
    ['a chief with two replicas', (s) => (poolOf(s)['replicaCount'] = 2), 'trial.workerPoolSpecs[0].replicaCount', /must be 1/],
    ['an empty chief', (s) => (s.trial.workerPoolSpecs = [{}] as Input['trial']['workerPoolSpecs']), 'trial.workerPoolSpecs[0]', /first pool/],
    ['five pools', (s) => (s.trial.workerPoolSpecs = Array(5).fill(poolOf(s))), 'trial.workerPoolSpecs', /at most 4/],
    ['a pool with both tasks', (s) => (poolOf(s)['pythonPackage'] = { executorImageUri: 'i', packageUris: ['gs://b-1/p.tgz'], pythonModule: 'a.b' }), 'trial.workerPoolSpecs[0]', /exactly one of container, pythonPackage/],
    ['a pool with no task', (s) => delete poolOf(s)['container'], 'trial.workerPoolSpecs[0]', /exactly one/],
    ['an unknown accelerator', (s) => (poolOf(s)['acceleratorType'] = 'NVIDIA_GTX_1080'), 'trial.workerPoolSpecs[0].acceleratorType', /must be one of/],
    ['a count without accelerator', (s) => (poolOf(s)['acceleratorCount'] = 2), 'trial.workerPoolSpecs[0].acceleratorCount', /needs acceleratorType/],
    ['an unknown disk type', (s) => (poolOf(s)['diskType'] = 'local-ssd'), 'trial.workerPoolSpecs[0].diskType', /pd-ssd/],
    ['a small disk', (s) => (poolOf(s)['diskSizeGb'] = 50), 'trial.workerPoolSpecs[0].diskSizeGb', /at least 100/],
    ['a bad env name', (s) => (poolOf(s)['container'] = { imageUri: 'i', env: [{ name: '1X', value: 'v' }] }), 'trial.workerPoolSpecs[0].container.env[0].name', /C identifier/],
    ['a repeated env name', (s) => (poolOf(s)['container'] = { imageUri: 'i', env: [{ name: 'X', value: '1' }, { name: 'X', value: '2' }] }), 'trial.workerPoolSpecs[0].container.env[1].name', /repeats/],
    ['a package outside gs://', (s) => (s.trial.workerPoolSpecs = [{ machineType: 'n1-standard-4', pythonPackage: { executorImageUri: 'i', packageUris: ['https://x/p.tgz'], pythonModule: 'a.b' } }] as never), 'trial.workerPoolSpecs[0].pythonPackage.packageUris[0]', /gs:\/\//],
    ['a bad python module', (s) => (s.trial.workerPoolSpecs = [{ machineType: 'n1-standard-4', pythonPackage: { executorImageUri: 'i', packageUris: ['gs://bkt/p.tgz'], pythonModule: 'trainer/task.py' } }] as never), 'trial.workerPoolSpecs[0].pythonPackage.pythonModule', /module/],
    ['an output directory outside gs://', (s) => (s.trial.baseOutputDirectory = 's3://bucket/out'), 'trial.baseOutputDirectory', /gs:\/\//],
    ['a missing output directory', (s) => delete trialOf(s)['baseOutputDirectory'], 'trial.baseOutputDirectory', /expected string/],
    ['a bad KMS key', (s) => (trialOf(s)['encryptionKey'] = 'projects/p/keyRings/k/cryptoKeys/c'), 'trial.encryptionKey', /keyRings/],
    ['a KMS key in another region', (s) => (trialOf(s)['encryptionKey'] = 'projects/p/locations/us-east1/keyRings/k/cryptoKeys/c'), 'trial.encryptionKey', /job's location europe-west4/],
    ['a bad tensorboard', (s) => {
      trialOf(s)['tensorboard'] = 'tensorboards/1';
      trialOf(s)['serviceAccount'] = 'sa@p.iam.gserviceaccount.com';
    }, 'trial.tensorboard', /tensorboards/],
    ['a tensorboard without service account', (s) => (trialOf(s)['tensorboard'] = 'projects/p/locations/europe-west4/tensorboards/1'), 'trial.serviceAccount', /required when tensorboard/],
    ['a bad network', (s) => (trialOf(s)['network'] = 'projects/my-project/global/networks/vpc'), 'trial.network', /project number/],
    ['ranges without network', (s) => (trialOf(s)['reservedIpRanges'] = ['r']), 'trial.reservedIpRanges', /needs network/],
    ['a zero timeout', (s) => (trialOf(s)['timeoutSeconds'] = 0), 'trial.timeoutSeconds', /at least 1/],
    ['a long display name', (s) => (trialOf(s)['displayName'] = 'n'.repeat(97)), 'trial.displayName', /at most 96 characters: Vertex allows 128/],
    ['hyperband', (s) => (s.strategy = 'hyperband'), 'strategy', /not supported on Vertex/],
    ['grid over a double', (s) => (s.strategy = 'grid'), 'parameters[1].type', /grid search takes only integer, categorical and discrete/],
    ['log scale from 0', (s) => (s.parameters[1] = { name: 'lr', type: 'double', min: 0, max: 0.1, scale: 'log' } as never), 'parameters[1].min', /above 0 for scale log/],
    ['reverse log scale below 0', (s) => (s.parameters[1] = { name: 'lr', type: 'double', min: -1, max: 0.5, scale: 'reverse_log' } as never), 'parameters[1].min', /above 0 for scale reverse_log/],
    ['integer log scale from 0', (s) => (s.parameters[0] = { name: 'depth', type: 'integer', min: 0, max: 8, scale: 'log' } as never), 'parameters[0].min', /above 0/],
    ['discrete values too close', (s) => (s.parameters[0] = { name: 'depth', type: 'discrete', values: [1, 1 + 1e-12] } as never), 'parameters[0].values', /1e-10/],
    ['too many discrete values', (s) => (s.parameters[0] = { name: 'depth', type: 'discrete', values: Array.from({ length: 1001 }, (_, i) => i) } as never), 'parameters[0].values', /at most 1000/],
    ['a metric with a space', (s) => (s.objective = { metric: 'val auc', goal: 'maximize' }), 'objective.metric', /whitespace/],
    ['a static name with "="', (s) => (s['staticHyperparameters'] = { 'a=b': '1' }), 'staticHyperparameters.a=b', /--name=value/],
    ['a target objective', (s) => (s.budget = { ...s.budget, targetObjective: 0.9 } as Input['budget']), 'budget.targetObjective', /no objective-value stopping/],
    ['a warm start', (s) => (s['warmStart'] = { from: ['job-1'], type: 'transfer_learning' }), 'warmStart', /cannot start from earlier jobs/],
    ['an uppercase label key', (s) => (s['labels'] = { Team: 'growth' }), 'labels.Team', /key must be/],
    ['a label key starting with a digit', (s) => (s['labels'] = { '1team': 'growth' }), 'labels.1team', /starting with a lowercase letter/],
    ['an uppercase label value', (s) => (s['labels'] = { team: 'Growth' }), 'labels.team', /value must be/],
    ['a 65-character label value', (s) => (s['labels'] = { team: 'g'.repeat(65) }), 'labels.team', /at most 64/],
    ['a 65-character label key', (s) => (s['labels'] = { ['k'.repeat(65)]: 'v' }), `labels.${'k'.repeat(65)}`, /1-64/],
    ["tunewire's own label", (s) => (s['labels'] = { 'tunewire-job-id': 'x' }), 'labels.tunewire-job-id', /reserved/],
    ['64 labels', (s) => (s['labels'] = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`l${i}`, 'v']))), 'labels', /at most 63 labels/],
  ];

  it.each(rules)('names the field for %s', (_, change, path, message) => {
    const issues = vertexSpecIssues(specWith(change));
    expect(issues).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  it('names a parameter name with a space, even in a spec built without the schema (which refuses it first)', () => {
    const spec = specWith(() => {});
    const spaced = { ...spec, parameters: [{ name: 'max depth', type: 'integer' as const, min: 1, max: 8, scale: 'auto' as const }] };
    expect(vertexSpecIssues(spaced)).toEqual([{ path: 'parameters[0].name', message: expect.stringMatching(/whitespace/) }]);
  });

  it('refuses integer bounds beyond 2^53, even in a spec built without the schema', () => {
    const spec = specWith(() => {});
    const unsafe = { ...spec, parameters: [{ name: 'depth', type: 'integer' as const, min: 1, max: 2 ** 60, scale: 'auto' as const }] };
    expect(vertexSpecIssues(unsafe)).toEqual([{ path: 'parameters[0].max', message: expect.stringMatching(/safe integer/) }]);
  });

  it('allows international lowercase labels and 64-character keys and values', () => {
    const spec = specWith((s) => (s['labels'] = { équipe: 'données', ['k'.repeat(64)]: 'v'.repeat(64), empty: '' }));
    expect(vertexSpecIssues(spec)).toEqual([]);
  });

  it('reports trial-section and shared-field problems together', () => {
    const spec = specWith((s) => {
      poolOf(s)['machineType'] = 'N1';
      s.strategy = 'hyperband';
    });
    expect(vertexSpecIssues(spec).map((i) => i.path)).toEqual(['trial.workerPoolSpecs[0].machineType', 'strategy']);
  });
});
