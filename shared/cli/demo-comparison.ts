import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProvider } from '../adapters/local/local-provider';
import type { Goal, TuningSpec } from '../domain/spec';
import { naturalCompare } from '../domain/study';
import { isBetter, isEligibleForBest, type Trial } from '../domain/trial';

/** How a search did: its best value, and after how many trials (in launch order) it first had it. */
export interface SearchSummary {
  readonly best: number | undefined;
  readonly reachedAfter: number;
  readonly trials: number;
}

/**
 * The best-so-far of a search's trials, taken in the order they were launched (their ids).
 *
 * @example summarizeSearch(trials, 'maximize') // { best: 0.9733, reachedAfter: 8, trials: 12 }
 */
export function summarizeSearch(trials: readonly Trial[], goal: Goal): SearchSummary {
  const ordered = [...trials].sort((a, b) => naturalCompare(a.trialId, b.trialId));
  let best: number | undefined;
  let reachedAfter = 0;
  ordered.forEach((trial, i) => {
    if (!isEligibleForBest(trial)) return;
    const value = trial.objectiveValue as number;
    if (best === undefined || isBetter(goal, value, best)) {
      best = value;
      reachedAfter = i + 1;
    }
  });
  return { best, reachedAfter, trials: ordered.length };
}

/** The random search the demo compares with: what it reached, how long it took, and whether it ran its whole budget. */
export interface RandomBaseline {
  readonly summary: SearchSummary;
  readonly elapsedMs: number;
  readonly complete: boolean;
}

/**
 * Runs the spec's budget again with `strategy: random` and the same seed, in this process, in a
 * throwaway work directory: no ledger, no events, no promotion. Stopped after `timeoutMs`.
 */
export async function runRandomBaseline(spec: TuningSpec, options: { readonly env: NodeJS.ProcessEnv; readonly timeoutMs: number }): Promise<RandomBaseline> {
  const { promotion: _promotion, ...rest } = spec;
  const random: TuningSpec = { ...rest, strategy: 'random', notify: [] };
  const workDir = await mkdtemp(join(tmpdir(), 'tunewire-demo-random-'));
  const provider = new LocalProvider({ workDir, emit: async () => undefined, env: options.env, log: () => undefined, killGraceSeconds: 1 });
  const ref = { provider: 'local' as const, providerJobName: 'demo-random-baseline' };
  const started = Date.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void provider.stop(ref);
  }, options.timeoutMs);
  try {
    await provider.create({ jobId: ref.providerJobName, providerJobName: ref.providerJobName, spec: random }, { env: options.env });
    await provider.waitForJob(ref.providerJobName);
    const elapsedMs = Date.now() - started;
    const { trials } = await provider.listTrials(ref, undefined, random);
    return { summary: summarizeSearch(trials, spec.objective.goal), elapsedMs, complete: !timedOut };
  } finally {
    clearTimeout(timer);
    await provider.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The demo's comparison line.
 *
 * @example
 *   comparisonLine(random, bayesian)
 *   // 'random search of the same budget (same seed): best 0.96 after 12 trials (reached after 3); bayesian: best 0.9733, reached after 8 trials'
 */
export function comparisonLine(random: RandomBaseline, bayesian: SearchSummary): string {
  const value = (s: SearchSummary): string => (s.best === undefined ? 'none' : String(s.best));
  const cut = random.complete ? '' : `, stopped after ${Math.round(random.elapsedMs / 1000)} s`;
  return (
    `random search of the same budget (same seed): best ${value(random.summary)} after ${random.summary.trials} trials` +
    `${random.summary.best === undefined ? '' : ` (reached after ${random.summary.reachedAfter})`}${cut}; ` +
    `bayesian: best ${value(bayesian)}${bayesian.best === undefined ? '' : `, reached after ${bayesian.reachedAfter} trials`}`
  );
}
