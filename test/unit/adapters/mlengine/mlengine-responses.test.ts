import { describe, expect, it } from 'vitest';
import { MLENGINE_JOB_STATES, type MlEngineJob } from '../../../../shared/adapters/mlengine/mlengine-request';
import {
  mapMlEngineJobState,
  mapMlEngineTrialState,
  objectiveOf,
  observationFromJob,
  providerBestOutput,
  trialFromOutput,
} from '../../../../shared/adapters/mlengine/mlengine-responses';
import { ProviderError } from '../../../../shared/domain/errors';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';

function spec(overrides: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name: 'census',
    provider: 'mlengine',
    objective: { metric: 'accuracy', goal: 'maximize' },
    parameters: [{ name: 'layers', type: 'integer', min: 1, max: 4 }],
    strategy: 'random',
    budget: { maxTrials: 4 },
    trial: { project: 'tunewire-demo', region: 'us-central1', scaleTier: 'BASIC', packageUris: ['gs://b-1/t.tar.gz'], pythonModule: 'trainer.task', jobDir: 'gs://b-1/spec-jobs' },
    ...overrides,
  });
}

const job: MlEngineJob = {
  jobId: 'census_1',
  state: 'RUNNING',
  createTime: '2025-03-01T10:00:00.123456789Z',
  startTime: '2025-03-01T10:02:00Z',
  trainingInput: { scaleTier: 'BASIC', region: 'us-central1', jobDir: 'gs://b-1/jobs/', hyperparameters: { goal: 'MINIMIZE', params: [] } },
};

describe('ML Engine job states', () => {
  it.each([
    ['STATE_UNSPECIFIED', 'pending'],
    ['QUEUED', 'pending'],
    ['PREPARING', 'pending'],
    ['RUNNING', 'running'],
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['CANCELLING', 'stopping'],
    ['CANCELLED', 'stopped'],
  ])('maps %s to %s', (state, status) => {
    expect(mapMlEngineJobState(state)).toBe(status);
  });

  it('covers every state the API has', () => {
    for (const state of MLENGINE_JOB_STATES) expect(() => mapMlEngineJobState(state)).not.toThrow();
  });

  it('refuses a state it does not know', () => {
    expect(() => mapMlEngineJobState('PAUSED')).toThrow(ProviderError);
    expect(() => mapMlEngineJobState('toString')).toThrow(ProviderError);
  });
});

describe('ML Engine trial states', () => {
  it('reads a listed trial without a state as succeeded (the reference lists successful trials)', () => {
    expect(mapMlEngineTrialState({})).toBe('succeeded');
  });

  it('reads an early-stopped trial as stopped', () => {
    expect(mapMlEngineTrialState({ isTrialStoppedEarly: true })).toBe('stopped');
    expect(mapMlEngineTrialState({ state: 'SUCCEEDED', isTrialStoppedEarly: true })).toBe('stopped');
  });

  it.each([
    ['QUEUED', 'pending'],
    ['RUNNING', 'running'],
    ['CANCELLING', 'running'],
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['CANCELLED', 'stopped'],
  ])('maps a trial state %s to %s', (state, status) => {
    expect(mapMlEngineTrialState({ state })).toBe(status);
  });
});

describe('observationFromJob', () => {
  it('observes at the job latest time, with trial counts and the best trial for the job goal', () => {
    const observation = observationFromJob({
      ...job,
      trainingOutput: {
        completedTrialCount: '3',
        trials: [
          { trialId: '1', finalMetric: { objectiveValue: 0.4 } },
          { trialId: '2', finalMetric: { objectiveValue: 0.2 }, isTrialStoppedEarly: true },
          { trialId: '3', finalMetric: { objectiveValue: 0.3 } },
          { trialId: '4', state: 'RUNNING' },
        ],
      },
    });
    expect(observation).toEqual({
      status: 'running',
      providerStatus: 'RUNNING',
      observedAt: '2025-03-01T10:02:00.000Z',
      trialCounts: { succeeded: 2, stopped: 1, running: 1 },
      providerBestTrialId: '2',
    });
  });

  it('keeps the error message as the failure reason', () => {
    const observation = observationFromJob({ ...job, state: 'FAILED', endTime: '2025-03-01T11:00:00Z', errorMessage: 'The replica master 0 exited with a non-zero status of 1.' });
    expect(observation.status).toBe('failed');
    expect(observation.observedAt).toBe('2025-03-01T11:00:00.000Z');
    expect(observation.failureReason).toBe('The replica master 0 exited with a non-zero status of 1.');
  });

  it('counts completed trials when the list is absent', () => {
    expect(observationFromJob({ ...job, trainingOutput: { completedTrialCount: '5' } }).trialCounts).toEqual({ succeeded: 5 });
  });

  it('falls back to the given time when the job has none', () => {
    expect(observationFromJob({ jobId: 'x', state: 'QUEUED' }, new Date('2025-01-01T00:00:00Z')).observedAt).toBe('2025-01-01T00:00:00.000Z');
  });
});

describe('providerBestOutput', () => {
  const withTrials = (goal: 'MAXIMIZE' | 'MINIMIZE', trials: NonNullable<MlEngineJob['trainingOutput']>['trials']): MlEngineJob => ({
    ...job,
    trainingInput: { scaleTier: 'BASIC', region: 'us-central1', hyperparameters: { goal, params: [] } },
    trainingOutput: { trials },
  });

  it('takes the best final metric for the goal; a tie goes to the trial listed first', () => {
    const trials = [
      { trialId: '9', finalMetric: { objectiveValue: 0.5 } },
      { trialId: '2', finalMetric: { objectiveValue: 0.5 } },
      { trialId: '4', finalMetric: { objectiveValue: 0.7 } },
    ];
    expect(providerBestOutput(withTrials('MINIMIZE', trials))?.trialId).toBe('9');
    expect(providerBestOutput(withTrials('MINIMIZE', [...trials].reverse()))?.trialId).toBe('2');
    expect(providerBestOutput(withTrials('MAXIMIZE', trials))?.trialId).toBe('4');
    expect(observationFromJob(withTrials('MINIMIZE', trials)).providerBestTrialId).toBe('9');
  });

  it('reads a job without a goal as MAXIMIZE, the reference default', () => {
    const trials = [{ trialId: '1', finalMetric: { objectiveValue: 0.2 } }, { trialId: '2', finalMetric: { objectiveValue: 0.4 } }];
    expect(providerBestOutput({ ...job, trainingInput: { scaleTier: 'BASIC', region: 'us-central1' }, trainingOutput: { trials } })?.trialId).toBe('2');
  });

  it('passes over failed and running trials and trials without a finite final metric', () => {
    const trials = [
      { trialId: '1', state: 'FAILED' as const, finalMetric: { objectiveValue: 0.1 } },
      { trialId: '2', state: 'RUNNING' as const, finalMetric: { objectiveValue: 0.1 } },
      { trialId: '3', allMetrics: [{ objectiveValue: 0.1 }] },
      { trialId: '4', finalMetric: { objectiveValue: Number.NaN } },
      { finalMetric: { objectiveValue: 0.1 } },
      { trialId: '6', finalMetric: { objectiveValue: 0.9 } },
    ];
    expect(providerBestOutput(withTrials('MINIMIZE', trials))?.trialId).toBe('6');
    expect(providerBestOutput(withTrials('MINIMIZE', trials.slice(0, 5)))).toBeUndefined();
  });
});

describe('objectiveOf', () => {
  it('takes the final metric, the value the service judges a trial by', () => {
    const trial = { allMetrics: [{ trainingStep: '10', objectiveValue: 0.9 }], finalMetric: { trainingStep: '30', objectiveValue: 0.8 } };
    expect(objectiveOf(trial)).toBe(0.8);
  });

  it('takes the last step of allMetrics when there is no final metric', () => {
    expect(objectiveOf({ allMetrics: [{ trainingStep: '20', objectiveValue: 0.7 }, { trainingStep: '10', objectiveValue: 0.9 }] })).toBe(0.7);
  });

  it('has none when nothing finite was reported', () => {
    expect(objectiveOf({ finalMetric: { trainingStep: '1' } })).toBeUndefined();
    expect(objectiveOf({})).toBeUndefined();
  });
});

describe('trialFromOutput', () => {
  it('maps a successful trial, with its model under <jobDir>/<trialId>', () => {
    const trial = trialFromOutput({ trialId: '7', hyperparameters: { layers: '3' }, finalMetric: { trainingStep: '1000', objectiveValue: 0.8512 } }, spec(), job);
    expect(trial).toStrictEqual({
      trialId: '7',
      status: 'succeeded',
      hyperparameters: { layers: '3' },
      objectiveValue: 0.8512,
      objectiveStatus: 'succeeded',
      stoppedEarly: false,
      artifactUri: 'gs://b-1/jobs/7',
      metrics: { accuracy: 0.8512 },
    });
  });

  it('maps an early-stopped trial as stopped, keeping its metric', () => {
    const trial = trialFromOutput({ trialId: '8', isTrialStoppedEarly: true, finalMetric: { objectiveValue: 0.6 } }, spec(), job);
    expect(trial).toMatchObject({ status: 'stopped', stoppedEarly: true, objectiveValue: 0.6, objectiveStatus: 'succeeded' });
  });

  it('reads trial state and times when the API gives them', () => {
    const trial = trialFromOutput({ trialId: '9', state: 'FAILED', startTime: '2025-03-01T10:05:00Z', endTime: '2025-03-01T10:09:00.5Z' }, spec(), job);
    expect(trial).toMatchObject({ status: 'failed', objectiveStatus: 'failed', startedAt: '2025-03-01T10:05:00.000Z', endedAt: '2025-03-01T10:09:00.500Z' });
    expect(trial.failureReason).toBeDefined();
  });

  it('prefers a built-in algorithm model path, and falls back to the spec job dir', () => {
    const withPath = trialFromOutput({ trialId: '1', builtInAlgorithmOutput: { modelPath: 'gs://b-1/model/' } }, spec(), job);
    expect(withPath.artifactUri).toBe('gs://b-1/model/');
    const fromSpec = trialFromOutput({ trialId: '2' }, spec(), { jobId: 'census_1' });
    expect(fromSpec.artifactUri).toBe('gs://b-1/spec-jobs/2');
  });

  it('refuses a trial without an id', () => {
    expect(() => trialFromOutput({}, spec(), job)).toThrow(ProviderError);
  });
});
