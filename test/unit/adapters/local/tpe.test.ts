import { describe, expect, it } from 'vitest';
import { parseSpec, type Goal, type ParameterSpec } from '../../../../shared/domain/spec';
import { createRng, sampleParameter, type ParameterPoint } from '../../../../shared/adapters/local/search';
import { TpeSampler, type TrialResult } from '../../../../shared/adapters/local/tpe';

function parameters(list: readonly Record<string, unknown>[]): readonly ParameterSpec[] {
  return parseSpec({
    name: 'tpe-test',
    provider: 'local',
    objective: { metric: 'score', goal: 'minimize' },
    parameters: list,
    budget: { maxTrials: 10 },
    trial: {},
  }).parameters;
}

const unit = parameters([{ name: 'x', type: 'double', min: 0, max: 1 }]);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Runs trials one after another, each suggestion learning from all before it. */
function run(sampler: TpeSampler, objective: (p: ParameterPoint) => number | undefined, trials: number): TrialResult[] {
  const finished: TrialResult[] = [];
  for (let i = 0; i < trials; i++) {
    const point = sampler.suggest(finished, [], i);
    finished.push({ point, value: objective(point) });
  }
  return finished;
}

/** Trials over one categorical parameter, from (value, objective) pairs. */
const history = (pairs: readonly (readonly [string, number | undefined])[]): TrialResult[] =>
  pairs.map(([c, value]) => ({ point: { c }, value }));

const suggestions = (sampler: TpeSampler, finished: readonly TrialResult[], pending: readonly ParameterPoint[], from: number, count: number): ParameterPoint[] =>
  Array.from({ length: count }, (_, i) => sampler.suggest(finished, pending, from + i));

describe('TpeSampler', () => {
  it('gives the same point for the same history, seed and index', () => {
    const space = parameters([
      { name: 'x', type: 'double', min: -5, max: 10 },
      { name: 'n', type: 'integer', min: 1, max: 50 },
      { name: 'c', type: 'categorical', values: ['a', 'b', 'c'] },
    ]);
    const objective = (p: ParameterPoint): number => Number(p.x) ** 2 + Number(p.n) + (p.c === 'b' ? 0 : 3);
    for (const multivariate of [true, false]) {
      const first = run(new TpeSampler(space, { goal: 'minimize', seed: 7, multivariate }), objective, 30);
      const again = run(new TpeSampler(space, { goal: 'minimize', seed: 7, multivariate }), objective, 30);
      expect(again).toEqual(first);
      const other = run(new TpeSampler(space, { goal: 'minimize', seed: 8, multivariate }), objective, 30);
      expect(other).not.toEqual(first);
      const sampler = new TpeSampler(space, { goal: 'minimize', seed: 7, multivariate });
      expect(sampler.suggest(first, [], 30)).toEqual(sampler.suggest(first, [], 30));
      // A suggestion depends on its index, not on the calls before it.
      const fresh = new TpeSampler(space, { goal: 'minimize', seed: 7, multivariate });
      expect(fresh.suggest(first, [], 31)).toEqual(sampler.suggest(first, [], 31));
    }
    // The default is the joint model.
    const byDefault = run(new TpeSampler(space, { goal: 'minimize', seed: 7 }), objective, 30);
    expect(byDefault).toEqual(run(new TpeSampler(space, { goal: 'minimize', seed: 7, multivariate: true }), objective, 30));
    expect(byDefault).not.toEqual(run(new TpeSampler(space, { goal: 'minimize', seed: 7, multivariate: false }), objective, 30));
  });

  it('keeps every value inside its bounds and on its scale', () => {
    const space = parameters([
      { name: 'lin', type: 'double', min: -1, max: 1 },
      { name: 'lr', type: 'double', min: 1e-5, max: 0.1, scale: 'log' },
      { name: 'momentum', type: 'double', min: 0.5, max: 0.9999, scale: 'reverse_log' },
      { name: 'depth', type: 'integer', min: 2, max: 9 },
      { name: 'trees', type: 'integer', min: 1, max: 5000, scale: 'log' },
      { name: 'zero', type: 'integer', min: 0, max: 0, scale: 'reverse_log' },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart', 'linear'] },
      { name: 'ratio', type: 'discrete', values: [0.25, 0.5, 1, 2.5] },
    ]);
    const rng = createRng(3);
    // A noisy objective with failures, so the model sees every kind of history.
    const objective = (p: ParameterPoint): number | undefined =>
      rng() < 0.1 ? undefined : Math.abs(Number(p.lin)) + Math.log10(Number(p.lr)) + Number(p.depth) / 10 + rng();
    for (const [goal, multivariate] of [['minimize', true], ['maximize', true], ['minimize', false]] as const) {
      const sampler = new TpeSampler(space, { goal, seed: 11, startupTrials: 5, multivariate });
      const finished = run(sampler, objective, 60);
      const points = [...finished.map((t) => t.point), ...suggestions(sampler, finished, finished.slice(0, 5).map((t) => t.point), 60, 10)];
      for (const p of points) {
        expect(Object.keys(p).sort()).toEqual(space.map((s) => s.name).sort());
        for (const name of ['lin', 'lr', 'momentum']) {
          // Six significant digits at most, as random search writes them.
          expect(String(Number(Number(p[name]).toPrecision(6)))).toBe(p[name]);
        }
        expect(Number(p.lin)).toBeGreaterThanOrEqual(-1);
        expect(Number(p.lin)).toBeLessThanOrEqual(1);
        expect(Number(p.lr)).toBeGreaterThanOrEqual(1e-5);
        expect(Number(p.lr)).toBeLessThanOrEqual(0.1);
        expect(Number(p.momentum)).toBeGreaterThanOrEqual(0.5);
        expect(Number(p.momentum)).toBeLessThanOrEqual(0.9999);
        expect(p.depth).toMatch(/^\d+$/);
        expect(Number(p.depth)).toBeGreaterThanOrEqual(2);
        expect(Number(p.depth)).toBeLessThanOrEqual(9);
        expect(p.trees).toMatch(/^\d+$/);
        expect(Number(p.trees)).toBeGreaterThanOrEqual(1);
        expect(Number(p.trees)).toBeLessThanOrEqual(5000);
        expect(p.zero).toBe('0');
        expect(['gbtree', 'dart', 'linear']).toContain(p.booster);
        expect(['0.25', '0.5', '1', '2.5']).toContain(p.ratio);
      }
    }
  });

  it('samples a log range by its scale: most values of [1e-5, 1] fall below 0.01', () => {
    const space = parameters([{ name: 'lr', type: 'double', min: 1e-5, max: 1, scale: 'log' }]);
    // A flat objective: the model learns nothing, so the suggestions follow the priors of the scale.
    const finished = run(new TpeSampler(space, { goal: 'minimize', seed: 5, startupTrials: 0 }), () => 1, 80);
    const small = finished.filter((t) => Number(t.point.lr) < 0.01).length;
    expect(small).toBeGreaterThan(40);
  });

  it('concentrates near the optimum of a quadratic, much closer than random search', () => {
    const space = parameters([{ name: 'x', type: 'double', min: -10, max: 10 }]);
    const optimum = 3.7;
    const tpeDistances: number[] = [];
    const randomDistances: number[] = [];
    for (let seed = 1; seed <= 6; seed++) {
      const finished = run(new TpeSampler(space, { goal: 'minimize', seed }), (p) => (Number(p.x) - optimum) ** 2, 40);
      tpeDistances.push(...finished.slice(30).map((t) => Math.abs(Number(t.point.x) - optimum)));
      const rng = createRng(seed);
      for (let i = 0; i < 10; i++) randomDistances.push(Math.abs(Number(sampleParameter(space[0]!, rng)) - optimum));
    }
    // Random's median distance is about 5 here, TPE's about 2 (Optuna's wide early bandwidths explore).
    expect(median(tpeDistances)).toBeLessThan(0.7 * median(randomDistances));
  });

  it('maximizes and minimizes', () => {
    const late = (goal: Goal, seed: number): number[] =>
      run(new TpeSampler(unit, { goal, seed }), (p) => Number(p.x), 40)
        .slice(30)
        .map((t) => Number(t.point.x));
    const high: number[] = [];
    const low: number[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      high.push(...late('maximize', seed));
      low.push(...late('minimize', seed));
    }
    expect(median(high)).toBeGreaterThan(0.8);
    expect(median(low)).toBeLessThan(0.2);
  });

  it('steers parallel trials apart: running points count as bad (constant liar)', () => {
    // a and b are equally good; c is bad. Whichever is already running, the other is suggested.
    const finished = history(Array.from({ length: 6 }, () => [['a', 1], ['b', 1], ['c', 0], ['c', 0]] as const).flat());
    const sampler = new TpeSampler(parameters([{ name: 'c', type: 'categorical', values: ['a', 'b', 'c'] }]), { goal: 'maximize', seed: 1 });
    const pending = (c: string, count: number): ParameterPoint[] => Array.from({ length: count }, () => ({ c }));
    expect(new Set(suggestions(sampler, finished, pending('a', 4), 24, 10).map((p) => p.c))).toEqual(new Set(['b']));
    expect(new Set(suggestions(sampler, finished, pending('b', 4), 24, 10).map((p) => p.c))).toEqual(new Set(['a']));
  });

  it('steers a numeric parameter away from a running region', () => {
    // The best trials sit near 0.2 and 0.8, the bad ones spread over [0, 1] (their order scrambled, so
    // the lower weight of old trials favours no region). Six trials running at 0.2 push the next away.
    const finished: TrialResult[] = [0.2, 0.8, 0.21, 0.79].map((x) => ({ point: { x: String(x) }, value: 1 }));
    for (let j = 0; j < 26; j++) finished.push({ point: { x: String((((j * 7) % 26) + 0.5) / 26) }, value: 0 });
    const running = [0.2, 0.201, 0.199, 0.2, 0.202, 0.198].map((x) => ({ x: String(x) }));
    const sampler = new TpeSampler(unit, { goal: 'maximize', seed: 2 });
    const distances = (pending: readonly ParameterPoint[]): number[] => suggestions(sampler, finished, pending, 30, 20).map((p) => Math.abs(Number(p.x) - 0.2));
    expect(median(distances([]))).toBeLessThan(0.06);
    expect(median(distances(running))).toBeGreaterThan(0.1);
    expect(Math.min(...distances(running))).toBeGreaterThan(0.05);
  });

  describe('joint model (multivariate, the default)', () => {
    const plane = parameters([
      { name: 'x', type: 'double', min: 0, max: 1 },
      { name: 'y', type: 'double', min: 0, max: 1 },
    ]);
    const at = (x: number, y: number, value: number): TrialResult => ({ point: { x: String(x), y: String(y) }, value });
    // Two good clusters on the diagonal, at (0.2, 0.2) and (0.8, 0.8). The bad trials lie on two bands,
    // x ≈ 0.8 below the diagonal and y ≈ 0.2 right of it: each parameter's own view says x = 0.8 and
    // y = 0.2 are bad, so a per-parameter model pairs x ≈ 0.2 with y ≈ 0.8, where no good trial is.
    const finished: TrialResult[] = [[0.2, 0.2], [0.21, 0.19], [0.19, 0.21], [0.8, 0.8], [0.79, 0.81], [0.81, 0.79]].map(([x = 0, y = 0]) => at(x, y, 1));
    for (let i = 0; i < 24; i++) finished.push(at(0.8 + ((i % 3) - 1) * 0.02, 0.025 * i, 0), at(0.4 + 0.025 * i, 0.2 + ((i % 3) - 1) * 0.02, 0));
    const near = (p: ParameterPoint, cx: number, cy: number): boolean => Math.max(Math.abs(Number(p.x) - cx), Math.abs(Number(p.y) - cy)) < 0.15;
    const inCluster = (p: ParameterPoint): boolean => near(p, 0.2, 0.2) || near(p, 0.8, 0.8);

    it('keeps parameters that are good together together', () => {
      // 54 trials: the 6 good ones are exactly the best ceil(0.1 n) that model l(x).
      expect(finished).toHaveLength(54);
      const joint = suggestions(new TpeSampler(plane, { goal: 'maximize', seed: 3 }), finished, [], 54, 40);
      expect(joint.filter(inCluster).length).toBeGreaterThanOrEqual(36);
      expect(joint.filter((p) => near(p, 0.2, 0.8)).length).toBe(0);
      // The contrast that makes the test mean something: the per-parameter model goes off the diagonal.
      const independent = suggestions(new TpeSampler(plane, { goal: 'maximize', seed: 3, multivariate: false }), finished, [], 54, 40);
      expect(independent.filter((p) => Number(p.x) < 0.5 && Number(p.y) > 0.5).length).toBeGreaterThanOrEqual(32);
    });

    it('steers parallel trials to the other good region (constant liar over the joint kernels)', () => {
      const running = [at(0.2, 0.2, 0), at(0.2, 0.21, 0), at(0.21, 0.2, 0)].map((t) => t.point);
      const points = suggestions(new TpeSampler(plane, { goal: 'maximize', seed: 3 }), finished, running, 54, 40);
      expect(points.filter((p) => near(p, 0.8, 0.8)).length).toBeGreaterThanOrEqual(32);
      expect(points.filter((p) => near(p, 0.2, 0.2)).length).toBeLessThanOrEqual(2);
      expect(points.filter((p) => near(p, 0.2, 0.8)).length).toBe(0);
    });

    it('pairs integer and categorical values the way the good trials paired them', () => {
      const space = parameters([
        { name: 'booster', type: 'categorical', values: ['gbtree', 'dart', 'linear'] },
        { name: 'depth', type: 'integer', min: 1, max: 12 },
      ]);
      // Good: shallow gbtree or deep dart. Bad: linear at every depth, deep gbtree (twice as often)
      // and shallow dart. Per parameter, gbtree and deep look worse than dart and shallow, so a
      // per-parameter model pairs dart with a shallow depth: a bad pair.
      const good = [['gbtree', 2], ['gbtree', 3], ['dart', 10], ['dart', 11]] as const;
      const trials: TrialResult[] = good.map(([booster, depth]) => ({ point: { booster, depth: String(depth) }, value: 1 }));
      const bad = (booster: string, depth: number): TrialResult => ({ point: { booster, depth: String(depth) }, value: 0 });
      for (let depth = 1; depth <= 12; depth++) {
        trials.push(bad('linear', depth));
        if (depth >= 6) trials.push(bad('gbtree', depth), bad('gbtree', depth));
        if (depth <= 7) trials.push(bad('dart', depth));
      }
      // 37 trials: ceil(0.1 n) = 4, the good ones model l(x).
      expect(trials).toHaveLength(37);
      const points = suggestions(new TpeSampler(space, { goal: 'maximize', seed: 6 }), trials, [], trials.length, 30);
      const paired = (p: ParameterPoint): boolean => (p.booster === 'gbtree' && Number(p.depth) <= 4) || (p.booster === 'dart' && Number(p.depth) >= 9);
      expect(points.filter(paired).length).toBeGreaterThanOrEqual(24);
      const independent = suggestions(new TpeSampler(space, { goal: 'maximize', seed: 6, multivariate: false }), trials, [], trials.length, 30);
      expect(independent.filter(paired).length).toBeLessThanOrEqual(6);
    });

    it('learns from trials that lack a parameter (the spec gained one) on the parameters they have', () => {
      // Older trials know x only: best near 0.3. Their kernels are flat along y, so y stays open.
      const older: TrialResult[] = Array.from({ length: 30 }, (_, i) => {
        const x = (((i * 11) % 30) + 0.5) / 30;
        return { point: { x: String(x) }, value: -Math.abs(x - 0.3) };
      });
      const points = suggestions(new TpeSampler(plane, { goal: 'maximize', seed: 8 }), older, [], 30, 30);
      expect(median(points.map((p) => Math.abs(Number(p.x) - 0.3)))).toBeLessThan(0.1);
      for (const p of points) {
        expect(Number(p.y)).toBeGreaterThanOrEqual(0);
        expect(Number(p.y)).toBeLessThanOrEqual(1);
      }
      // y is drawn across its range, not pinned to one value.
      expect(Math.max(...points.map((p) => Number(p.y))) - Math.min(...points.map((p) => Number(p.y)))).toBeGreaterThan(0.4);
    });
  });

  it('does not count failed trials as good', () => {
    // Every a failed; b ran and scored badly. Maximizing, b is still the better bet.
    const finished = history([...Array.from({ length: 10 }, () => ['a', undefined] as const), ...Array.from({ length: 10 }, (_, i) => ['b', -100 - i] as const)]);
    const space = parameters([{ name: 'c', type: 'categorical', values: ['a', 'b'] }]);
    for (const goal of ['maximize', 'minimize'] as const) {
      const sampler = new TpeSampler(space, { goal, seed: 4 });
      expect(new Set(suggestions(sampler, finished, [], 20, 10).map((p) => p.c))).toEqual(new Set(['b']));
    }
  });

  it('draws at random until finished and running trials reach startupTrials', () => {
    const space = parameters([{ name: 'c', type: 'categorical', values: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] }]);
    const sampler = new TpeSampler(space, { goal: 'maximize', seed: 9, startupTrials: 10 });
    const goodA = history([['a', 1], ['b', 0], ['b', 0], ['b', 0], ['b', 0]]);
    const goodH = history([['h', 1], ['b', 0], ['b', 0], ['b', 0], ['b', 0]]);
    const running = (count: number): ParameterPoint[] => Array.from({ length: count }, () => ({ c: 'c' }));
    // 5 + 4 < 10: the history is ignored.
    expect(suggestions(sampler, goodA, running(4), 0, 10)).toEqual(suggestions(sampler, goodH, running(4), 0, 10));
    // 5 + 5: the model leans to the one good value.
    expect(suggestions(sampler, goodA, running(5), 0, 10).filter((p) => p.c === 'a').length).toBeGreaterThanOrEqual(7);
  });

  it('learns from integer and discrete parameters', () => {
    const space = parameters([
      { name: 'depth', type: 'integer', min: 1, max: 30 },
      { name: 'ratio', type: 'discrete', values: [0.1, 0.2, 0.4, 0.8, 1.6] },
    ]);
    const objective = (p: ParameterPoint): number => Math.abs(Number(p.depth) - 12) + 10 * Math.abs(Number(p.ratio) - 0.4);
    const late: ParameterPoint[] = [];
    for (let seed = 1; seed <= 4; seed++) late.push(...run(new TpeSampler(space, { goal: 'minimize', seed }), objective, 40).slice(30).map((t) => t.point));
    expect(median(late.map((p) => Math.abs(Number(p.depth) - 12)))).toBeLessThanOrEqual(3);
    expect(late.filter((p) => p.ratio === '0.4').length).toBeGreaterThan(late.length / 2);
  });

  it('refuses options that cannot work', () => {
    expect(() => new TpeSampler(unit, { goal: 'minimize', seed: 1, candidates: 0 })).toThrow(RangeError);
    expect(() => new TpeSampler(unit, { goal: 'minimize', seed: 1, startupTrials: -1 })).toThrow(RangeError);
  });
});
