import { describe, expect, it } from 'vitest';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import {
  bestSoFar,
  naturalCompare,
  parameterColumns,
  parameterImportance,
  parseSort,
  sortKeys,
  sortRows,
  toCsv,
  trialRows,
  trialsCsv,
  type TrialRow,
} from '../../../shared/domain/study';
import type { Trial } from '../../../shared/domain/trial';

const spec: TuningSpec = parseSpec({
  name: 'forest',
  provider: 'local',
  objective: { metric: 'accuracy', goal: 'maximize' },
  parameters: [
    { name: 'n_estimators', type: 'integer', min: 10, max: 200 },
    { name: 'criterion', type: 'categorical', values: ['gini', 'entropy'] },
    { name: 'max_features', type: 'double', min: 0.1, max: 1 },
  ],
  budget: { maxTrials: 12 },
  trial: { command: ['train'] },
});

function trial(trialId: string, fields: Partial<Trial> = {}): Trial {
  return { trialId, status: 'succeeded', hyperparameters: {}, stoppedEarly: false, ...fields };
}

function row(trialId: string, fields: Partial<TrialRow> = {}): TrialRow {
  return { trialId, status: 'succeeded', hyperparameters: {}, stoppedEarly: false, best: false, ...fields };
}

describe('naturalCompare', () => {
  const sorted = (ids: string[]) => [...ids].sort(naturalCompare);

  it('puts trial-2 before trial-10', () => {
    expect(sorted(['trial-10', 'trial-2', 'trial-1'])).toEqual(['trial-1', 'trial-2', 'trial-10']);
  });

  it('orders SageMaker training-job names by their number', () => {
    expect(sorted(['job-010-abc', 'job-002-abc', 'job-001-xyz'])).toEqual(['job-001-xyz', 'job-002-abc', 'job-010-abc']);
  });

  it('orders Vertex numeric ids as numbers', () => {
    expect(sorted(['10', '9', '2', '100'])).toEqual(['2', '9', '10', '100']);
  });

  it('compares digit runs longer than a double holds without losing precision', () => {
    expect(naturalCompare('t-90071992547409931', 't-90071992547409930')).toBeGreaterThan(0);
  });

  it('is a total order: zero padding and equal ids tie-break by the plain string', () => {
    expect(naturalCompare('t01', 't1')).not.toBe(0);
    expect(Math.sign(naturalCompare('t01', 't1'))).toBe(-Math.sign(naturalCompare('t1', 't01')));
    expect(naturalCompare('same', 'same')).toBe(0);
    expect(sorted(['b', 'a1', 'a', '', 'a01'])).toEqual(['', 'a', 'a01', 'a1', 'b']);
  });
});

describe('trialRows', () => {
  const trials = [
    trial('t10', { hyperparameters: { n_estimators: '100', criterion: 'gini', max_features: '0.5' }, objectiveValue: 0.9, startedAt: '2026-11-23T10:00:00.000Z', endedAt: '2026-11-23T10:00:12.500Z' }),
    trial('t2', { hyperparameters: { n_estimators: '50', criterion: 'entropy', max_features: '0.25' }, objectiveValue: 0.95, stoppedEarly: true, status: 'stopped' }),
    trial('t1', { status: 'failed', hyperparameters: { n_estimators: '10', criterion: 'gini', max_features: 'oops' }, failureReason: 'exited 1', objectiveStatus: 'failed' }),
  ];

  it('types hyperparameters by the spec, in natural trial order, with duration, flags and failure', () => {
    const rows = trialRows(spec, trials);
    expect(rows.map((r) => r.trialId)).toEqual(['t1', 't2', 't10']);
    expect(rows[2]).toEqual({
      trialId: 't10',
      hyperparameters: { n_estimators: 100, criterion: 'gini', max_features: 0.5 },
      objectiveValue: 0.9,
      status: 'succeeded',
      durationSeconds: 12.5,
      stoppedEarly: false,
      best: false,
    });
    expect(rows[0]).toMatchObject({ status: 'failed', failureReason: 'exited 1', hyperparameters: { max_features: 'oops' }, best: false });
    expect(rows[0]?.durationSeconds).toBeUndefined();
    expect(rows[1]).toMatchObject({ stoppedEarly: true, status: 'stopped' });
  });

  it("marks the goal's best trial, or the job's best trial when given", () => {
    expect(trialRows(spec, trials).filter((r) => r.best).map((r) => r.trialId)).toEqual(['t2']);
    const minimize = { ...spec, objective: { metric: 'loss', goal: 'minimize' as const } };
    expect(trialRows(minimize, trials).filter((r) => r.best).map((r) => r.trialId)).toEqual(['t10']);
    expect(trialRows(spec, trials, { bestTrialId: 't10' }).filter((r) => r.best).map((r) => r.trialId)).toEqual(['t10']);
    // a best trial the list does not hold marks the list's own best
    expect(trialRows(spec, trials, { bestTrialId: 'gone' }).filter((r) => r.best).map((r) => r.trialId)).toEqual(['t2']);
  });

  it('drops a non-finite objective and marks no best when no trial has an objective', () => {
    const rows = trialRows(spec, [trial('a', { objectiveValue: Number.NaN }), trial('b', { objectiveValue: Number.POSITIVE_INFINITY })]);
    expect(rows.map((r) => r.objectiveValue)).toEqual([undefined, undefined]);
    expect(rows.some((r) => r.best)).toBe(false);
  });

  it('gives no rows for no trials', () => {
    expect(trialRows(spec, [])).toEqual([]);
  });
});

describe('parameterColumns', () => {
  it('lists the spec parameters in spec order, then other reported hyperparameters in natural order', () => {
    const rows = [row('a', { hyperparameters: { max_features: 0.5, eta10: '1', criterion: 'gini' } }), row('b', { hyperparameters: { eta2: '1', n_estimators: 5 } })];
    expect(parameterColumns(spec, rows)).toEqual(['n_estimators', 'criterion', 'max_features', 'eta2', 'eta10']);
  });

  it('lists the spec parameters even without trials', () => {
    expect(parameterColumns(spec, [])).toEqual(['n_estimators', 'criterion', 'max_features']);
  });
});

describe('parseSort and sortKeys', () => {
  it('reads a leading - as descending', () => {
    expect(parseSort('-objective')).toEqual({ key: 'objective', direction: 'desc' });
    expect(parseSort('n_estimators')).toEqual({ key: 'n_estimators', direction: 'asc' });
  });

  it('offers the fixed fields, then each parameter once', () => {
    expect(sortKeys(['lr', 'status'])).toEqual(['trial', 'objective', 'duration', 'status', 'lr']);
  });
});

describe('sortRows', () => {
  const rows = [
    row('t10', { objectiveValue: 0.5, durationSeconds: 3, hyperparameters: { lr: 0.1, kind: 'b10' } }),
    row('t2', { objectiveValue: 0.9, status: 'failed', hyperparameters: { lr: 0.01, kind: 'b2' } }),
    row('t3', { durationSeconds: 1, status: 'running', hyperparameters: { kind: 'b2' } }),
    row('t1', { objectiveValue: 0.5, durationSeconds: 2, hyperparameters: { lr: 'auto', kind: 'a' } }),
  ];
  const ids = (sorted: readonly TrialRow[]) => sorted.map((r) => r.trialId);

  it('sorts by objective, missing values last in both directions, ties in natural trial order', () => {
    expect(ids(sortRows(rows, 'objective', 'asc'))).toEqual(['t1', 't10', 't2', 't3']);
    expect(ids(sortRows(rows, 'objective', 'desc'))).toEqual(['t2', 't1', 't10', 't3']);
  });

  it('sorts by duration and by trial', () => {
    expect(ids(sortRows(rows, 'duration'))).toEqual(['t3', 't1', 't10', 't2']);
    expect(ids(sortRows(rows, 'duration', 'desc'))).toEqual(['t10', 't1', 't3', 't2']);
    expect(ids(sortRows(rows, 'trial', 'desc'))).toEqual(['t10', 't3', 't2', 't1']);
  });

  it('sorts statuses in the vocabulary order', () => {
    expect(ids(sortRows(rows, 'status'))).toEqual(['t3', 't1', 't10', 't2']);
  });

  it('sorts a parameter: numbers before text, text in natural order, missing last', () => {
    expect(ids(sortRows(rows, 'lr'))).toEqual(['t2', 't10', 't1', 't3']);
    expect(ids(sortRows(rows, 'lr', 'desc'))).toEqual(['t1', 't10', 't2', 't3']);
    expect(ids(sortRows(rows, 'kind'))).toEqual(['t1', 't2', 't3', 't10']);
  });

  it('leaves the input alone and handles no rows', () => {
    const before = ids(rows);
    sortRows(rows, 'objective', 'desc');
    expect(ids(rows)).toEqual(before);
    expect(sortRows([], 'objective')).toEqual([]);
  });
});

describe('toCsv', () => {
  it('writes a header and CRLF records, numbers unformatted', () => {
    expect(toCsv(['trial', 'lr', 'ok'], [['t1', 0.000123, true], ['t2', 1e21, false]])).toBe('trial,lr,ok\r\nt1,0.000123,true\r\nt2,1e+21,false\r\n');
  });

  it('quotes fields with a comma, quote, CR or LF, doubling quotes', () => {
    expect(toCsv(['a'], [['x,y'], ['say "hi"'], ['two\nlines'], ['cr\r']])).toBe('a\r\n"x,y"\r\n"say ""hi"""\r\n"two\nlines"\r\n"cr\r"\r\n');
  });

  it('guards text that a spreadsheet would run as a formula, but not negative numbers', () => {
    const csv = toCsv(['v'], [['=HYPERLINK("x")'], ['+1'], ['-2+3'], ['@SUM(A1)'], ['\tx'], ['\rx'], [-0.5], ['a=b']]);
    expect(csv.split('\r\n').slice(1, -1)).toEqual(['"\'=HYPERLINK(""x"")"', "'+1", "'-2+3", "'@SUM(A1)", "'\tx", '"\'\rx"', '-0.5', 'a=b']);
  });

  it('writes undefined and non-finite numbers as empty fields, and LF when asked', () => {
    expect(toCsv(['a', 'b', 'c'], [[undefined, Number.NaN, Number.NEGATIVE_INFINITY]], { newline: '\n' })).toBe('a,b,c\n,,\n');
  });

  it('writes only the header for no rows', () => {
    expect(toCsv(['a', 'b'], [])).toBe('a,b\r\n');
  });
});

describe('trialsCsv', () => {
  it('writes a trial table with its parameter columns', () => {
    const rows = [row('t1', { hyperparameters: { lr: 0.1, kind: '=cmd' }, objectiveValue: -0.25, durationSeconds: 1.5, best: true }), row('t2', { status: 'failed', failureReason: 'exited 1, badly' })];
    expect(trialsCsv(['lr', 'kind'], rows).split('\r\n')).toEqual([
      'trial,lr,kind,objective,status,stoppedEarly,durationSeconds,failureReason,best',
      "t1,0.1,'=cmd,-0.25,succeeded,false,1.5,,true",
      't2,,,,failed,false,,"exited 1, badly",false',
      '',
    ]);
  });
});

describe('bestSoFar', () => {
  it('keeps the running best for the goal, undefined until the first value', () => {
    expect(bestSoFar([undefined, 0.5, 0.4, 0.7, 0.6], 'maximize')).toEqual([undefined, 0.5, 0.5, 0.7, 0.7]);
    expect(bestSoFar([3, 4, 1, 2], 'minimize')).toEqual([3, 3, 1, 1]);
  });

  it('skips non-finite values and keeps ties', () => {
    expect(bestSoFar([Number.NaN, 1, Number.POSITIVE_INFINITY, 1], 'maximize')).toEqual([undefined, 1, 1, 1]);
    expect(bestSoFar([], 'maximize')).toEqual([]);
  });
});

describe('parameterImportance', () => {
  const twoParameters = parseSpec({
    name: 'imp',
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [
      { name: 'x', type: 'double', min: 0, max: 1 },
      { name: 'color', type: 'categorical', values: ['red', 'blue'] },
      { name: 'fixed', type: 'discrete', values: [1, 2] },
    ],
    budget: { maxTrials: 20 },
    trial: { command: ['train'] },
  });

  /** 20 trials whose score is x alone; colour alternates, fixed never changes. */
  const rows = Array.from({ length: 20 }, (_, i) => row(`t${i}`, { hyperparameters: { x: i / 20, color: i % 2 ? 'red' : 'blue', fixed: 1 }, objectiveValue: i / 20 }));

  it('ranks the parameter that moves the objective first; shares sum to 1; one distinct value gets 0', () => {
    const importance = parameterImportance(twoParameters, rows);
    expect(importance.map((p) => p.parameter)).toEqual(['x', 'color', 'fixed']);
    expect(importance.reduce((sum, p) => sum + p.importance, 0)).toBeCloseTo(1, 10);
    expect(importance[0]?.etaSquared).toBeGreaterThan(0.9);
    expect(importance[2]).toEqual({ parameter: 'fixed', importance: 0, etaSquared: 0 });
  });

  it('computes eta squared by value groups for a categorical parameter', () => {
    // blue: 0 and 2 (mean 1), red: 10 and 12 (mean 11); total variance 4·25 + 4 = 104, between 4·25 = 100
    const groups = [row('a', { hyperparameters: { color: 'blue' }, objectiveValue: 0 }), row('b', { hyperparameters: { color: 'blue' }, objectiveValue: 2 }), row('c', { hyperparameters: { color: 'red' }, objectiveValue: 10 }), row('d', { hyperparameters: { color: 'red' }, objectiveValue: 12 })];
    const color = parameterImportance(twoParameters, groups).find((p) => p.parameter === 'color');
    expect(color?.etaSquared).toBeCloseTo(100 / 104, 10);
  });

  it('bins a numeric parameter with many values into quantile bins, equal values in one bin', () => {
    // 10 distinct values: 5 bins of 2, so the pair inside a bin counts as one group
    const pairs = Array.from({ length: 10 }, (_, i) => row(`p${i}`, { hyperparameters: { x: i }, objectiveValue: i % 2 }));
    const x = parameterImportance(twoParameters, pairs).find((p) => p.parameter === 'x');
    expect(x?.etaSquared).toBeCloseTo(0, 10);
    // grouped by value instead, every trial would be its own group and explain everything
    const few = Array.from({ length: 4 }, (_, i) => row(`f${i}`, { hyperparameters: { x: i }, objectiveValue: i % 2 }));
    expect(parameterImportance(twoParameters, few).find((p) => p.parameter === 'x')?.etaSquared).toBeCloseTo(1, 10);
  });

  it('gives every parameter 0 when the objective never changes', () => {
    const flat = rows.map((r) => ({ ...r, objectiveValue: 0.5 }));
    expect(parameterImportance(twoParameters, flat).map((p) => p.importance)).toEqual([0, 0, 0]);
  });

  it('uses only finished trials with a finite objective; fewer than two gives nothing', () => {
    expect(parameterImportance(twoParameters, [])).toEqual([]);
    expect(parameterImportance(twoParameters, [rows[0] as TrialRow])).toEqual([]);
    const unusable = [row('a', { objectiveValue: 1, status: 'failed' }), row('b', { objectiveValue: 2, status: 'running' }), row('c', { objectiveValue: Number.NaN }), row('d', { objectiveValue: 3 })];
    expect(parameterImportance(twoParameters, unusable)).toEqual([]);
  });

  it('puts trials without the parameter in a group of their own', () => {
    const partial = [row('a', { hyperparameters: { color: 'red' }, objectiveValue: 1 }), row('b', { hyperparameters: { color: 'red' }, objectiveValue: 1 }), row('c', { objectiveValue: 5 }), row('d', { objectiveValue: 5 })];
    expect(parameterImportance(twoParameters, partial).find((p) => p.parameter === 'color')?.etaSquared).toBeCloseTo(1, 10);
  });
});
