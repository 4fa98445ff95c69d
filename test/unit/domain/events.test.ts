import { describe, expect, it } from 'vitest';
import {
  EVENT_CATALOG,
  EVENT_SOURCE,
  cloudEventTypeOf,
  detailTypeOf,
  eventIds,
  kindOfDetailType,
  makeEvent,
  type EventKind,
  type JobSubmittedDetail,
} from '../../../shared/domain/events';
import { JOB_STATUSES } from '../../../shared/domain/status';
import { NOTIFY_EVENTS } from '../../../shared/domain/spec';

const KINDS = Object.keys(EVENT_CATALOG) as EventKind[];

describe('EVENT_CATALOG', () => {
  it('holds the seven events of the design notes', () => {
    expect(EVENT_CATALOG).toEqual({
      'job.submitted': 'Tuning Job Submitted',
      'job.status_changed': 'Tuning Job Status Changed',
      'job.finished': 'Tuning Job Finished',
      'trial.finished': 'Tuning Trial Finished',
      'model.promoted': 'Model Promoted',
      'model.promotion_skipped': 'Model Promotion Skipped',
      'retune.requested': 'Retune Requested',
    });
  });

  it('lists the same kinds a spec can subscribe webhooks to', () => {
    expect([...KINDS].sort()).toEqual([...NOTIFY_EVENTS].sort());
  });

  it('gives every kind a distinct detail-type', () => {
    const detailTypes = KINDS.map(detailTypeOf);

    expect(new Set(detailTypes).size).toBe(KINDS.length);
  });

  it('gives every kind a distinct CloudEvents type under the tunewire source', () => {
    const types = KINDS.map(cloudEventTypeOf);

    expect(new Set(types).size).toBe(KINDS.length);
    for (const type of types) expect(type.startsWith(`${EVENT_SOURCE}.`)).toBe(true);
    expect(cloudEventTypeOf('job.finished')).toBe('tunewire.job.finished');
  });
});

describe('kindOfDetailType', () => {
  for (const kind of KINDS) {
    it(`round-trips ${kind} through its detail-type`, () => {
      expect(kindOfDetailType(detailTypeOf(kind))).toBe(kind);
    });
  }

  for (const detailType of ['Tuning Job State Change', 'SageMaker HyperParameter Tuning Job State Change', 'tuning job finished', '', 'constructor', 'job.finished']) {
    it(`knows no kind for ${JSON.stringify(detailType)}`, () => {
      expect(kindOfDetailType(detailType)).toBeUndefined();
    });
  }
});

describe('eventIds', () => {
  const JOB = 'churn-xgb-abcdefghjk';

  it('builds the same id for the same fact', () => {
    expect(eventIds.submitted(JOB)).toBe(eventIds.submitted(JOB));
    expect(eventIds.statusChanged(JOB, 'running')).toBe(eventIds.statusChanged(JOB, 'running'));
    expect(eventIds.finished(JOB)).toBe(eventIds.finished(JOB));
    expect(eventIds.trialFinished(JOB, 'trial-1')).toBe(eventIds.trialFinished(JOB, 'trial-1'));
    expect(eventIds.promotion(JOB, 'churn')).toBe(eventIds.promotion(JOB, 'churn'));
    expect(eventIds.retune('churn', '2025-03-01')).toBe(eventIds.retune('churn', '2025-03-01'));
  });

  it('builds distinct ids across kinds, statuses, trials and models of one job', () => {
    const ids = [
      eventIds.submitted(JOB),
      ...JOB_STATUSES.map((status) => eventIds.statusChanged(JOB, status)),
      eventIds.finished(JOB),
      eventIds.trialFinished(JOB, '1'),
      eventIds.trialFinished(JOB, '2'),
      eventIds.trialFinished(JOB, 'finished'),
      eventIds.trialFinished(JOB, 'submitted'),
      eventIds.promotion(JOB, 'churn'),
      eventIds.promotion(JOB, 'churn-v2'),
      eventIds.retune(JOB, 'finished'),
      eventIds.retune('churn', '2025-03-01'),
    ];

    expect(new Set(ids).size).toBe(ids.length);
  });

  it('builds distinct ids for the same fact about different jobs', () => {
    const other = 'churn-xgb-zyxwvtsrqp';

    expect(eventIds.submitted(JOB)).not.toBe(eventIds.submitted(other));
    expect(eventIds.statusChanged(JOB, 'failed')).not.toBe(eventIds.statusChanged(other, 'failed'));
    expect(eventIds.finished(JOB)).not.toBe(eventIds.finished(other));
    expect(eventIds.trialFinished(JOB, '1')).not.toBe(eventIds.trialFinished(other, '1'));
    expect(eventIds.promotion(JOB, 'churn')).not.toBe(eventIds.promotion(other, 'churn'));
    expect(eventIds.retune('churn', '2025-03-01')).not.toBe(eventIds.retune('churn', '2025-03-02'));
  });
});

describe('makeEvent', () => {
  it('builds an event with the time as ISO-8601 and the detail as given', () => {
    const detail: JobSubmittedDetail = { jobId: 'churn-xgb-abcdefghjk', name: 'churn-xgb', provider: 'local', status: 'pending', adopted: false };

    const event = makeEvent('job.submitted', eventIds.submitted(detail.jobId), detail.jobId, detail, new Date(Date.UTC(2025, 2, 1, 10, 0, 0)));

    expect(event).toEqual({
      id: 'churn-xgb-abcdefghjk:submitted',
      kind: 'job.submitted',
      subject: 'churn-xgb-abcdefghjk',
      time: '2025-03-01T10:00:00.000Z',
      detail,
    });
  });

  it('is deterministic: the same inputs make equal events', () => {
    const detail = { template: 'churn', reason: 'schedule' };
    const at = new Date('2025-03-01T00:00:00Z');

    expect(makeEvent('retune.requested', eventIds.retune('churn', '2025-03-01'), 'churn', detail, at)).toEqual(
      makeEvent('retune.requested', eventIds.retune('churn', '2025-03-01'), 'churn', detail, at),
    );
  });
});
