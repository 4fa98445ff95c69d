import { describe, expect, it } from 'vitest';
import { followJob, jobsTable, pollIntervalMs } from '../../../shared/cli/jobs';
import { formatAge, trialCountsCell } from '../../../shared/domain/format';
import { ValidationError } from '../../../shared/domain/errors';
import type { JobRecord } from '../../../shared/domain/job';
import { parseSpec } from '../../../shared/domain/spec';
import type { JobStatus } from '../../../shared/domain/status';
import { edgeSpec } from '../../support/edge-deps';

const spec = parseSpec(edgeSpec('local', 'churn-xgb'));

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: 'churn-xgb-1a2b3c',
    name: 'churn-xgb',
    provider: 'local',
    spec,
    status: 'running',
    version: 1,
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:00.000Z',
    providerJobName: 'tw-churn-xgb-1a2b3c',
    ...overrides,
  };
}

describe('formatAge', () => {
  for (const [ms, age] of [
    [0, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [3 * 60_000 + 59_000, '3m'],
    [2 * 3_600_000, '2h'],
    [23 * 3_600_000 + 59 * 60_000, '23h'],
    [4 * 86_400_000 + 5 * 3_600_000, '4d'],
    [-5_000, '0s'],
  ] as const) {
    it(`shows ${ms} ms as ${age}`, () => expect(formatAge(ms)).toBe(age));
  }
});

describe('trialCountsCell', () => {
  it('gives the total, then each status that has trials', () => {
    expect(trialCountsCell({ trialCounts: { succeeded: 10, failed: 2, stopped: 0 } })).toBe('12: 10 succeeded, 2 failed');
  });
  it('is - before any counts are reported', () => {
    expect(trialCountsCell({})).toBe('-');
    expect(trialCountsCell({ trialCounts: { running: 0 } })).toBe('-');
  });
});

describe('jobsTable', () => {
  it('lays the jobs out in columns under a header, ages from now', () => {
    const best = { trialId: 't3', status: 'succeeded' as const, hyperparameters: {}, stoppedEarly: false, objectiveValue: 0.91234 };
    const lines = jobsTable(
      [job({ status: 'succeeded', bestTrial: best, trialCounts: { succeeded: 10, failed: 2 } }), job({ jobId: 'other-9', name: 'other', provider: 'sagemaker', createdAt: '2026-11-23T07:30:00.000Z' })],
      new Date('2026-11-23T10:03:00.000Z'),
    );

    expect(lines).toEqual([
      'job               name       provider   status     best    trials                      age',
      'churn-xgb-1a2b3c  churn-xgb  local      succeeded  0.9123  12: 10 succeeded, 2 failed  3m',
      'other-9           other      sagemaker  running    -       -                           2h',
    ]);
  });
});

describe('pollIntervalMs', () => {
  it('is 2 s for a local job and 10 s for a cloud one unless TUNEWIRE_POLL_SECONDS is set', () => {
    expect(pollIntervalMs({}, 'local')).toBe(2_000);
    expect(pollIntervalMs({}, 'vertex')).toBe(10_000);
    expect(pollIntervalMs({ TUNEWIRE_POLL_SECONDS: '0.5' }, 'sagemaker')).toBe(500);
  });
  for (const value of ['0', '-1', 'soon', 'Infinity']) {
    it(`refuses TUNEWIRE_POLL_SECONDS=${value}, naming it`, () => {
      expect(() => pollIntervalMs({ TUNEWIRE_POLL_SECONDS: value }, 'local')).toThrow(ValidationError);
      expect(() => pollIntervalMs({ TUNEWIRE_POLL_SECONDS: value }, 'local')).toThrow(/TUNEWIRE_POLL_SECONDS/);
    });
  }
});

describe('followJob', () => {
  /** A job read back as these readings, one per read; the last repeats. */
  function readings(...states: readonly [JobStatus, Record<string, number>?][]) {
    let i = 0;
    return async () => {
      const [status, trialCounts] = states[Math.min(i++, states.length - 1)] as [JobStatus, Record<string, number>?];
      return job({ status, ...(trialCounts ? { trialCounts } : {}) });
    };
  }

  it('reports the first reading and each change of status or trial counts, sleeping the interval between reads, until the job ends', async () => {
    const seen: string[] = [];
    const slept: number[] = [];

    const final = await followJob({
      read: readings(['pending'], ['running'], ['running'], ['running', { running: 2 }], ['running', { running: 2 }], ['succeeded', { succeeded: 2 }]),
      intervalMs: 2_000,
      sleep: async (ms) => slept.push(ms),
      onChange: (j) => seen.push(`${j.status} ${trialCountsCell(j)}`),
    });

    expect(final.status).toBe('succeeded');
    expect(seen).toEqual(['pending -', 'running -', 'running 2: 2 running', 'succeeded 2: 2 succeeded']);
    expect(slept).toEqual([2_000, 2_000, 2_000, 2_000, 2_000]);
  });

  it('returns a job that has already ended after one read, without sleeping', async () => {
    const slept: number[] = [];
    const seen: string[] = [];

    const final = await followJob({ read: readings(['failed']), intervalMs: 2_000, sleep: async (ms) => slept.push(ms), onChange: (j) => seen.push(j.status) });

    expect(final.status).toBe('failed');
    expect(seen).toEqual(['failed']);
    expect(slept).toEqual([]);
  });
});
