import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventValidationError } from '../../../../shared/domain/errors';
import { judgeJobTransition } from '../../../../shared/domain/status';
import { parseTransportEvent, type EventBridgeEnvelope } from '../../../../shared/edge/envelopes';
import {
  SAGEMAKER_SOURCE,
  TRAINING_JOB_STATE_CHANGE,
  TUNING_JOB_STATE_CHANGE,
  sageMakerTrainingJobEvent,
  sageMakerTuningJobEvent,
  withObjective,
} from '../../../../shared/adapters/sagemaker/sagemaker-events';
import { EVENTS_DIR, loadEvent } from '../../../support/fixtures';

const JOB = 'churn-xgb-4k2m9q7zta';

function envelope(file: string): EventBridgeEnvelope {
  return parseTransportEvent(loadEvent(`sagemaker/${file}`)).envelope;
}

function withDetail(file: string, change: (detail: Record<string, unknown>) => void): EventBridgeEnvelope {
  const e = envelope(file);
  const detail = structuredClone(e.detail);
  change(detail);
  return { ...e, detail };
}

function refusal(parse: () => unknown): EventValidationError {
  try {
    parse();
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('expected an EventValidationError');
}

describe('events/sagemaker samples', () => {
  const files = readdirSync(join(EVENTS_DIR, 'sagemaker'));
  const tuning = files.filter((f) => f.startsWith('tuning-job-state-change.'));
  const training = files.filter((f) => f.startsWith('training-job-state-change.') && !f.includes('no-tuning-job'));

  it('cover every tuning job status, a duplicate, a stale delivery and the training job outcomes', () => {
    expect(tuning.sort()).toEqual(
      [
        'completed',
        'completed.duplicate',
        'delete-failed',
        'deleting',
        'failed',
        'in-progress',
        'stale-in-progress',
        'stopped',
        'stopping',
      ]
        .map((s) => `tuning-job-state-change.${s}.json`)
        .sort(),
    );
    expect(training.sort()).toEqual(
      ['completed', 'documented', 'documented-untagged', 'documented-with-tuning-job-arn', 'failed', 'stopped'].map((s) => `training-job-state-change.${s}.json`).sort(),
    );
  });

  it.each(tuning)('%s parses as a tuning job event', (file) => {
    const e = envelope(file);
    expect(e.source).toBe(SAGEMAKER_SOURCE);
    expect(e['detail-type']).toBe(TUNING_JOB_STATE_CHANGE);
    const parsed = sageMakerTuningJobEvent(e);
    expect(parsed).toMatchObject({ provider: 'sagemaker', providerJobName: JOB, eventId: e.id, source: 'aws.sagemaker' });
    expect(parsed.claimed?.providerStatus).toBe(e.detail['HyperParameterTuningJobStatus']);
  });

  it.each(training)('%s parses as a trial event carrying the finished trial', (file) => {
    const e = envelope(file);
    expect(e['detail-type']).toBe(TRAINING_JOB_STATE_CHANGE);
    const parsed = sageMakerTrainingJobEvent(e);
    expect(parsed).toMatchObject({ provider: 'sagemaker', providerJobName: JOB, eventId: e.id, source: 'aws.sagemaker' });
    expect(parsed.trial?.trialId).toBe(e.detail['TrainingJobName']);
  });
});

describe('sageMakerTuningJobEvent', () => {
  it('claims the status observed at LastModifiedTime, read from epoch milliseconds', () => {
    expect(sageMakerTuningJobEvent(envelope('tuning-job-state-change.completed.json')).claimed).toEqual({
      status: 'succeeded',
      providerStatus: 'Completed',
      observedAt: '2024-06-01T12:00:00.000Z',
      trialCounts: { succeeded: 19, running: 0, failed: 1, stopped: 0 },
      flags: ['objective-succeeded:19', 'objective-failed:1'],
    });
  });

  it('maps every status', () => {
    const statusOf = (file: string) => sageMakerTuningJobEvent(envelope(`tuning-job-state-change.${file}.json`)).claimed?.status;
    expect(['in-progress', 'completed', 'failed', 'stopping', 'stopped', 'deleting', 'delete-failed'].map(statusOf)).toEqual([
      'running',
      'succeeded',
      'failed',
      'stopping',
      'stopped',
      'stopped',
      'stopped',
    ]);
  });

  it('gives a duplicate delivery the same id, and a stale delivery an older time', () => {
    const completed = sageMakerTuningJobEvent(envelope('tuning-job-state-change.completed.json'));
    const duplicate = sageMakerTuningJobEvent(envelope('tuning-job-state-change.completed.duplicate.json'));
    const stale = sageMakerTuningJobEvent(envelope('tuning-job-state-change.stale-in-progress.json'));
    expect(duplicate).toEqual(completed);
    expect(stale.eventId).not.toBe(completed.eventId);
    expect(stale.claimed!.observedAt < completed.claimed!.observedAt).toBe(true);
    expect(judgeJobTransition(completed.claimed!.status, stale.claimed!.status)).toBe('stale');
  });

  it('still names the job when the status is a placeholder, as in AWS example events', () => {
    const e = withDetail('tuning-job-state-change.completed.json', (d) => {
      d['HyperParameterTuningJobStatus'] = 'status';
      d['TrainingJobStatusCounters'] = 'counters';
    });
    const parsed = sageMakerTuningJobEvent(e);
    expect(parsed.providerJobName).toBe(JOB);
    expect(parsed.claimed).toBeUndefined();
  });

  it('falls back to the envelope time when LastModifiedTime is unreadable, and reads numbers and ISO times', () => {
    const observedAt = (value: unknown) =>
      sageMakerTuningJobEvent(withDetail('tuning-job-state-change.in-progress.json', (d) => (d['LastModifiedTime'] = value))).claimed?.observedAt;
    expect(observedAt('LastModifiedTime')).toBe('2024-06-01T10:00:06.000Z');
    expect(observedAt(1717236005000)).toBe('2024-06-01T10:00:05.000Z');
    expect(observedAt('2024-06-01T10:00:04Z')).toBe('2024-06-01T10:00:04.000Z');
  });

  it('keeps a failure reason and the best training job when the event has them', () => {
    const e = withDetail('tuning-job-state-change.failed.json', (d) => {
      d['FailureReason'] = 'All training jobs failed';
      d['BestTrainingJob'] = { TrainingJobName: `${JOB}-001-00aa11bb` };
    });
    expect(sageMakerTuningJobEvent(e).claimed).toMatchObject({ failureReason: 'All training jobs failed', providerBestTrialId: `${JOB}-001-00aa11bb` });
  });

  it('refuses an event without the job name, naming the field', () => {
    const error = refusal(() => sageMakerTuningJobEvent(withDetail('tuning-job-state-change.completed.json', (d) => delete d['HyperParameterTuningJobName'])));
    expect(error.issues).toEqual([{ path: 'detail.HyperParameterTuningJobName', message: 'is required' }]);
  });

  it('refuses another detail-type', () => {
    const error = refusal(() => sageMakerTuningJobEvent(envelope('training-job-state-change.completed.json')));
    expect(error.issues.map((i) => i.path)).toEqual(['detail-type']);
  });
});

describe('sageMakerTrainingJobEvent', () => {
  it('carries a completed training job as a whole trial of the tuning job in its ARN', () => {
    const parsed = sageMakerTrainingJobEvent(envelope('training-job-state-change.completed.json'));
    expect(parsed.providerJobName).toBe(JOB);
    expect(parsed.trial).toEqual({
      trialId: `${JOB}-003-5f1c2a9e`,
      status: 'succeeded',
      hyperparameters: { objective: 'binary:logistic', num_round: '200', eval_metric: 'auc', eta: '0.18341', max_depth: '6', min_child_weight: '2.7', subsample: '0.84', alpha: '0.35' },
      startedAt: '2024-06-01T10:05:00.000Z',
      endedAt: '2024-06-01T10:41:00.000Z',
      stoppedEarly: false,
      artifactUri: `s3://tunewire-example-data/churn/models/${JOB}-003-5f1c2a9e/output/model.tar.gz`,
      metrics: { 'train:auc': 0.95412, 'validation:auc': 0.91234 },
      // the training job names its objective in _tuning_objective_metric
      objectiveValue: 0.91234,
      objectiveStatus: 'succeeded',
    });
  });

  it('carries a failed training job with its reason and a failed objective', () => {
    expect(sageMakerTrainingJobEvent(envelope('training-job-state-change.failed.json')).trial).toMatchObject({
      trialId: `${JOB}-002-9b07d4c1`,
      status: 'failed',
      objectiveStatus: 'failed',
      failureReason: expect.stringContaining('AlgorithmError'),
    });
  });

  it('carries a stopped training job with the metrics it reported', () => {
    expect(sageMakerTrainingJobEvent(envelope('training-job-state-change.stopped.json')).trial).toMatchObject({
      status: 'stopped',
      objectiveValue: 0.86542,
      metrics: { 'train:auc': 0.88107, 'validation:auc': 0.86542 },
    });
  });

  it('leaves the objective to the caller when the training job does not name it', () => {
    const e = withDetail('training-job-state-change.completed.json', (d) => delete (d['HyperParameters'] as Record<string, unknown>)['_tuning_objective_metric']);
    const trial = sageMakerTrainingJobEvent(e).trial!;
    expect(trial.objectiveValue).toBeUndefined();
    expect(trial.objectiveStatus).toBeUndefined();
    expect(trial.metrics).toEqual({ 'train:auc': 0.95412, 'validation:auc': 0.91234 });
    expect(withObjective(trial, 'validation:auc')).toMatchObject({ objectiveValue: 0.91234, objectiveStatus: 'succeeded' });
    // a metric the event did not carry is unknown, not failed
    expect(withObjective(trial, 'validation:logloss')).toEqual(trial);
  });

  it('is a nudge without a trial while the training job runs, or when its status is a placeholder', () => {
    const running = withDetail('training-job-state-change.completed.json', (d) => (d['TrainingJobStatus'] = 'InProgress'));
    expect(sageMakerTrainingJobEvent(running).trial).toBeUndefined();
    const placeholder = withDetail('training-job-state-change.completed.json', (d) => (d['TrainingJobStatus'] = 'TrainingJobStatus'));
    expect(sageMakerTrainingJobEvent(placeholder).providerJobName).toBe(JOB);
    expect(sageMakerTrainingJobEvent(placeholder).trial).toBeUndefined();
  });

  it('reads epoch milliseconds as numbers too, and skips unreadable metrics', () => {
    const e = withDetail('training-job-state-change.completed.json', (d) => {
      d['TrainingStartTime'] = 1717236300000;
      d['FinalMetricDataList'] = [{ MetricName: 'validation:auc', Value: '0.5' }, { MetricName: 'train:auc', Value: 'n/a' }];
    });
    expect(sageMakerTrainingJobEvent(e).trial).toMatchObject({ startedAt: '2024-06-01T10:05:00.000Z', metrics: { 'validation:auc': 0.5 } });
  });

  it('refuses a training job without a tuning job (no TuningJobArn, no tag, no launched name), naming detail.TuningJobArn', () => {
    const error = refusal(() => sageMakerTrainingJobEvent(envelope('training-job-state-change.no-tuning-job.json')));
    expect(error.issues).toEqual([{ path: 'detail.TuningJobArn', message: expect.stringContaining('is required') }]);
  });

  it('refuses a TuningJobArn that is not a tuning job ARN', () => {
    const e = withDetail('training-job-state-change.completed.json', (d) => (d['TuningJobArn'] = 'arn:aws:sagemaker:us-east-1:123456789012:training-job/x'));
    expect(refusal(() => sageMakerTrainingJobEvent(e)).issues.map((i) => i.path)).toEqual(['detail.TuningJobArn']);
  });
});

describe('sageMakerTrainingJobEvent of the documented shape (no TuningJobArn, no FinalMetricDataList)', () => {
  const DOCUMENTED = 'training-job-state-change.documented.json';
  const TRAINING_JOB = `${JOB}-004-7d3e1b4f`;
  const metrics = [
    { MetricName: 'train:auc', Value: 0.93011, Timestamp: '1717237530000' },
    { MetricName: 'validation:auc', Value: 0.90172, Timestamp: '1717237530000' },
  ];

  it('routes by the tunewire:job-id tag to jobId, and by the name prefix to providerJobName', () => {
    const parsed = sageMakerTrainingJobEvent(envelope(DOCUMENTED));
    expect(parsed).toMatchObject({ provider: 'sagemaker', jobId: JOB, providerJobName: JOB, eventId: envelope(DOCUMENTED).id, source: 'aws.sagemaker' });
    expect(parsed.trial?.trialId).toBe(TRAINING_JOB);
  });

  it('routes by the tag alone when the name has no tuning job prefix', () => {
    const parsed = sageMakerTrainingJobEvent(withDetail(DOCUMENTED, (d) => (d['TrainingJobName'] = 'hand-made-training-job')));
    expect(parsed).toMatchObject({ jobId: JOB, providerJobName: '' });
  });

  it('reads tags given as a list of {Key, Value} too, and skips unreadable ones', () => {
    const listed = withDetail(DOCUMENTED, (d) => (d['Tags'] = [{ Key: 'team', Value: 'growth' }, null, { Key: 'tunewire:job-id', Value: JOB }]));
    expect(sageMakerTrainingJobEvent(listed).jobId).toBe(JOB);
    const unreadable = withDetail(DOCUMENTED, (d) => (d['Tags'] = 'Tags'));
    expect(sageMakerTrainingJobEvent(unreadable)).toMatchObject({ providerJobName: JOB });
    expect(sageMakerTrainingJobEvent(unreadable).jobId).toBeUndefined();
  });

  it('routes an untagged training job by the name prefix alone', () => {
    const parsed = sageMakerTrainingJobEvent(envelope('training-job-state-change.documented-untagged.json'));
    expect(parsed.providerJobName).toBe(JOB);
    expect(parsed.jobId).toBeUndefined();
  });

  it('takes the tuning job from TuningJobArn when the event has one, before the name prefix', () => {
    expect(sageMakerTrainingJobEvent(envelope('training-job-state-change.documented-with-tuning-job-arn.json'))).toMatchObject({ providerJobName: JOB, jobId: JOB });
    const other = withDetail('training-job-state-change.documented-with-tuning-job-arn.json', (d) => {
      d['TuningJobArn'] = 'arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/churn-xgb-other';
    });
    expect(sageMakerTrainingJobEvent(other).providerJobName).toBe('churn-xgb-other');
  });

  it('refuses a training job that neither the tag nor the name ties to a tuning job', () => {
    const e = withDetail('training-job-state-change.documented-untagged.json', (d) => (d['TrainingJobName'] = 'churn-xgb-adhoc-20240601'));
    expect(refusal(() => sageMakerTrainingJobEvent(e)).issues).toEqual([{ path: 'detail.TuningJobArn', message: expect.stringContaining('is required') }]);
  });

  it('leaves the objective unknown without metrics: no value and no status', () => {
    for (const file of [DOCUMENTED, 'training-job-state-change.documented-with-tuning-job-arn.json']) {
      const trial = sageMakerTrainingJobEvent(envelope(file)).trial!;
      expect(trial).toEqual({
        trialId: TRAINING_JOB,
        status: 'succeeded',
        hyperparameters: { objective: 'binary:logistic', num_round: '200', eval_metric: 'auc', eta: '0.0721', max_depth: '5', min_child_weight: '4.3', subsample: '0.77', alpha: '0.11' },
        startedAt: '2024-06-01T10:04:00.000Z',
        endedAt: '2024-06-01T10:25:30.000Z',
        stoppedEarly: false,
      });
      expect(trial.objectiveValue).toBeUndefined();
      expect(trial.objectiveStatus).toBeUndefined();
    }
  });

  it('leaves the objective unknown when the metrics do not include it', () => {
    const e = withDetail(DOCUMENTED, (d) => (d['FinalMetricDataList'] = [metrics[0]]));
    const trial = sageMakerTrainingJobEvent(e).trial!;
    expect(trial.metrics).toEqual({ 'train:auc': 0.93011 });
    expect(trial.objectiveValue).toBeUndefined();
    expect(trial.objectiveStatus).toBeUndefined();
  });

  it('fills the objective from the metric _tuning_objective_metric names when the event has metrics', () => {
    const e = withDetail(DOCUMENTED, (d) => (d['FinalMetricDataList'] = metrics));
    expect(sageMakerTrainingJobEvent(e).trial).toMatchObject({
      objectiveValue: 0.90172,
      objectiveStatus: 'succeeded',
      metrics: { 'train:auc': 0.93011, 'validation:auc': 0.90172 },
    });
  });

  it('marks only a failed training job objective-failed', () => {
    const failed = withDetail(DOCUMENTED, (d) => {
      d['TrainingJobStatus'] = 'Failed';
      d['FailureReason'] = 'AlgorithmError: out of memory';
    });
    expect(sageMakerTrainingJobEvent(failed).trial).toMatchObject({ status: 'failed', objectiveStatus: 'failed', failureReason: 'AlgorithmError: out of memory' });
    expect(sageMakerTrainingJobEvent(failed).trial?.objectiveValue).toBeUndefined();
  });

  it('does not call a stopped training job stopped early: the event cannot tell', () => {
    const stopped = sageMakerTrainingJobEvent(withDetail(DOCUMENTED, (d) => (d['TrainingJobStatus'] = 'Stopped'))).trial!;
    expect(stopped).toMatchObject({ status: 'stopped', stoppedEarly: false });
    expect(stopped.objectiveStatus).toBeUndefined();
  });
});

describe('withObjective', () => {
  const running = { trialId: 't', status: 'running' as const, hyperparameters: {}, stoppedEarly: false };

  it('marks a running trial without the metric as pending, and keeps an objective already set', () => {
    expect(withObjective(running, 'm').objectiveStatus).toBe('pending');
    const set = { ...running, status: 'succeeded' as const, objectiveValue: 1, objectiveStatus: 'succeeded' as const, metrics: { m: 2 } };
    expect(withObjective(set, 'm')).toBe(set);
  });

  it('leaves a finished trial without the metric unknown, and a failed one failed', () => {
    const finished = { ...running, status: 'succeeded' as const, metrics: { other: 1 } };
    expect(withObjective(finished, 'm')).toEqual(finished);
    const failed = { ...running, status: 'failed' as const, objectiveStatus: 'failed' as const };
    expect(withObjective(failed, 'm')).toEqual(failed);
  });
});
