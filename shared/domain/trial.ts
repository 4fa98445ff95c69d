import type { Goal } from './spec';
import type { TrialStatus } from './status';

/** A tuning trial in provider-neutral form: a SageMaker training job, a Vertex trial, a local run. */
export interface Trial {
  /** Stable within the job: the provider's trial id or training-job name. */
  readonly trialId: string;
  readonly status: TrialStatus;
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** The final objective value under the spec's measurement selection, when the trial reported one. */
  readonly objectiveValue?: number;
  readonly objectiveStatus?: 'pending' | 'succeeded' | 'failed';
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly stoppedEarly: boolean;
  readonly failureReason?: string;
  /** Where the trial's model artifact is (s3://, gs://, file://). */
  readonly artifactUri?: string;
  /** SageMaker's TrainingJobDefinitionName when a job has several definitions. */
  readonly definitionName?: string;
  /** Other metrics the trial reported, by name (last value). */
  readonly metrics?: Readonly<Record<string, number>>;
}

/**
 * Fills the objective from the trial's metrics when the provider reported it only among them
 * (SageMaker's training-job events list every final metric without saying which is the objective).
 */
export function withObjectiveFromMetrics(trial: Trial, metric: string): Trial {
  if (trial.objectiveValue !== undefined) return trial;
  const value = trial.metrics?.[metric];
  if (value === undefined || !Number.isFinite(value)) return trial;
  return { ...trial, objectiveValue: value, objectiveStatus: trial.objectiveStatus ?? 'succeeded' };
}

/** True when `a` is a better objective than `b` for the goal. */
export function isBetter(goal: Goal, a: number, b: number): boolean {
  return goal === 'maximize' ? a > b : a < b;
}

/** Whether a trial may be chosen as best: it finished without failing and has a usable objective. */
export function isEligibleForBest(trial: Trial): boolean {
  if (trial.status !== 'succeeded' && trial.status !== 'stopped') return false;
  if (trial.objectiveStatus === 'failed') return false;
  return trial.objectiveValue !== undefined && Number.isFinite(trial.objectiveValue);
}

/**
 * The best trial for the goal. Failed, infeasible and metric-less trials never win; ties go to the
 * trial that ended first, then to the smaller id, so the answer does not depend on list order.
 */
export function selectBestTrial<T extends Trial>(trials: Iterable<T>, goal: Goal): T | undefined {
  let best: T | undefined;
  for (const trial of trials) {
    if (!isEligibleForBest(trial)) continue;
    if (!best || beats(trial, best, goal)) best = trial;
  }
  return best;
}

function beats(a: Trial, b: Trial, goal: Goal): boolean {
  const [va, vb] = [a.objectiveValue as number, b.objectiveValue as number];
  if (va !== vb) return isBetter(goal, va, vb);
  const [ea, eb] = [a.endedAt ?? '', b.endedAt ?? ''];
  if (ea !== eb) return ea < eb;
  return a.trialId < b.trialId;
}
