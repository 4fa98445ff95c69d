import type { JobRecord } from '../domain/job';
import type { TuningSpec } from '../domain/spec';
import type { PromotionRecord } from '../ports/ledger';

/**
 * The CLI's exit codes. 1 and 2 are about the command itself; 3 to 6 say how a job it waited for
 * ended (or why it cannot end), so a script can tell "the job failed" from "tunewire failed";
 * 130 is Ctrl-C: the command stopped waiting, the job goes on.
 */
export const EXIT = {
  ok: 0,
  error: 1,
  badInput: 2,
  jobFailed: 3,
  jobStopped: 4,
  noObjective: 5,
  /** A local job whose engine exited before it finished: `tunewire resume` continues it. */
  jobInterrupted: 6,
  /** Ctrl-C: detached from the job, which goes on where it runs. */
  detached: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * What a finished job's outcome means as an exit code: 0 only for a job that succeeded with an
 * objective value; a job not finished yet (submit without --wait) is 0 too, nothing is known.
 *
 * @example jobExitCode({ status: 'succeeded', bestTrial: undefined, ... }) // 5
 */
export function jobExitCode(job: Pick<JobRecord, 'status' | 'bestTrial'>): ExitCode {
  switch (job.status) {
    case 'failed':
      return EXIT.jobFailed;
    case 'stopped':
      return EXIT.jobStopped;
    case 'succeeded':
      return job.bestTrial?.objectiveValue === undefined ? EXIT.noObjective : EXIT.ok;
    default:
      return EXIT.ok;
  }
}

/** One line for the end of a wait: how the job ended and why, when a job ended without an objective. */
export function outcomeLine(job: Pick<JobRecord, 'jobId' | 'status' | 'bestTrial' | 'endReason' | 'failureReason' | 'spec'>): string {
  const why = job.endReason ?? job.failureReason;
  const base = `job ${job.jobId} ${job.status}${why ? `: ${why}` : ''}`;
  if (job.status === 'succeeded' && job.bestTrial?.objectiveValue === undefined) {
    return `${base}; no trial reported the objective metric ${job.spec.objective.metric} (see tunewire trials ${job.jobId})`;
  }
  return base;
}

/**
 * The trial counts of a job for people: `12 trials: 10 succeeded (2 without objective), 2 failed`.
 * `without objective` comes from the objective counters a provider reports as flags.
 */
export function trialCountsLine(job: Pick<JobRecord, 'trialCounts' | 'flags'>): string | undefined {
  const counts = Object.entries(job.trialCounts ?? {}).filter(([, n]) => n) as [string, number][];
  if (counts.length === 0) return undefined;
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const without = flagCount(job.flags, 'succeeded-without-objective');
  const parts = counts.map(([status, n]) => `${n} ${status}${status === 'succeeded' && without ? ` (${without} without objective)` : ''}`);
  return `${total} trial${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

function flagCount(flags: readonly string[] | undefined, name: string): number {
  const flag = flags?.find((f) => f.startsWith(`${name}:`));
  const n = flag ? Number(flag.slice(name.length + 1)) : 0;
  return Number.isFinite(n) ? n : 0;
}

/** The promotion decision in words; a skipped one never claims to keep a champion that does not exist. */
export function promotionLine(promotion: PromotionRecord, championExists: boolean): string {
  if (promotion.decision === 'promoted') return `promotion: PROMOTED for model ${promotion.model}: ${promotion.reason}`;
  if (championExists) return `promotion: KEPT the champion of model ${promotion.model}: ${promotion.reason}`;
  return `promotion: no promotion for model ${promotion.model}: ${promotion.reason}`;
}

/**
 * The local engine runs a grid only as far as `budget.maxTrials`: a larger grid is cut short.
 * Undefined when nothing is cut.
 *
 * @example gridWarning(spec, 48) // 'grid has 48 points, maxTrials is 12: only the first 12 run'
 */
export function gridWarning(spec: Pick<TuningSpec, 'strategy' | 'budget'>, points: number): string | undefined {
  if (spec.strategy !== 'grid' || points <= spec.budget.maxTrials) return undefined;
  const size = Number.isFinite(points) ? String(points) : 'unbounded';
  return `grid has ${size} points, maxTrials is ${spec.budget.maxTrials}: only the first ${spec.budget.maxTrials} run`;
}
