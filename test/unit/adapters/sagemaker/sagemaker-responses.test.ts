import type {
  DescribeHyperParameterTuningJobCommandOutput,
  HyperParameterTrainingJobSummary,
  HyperParameterTuningJobStatus,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../shared/domain/errors';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';
import type { JobStatus, TrialStatus } from '../../../../shared/domain/status';
import {
  isoTime,
  mapTrainingJobStatus,
  mapTuningJobStatus,
  observationFromDescribe,
  trialFromSummary,
} from '../../../../shared/adapters/sagemaker/sagemaker-responses';

function spec(overrides: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name: 'churn-xgb',
    provider: 'sagemaker',
    objective: { metric: 'validation:auc', goal: 'maximize' },
    parameters: [
      { name: 'eta', type: 'double', min: 0.01, max: 0.5 },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
    ],
    budget: { maxTrials: 20, parallelTrials: 4 },
    measurementSelection: 'last',
    trial: {},
    ...overrides,
  });
}

const metadata = { $metadata: {} };

describe('mapTuningJobStatus', () => {
  const cases: [HyperParameterTuningJobStatus, JobStatus][] = [
    ['InProgress', 'running'],
    ['Completed', 'succeeded'],
    ['Failed', 'failed'],
    ['Stopping', 'stopping'],
    ['Stopped', 'stopped'],
    ['Deleting', 'stopped'],
    ['DeleteFailed', 'stopped'],
  ];
  it.each(cases)('maps %s to %s', (from, to) => expect(mapTuningJobStatus(from)).toBe(to));

  it('refuses a status it does not know', () => {
    expect(() => mapTuningJobStatus('Paused' as HyperParameterTuningJobStatus)).toThrow(ProviderError);
  });
});

describe('mapTrainingJobStatus', () => {
  const cases: [TrainingJobStatus, TrialStatus][] = [
    ['InProgress', 'running'],
    ['Stopping', 'running'],
    ['Completed', 'succeeded'],
    ['Failed', 'failed'],
    ['Stopped', 'stopped'],
    ['Deleting', 'stopped'],
  ];
  it.each(cases)('maps %s to %s', (from, to) => expect(mapTrainingJobStatus(from)).toBe(to));
});

describe('isoTime', () => {
  it('reads Dates, epoch seconds, epoch milliseconds (numbers or strings) and ISO strings', () => {
    expect(isoTime(new Date('2024-06-01T12:00:00Z'))).toBe('2024-06-01T12:00:00.000Z');
    expect(isoTime(1717243200)).toBe('2024-06-01T12:00:00.000Z');
    expect(isoTime(1717243200000)).toBe('2024-06-01T12:00:00.000Z');
    expect(isoTime('1583831889050')).toBe('2020-03-10T09:18:09.050Z');
    expect(isoTime('2018-10-06T12:26:13Z')).toBe('2018-10-06T12:26:13.000Z');
  });

  it('drops placeholders', () => {
    expect(isoTime('CreationTime')).toBeUndefined();
    expect(isoTime(undefined)).toBeUndefined();
    expect(isoTime({})).toBeUndefined();
  });
});

describe('observationFromDescribe', () => {
  const described: DescribeHyperParameterTuningJobCommandOutput = {
    ...metadata,
    HyperParameterTuningJobName: 'churn-xgb-4k2m9q7zta',
    HyperParameterTuningJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/churn-xgb-4k2m9q7zta',
    HyperParameterTuningJobConfig: { Strategy: 'Bayesian', ResourceLimits: { MaxNumberOfTrainingJobs: 20, MaxParallelTrainingJobs: 4 } },
    HyperParameterTuningJobStatus: 'Completed',
    CreationTime: new Date('2024-06-01T10:00:00Z'),
    HyperParameterTuningEndTime: new Date('2024-06-01T12:00:00Z'),
    LastModifiedTime: new Date('2024-06-01T12:00:01Z'),
    TrainingJobStatusCounters: { Completed: 17, InProgress: 0, RetryableError: 1, NonRetryableError: 1, Stopped: 1 },
    ObjectiveStatusCounters: { Succeeded: 17, Pending: 0, Failed: 3 },
    BestTrainingJob: {
      TrainingJobName: 'churn-xgb-4k2m9q7zta-011-0a1b2c3d',
      TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb-4k2m9q7zta-011-0a1b2c3d',
      CreationTime: new Date('2024-06-01T11:00:00Z'),
      TrainingJobStatus: 'Completed',
      TunedHyperParameters: { eta: '0.1' },
    },
  };

  it('maps status, time of the last change, counters, flags and the best trial', () => {
    expect(observationFromDescribe(described)).toEqual({
      status: 'succeeded',
      providerStatus: 'Completed',
      observedAt: '2024-06-01T12:00:01.000Z',
      trialCounts: { succeeded: 17, running: 0, failed: 2, stopped: 1 },
      flags: ['retryable-errors:1', 'objective-succeeded:17', 'objective-failed:3'],
      providerBestTrialId: 'churn-xgb-4k2m9q7zta-011-0a1b2c3d',
    });
  });

  it('keeps the failure reason of a failed job', () => {
    const failed = observationFromDescribe({ ...described, HyperParameterTuningJobStatus: 'Failed', FailureReason: 'No training job succeeded', BestTrainingJob: undefined });
    expect(failed).toMatchObject({ status: 'failed', providerStatus: 'Failed', failureReason: 'No training job succeeded' });
    expect(failed.providerBestTrialId).toBeUndefined();
  });

  it("shows a warm-started job's overall best from a parent as a flag only", () => {
    const observed = observationFromDescribe({
      ...described,
      OverallBestTrainingJob: { ...described.BestTrainingJob!, TrainingJobName: 'churn-xgb-parent0001-004-99aa88bb', TuningJobName: 'churn-xgb-parent0001' },
    });
    expect(observed.providerBestTrialId).toBe('churn-xgb-4k2m9q7zta-011-0a1b2c3d');
    expect(observed.flags).toContain('overall-best:churn-xgb-parent0001-004-99aa88bb');
  });

  it('flags a deletion', () => {
    expect(observationFromDescribe({ ...described, HyperParameterTuningJobStatus: 'Deleting' })).toMatchObject({ status: 'stopped', flags: expect.arrayContaining(['deleting']) });
    expect(observationFromDescribe({ ...described, HyperParameterTuningJobStatus: 'DeleteFailed' })).toMatchObject({ status: 'stopped', flags: expect.arrayContaining(['delete-failed']) });
  });

  it('falls back to the end or creation time, and refuses a response without a status', () => {
    expect(observationFromDescribe({ ...described, LastModifiedTime: undefined }).observedAt).toBe('2024-06-01T12:00:00.000Z');
    expect(observationFromDescribe({ ...described, LastModifiedTime: undefined, HyperParameterTuningEndTime: undefined }).observedAt).toBe('2024-06-01T10:00:00.000Z');
    expect(() => observationFromDescribe({ ...described, HyperParameterTuningJobStatus: undefined })).toThrow(ProviderError);
  });
});

describe('trialFromSummary', () => {
  const summary: HyperParameterTrainingJobSummary = {
    TrainingJobName: 'churn-xgb-4k2m9q7zta-003-5f1c2a9e',
    TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb-4k2m9q7zta-003-5f1c2a9e',
    TuningJobName: 'churn-xgb-4k2m9q7zta',
    CreationTime: new Date('2024-06-01T10:02:00Z'),
    TrainingStartTime: new Date('2024-06-01T10:05:00Z'),
    TrainingEndTime: new Date('2024-06-01T10:41:00Z'),
    TrainingJobStatus: 'Completed',
    TunedHyperParameters: { eta: '0.18341', booster: '"dart"' },
    FinalHyperParameterTuningJobObjectiveMetric: { Type: 'Maximize', MetricName: 'validation:auc', Value: 0.91234 },
    ObjectiveStatus: 'Succeeded',
  };

  it('maps a completed training job with its objective', () => {
    expect(trialFromSummary(summary, spec())).toEqual({
      trialId: 'churn-xgb-4k2m9q7zta-003-5f1c2a9e',
      status: 'succeeded',
      hyperparameters: { eta: '0.18341', booster: 'dart' },
      objectiveValue: 0.91234,
      objectiveStatus: 'succeeded',
      metrics: { 'validation:auc': 0.91234 },
      startedAt: '2024-06-01T10:05:00.000Z',
      endedAt: '2024-06-01T10:41:00.000Z',
      stoppedEarly: false,
    });
  });

  it('maps a pending objective of a running job, and its creation time when training has not started', () => {
    const running = trialFromSummary(
      { ...summary, TrainingJobStatus: 'InProgress', TrainingStartTime: undefined, TrainingEndTime: undefined, FinalHyperParameterTuningJobObjectiveMetric: undefined, ObjectiveStatus: 'Pending' },
      spec(),
    );
    expect(running).toMatchObject({ status: 'running', objectiveStatus: 'pending', startedAt: '2024-06-01T10:02:00.000Z' });
    expect(running.objectiveValue).toBeUndefined();
    expect(running.endedAt).toBeUndefined();
  });

  it('maps a failed job with a failed objective, its reason and definition name', () => {
    const failed = trialFromSummary(
      {
        ...summary,
        TrainingJobStatus: 'Failed',
        FailureReason: 'AlgorithmError: out of memory',
        FinalHyperParameterTuningJobObjectiveMetric: undefined,
        ObjectiveStatus: 'Failed',
        TrainingJobDefinitionName: 'xgb',
      },
      spec(),
    );
    expect(failed).toMatchObject({ status: 'failed', objectiveStatus: 'failed', failureReason: 'AlgorithmError: out of memory', definitionName: 'xgb', stoppedEarly: false });
  });

  it('reads a stopped job as stopped early only when the spec lets SageMaker stop jobs', () => {
    const stopped = { ...summary, TrainingJobStatus: 'Stopped' as const };
    expect(trialFromSummary(stopped, spec({ earlyStopping: 'auto' })).stoppedEarly).toBe(true);
    expect(trialFromSummary(stopped, spec({ strategy: 'hyperband' })).stoppedEarly).toBe(true);
    expect(trialFromSummary(stopped, spec()).stoppedEarly).toBe(false);
    expect(trialFromSummary(summary, spec({ earlyStopping: 'auto' })).stoppedEarly).toBe(false);
  });

  it('keeps quoted values that are not a categorical choice', () => {
    expect(trialFromSummary({ ...summary, TunedHyperParameters: { eta: '"0.1"', booster: '"gbtree"' } }, spec()).hyperparameters).toEqual({ eta: '"0.1"', booster: 'gbtree' });
  });
});
