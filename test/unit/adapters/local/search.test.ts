import { describe, expect, it } from 'vitest';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';
import { createRng, gridPoints, gridSize, resolveSeed, sampleParameter, searchIssues, searchPoints } from '../../../../shared/adapters/local/search';

function spec(overrides: Record<string, unknown>): TuningSpec {
  return parseSpec({
    name: 'search-test',
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [{ name: 'x', type: 'integer', min: 1, max: 3 }],
    strategy: 'random',
    budget: { maxTrials: 10 },
    trial: {},
    ...overrides,
  });
}

const gridSpec = (maxTrials: number): TuningSpec =>
  spec({
    strategy: 'grid',
    budget: { maxTrials },
    parameters: [
      { name: 'depth', type: 'integer', min: 1, max: 3 },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
      { name: 'ratio', type: 'discrete', values: [0.5, 1] },
    ],
  });

describe('grid search', () => {
  it('enumerates the cross product of integer ranges, categorical and discrete values', () => {
    const points = [...searchPoints(gridSpec(100), 1)];
    expect(points).toHaveLength(3 * 2 * 2);
    expect(new Set(points.map((p) => JSON.stringify(p))).size).toBe(12);
    expect(points[0]).toEqual({ depth: '1', booster: 'gbtree', ratio: '0.5' });
    expect(points[1]).toEqual({ depth: '1', booster: 'gbtree', ratio: '1' });
    expect(points[11]).toEqual({ depth: '3', booster: 'dart', ratio: '1' });
    for (const depth of ['1', '2', '3']) for (const booster of ['gbtree', 'dart']) for (const ratio of ['0.5', '1']) {
      expect(points).toContainEqual({ depth, booster, ratio });
    }
  });

  it('stops when the grid is exhausted, even with budget left', () => {
    expect([...searchPoints(gridSpec(1000), 1)]).toHaveLength(12);
    expect(gridSize(gridSpec(1).parameters)).toBe(12);
  });

  it('never yields more than budget.maxTrials', () => {
    expect([...searchPoints(gridSpec(5), 1)]).toHaveLength(5);
  });

  it('is lazy, so a huge integer range costs nothing up front', () => {
    const gen = gridPoints(spec({ strategy: 'grid', parameters: [{ name: 'n', type: 'integer', min: 0, max: 1_000_000_000 }] }).parameters);
    expect(gen.next().value).toEqual({ n: '0' });
    expect(gen.next().value).toEqual({ n: '1' });
  });

  it('refuses a double parameter, naming parameters[i].type', () => {
    const s = spec({
      strategy: 'grid',
      parameters: [
        { name: 'depth', type: 'integer', min: 1, max: 3 },
        { name: 'eta', type: 'double', min: 0.1, max: 0.5 },
      ],
    });
    expect(searchIssues(s)).toEqual([{ path: 'parameters[1].type', message: expect.stringContaining('grid') }]);
  });
});

describe('random search', () => {
  const mixed = spec({
    budget: { maxTrials: 2000 },
    parameters: [
      { name: 'eta', type: 'double', min: 0.001, max: 1, scale: 'log' },
      { name: 'momentum', type: 'double', min: 0.9, max: 0.999, scale: 'reverse_log' },
      { name: 'dropout', type: 'double', min: 0.1, max: 0.5 },
      { name: 'depth', type: 'integer', min: 2, max: 6 },
      { name: 'trees', type: 'integer', min: 1, max: 1000, scale: 'log' },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
      { name: 'ratio', type: 'discrete', values: [0.5, 0.75, 1] },
    ],
  });
  const points = [...searchPoints(mixed, 42)];
  const numbers = (name: string): number[] => points.map((p) => Number(p[name]));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

  it('makes exactly budget.maxTrials points', () => {
    expect(points).toHaveLength(2000);
  });

  it('keeps every value within bounds and integers whole', () => {
    for (const v of numbers('eta')) expect(v >= 0.001 && v <= 1).toBe(true);
    for (const v of numbers('momentum')) expect(v >= 0.9 && v <= 0.999).toBe(true);
    for (const v of numbers('dropout')) expect(v >= 0.1 && v <= 0.5).toBe(true);
    for (const v of [...numbers('depth'), ...numbers('trees')]) expect(Number.isInteger(v)).toBe(true);
    expect(new Set(numbers('depth'))).toEqual(new Set([2, 3, 4, 5, 6]));
    for (const v of numbers('trees')) expect(v >= 1 && v <= 1000).toBe(true);
    expect(new Set(points.map((p) => p.booster))).toEqual(new Set(['gbtree', 'dart']));
    expect(new Set(points.map((p) => p.ratio))).toEqual(new Set(['0.5', '0.75', '1']));
  });

  it('samples log scales log-uniformly: the median sits near the geometric mean', () => {
    expect(median(numbers('eta'))).toBeGreaterThan(0.02);
    expect(median(numbers('eta'))).toBeLessThan(0.05); // sqrt(0.001 * 1) = 0.0316; uniform would give ~0.5
    expect(median(numbers('trees'))).toBeLessThan(60); // uniform would give ~500
  });

  it('samples reverse_log densely near the top of the range', () => {
    // 1 - x is log-uniform on [0.001, 0.1]: its median is 0.01, so x's is about 0.99
    expect(median(numbers('momentum'))).toBeGreaterThan(0.985);
    expect(median(numbers('momentum'))).toBeLessThan(0.995);
  });

  it('samples linear scales uniformly', () => {
    expect(median(numbers('dropout'))).toBeGreaterThan(0.27);
    expect(median(numbers('dropout'))).toBeLessThan(0.33);
  });

  it('repeats itself for a seed and differs for another', () => {
    expect([...searchPoints(mixed, 42)]).toEqual(points);
    expect([...searchPoints(mixed, 43)]).not.toEqual(points);
  });

  it('takes its seed from labels.seed, numbers as they are and text hashed', () => {
    expect(resolveSeed(spec({ labels: { seed: '7' } }))).toBe(7);
    const text = resolveSeed(spec({ labels: { seed: 'churn' } }));
    expect(resolveSeed(spec({ labels: { seed: 'churn' } }))).toBe(text);
    expect(Number.isInteger(resolveSeed(spec({})))).toBe(true);
  });

  it('gives a single-valued range its one value', () => {
    const rng = createRng(1);
    expect(sampleParameter({ name: 'n', type: 'integer', min: 4, max: 4, scale: 'log' }, rng)).toBe('4');
    expect(sampleParameter({ name: 'd', type: 'double', min: 0.5, max: 0.5, scale: 'linear' }, rng)).toBe('0.5');
  });
});

describe('searchIssues', () => {
  it('needs min above 0 for a log scale', () => {
    const s = spec({ parameters: [{ name: 'eta', type: 'double', min: 0, max: 1, scale: 'log' }] });
    expect(searchIssues(s)).toEqual([{ path: 'parameters[0].min', message: 'must be above 0 for scale log' }]);
  });

  it('needs [0, 1) for reverse_log', () => {
    const s = spec({ parameters: [{ name: 'm', type: 'double', min: -0.1, max: 1, scale: 'reverse_log' }] });
    expect(searchIssues(s).map((i) => i.path)).toEqual(['parameters[0].min', 'parameters[0].max']);
  });

  it('accepts a valid random spec', () => {
    expect(searchIssues(spec({}))).toEqual([]);
  });
});
