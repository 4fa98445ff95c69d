import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildMlEngineJob, mlEngineArgs, mlEngineJobId, mlEngineJobName, parseMlEngineJobName } from '../../../../shared/adapters/mlengine/mlengine-request';
import { mlEngineSpecIssues, parseMlEngineTrialSpec } from '../../../../shared/adapters/mlengine/mlengine-spec';
import { ProviderError, SpecValidationError } from '../../../../shared/domain/errors';
import { deriveJobId } from '../../../../shared/domain/job';
import { parseSpec, parseSpecText, type TuningSpec } from '../../../../shared/domain/spec';

const repoRoot = join(import.meta.dirname, '..', '..', '..', '..');

const baseTrial = {
  project: 'tunewire-demo',
  region: 'us-central1',
  scaleTier: 'BASIC',
  packageUris: ['gs://tunewire-demo-ml/census/trainer-0.1.tar.gz'],
  pythonModule: 'trainer.task',
};

/** A small valid spec; `overrides` replace top-level fields, `trial` is merged into the base trial. */
function spec(overrides: Record<string, unknown> = {}, trial: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name: 'census',
    provider: 'mlengine',
    objective: { metric: 'accuracy', goal: 'maximize' },
    parameters: [{ name: 'first-layer-size', type: 'integer', min: 50, max: 500 }],
    strategy: 'random',
    budget: { maxTrials: 4 },
    trial: { ...baseTrial, ...trial },
    ...overrides,
  });
}

function issuesOf(s: TuningSpec): { path: string; message: string }[] {
  return mlEngineSpecIssues(s).map((i) => ({ path: i.path, message: i.message }));
}

function pathsOf(s: TuningSpec): string[] {
  return issuesOf(s).map((i) => i.path);
}

describe('mlEngineJobId', () => {
  it('turns dashes into underscores', () => {
    expect(mlEngineJobId('census-mlengine-4k2m9x0abc')).toBe('census_mlengine_4k2m9x0abc');
  });

  it('puts a letter in front of an id that starts with a digit', () => {
    expect(mlEngineJobId('2024-retune-ab')).toBe('T2024_retune_ab');
  });

  it('is deterministic and keeps derived ids apart', () => {
    const a = deriveJobId('census', 'key-1');
    const b = deriveJobId('census', 'key-2');
    expect(mlEngineJobId(a)).toBe(mlEngineJobId(a));
    expect(mlEngineJobId(a)).not.toBe(mlEngineJobId(b));
    expect(mlEngineJobId(a)).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,127}$/);
  });

  it('refuses an id that cannot become one', () => {
    expect(() => mlEngineJobId('has.dots')).toThrow(ProviderError);
    expect(() => mlEngineJobId('x'.repeat(129))).toThrow(ProviderError);
  });

  it('names and parses resource names', () => {
    expect(mlEngineJobName('p-123456', 'job_1')).toBe('projects/p-123456/jobs/job_1');
    expect(parseMlEngineJobName('projects/p-123456/jobs/job_1')).toEqual({ project: 'p-123456', jobId: 'job_1' });
    expect(parseMlEngineJobName('projects/p/models/m')).toBeUndefined();
  });
});

describe('buildMlEngineJob', () => {
  it('maps a spec with every field to the exact create body', () => {
    const full = parseSpec({
      name: 'census-full',
      provider: 'mlengine',
      objective: { metric: 'accuracy', goal: 'minimize' },
      parameters: [
        { name: 'learning-rate', type: 'double', min: 0.0001, max: 0.1, scale: 'log' },
        { name: 'scale-factor', type: 'double', min: 0.1, max: 1, scale: 'reverse_log' },
        { name: 'dropout', type: 'double', min: 0, max: 0.5 },
        { name: 'first-layer-size', type: 'integer', min: 50, max: 500, scale: 'linear' },
        { name: 'optimizer', type: 'categorical', values: ['adam', 'sgd', 1] },
        { name: 'num-layers', type: 'discrete', values: [1, 2, 4.5] },
      ],
      strategy: 'bayesian',
      budget: { maxTrials: 40, parallelTrials: 4, maxFailedTrials: 5, maxRuntimeSeconds: 86400 },
      earlyStopping: 'auto',
      measurementSelection: 'last',
      staticHyperparameters: { 'train-steps': 1000, 'eval-steps': '100' },
      warmStart: { from: ['census-full-aaaaaaaaaa'], type: 'transfer_learning' },
      trial: {
        project: 'tunewire-demo',
        region: 'europe-west4',
        scaleTier: 'CUSTOM',
        masterType: 'n1-standard-8',
        masterConfig: { acceleratorConfig: { type: 'NVIDIA_TESLA_V100', count: 2 } },
        workerType: 'n1-standard-4',
        workerCount: 3,
        workerConfig: { acceleratorConfig: { type: 'NVIDIA_TESLA_K80', count: 1 } },
        parameterServerType: 'n1-highmem-8',
        parameterServerCount: 1,
        parameterServerConfig: {},
        packageUris: ['gs://tunewire-demo-ml/census/trainer-0.1.tar.gz', 'gs://tunewire-demo-ml/deps/extra-1.0.whl'],
        pythonModule: 'trainer.task',
        runtimeVersion: '1.15',
        pythonVersion: '3.7',
        jobDir: 'gs://tunewire-demo-ml/census/jobs/',
        args: ['--train-files=gs://cloud-samples-data/ml-engine/census/data/adult.data.csv', '--verbosity', 'INFO'],
        hyperparameterMetricTag: 'metrics/accuracy',
      },
      promotion: { model: 'census', minImprovement: 0.002 },
      labels: { team: 'growth', cost_center: 'ml-42' },
    });
    const parent = { provider: 'mlengine' as const, providerJobName: 'census_full_aaaaaaaaaa', providerJobId: 'projects/tunewire-demo/jobs/census_full_aaaaaaaaaa' };

    const body = buildMlEngineJob(full, { jobId: 'census-full-bbbbbbbbbb', providerJobName: 'census_full_bbbbbbbbbb', warmStartParents: [parent] });

    expect(body).toStrictEqual({
      jobId: 'census_full_bbbbbbbbbb',
      labels: { team: 'growth', cost_center: 'ml-42', 'tunewire-job-id': 'census-full-bbbbbbbbbb' },
      trainingInput: {
        scaleTier: 'CUSTOM',
        masterType: 'n1-standard-8',
        masterConfig: { acceleratorConfig: { count: '2', type: 'NVIDIA_TESLA_V100' } },
        workerType: 'n1-standard-4',
        workerCount: '3',
        workerConfig: { acceleratorConfig: { count: '1', type: 'NVIDIA_TESLA_K80' } },
        parameterServerType: 'n1-highmem-8',
        parameterServerCount: '1',
        parameterServerConfig: {},
        packageUris: ['gs://tunewire-demo-ml/census/trainer-0.1.tar.gz', 'gs://tunewire-demo-ml/deps/extra-1.0.whl'],
        pythonModule: 'trainer.task',
        args: [
          '--train-files=gs://cloud-samples-data/ml-engine/census/data/adult.data.csv',
          '--verbosity',
          'INFO',
          '--eval-steps=100',
          '--train-steps=1000',
        ],
        hyperparameters: {
          goal: 'MINIMIZE',
          params: [
            { parameterName: 'learning-rate', type: 'DOUBLE', minValue: 0.0001, maxValue: 0.1, scaleType: 'UNIT_LOG_SCALE' },
            { parameterName: 'scale-factor', type: 'DOUBLE', minValue: 0.1, maxValue: 1, scaleType: 'UNIT_REVERSE_LOG_SCALE' },
            { parameterName: 'dropout', type: 'DOUBLE', minValue: 0, maxValue: 0.5, scaleType: 'UNIT_LINEAR_SCALE' },
            { parameterName: 'first-layer-size', type: 'INTEGER', minValue: 50, maxValue: 500, scaleType: 'UNIT_LINEAR_SCALE' },
            { parameterName: 'optimizer', type: 'CATEGORICAL', categoricalValues: ['adam', 'sgd', '1'] },
            { parameterName: 'num-layers', type: 'DISCRETE', discreteValues: [1, 2, 4.5] },
          ],
          maxTrials: 40,
          maxParallelTrials: 4,
          maxFailedTrials: 5,
          hyperparameterMetricTag: 'metrics/accuracy',
          enableTrialEarlyStopping: true,
          resumePreviousJobId: 'census_full_aaaaaaaaaa',
          algorithm: 'ALGORITHM_UNSPECIFIED',
        },
        region: 'europe-west4',
        runtimeVersion: '1.15',
        pythonVersion: '3.7',
        jobDir: 'gs://tunewire-demo-ml/census/jobs/',
        maxRunningTime: '86400s',
      },
    });
  });

  it('maps a custom container job without packages or runtime version', () => {
    const s = spec(
      { budget: { maxTrials: 2 } },
      {
        packageUris: [],
        pythonModule: undefined,
        masterConfig: { imageUri: 'gcr.io/tunewire-demo/census-trainer:1.2' },
      },
    );
    const body = buildMlEngineJob(s, { jobId: 'census-cccccccccc', providerJobName: 'census_cccccccccc' });
    expect(body.trainingInput).toStrictEqual({
      scaleTier: 'BASIC',
      masterConfig: { imageUri: 'gcr.io/tunewire-demo/census-trainer:1.2' },
      hyperparameters: {
        goal: 'MAXIMIZE',
        params: [{ parameterName: 'first-layer-size', type: 'INTEGER', minValue: 50, maxValue: 500, scaleType: 'UNIT_LINEAR_SCALE' }],
        maxTrials: 2,
        maxParallelTrials: 1,
        hyperparameterMetricTag: 'accuracy',
        enableTrialEarlyStopping: false,
        algorithm: 'RANDOM_SEARCH',
      },
      region: 'us-central1',
    });
  });

  it('defaults hyperparameterMetricTag to the objective metric and maps grid to GRID_SEARCH', () => {
    const body = buildMlEngineJob(spec({ strategy: 'grid' }), { jobId: 'census-dddddddddd', providerJobName: 'census_dddddddddd' });
    expect(body.trainingInput?.hyperparameters?.hyperparameterMetricTag).toBe('accuracy');
    expect(body.trainingInput?.hyperparameters?.algorithm).toBe('GRID_SEARCH');
  });

  it('sends maxFailedTrials 0 as 1: ML Engine reads 0 as "the service decides"', () => {
    const body = buildMlEngineJob(spec({ budget: { maxTrials: 4, maxFailedTrials: 0 } }), { jobId: 'census-eeeeeeeeee', providerJobName: 'census_eeeeeeeeee' });
    expect(body.trainingInput?.hyperparameters?.maxFailedTrials).toBe(1);
  });

  it('maps a warm-start parent it was not given a ref for by its job id', () => {
    const s = spec({ warmStart: { from: ['census-aaaaaaaaaa'], type: 'identical_data_and_algorithm' } });
    const body = buildMlEngineJob(s, { jobId: 'census-ffffffffff', providerJobName: 'census_ffffffffff' });
    expect(body.trainingInput?.hyperparameters?.resumePreviousJobId).toBe('census_aaaaaaaaaa');
  });

  it('refuses a warm-start parent from another project', () => {
    const s = spec({ warmStart: { from: ['census-aaaaaaaaaa'], type: 'identical_data_and_algorithm' } });
    const parent = { provider: 'mlengine' as const, providerJobName: 'census_aaaaaaaaaa', providerJobId: 'projects/other-project/jobs/census_aaaaaaaaaa' };
    const build = () => buildMlEngineJob(s, { jobId: 'census-ffffffffff', providerJobName: 'census_ffffffffff', warmStartParents: [parent] });
    expect(build).toThrow(SpecValidationError);
    try {
      build();
    } catch (error) {
      expect((error as SpecValidationError).issues.map((i) => i.path)).toEqual(['warmStart.from[0]']);
    }
  });

  it('sorts static hyperparameters after the trial args', () => {
    const s = spec({ staticHyperparameters: { zeta: '1', alpha: 'two words' } }, { args: ['--first'] });
    expect(mlEngineArgs(s, parseMlEngineTrialSpec(s))).toEqual(['--first', '--alpha=two words', '--zeta=1']);
  });

  it('refuses to render an invalid spec', () => {
    expect(() => buildMlEngineJob(spec({ strategy: 'hyperband' }), { jobId: 'census-gggggggggg', providerJobName: 'census_gggggggggg' })).toThrow(SpecValidationError);
  });
});

describe('mlEngineSpecIssues', () => {
  it('accepts a plain valid spec', () => {
    expect(issuesOf(spec())).toEqual([]);
  });

  it('accepts examples/mlengine-census/spec.yaml', () => {
    const example = parseSpecText(readFileSync(join(repoRoot, 'examples', 'mlengine-census', 'spec.yaml'), 'utf8'));
    expect(issuesOf(example)).toEqual([]);
    expect(example.provider).toBe('mlengine');
    expect(example.parameters.some((p) => p.type === 'discrete')).toBe(true);
  });

  describe('parameters', () => {
    it('wants discrete values strictly increasing', () => {
      const s = spec({ parameters: [{ name: 'layers', type: 'discrete', values: [1, 3, 2] }] });
      expect(issuesOf(s)).toEqual([{ path: 'parameters[0].values', message: expect.stringContaining('strictly increasing') }]);
    });

    it('takes at most 1,000 discrete values', () => {
      const values = Array.from({ length: 1001 }, (_, i) => i);
      expect(pathsOf(spec({ parameters: [{ name: 'k', type: 'discrete', values }] }))).toEqual(['parameters[0].values']);
      expect(pathsOf(spec({ parameters: [{ name: 'k', type: 'discrete', values: values.slice(0, 1000) }] }))).toEqual([]);
    });

    it('wants a strictly positive range for log and reverse_log scales', () => {
      const s = spec({
        parameters: [
          { name: 'a', type: 'double', min: 0, max: 1, scale: 'log' },
          { name: 'b', type: 'double', min: -1, max: 1, scale: 'reverse_log' },
          { name: 'c', type: 'double', min: 0.001, max: 1, scale: 'log' },
        ],
      });
      expect(issuesOf(s)).toEqual([
        { path: 'parameters[0].min', message: expect.stringContaining('UNIT_LOG_SCALE') },
        { path: 'parameters[1].min', message: expect.stringContaining('UNIT_REVERSE_LOG_SCALE') },
      ]);
    });

    it('wants max above min', () => {
      expect(pathsOf(spec({ parameters: [{ name: 'a', type: 'integer', min: 3, max: 3 }] }))).toEqual(['parameters[0].max']);
    });

    it('refuses an empty categorical value', () => {
      expect(pathsOf(spec({ parameters: [{ name: 'opt', type: 'categorical', values: ['adam', ''] }] }))).toEqual(['parameters[0].values[1]']);
    });

    it('wants names that work as --name=value flags', () => {
      // the spec schema refuses such a parameter name first; this rule stands behind it
      const named = spec({ parameters: [{ name: 'a', type: 'integer', min: 1, max: 2 }] });
      expect(pathsOf({ ...named, parameters: [{ ...(named.parameters[0] as TuningSpec['parameters'][number]), name: 'a=b' }] })).toEqual(['parameters[0].name']);
      expect(pathsOf(spec({ staticHyperparameters: { 'two words': 'x' } }))).toEqual(['staticHyperparameters.two words']);
    });
  });

  describe('search and budget', () => {
    it('has no hyperband', () => {
      expect(pathsOf(spec({ strategy: 'hyperband' }))).toEqual(['strategy']);
    });

    it('grid-searches only integer, categorical and discrete parameters', () => {
      const s = spec({
        strategy: 'grid',
        parameters: [
          { name: 'a', type: 'integer', min: 1, max: 3 },
          { name: 'b', type: 'double', min: 0, max: 1 },
          { name: 'c', type: 'categorical', values: ['x'] },
          { name: 'd', type: 'discrete', values: [1, 2] },
        ],
      });
      expect(pathsOf(s)).toEqual(['parameters[1].type']);
    });

    it('measures the last value only', () => {
      expect(pathsOf(spec({ measurementSelection: 'best' }))).toEqual(['measurementSelection']);
      expect(pathsOf(spec({ measurementSelection: 'last' }))).toEqual([]);
    });

    it('has no target objective', () => {
      expect(pathsOf(spec({ budget: { maxTrials: 4, targetObjective: 0.9 } }))).toEqual(['budget.targetObjective']);
    });

    it('keeps trial counts within int32', () => {
      expect(pathsOf(spec({ budget: { maxTrials: 2 ** 31, parallelTrials: 1 } }))).toEqual(['budget.maxTrials']);
    });

    it('resumes one parent job at most', () => {
      expect(pathsOf(spec({ warmStart: { from: ['a-1', 'b-2'], type: 'transfer_learning' } }))).toEqual(['warmStart.from']);
    });
  });

  describe('labels', () => {
    it('follows the label rules', () => {
      const s = spec({ labels: { Team: 'growth', team: 'Growth', ok: 'fine', 'tunewire-job-id': 'x' } });
      expect(pathsOf(s)).toEqual(['labels.Team', 'labels.team', 'labels.tunewire-job-id']);
    });

    it('leaves room for the tunewire-job-id label', () => {
      const labels = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v']));
      expect(pathsOf(spec({ labels }))).toEqual(['labels']);
    });
  });

  describe('trial section', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['refuses fields of newer API versions', { scheduling: { maxRunningTime: '3600s' } }, 'trial.scheduling'],
      ['takes the running time from the budget', { maxRunningTime: '3600s' }, 'trial.maxRunningTime'],
      ['refuses a service account (not in this API version)', { serviceAccount: 'a@b.iam.gserviceaccount.com' }, 'trial.serviceAccount'],
      ['refuses an unknown field', { pythonModul: 'x' }, 'trial.pythonModul'],
      ['needs a region', { region: undefined }, 'trial.region'],
      ['needs a known scale tier', { scaleTier: 'HUGE' }, 'trial.scaleTier'],
      ['needs a project id that is one', { project: 'Not_A_Project' }, 'trial.project'],
      ['needs masterType for CUSTOM', { scaleTier: 'CUSTOM' }, 'trial.masterType'],
      ['takes machine counts only for CUSTOM', { workerCount: 2 }, 'trial.workerCount'],
      ['takes machine types only for CUSTOM', { masterType: 'standard' }, 'trial.masterType'],
      ['needs workerType for workers', { scaleTier: 'CUSTOM', masterType: 'standard', workerCount: 2 }, 'trial.workerType'],
      ['needs parameterServerType for parameter servers', { scaleTier: 'CUSTOM', masterType: 'standard', parameterServerCount: 1 }, 'trial.parameterServerType'],
      ['needs one kind of machine type', { scaleTier: 'CUSTOM', masterType: 'standard', workerType: 'n1-standard-4', workerCount: 1 }, 'trial.workerType'],
      ['needs a known machine type', { scaleTier: 'CUSTOM', masterType: 'e2-standard-4' }, 'trial.masterType'],
      [
        'takes accelerators only on Compute Engine machine types',
        { scaleTier: 'CUSTOM', masterType: 'standard_gpu', masterConfig: { acceleratorConfig: { type: 'NVIDIA_TESLA_K80', count: 1 } } },
        'trial.masterConfig.acceleratorConfig',
      ],
      ['needs a package', { packageUris: [] }, 'trial.packageUris'],
      ['needs gs:// packages', { packageUris: ['https://example.com/trainer.tar.gz'] }, 'trial.packageUris[0]'],
      ['takes at most 100 packages', { packageUris: Array.from({ length: 101 }, (_, i) => `gs://bucket-x/p${i}.tar.gz`) }, 'trial.packageUris'],
      ['needs a python module', { pythonModule: undefined }, 'trial.pythonModule'],
      ['needs a python module name', { pythonModule: 'trainer/task.py' }, 'trial.pythonModule'],
      ['takes a custom image or a runtime version, not both', { masterConfig: { imageUri: 'gcr.io/tunewire-demo/t:1' }, runtimeVersion: '1.15' }, 'trial.runtimeVersion'],
      ['needs images in Container Registry', { masterConfig: { imageUri: 'docker.io/library/python:3' } }, 'trial.masterConfig.imageUri'],
      ['needs a master image for replica images', { scaleTier: 'CUSTOM', masterType: 'standard', workerType: 'standard', workerCount: 1, workerConfig: { imageUri: 'gcr.io/p-123456/w:1' } }, 'trial.workerConfig.imageUri'],
      ['needs runtime 1.4 or later for Python 3', { pythonVersion: '3.5', runtimeVersion: '1.2' }, 'trial.pythonVersion'],
      ['needs a runtime version for Python 3 (the default is 1.0)', { pythonVersion: '3.5' }, 'trial.pythonVersion'],
      ['needs a version string', { runtimeVersion: 1.15 }, 'trial.runtimeVersion'],
      ['needs a gs:// job dir', { jobDir: '/tmp/jobs' }, 'trial.jobDir'],
      ['needs an accelerator count of at least 1', { scaleTier: 'CUSTOM', masterType: 'n1-standard-4', masterConfig: { acceleratorConfig: { type: 'NVIDIA_TESLA_K80', count: 0 } } }, 'trial.masterConfig.acceleratorConfig.count'],
    ];
    it.each(cases)('%s', (_title, trial, path) => {
      expect(pathsOf(spec({}, trial))).toEqual([path]);
    });

    it('lets cloud_tpu workers join a Compute Engine master', () => {
      expect(pathsOf(spec({}, { scaleTier: 'CUSTOM', masterType: 'n1-standard-8', workerType: 'cloud_tpu', workerCount: 1 }))).toEqual([]);
    });

    it('needs a job dir to promote', () => {
      expect(pathsOf(spec({ promotion: { model: 'census' } }))).toEqual(['trial.jobDir']);
      expect(pathsOf(spec({ promotion: { model: 'census' } }, { jobDir: 'gs://tunewire-demo-ml/jobs' }))).toEqual([]);
    });

    it('refuses args that set what ML Engine passes itself', () => {
      const s = spec(
        { staticHyperparameters: { 'train-steps': '10' } },
        { jobDir: 'gs://tunewire-demo-ml/jobs', args: ['--first-layer-size=3', '--train-steps', '--job-dir=gs://x/y', '--other=1'] },
      );
      expect(pathsOf(s)).toEqual(['trial.args[0]', 'trial.args[1]', 'trial.args[2]']);
    });

    it('reports provider rules before the trial section', () => {
      const s = spec({ strategy: 'hyperband' }, { region: undefined });
      expect(pathsOf(s)).toEqual(['strategy', 'trial.region']);
    });
  });
});
