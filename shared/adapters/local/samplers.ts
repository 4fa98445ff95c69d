import type { ParameterSpec, TuningSpec } from '../../domain/spec';
import { createRng, sampleParameter, searchPoints, type ParameterPoint, type Sampler, type SamplerFactory, type TrialResult } from './search';
import { TpeSampler } from './tpe';

/**
 * Random search behind the `Sampler` seam: ignores the results, draws each point from a stream
 * seeded by (seed, index), so a suggestion repeats whatever the order trials finish in.
 *
 * @example new RandomSampler(spec.parameters, 42).suggest([], [], 0) // { trees: '17', ... }
 */
export class RandomSampler implements Sampler {
  constructor(
    private readonly parameters: readonly ParameterSpec[],
    private readonly seed: number,
  ) {}

  suggest(_finished: readonly TrialResult[], _pending: readonly ParameterPoint[], index: number): ParameterPoint {
    // a golden-ratio step apart: neighbouring indexes get unrelated streams
    const rng = createRng((this.seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    return Object.fromEntries(this.parameters.map((p) => [p.name, sampleParameter(p, rng)]));
  }
}

/** The sampler `strategy: bayesian` asks: TPE (tpe.ts), seeded by the job's seed. */
export const bayesianSampler: SamplerFactory = (parameters, options) => new TpeSampler(parameters, options);

/** A trial as the job's journal holds it, as far as the search cares. */
export interface SearchTrial {
  readonly status: string;
  readonly hyperparameters: ParameterPoint;
  readonly objectiveValue?: number;
  /** Lost with an engine that exited: it neither counts nor is history. */
  readonly lost?: boolean;
  /** Which of the search's points it ran (grid and random). */
  readonly point: number;
}

/** The next trial to launch: its point, and the index recorded with it. */
export interface NextPoint {
  readonly point: ParameterPoint;
  readonly pointIndex: number;
}

/**
 * Where a run's points come from; `trials` is read on every call (the journal's live list).
 * grid and random: the seeded sequence, skipping the indexes whose trials finished (a resumed run
 * runs the lost ones again). bayesian: the sampler, asked with the finished trials and the running
 * trials' points; a resumed run rebuilds the history from the journal, and the points of lost
 * trials are not replayed (the sampler suggests new ones). Undefined: the budget or the grid is used up.
 *
 * @example
 *   const next = pointSource(spec, seed, () => trials);
 *   for (let n = next(); n; n = next()) launch(n.point, n.pointIndex);
 */
export function pointSource(spec: TuningSpec, seed: number, trials: () => readonly SearchTrial[], factory: SamplerFactory = bayesianSampler): () => NextPoint | undefined {
  if (spec.strategy === 'bayesian') {
    const sampler = factory(spec.parameters, { goal: spec.objective.goal, seed });
    return () => {
      const all = trials();
      const kept = all.filter((t) => !t.lost);
      if (kept.length >= spec.budget.maxTrials) return undefined;
      const finished = kept.filter((t) => t.status !== 'RUNNING').map((t) => ({ point: t.hyperparameters, value: t.objectiveValue }));
      const pending = kept.filter((t) => t.status === 'RUNNING').map((t) => t.hyperparameters);
      // every trial ever launched (lost ones too) took an index: a suggestion's index is never reused
      const index = all.reduce((most, t) => Math.max(most, t.point + 1), 0);
      return { point: sampler.suggest(finished, pending, index), pointIndex: index };
    };
  }
  const points = searchPoints(spec, seed);
  const done = new Set(trials().filter((t) => !t.lost).map((t) => t.point));
  let index = -1;
  return () => {
    for (;;) {
      const next = points.next();
      if (next.done) return undefined;
      if (!done.has(++index)) return { point: next.value, pointIndex: index };
    }
  };
}
