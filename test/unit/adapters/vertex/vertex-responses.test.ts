import { protos } from '@google-cloud/aiplatform';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../shared/domain/errors';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';
import { isTerminalJobStatus, type JobStatus, type TrialStatus } from '../../../../shared/domain/status';
import { selectBestTrial } from '../../../../shared/domain/trial';
import {
  JOB_STATES,
  TRIAL_STATES,
  mapJobState,
  bestTrialFromVertex,
  judgingOfSpec,
  judgingOfStudy,
  mapTrialState,
  observationFromJob,
  trialFromVertex,
} from '../../../../shared/adapters/vertex/vertex-responses';

const V1 = protos.google.cloud.aiplatform.v1;
type ITrial = protos.google.cloud.aiplatform.v1.ITrial;
type IHyperparameterTuningJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
type IStudySpec = protos.google.cloud.aiplatform.v1.IStudySpec;
type IMetricSpec = protos.google.cloud.aiplatform.v1.StudySpec.IMetricSpec;

/** `measurementSelection: null` leaves it out of the spec. */
function spec(overrides: { goal?: 'maximize' | 'minimize'; measurementSelection?: 'best' | 'last' | null } = {}): TuningSpec {
  const selection = overrides.measurementSelection === undefined ? 'best' : overrides.measurementSelection;
  return parseSpec({
    name: 'churn-vertex',
    provider: 'vertex',
    objective: { metric: 'auc', goal: overrides.goal ?? 'maximize' },
    parameters: [
      { name: 'max_depth', type: 'integer', min: 3, max: 10 },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
    ],
    strategy: 'random',
    budget: { maxTrials: 8, parallelTrials: 2 },
    ...(selection !== null ? { measurementSelection: selection } : {}),
    trial: {
      project: 'tunewire-demo',
      location: 'us-central1',
      workerPoolSpecs: [{ machineType: 'n1-standard-4', container: { imageUri: 'us-docker.pkg.dev/p/r/i:1' } }],
      baseOutputDirectory: 'gs://tunewire-demo-artifacts/churn/',
    },
  });
}

const measurement = (step: number, auc: number, extra: Record<string, number> = {}) => ({
  stepCount: String(step),
  metrics: [{ metricId: 'auc', value: auc }, ...Object.entries(extra).map(([metricId, value]) => ({ metricId, value }))],
});

/** A trial as the Node client returns it: through the real codec, read with google-gax's proto-loader options. */
function asClientReadsIt(trial: ITrial): ITrial {
  const Type = V1.Trial;
  return Type.toObject(Type.decode(Type.encode(Type.fromObject(trial)).finish()), { longs: String, enums: String, defaults: true, oneofs: true });
}

const JOB_TABLE: [string, JobStatus][] = [
  ['JOB_STATE_QUEUED', 'pending'],
  ['JOB_STATE_PENDING', 'pending'],
  ['JOB_STATE_RUNNING', 'running'],
  ['JOB_STATE_UPDATING', 'running'],
  ['JOB_STATE_SUCCEEDED', 'succeeded'],
  ['JOB_STATE_PARTIALLY_SUCCEEDED', 'succeeded'],
  ['JOB_STATE_FAILED', 'failed'],
  ['JOB_STATE_EXPIRED', 'failed'],
  ['JOB_STATE_CANCELLING', 'stopping'],
  ['JOB_STATE_CANCELLED', 'stopped'],
  ['JOB_STATE_PAUSED', 'paused'],
];

const TRIAL_TABLE: [string, TrialStatus][] = [
  ['REQUESTED', 'pending'],
  ['ACTIVE', 'running'],
  ['STOPPING', 'running'],
  ['SUCCEEDED', 'succeeded'],
  ['INFEASIBLE', 'infeasible'],
];

describe('mapJobState', () => {
  it('numbers JobState as job_state.proto does', () => {
    JOB_STATES.forEach((name, number) => expect(V1.JobState[name]).toBe(number));
    expect(JOB_STATES).toHaveLength(Object.keys(V1.JobState).length);
  });

  it.each(JOB_TABLE)('maps %s to %s, by name and by number', (name, status) => {
    expect(mapJobState(name)).toBe(status);
    expect(mapJobState(V1.JobState[name as keyof typeof V1.JobState])).toBe(status);
  });

  it('covers every JobState but UNSPECIFIED', () => {
    expect(JOB_TABLE.map(([name]) => name).sort()).toEqual(Object.keys(V1.JobState).filter((n) => n !== 'JOB_STATE_UNSPECIFIED').sort());
  });

  it('never takes PAUSED for an end: a paused job can resume', () => {
    expect(mapJobState('JOB_STATE_PAUSED')).toBe('paused');
    expect(isTerminalJobStatus(mapJobState('JOB_STATE_PAUSED'))).toBe(false);
  });

  it.each([['JOB_STATE_UNSPECIFIED'], [0], ['JOB_STATE_EXPLODED'], [42]])('refuses %s with a ProviderError', (state) => {
    let caught: unknown;
    try {
      mapJobState(state);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProviderError);
    expect((caught as ProviderError).code).toBe('PROVIDER.UNKNOWN_STATUS');
    expect((caught as ProviderError).retryable).toBe(false);
  });
});

describe('mapTrialState', () => {
  it('numbers Trial.State as study.proto does', () => {
    TRIAL_STATES.forEach((name, number) => expect(V1.Trial.State[name]).toBe(number));
    expect(TRIAL_STATES).toHaveLength(Object.keys(V1.Trial.State).length);
  });

  it.each(TRIAL_TABLE)('maps %s to %s, by name and by number', (name, status) => {
    expect(mapTrialState(name)).toBe(status);
    expect(mapTrialState(V1.Trial.State[name as keyof typeof V1.Trial.State])).toBe(status);
  });

  it('refuses STATE_UNSPECIFIED, by name and by number', () => {
    expect(() => mapTrialState('STATE_UNSPECIFIED')).toThrow(ProviderError);
    expect(() => mapTrialState(0)).toThrow(ProviderError);
  });
});

describe('observationFromJob', () => {
  const job = (extra: IHyperparameterTuningJob): IHyperparameterTuningJob => ({
    name: 'projects/1/locations/us-central1/hyperparameterTuningJobs/77',
    createTime: { seconds: '1741000000', nanos: 0 },
    updateTime: { seconds: '1741003600', nanos: 125_000_000 },
    trials: [],
    ...extra,
  });

  it('reads state, time and trial counts', () => {
    const observation = observationFromJob(
      job({
        state: 'JOB_STATE_RUNNING',
        trials: [{ id: '1', state: 'SUCCEEDED' }, { id: '2', state: 'ACTIVE' }, { id: '3', state: 3 }, { id: '4', state: 'INFEASIBLE' }, { id: '5', state: 'REQUESTED' }],
      }),
    );
    expect(observation).toEqual({
      status: 'running',
      providerStatus: 'JOB_STATE_RUNNING',
      observedAt: '2025-03-03T12:06:40.125Z',
      trialCounts: { succeeded: 1, running: 2, infeasible: 1, pending: 1 },
    });
  });

  it('flags PARTIALLY_SUCCEEDED and keeps it a success', () => {
    const observation = observationFromJob(job({ state: 11 }));
    expect(observation.status).toBe('succeeded');
    expect(observation.providerStatus).toBe('JOB_STATE_PARTIALLY_SUCCEEDED');
    expect(observation.flags).toEqual(['partially_succeeded']);
  });

  it('takes the failure reason from error.message, and says so when a job expired', () => {
    expect(observationFromJob(job({ state: 'JOB_STATE_FAILED', error: { code: 9, message: 'Trial 3 failed: exit 1' } }))).toMatchObject({
      status: 'failed',
      failureReason: 'Trial 3 failed: exit 1',
    });
    expect(observationFromJob(job({ state: 'JOB_STATE_EXPIRED', error: { code: 0, message: '' } }))).toMatchObject({
      status: 'failed',
      failureReason: expect.stringContaining('expired'),
      flags: ['expired'],
    });
  });

  it('falls back to the creation time and refuses a job with no time at all', () => {
    expect(observationFromJob(job({ state: 'JOB_STATE_QUEUED', updateTime: null })).observedAt).toBe('2025-03-03T11:06:40.000Z');
    expect(() => observationFromJob({ state: 'JOB_STATE_QUEUED' })).toThrow(ProviderError);
  });

  it('reads a job as the Node client returns it', () => {
    const Type = V1.HyperparameterTuningJob;
    const read = Type.toObject(
      Type.decode(Type.encode(Type.fromObject(job({ state: 'JOB_STATE_CANCELLING', trials: [{ id: '1', state: 'STOPPING' }] }))).finish()),
      { longs: String, enums: String, defaults: true, oneofs: true },
    );
    expect(observationFromJob(read)).toEqual({
      status: 'stopping',
      providerStatus: 'JOB_STATE_CANCELLING',
      observedAt: '2025-03-03T12:06:40.125Z',
      trialCounts: { running: 1 },
    });
  });

  describe('providerBestTrialId', () => {
    const ended = (id: string, seconds: number, extra: ITrial): ITrial => ({ id, state: 'SUCCEEDED', endTime: { seconds: String(seconds) }, ...extra });
    const study = (selection: IStudySpec['measurementSelectionType'], goal: IMetricSpec['goal'] = 'MAXIMIZE'): IStudySpec => ({
      metrics: [{ metricId: 'auc', goal }],
      measurementSelectionType: selection,
    });
    const trials: ITrial[] = [
      ended('1', 1741000100, { finalMeasurement: measurement(3, 0.8) }),
      // a higher auc along the way, but a final measurement without it
      ended('2', 1741000200, { measurements: [measurement(1, 0.95)], finalMeasurement: { metrics: [{ metricId: 'loss', value: 0.2 }] } }),
      { id: '3', state: 'INFEASIBLE', infeasibleReason: 'NaN loss', finalMeasurement: measurement(2, 0.99) },
      { id: '4', state: 'STOPPING', measurements: [measurement(1, 0.97)] },
    ];

    it('names the best trial by the job StudySpec: LAST reads final measurements only', () => {
      expect(observationFromJob(job({ state: 'JOB_STATE_RUNNING', studySpec: study('LAST_MEASUREMENT'), trials })).providerBestTrialId).toBe('1');
      // unspecified is LAST
      expect(observationFromJob(job({ state: 'JOB_STATE_RUNNING', studySpec: study(0), trials })).providerBestTrialId).toBe('1');
      expect(observationFromJob(job({ state: 'JOB_STATE_RUNNING', studySpec: study('BEST_MEASUREMENT'), trials })).providerBestTrialId).toBe('2');
      expect(observationFromJob(job({ state: 'JOB_STATE_RUNNING', studySpec: study(2, 2), trials })).providerBestTrialId).toBe('1');
    });

    it('gives a tie to the trial that ended first, then to the smaller id', () => {
      const tied = [ended('5', 1741000500, { finalMeasurement: measurement(1, 0.9) }), ended('6', 1741000400, { finalMeasurement: measurement(1, 0.9) })];
      expect(observationFromJob(job({ studySpec: study('LAST_MEASUREMENT'), trials: tied, state: 'JOB_STATE_RUNNING' })).providerBestTrialId).toBe('6');
      const same = [ended('8', 1741000400, { finalMeasurement: measurement(1, 0.9) }), ended('7', 1741000400, { finalMeasurement: measurement(1, 0.9) })];
      expect(observationFromJob(job({ studySpec: study('LAST_MEASUREMENT'), trials: same, state: 'JOB_STATE_RUNNING' })).providerBestTrialId).toBe('7');
    });

    it('names none without one metric with a goal, or without an eligible trial', () => {
      const state = 'JOB_STATE_RUNNING';
      expect(observationFromJob(job({ state, trials })).providerBestTrialId).toBeUndefined();
      expect(observationFromJob(job({ state, trials, studySpec: study('LAST_MEASUREMENT', 'GOAL_TYPE_UNSPECIFIED') })).providerBestTrialId).toBeUndefined();
      const twoMetrics: IStudySpec = { metrics: [{ metricId: 'auc', goal: 'MAXIMIZE' }, { metricId: 'loss', goal: 'MINIMIZE' }] };
      expect(observationFromJob(job({ state, trials, studySpec: twoMetrics })).providerBestTrialId).toBeUndefined();
      expect(observationFromJob(job({ state, studySpec: study('LAST_MEASUREMENT'), trials: trials.slice(2) })).providerBestTrialId).toBeUndefined();
    });

    it('does not fail the observation over a trial in an unknown state', () => {
      const odd: ITrial[] = [...trials, { id: '9', state: 'STATE_UNSPECIFIED' }];
      expect(observationFromJob(job({ state: 'JOB_STATE_RUNNING', studySpec: study('LAST_MEASUREMENT'), trials: odd })).providerBestTrialId).toBe('1');
    });
  });
});

describe('judging', () => {
  it('reads a spec as vertex-request renders it: no selection is LAST', () => {
    expect(judgingOfSpec(spec({ measurementSelection: null }))).toEqual({ metric: 'auc', goal: 'maximize', selection: 'last' });
    expect(judgingOfSpec(spec({ measurementSelection: 'best', goal: 'minimize' }))).toEqual({ metric: 'auc', goal: 'minimize', selection: 'best' });
  });

  it('reads a StudySpec by enum name or number', () => {
    expect(judgingOfStudy({ metrics: [{ metricId: 'auc', goal: 2 }], measurementSelectionType: 2 })).toEqual({ metric: 'auc', goal: 'minimize', selection: 'best' });
    expect(judgingOfStudy({ metrics: [{ metricId: 'auc', goal: 'MAXIMIZE' }] })).toEqual({ metric: 'auc', goal: 'maximize', selection: 'last' });
    expect(judgingOfStudy(null)).toBeUndefined();
  });
});

describe('trialFromVertex', () => {
  const succeeded: ITrial = {
    name: 'projects/1/locations/us-central1/studies/9/trials/3',
    id: '3',
    state: 'SUCCEEDED',
    parameters: [
      { parameterId: 'max_depth', value: { numberValue: 6 } },
      { parameterId: 'booster', value: { stringValue: 'dart' } },
    ],
    measurements: [measurement(1, 0.8), measurement(2, 0.93, { loss: 0.31 }), measurement(3, 0.9, { loss: 0.3 })],
    finalMeasurement: measurement(3, 0.9, { loss: 0.3 }),
    startTime: { seconds: '1741000000' },
    endTime: { seconds: '1741000900', nanos: 0 },
    customJob: 'projects/1/locations/us-central1/customJobs/555',
  };

  it('maps a succeeded trial as the Node client returns it', () => {
    expect(trialFromVertex(asClientReadsIt(succeeded), spec({ measurementSelection: 'last' }))).toEqual({
      trialId: '3',
      status: 'succeeded',
      hyperparameters: { max_depth: '6', booster: 'dart' },
      objectiveValue: 0.9,
      objectiveStatus: 'succeeded',
      startedAt: '2025-03-03T11:06:40.000Z',
      endedAt: '2025-03-03T11:21:40.000Z',
      stoppedEarly: false,
      artifactUri: 'gs://tunewire-demo-artifacts/churn/3/model/',
      metrics: { auc: 0.9, loss: 0.3 },
    });
  });

  it('takes the final measurement for last and the best measurement for best', () => {
    expect(trialFromVertex(succeeded, spec({ measurementSelection: 'last' })).objectiveValue).toBe(0.9);
    expect(trialFromVertex(succeeded, spec({ measurementSelection: 'best' })).objectiveValue).toBe(0.93);
    expect(trialFromVertex(succeeded, spec({ measurementSelection: 'best', goal: 'minimize' })).objectiveValue).toBe(0.8);
  });

  it('takes the final measurement for best when there are no intermediate ones', () => {
    const onlyFinal = { ...succeeded, measurements: [] };
    expect(trialFromVertex(onlyFinal, spec({ measurementSelection: 'best' })).objectiveValue).toBe(0.9);
  });

  it('marks a succeeded trial without the objective metric as objective failed', () => {
    const noObjective = { ...succeeded, measurements: [], finalMeasurement: { metrics: [{ metricId: 'loss', value: 0.2 }] } };
    const trial = trialFromVertex(noObjective, spec());
    expect(trial.objectiveValue).toBeUndefined();
    expect(trial.objectiveStatus).toBe('failed');
    expect(trial.metrics).toEqual({ loss: 0.2 });
  });

  describe('under LAST_MEASUREMENT', () => {
    const finalWithoutAuc: ITrial = { ...succeeded, measurements: [measurement(1, 0.8), measurement(2, 0.93)], finalMeasurement: { stepCount: '3', metrics: [{ metricId: 'loss', value: 0.3 }] } };

    it('has no objective when the final measurement lacks the metric, whatever earlier measurements said', () => {
      for (const selection of ['last', null] as const) {
        const trial = trialFromVertex(asClientReadsIt(finalWithoutAuc), spec({ measurementSelection: selection }));
        expect(trial).toMatchObject({ status: 'succeeded', objectiveStatus: 'failed' });
        expect(trial.objectiveValue).toBeUndefined();
      }
    });

    it('takes the final measurement even when an earlier one was better', () => {
      expect(trialFromVertex(succeeded, spec({ measurementSelection: null })).objectiveValue).toBe(0.9);
    });

    it('never makes such a trial best', () => {
      const other: ITrial = { ...succeeded, id: '4', finalMeasurement: measurement(3, 0.5) };
      expect(bestTrialFromVertex([finalWithoutAuc, other], spec({ measurementSelection: 'last' }))?.trialId).toBe('4');
      expect(bestTrialFromVertex([finalWithoutAuc], spec({ measurementSelection: 'last' }))).toBeUndefined();
    });
  });

  describe('under BEST_MEASUREMENT', () => {
    it('takes the best of all measurements and the final one for the goal', () => {
      const laterBest: ITrial = { ...succeeded, measurements: [measurement(1, 0.7), measurement(2, 0.75)], finalMeasurement: measurement(3, 0.96) };
      expect(trialFromVertex(laterBest, spec({ measurementSelection: 'best' })).objectiveValue).toBe(0.96);
      expect(trialFromVertex(laterBest, spec({ measurementSelection: 'best', goal: 'minimize' })).objectiveValue).toBe(0.7);
    });

    it('still takes the intermediate measurements when the final one lacks the metric', () => {
      const finalWithoutAuc: ITrial = { ...succeeded, measurements: [measurement(1, 0.8), measurement(2, 0.93)], finalMeasurement: { metrics: [{ metricId: 'loss', value: 0.3 }] } };
      expect(trialFromVertex(finalWithoutAuc, spec({ measurementSelection: 'best' }))).toMatchObject({ objectiveValue: 0.93, objectiveStatus: 'succeeded' });
    });

    it('picks the best trial by those objectives', () => {
      const a: ITrial = { ...succeeded, id: '1', measurements: [measurement(1, 0.95)], finalMeasurement: measurement(2, 0.85) };
      const b: ITrial = { ...succeeded, id: '2', measurements: [], finalMeasurement: measurement(2, 0.9) };
      expect(bestTrialFromVertex([a, b], spec({ measurementSelection: 'best' }))).toMatchObject({ trialId: '1', objectiveValue: 0.95, artifactUri: 'gs://tunewire-demo-artifacts/churn/1/model/' });
      expect(bestTrialFromVertex([a, b], spec({ measurementSelection: 'last' }))).toMatchObject({ trialId: '2', objectiveValue: 0.9 });
    });
  });

  it('reports each read as it is: STOPPING is stopped early, the SUCCEEDED read after it says what Vertex says', () => {
    const stopping = trialFromVertex(asClientReadsIt({ id: '8', state: 'STOPPING', measurements: [measurement(1, 0.7)], startTime: { seconds: '1741000000' } }), spec());
    expect(stopping).toMatchObject({ status: 'running', objectiveStatus: 'pending', stoppedEarly: true });
    expect(stopping.endedAt).toBeUndefined();
    expect(stopping.objectiveValue).toBeUndefined();
    const done = trialFromVertex(asClientReadsIt({ id: '8', state: 'SUCCEEDED', measurements: [measurement(1, 0.7)], finalMeasurement: measurement(1, 0.7), endTime: { seconds: '1741000900' } }), spec());
    // The ledger's merge keeps the early stop the earlier read saw.
    expect(done).toMatchObject({ status: 'succeeded', objectiveValue: 0.7, stoppedEarly: false });
  });

  it('maps an infeasible trial without a final measurement, as the client reads it, keeping its reason', () => {
    const infeasible = trialFromVertex(
      asClientReadsIt({ id: '9', state: 'INFEASIBLE', infeasibleReason: 'The trial ended without a final measurement.', measurements: [measurement(1, 0.99)], endTime: { seconds: '1741000900' } }),
      spec(),
    );
    expect(infeasible).toMatchObject({ status: 'infeasible', objectiveStatus: 'failed', failureReason: 'The trial ended without a final measurement.', endedAt: '2025-03-03T11:21:40.000Z' });
    expect(infeasible.objectiveValue).toBeUndefined();
    expect(bestTrialFromVertex([{ id: '9', state: 'INFEASIBLE', measurements: [measurement(1, 0.99)] }], spec())).toBeUndefined();
  });

  it('maps an infeasible trial with its reason, and it is never best', () => {
    const infeasible = trialFromVertex(
      { ...succeeded, id: '4', state: 5, infeasibleReason: 'The replica workerpool0-0 exited with a non-zero status of 1.', finalMeasurement: measurement(9, 0.99) },
      spec(),
    );
    expect(infeasible).toMatchObject({ trialId: '4', status: 'infeasible', objectiveStatus: 'failed', failureReason: expect.stringContaining('non-zero status') });
    expect(infeasible.objectiveValue).toBeUndefined();
    const good = trialFromVertex(succeeded, spec());
    expect(selectBestTrial([infeasible, good], 'maximize')?.trialId).toBe('3');
    expect(selectBestTrial([infeasible], 'maximize')).toBeUndefined();
  });

  it('maps running trials without an objective yet, and flags STOPPING as stopped early', () => {
    const active = trialFromVertex({ id: '5', state: 'ACTIVE', measurements: [measurement(1, 0.7)] }, spec());
    expect(active).toMatchObject({ status: 'running', objectiveStatus: 'pending', stoppedEarly: false });
    expect(active.objectiveValue).toBeUndefined();
    const stopping = trialFromVertex(asClientReadsIt({ id: '6', state: 'STOPPING' }), spec());
    expect(stopping).toMatchObject({ status: 'running', stoppedEarly: true });
    expect(trialFromVertex({ id: '7', state: 1 }, spec())).toMatchObject({ status: 'pending', hyperparameters: {} });
  });

  it('reads the id from the resource name when id is missing, and refuses a trial with neither', () => {
    expect(trialFromVertex({ ...succeeded, id: '' }, spec()).trialId).toBe('3');
    expect(() => trialFromVertex({ state: 'SUCCEEDED' }, spec())).toThrow(ProviderError);
  });

  it('accepts plain parameter values too', () => {
    const plain = { ...succeeded, parameters: [{ parameterId: 'max_depth', value: 7 as never }, { parameterId: 'booster', value: 'gbtree' as never }] };
    expect(trialFromVertex(plain, spec()).hyperparameters).toEqual({ max_depth: '7', booster: 'gbtree' });
  });
});
