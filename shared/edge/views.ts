import type { JobRecord } from '../domain/job';
import type { Trial } from '../domain/trial';

/** What the CLI's --json and the HTTP API show of a job: the record without the bulky spec. */
export function jobView(job: JobRecord) {
  const { spec, ...rest } = job;
  return { ...rest, objective: spec.objective, strategy: spec.strategy, budget: spec.budget, ...(spec.promotion ? { promotion: spec.promotion } : {}) };
}

export function trialView(trial: Trial) {
  const { announced: _announced, ...rest } = trial as Trial & { announced?: boolean };
  return rest;
}
