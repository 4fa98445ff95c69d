import { describe, expect, it } from 'vitest';
import { eventIds, nextJobAnnouncement, typedHyperparameters, type JobAnnouncement } from '../../../shared/domain/events';
import type { JobRecord } from '../../../shared/domain/job';
import { parseSpec } from '../../../shared/domain/spec';

const spec = parseSpec({
  name: 'churn-xgb',
  provider: 'sagemaker',
  objective: { metric: 'validation:auc', goal: 'maximize' },
  parameters: [
    { name: 'eta', type: 'double', min: 0.01, max: 0.5 },
    { name: 'max_depth', type: 'integer', min: 2, max: 10 },
    { name: 'num_round', type: 'discrete', values: [50, 100, 200] },
    { name: 'booster', type: 'categorical', values: ['gbtree', 1] },
  ],
  strategy: 'random',
  budget: { maxTrials: 4, parallelTrials: 2 },
  trial: { inputs: [{ channel: 'train', s3Uri: 's3://tunewire-data/churn/base/' }] },
});

const JOB_ID = 'churn-xgb-0f3a';
const job = (facts: Partial<JobRecord> = {}): JobRecord => ({
  jobId: JOB_ID,
  name: 'churn-xgb',
  provider: 'sagemaker',
  spec,
  status: 'pending',
  version: 1,
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:05.000Z',
  providerJobName: 'churn-xgb-0f3a',
  submittedAt: '2026-11-23T10:00:01.000Z',
  lastObservedAt: '2026-11-23T10:05:00.000Z',
  ...facts,
});

/** The announced marks a published announcement leaves on the job, as the ledger writes them. */
const published = (record: JobRecord, announcement: JobAnnouncement): JobRecord => ({
  ...record,
  announcedSequence: announcement.sequence,
  announcedEventId: announcement.event.id,
  ...(announcement.completes ? { announcedStatus: announcement.completes } : {}),
});

/** Every announcement the job has to make, in order, publishing each before asking for the next. */
function drain(record: JobRecord): JobAnnouncement[] {
  const out: JobAnnouncement[] = [];
  for (let next = nextJobAnnouncement(record, {}); next; next = nextJobAnnouncement(record, {})) {
    out.push(next);
    record = published(record, next);
    if (out.length > 10) throw new Error('announcements never end');
  }
  return out;
}

describe('nextJobAnnouncement', () => {
  it('announces job.submitted as sequence 1, at the submit time, completing pending', () => {
    const next = nextJobAnnouncement(job({ status: 'running' }), {});

    expect(next?.sequence).toBe(1);
    expect(next?.completes).toBe('pending');
    expect(next?.event).toMatchObject({ kind: 'job.submitted', id: eventIds.submitted(JOB_ID), subject: JOB_ID, time: '2026-11-23T10:00:01.000Z' });
    expect(next?.event.detail).toMatchObject({ status: 'pending', adopted: false, sequence: 1 });
  });

  it('announces a status change from the announced status, completing the new one', () => {
    const next = nextJobAnnouncement(job({ status: 'running', announcedStatus: 'pending', announcedSequence: 1, announcedEventId: eventIds.submitted(JOB_ID) }), {});

    expect(next?.sequence).toBe(2);
    expect(next?.completes).toBe('running');
    expect(next?.event).toMatchObject({ kind: 'job.status_changed', id: `${JOB_ID}:status:running`, time: '2026-11-23T10:05:00.000Z' });
    expect(next?.event.detail).toMatchObject({ from: 'pending', status: 'running', sequence: 2 });
  });

  it('announces a terminal status change without completing it, then job.finished completing it', () => {
    const running = job({ status: 'succeeded', announcedStatus: 'running', announcedSequence: 2, announcedEventId: `${JOB_ID}:status:running` });
    const change = nextJobAnnouncement(running, {});

    expect(change?.event).toMatchObject({ kind: 'job.status_changed', id: `${JOB_ID}:status:succeeded` });
    expect(change?.event.detail).toMatchObject({ from: 'running', status: 'succeeded', sequence: 3 });
    expect(change?.completes).toBeUndefined();

    const finished = nextJobAnnouncement(published(running, change as JobAnnouncement), {});

    expect(finished?.sequence).toBe(4);
    expect(finished?.completes).toBe('succeeded');
    expect(finished?.event).toMatchObject({ kind: 'job.finished', id: eventIds.finished(JOB_ID) });
    expect(finished?.event.detail).toMatchObject({ status: 'succeeded', startedAt: '2026-11-23T10:00:01.000Z', endedAt: '2026-11-23T10:05:00.000Z', durationSeconds: 299, sequence: 4 });
  });

  it('numbers a whole life from submit to finish 1, 2, 3, 4 and then announces nothing', () => {
    const kinds = drain(job({ status: 'failed', failureReason: 'AlgorithmError' })).map((a) => [a.sequence, a.event.kind, a.event.id]);

    expect(kinds).toEqual([
      [1, 'job.submitted', `${JOB_ID}:submitted`],
      [2, 'job.status_changed', `${JOB_ID}:status:failed`],
      [3, 'job.finished', `${JOB_ID}:finished`],
    ]);
  });

  it('gives a change into or out of paused an id carrying its sequence, so each visit is its own event', () => {
    const paused = nextJobAnnouncement(job({ status: 'paused', announcedStatus: 'running', announcedSequence: 2, announcedEventId: `${JOB_ID}:status:running` }), {});
    expect(paused?.event.id).toBe(`${JOB_ID}:status:paused:3`);
    expect(paused?.completes).toBe('paused');

    const resumed = nextJobAnnouncement(job({ status: 'running', announcedStatus: 'paused', announcedSequence: 3, announcedEventId: `${JOB_ID}:status:paused:3` }), {});
    expect(resumed?.event.id).toBe(`${JOB_ID}:status:running:4`);
    expect(resumed?.event.detail).toMatchObject({ from: 'paused', status: 'running', sequence: 4 });
  });

  it('finishes a job that failed while paused after its numbered change', () => {
    const announcements = drain(job({ status: 'failed', announcedStatus: 'paused', announcedSequence: 3, announcedEventId: `${JOB_ID}:status:paused:3` }));

    expect(announcements.map((a) => [a.sequence, a.event.id])).toEqual([
      [4, `${JOB_ID}:status:failed:4`],
      [5, `${JOB_ID}:finished`],
    ]);
  });

  it('announces nothing when every announcement is out', () => {
    expect(nextJobAnnouncement(job({ status: 'running', announcedStatus: 'running', announcedSequence: 2, announcedEventId: `${JOB_ID}:status:running` }), {})).toBeUndefined();
    expect(nextJobAnnouncement(job({ status: 'stopped', announcedStatus: 'stopped', announcedSequence: 4, announcedEventId: eventIds.finished(JOB_ID) }), {})).toBeUndefined();
  });

  it('announces nothing for a job still submitting', () => {
    expect(nextJobAnnouncement(job({ status: 'submitting' }), {})).toBeUndefined();
  });

  it('counts a job announced before sequences (announcedStatus only) as having announced job.submitted', () => {
    const next = nextJobAnnouncement(job({ status: 'running', announcedStatus: 'pending' }), {});

    expect(next?.event.kind).toBe('job.status_changed');
    expect(next?.sequence).toBe(2);
  });
});

describe('typedHyperparameters', () => {
  it('reads double, integer and discrete parameters as numbers, by the spec', () => {
    expect(typedHyperparameters(spec, { eta: '0.1', max_depth: '6', num_round: '100' })).toEqual({ eta: 0.1, max_depth: 6, num_round: 100 });
  });

  it('keeps categorical values as strings, even when they look like numbers', () => {
    expect(typedHyperparameters(spec, { booster: '1' })).toEqual({ booster: '1' });
  });

  it('keeps names the spec does not know (static or provider-added) as strings', () => {
    expect(typedHyperparameters(spec, { seed: '42', objective: 'binary:logistic' })).toEqual({ seed: '42', objective: 'binary:logistic' });
  });

  it('keeps a numeric parameter the provider wrote as no number as it wrote it', () => {
    expect(typedHyperparameters(spec, { eta: '', max_depth: 'six', num_round: 'Infinity' })).toEqual({ eta: '', max_depth: 'six', num_round: 'Infinity' });
  });

  it('orders the names, so the same trial always serialises the same', () => {
    expect(Object.keys(typedHyperparameters(spec, { num_round: '50', booster: 'gbtree', eta: '0.2' }))).toEqual(['booster', 'eta', 'num_round']);
  });
});
