import { seeded } from './stats';

/** One change on a tuning job's timeline, in milliseconds since the job was created. */
export type TimelineStep =
  | { readonly at: number; readonly kind: 'trial-start'; readonly trial: number }
  | { readonly at: number; readonly kind: 'trial-end'; readonly trial: number; readonly objective: number }
  | { readonly at: number; readonly kind: 'job-end' };

export interface Timeline {
  readonly trials: number;
  readonly parallel: number;
  readonly steps: readonly TimelineStep[];
  readonly endMs: number;
}

export const TRIAL_MINUTES = 10;
export const PARALLEL_TRIALS = 10;

/**
 * A job of `trials` trials, `parallel` at a time, each lasting TRIAL_MINUTES × U(0.5, 1.5)
 * (seeded): a slot starts the next trial the moment its last one ends; the job completes when the
 * last trial ends. Both tunewire and the pollers replay exactly these steps.
 */
export function jobTimeline(trials: number, parallel = PARALLEL_TRIALS, seed = 42): Timeline {
  const random = seeded(seed + trials);
  const slots = Array.from({ length: Math.min(parallel, trials) }, () => 0);
  const steps: TimelineStep[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const slot = slots.indexOf(Math.min(...slots));
    const start = slots[slot] as number;
    const end = start + Math.round(TRIAL_MINUTES * 60_000 * (0.5 + random()));
    slots[slot] = end;
    steps.push({ at: start, kind: 'trial-start', trial }, { at: end, kind: 'trial-end', trial, objective: Number((0.5 + 0.45 * random()).toFixed(6)) });
  }
  const endMs = Math.max(...slots) + 1;
  steps.push({ at: endMs, kind: 'job-end' });
  // starts before ends at the same instant, so a trial never ends before it began
  steps.sort((a, b) => a.at - b.at || (a.kind === 'trial-start' ? -1 : 1));
  return { trials, parallel, steps, endMs };
}
