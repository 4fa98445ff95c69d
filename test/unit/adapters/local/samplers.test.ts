import { describe, expect, it } from 'vitest';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';
import { pointSource, RandomSampler, type SearchTrial } from '../../../../shared/adapters/local/samplers';
import { searchPoints, type ParameterPoint, type Sampler, type TrialResult } from '../../../../shared/adapters/local/search';

function spec(overrides: Record<string, unknown>): TuningSpec {
  return parseSpec({
    name: 'samplers-test',
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [
      { name: 'x', type: 'integer', min: 1, max: 100 },
      { name: 'lr', type: 'double', min: 0.001, max: 1, scale: 'log' },
      { name: 'kind', type: 'categorical', values: ['a', 'b', 'c'] },
    ],
    strategy: 'bayesian',
    budget: { maxTrials: 5 },
    trial: {},
    ...overrides,
  });
}

/** Draws every point a source gives, recording each as a finished trial (or running, if asked). */
function drain(next: () => { point: ParameterPoint; pointIndex: number } | undefined, trials: SearchTrial[], status = 'COMPLETED'): ParameterPoint[] {
  const points: ParameterPoint[] = [];
  for (let n = next(); n; n = next()) {
    points.push(n.point);
    trials.push({ status, hyperparameters: n.point, objectiveValue: points.length, point: n.pointIndex });
  }
  return points;
}

/** A sampler that records what it was asked. */
class RecordingSampler implements Sampler {
  readonly calls: { finished: readonly TrialResult[]; pending: readonly ParameterPoint[]; index: number }[] = [];
  suggest(finished: readonly TrialResult[], pending: readonly ParameterPoint[], index: number): ParameterPoint {
    this.calls.push({ finished, pending, index });
    return { x: String(index + 1), lr: '0.1', kind: 'a' };
  }
}

describe('RandomSampler', () => {
  it('repeats a suggestion for the same seed and index, whatever the history', () => {
    const s = spec({});
    const a = new RandomSampler(s.parameters, 7);
    const b = new RandomSampler(s.parameters, 7);
    expect(a.suggest([], [], 3)).toEqual(b.suggest([{ point: { x: '1' }, value: 1 }], [{ x: '2' }], 3));
    expect(a.suggest([], [], 3)).not.toEqual(a.suggest([], [], 4));
    expect(new RandomSampler(s.parameters, 8).suggest([], [], 3)).not.toEqual(a.suggest([], [], 3));
  });
});

describe('pointSource', () => {
  it('keeps grid and random exactly as searchPoints draws them', () => {
    for (const strategy of ['random', 'grid'] as const) {
      const s = spec({ strategy, parameters: [{ name: 'x', type: 'integer', min: 1, max: 3 }], budget: { maxTrials: 3 } });
      const trials: SearchTrial[] = [];
      expect(drain(pointSource(s, 11, () => trials), trials)).toEqual([...searchPoints(s, 11)]);
    }
  });

  it('grid and random: a resumed run skips the point indexes that finished and runs the lost ones again', () => {
    const s = spec({ strategy: 'random', budget: { maxTrials: 4 } });
    const all = [...searchPoints(s, 3)];
    const trials: SearchTrial[] = [
      { status: 'COMPLETED', hyperparameters: all[0] as ParameterPoint, point: 0, objectiveValue: 1 },
      { status: 'STOPPED', hyperparameters: all[1] as ParameterPoint, point: 1, lost: true },
      { status: 'FAILED', hyperparameters: all[2] as ParameterPoint, point: 2 },
    ];
    const next = pointSource(s, 3, () => trials);
    expect(next()).toEqual({ point: all[1], pointIndex: 1 });
    expect(next()).toEqual({ point: all[3], pointIndex: 3 });
    expect(next()).toBeUndefined();
  });

  it('bayesian: asks the sampler with the finished trials (failed: no value) and the running points', () => {
    const s = spec({ budget: { maxTrials: 4 } });
    const sampler = new RecordingSampler();
    const trials: SearchTrial[] = [
      { status: 'COMPLETED', hyperparameters: { x: '1' }, objectiveValue: 0.5, point: 0 },
      { status: 'FAILED', hyperparameters: { x: '2' }, point: 1 },
      { status: 'RUNNING', hyperparameters: { x: '3' }, point: 2 },
    ];
    const next = pointSource(s, 1, () => trials, () => sampler);
    expect(next()).toEqual({ point: { x: '4', lr: '0.1', kind: 'a' }, pointIndex: 3 });
    expect(sampler.calls).toEqual([
      {
        finished: [
          { point: { x: '1' }, value: 0.5 },
          { point: { x: '2' }, value: undefined },
        ],
        pending: [{ x: '3' }],
        index: 3,
      },
    ]);
  });

  it('bayesian: stops at budget.maxTrials, counting running trials', () => {
    const s = spec({ budget: { maxTrials: 3 } });
    const trials: SearchTrial[] = [];
    const points = drain(pointSource(s, 5, () => trials), trials, 'RUNNING');
    expect(points).toHaveLength(3);
  });

  it('bayesian resume: history rebuilt from the journal, lost trials neither count nor are replayed', () => {
    const s = spec({ budget: { maxTrials: 3 } });
    const sampler = new RecordingSampler();
    const trials: SearchTrial[] = [
      { status: 'COMPLETED', hyperparameters: { x: '1' }, objectiveValue: 0.5, point: 0 },
      { status: 'STOPPED', hyperparameters: { x: '2' }, lost: true, point: 1 },
    ];
    const next = pointSource(s, 1, () => trials, () => sampler);
    const points = drain(next, trials);
    expect(points).toHaveLength(2); // 3 minus the one that finished; the lost one does not count
    expect(points).not.toContainEqual({ x: '2' });
    expect(sampler.calls[0]).toEqual({ finished: [{ point: { x: '1' }, value: 0.5 }], pending: [], index: 2 });
    expect(sampler.calls.map((c) => c.index)).toEqual([2, 3]);
  });

  it('bayesian with the default sampler is seeded: the same seed gives the same points', () => {
    const s = spec({});
    const a: SearchTrial[] = [];
    const b: SearchTrial[] = [];
    expect(drain(pointSource(s, 42, () => a), a)).toEqual(drain(pointSource(s, 42, () => b), b));
  });
});
