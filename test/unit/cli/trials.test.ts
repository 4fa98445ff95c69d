import { describe, expect, it } from 'vitest';
import { parseTrialsQuery, sortedTrialRows, trialJson } from '../../../shared/cli/jobs';
import { formatParameter, trialTable } from '../../../shared/cli/output';
import { formatDuration } from '../../../shared/domain/format';
import { ValidationError } from '../../../shared/domain/errors';
import type { JobRecord } from '../../../shared/domain/job';
import { parseSpec } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';

const spec = parseSpec({
  name: 'forest',
  provider: 'local',
  objective: { metric: 'accuracy', goal: 'maximize' },
  parameters: [
    { name: 'n_estimators', type: 'integer', min: 10, max: 200 },
    { name: 'criterion', type: 'categorical', values: ['gini', 'entropy'] },
  ],
  budget: { maxTrials: 12 },
  trial: { command: ['train'] },
});

const job: JobRecord = {
  jobId: 'forest-1a2b3c',
  name: 'forest',
  provider: 'local',
  spec,
  status: 'succeeded',
  version: 1,
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
  providerJobName: 'tw-forest-1a2b3c',
};

function trial(trialId: string, fields: Partial<Trial> = {}): Trial {
  return { trialId, status: 'succeeded', hyperparameters: {}, stoppedEarly: false, ...fields };
}

const trials = [
  trial('forest-t10', { hyperparameters: { n_estimators: '150', criterion: 'gini' }, objectiveValue: 0.91, startedAt: '2026-11-23T10:00:00.000Z', endedAt: '2026-11-23T10:03:05.000Z' }),
  trial('forest-t2', { hyperparameters: { n_estimators: '20', criterion: 'entropy' }, objectiveValue: 0.97, stoppedEarly: true }),
  trial('forest-t1', { status: 'failed', hyperparameters: { n_estimators: '10', criterion: 'gini' }, failureReason: 'exited 1\nTraceback: boom' }),
];

describe('parseTrialsQuery', () => {
  it('takes a trial status and a sort key with - for descending', () => {
    expect(parseTrialsQuery({ status: 'failed', sort: '-objective' })).toEqual({ status: 'failed', sort: { key: 'objective', direction: 'desc' } });
    expect(parseTrialsQuery({})).toEqual({});
  });

  it('refuses an unknown status as bad input naming --status and the statuses', () => {
    const error = (() => {
      try {
        parseTrialsQuery({ status: 'done' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: '--status', message: 'must be one of pending, running, succeeded, failed, stopped, infeasible, not done' }]);
  });
});

describe('sortedTrialRows', () => {
  it('shows natural trial order and the parameter columns in spec order by default', () => {
    const { parameters, rows } = sortedTrialRows(job, trials, {});
    expect(parameters).toEqual(['n_estimators', 'criterion']);
    expect(rows.map((r) => r.trialId)).toEqual(['forest-t1', 'forest-t2', 'forest-t10']);
  });

  it("marks the job's best trial among all trials, whatever the filter", () => {
    const withBest = { ...job, bestTrial: trials[0] as Trial };
    const { rows } = sortedTrialRows(withBest, trials, { status: 'succeeded' });
    expect(rows.map((r) => [r.trialId, r.best])).toEqual([
      ['forest-t2', false],
      ['forest-t10', true],
    ]);
  });

  it('sorts by a parameter or a field, descending with -', () => {
    const byParameter = sortedTrialRows(job, trials, { sort: { key: 'n_estimators', direction: 'desc' } });
    expect(byParameter.rows.map((r) => r.trialId)).toEqual(['forest-t10', 'forest-t2', 'forest-t1']);
    const byObjective = sortedTrialRows(job, trials, { sort: { key: 'objective', direction: 'desc' } });
    expect(byObjective.rows.map((r) => r.trialId)).toEqual(['forest-t2', 'forest-t10', 'forest-t1']);
  });

  it('refuses an unknown sort key as bad input naming --sort and listing the keys', () => {
    expect(() => sortedTrialRows(job, trials, { sort: { key: 'speed', direction: 'asc' } })).toThrow(ValidationError);
    try {
      sortedTrialRows(job, trials, { sort: { key: 'speed', direction: 'asc' } });
    } catch (error) {
      expect((error as ValidationError).issues[0]).toEqual({
        path: '--sort',
        message: 'must be one of trial, objective, duration, status, n_estimators, criterion (a leading - sorts descending, e.g. -objective), not speed',
      });
    }
  });
});

describe('trialJson', () => {
  it('keeps the trial fields and adds typed hyperparameters, the duration and best', () => {
    const { rows } = sortedTrialRows(job, trials, {});
    const json = rows.map((row) => trialJson(trials.find((t) => t.trialId === row.trialId) as Trial, row));
    expect(json[2]).toEqual({
      trialId: 'forest-t10',
      status: 'succeeded',
      hyperparameters: { n_estimators: 150, criterion: 'gini' },
      objectiveValue: 0.91,
      startedAt: '2026-11-23T10:00:00.000Z',
      endedAt: '2026-11-23T10:03:05.000Z',
      durationSeconds: 185,
      stoppedEarly: false,
      best: false,
    });
    expect(json[1]).toMatchObject({ trialId: 'forest-t2', best: true, stoppedEarly: true });
    expect(json[1]).not.toHaveProperty('durationSeconds');
  });

  it('leaves out what the ledger keeps for itself', () => {
    const announced = { ...trial('t1'), announced: true } as Trial;
    const [row] = sortedTrialRows(job, [announced], {}).rows;
    expect(trialJson(announced, row as NonNullable<typeof row>)).not.toHaveProperty('announced');
  });
});

describe('trialTable', () => {
  it('shows a column per parameter, the objective, status with (early), duration and failure; the best marked *', () => {
    const { parameters, rows } = sortedTrialRows(job, trials, {});
    const lines = trialTable(parameters, rows);
    expect(lines[0]).toMatch(/^\s+trial\s+n_estimators\s+criterion\s+objective\s+status\s+duration\s+failure$/);
    expect(lines[1]).toMatch(/^\s+forest-t1\s+10\s+gini\s+-\s+failed\s+-\s+exited 1 Traceback: boom$/);
    expect(lines[2]).toMatch(/^\*\s+forest-t2\s+20\s+entropy\s+0\.9700\s+succeeded \(early\)\s+-$/);
    expect(lines[3]).toMatch(/^\s+forest-t10\s+150\s+gini\s+0\.9100\s+succeeded\s+3m05s$/);
  });
});

describe('formatDuration', () => {
  for (const [seconds, text] of [
    [undefined, '-'],
    [0.4, '0.4s'],
    [59.94, '59.9s'],
    [45, '45s'],
    [185, '3m05s'],
    [3_599.6, '1h00m'],
    [3_720, '1h02m'],
    [Number.NaN, '-'],
  ] as const) {
    it(`shows ${seconds} as ${text}`, () => expect(formatDuration(seconds)).toBe(text));
  }
});

describe('formatParameter', () => {
  it('shows integers whole, other numbers to 4 significant digits, text as it is', () => {
    expect(formatParameter(150)).toBe('150');
    expect(formatParameter(0.000123456)).toBe('0.0001235');
    expect(formatParameter(0.5)).toBe('0.5');
    expect(formatParameter('gini')).toBe('gini');
    expect(formatParameter(undefined)).toBe('-');
  });
});
