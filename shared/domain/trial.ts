import type { Goal } from './spec';
import { trialStatusRank, type TrialStatus } from './status';

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

/**
 * Whether a finished trial still waits for its objective: it ended in a way that can have one
 * (succeeded, or stopped early with a value), and nothing has told us the value or that there is
 * none. Such a trial's objective is fetched from the provider before it is announced.
 */
export function awaitsObjective(trial: Trial): boolean {
  if (trial.status !== 'succeeded' && trial.status !== 'stopped') return false;
  return trial.objectiveValue === undefined && trial.objectiveStatus !== 'failed';
}

// ---- merging observations ---------------------------------------------------------------------

/** Who said it: the provider's own listing or describe outranks an event about the trial. */
export type ObservationSource = 'event' | 'provider';

/** One sighting of a trial: what was seen (absent fields are unknown, not empty), by whom, when. */
export interface TrialObservation {
  readonly trial: Trial;
  readonly source: ObservationSource;
  /** When the sighting was true: the event's time, or when the provider was read (ISO 8601). */
  readonly observedAt: string;
}

/**
 * Where each known value came from, by field: `<p|e><ISO time>`. The strings order as authority
 * first (the provider's `p` over an event's `e`), then time, so one comparison ranks two claims.
 * Keys: `status`, `objective`, `startedAt`, `endedAt`, `failureReason`, `artifactUri`,
 * `definitionName`, `hp:<name>`, `m:<metric>`.
 */
export type TrialStamps = Readonly<Record<string, string>>;

/** A trial as the merge of its observations, with the stamps that decide the next merge. */
export interface MergedTrial {
  readonly trial: Trial;
  readonly stamps: TrialStamps;
}

const SINGLE_VALUES = ['startedAt', 'endedAt', 'failureReason', 'artifactUri', 'definitionName'] as const;

/**
 * Merges one observation into what is known of a trial. Pure, and a join: the result does not
 * depend on the order observations arrive in, nor on how often each arrives.
 *
 * - status moves forward by rank; between statuses of one rank (succeeded vs stopped) the more
 *   authoritative, then newer, claim wins;
 * - a value (objective, times, failure reason, artifact, each hyperparameter and metric), once
 *   known, is never lost: a later observation without it keeps it, and where two disagree the
 *   provider's word beats an event's, then the newer beats the older;
 * - `stoppedEarly` once seen stays: Vertex shows it only while a trial is STOPPING.
 * - the objective is a fact only when observed as a value or as failed; "pending" is no news.
 *
 * @example mergeTrial(known, { trial: listed, source: 'provider', observedAt: now }).trial.objectiveValue
 */
export function mergeTrial(known: MergedTrial | undefined, observation: TrialObservation): MergedTrial {
  const seen = observation.trial;
  const stamp = `${observation.source === 'provider' ? 'p' : 'e'}${normalTime(observation.observedAt)}`;
  if (!known) return mergeTrial({ trial: { trialId: seen.trialId, status: 'pending', hyperparameters: {}, stoppedEarly: false }, stamps: {} }, observation);
  const was = known.trial;
  const stamps: Record<string, string> = { ...known.stamps };

  /** True when the claim (stamp, value) beats what the field holds. Ties go to the larger value. */
  const wins = (key: string, held: unknown, claimed: unknown): boolean => {
    if (held === undefined) return true;
    const heldStamp = stamps[key] ?? '';
    if (stamp !== heldStamp) return stamp > heldStamp;
    return canonical(claimed) > canonical(held);
  };
  const take = <T>(key: string, held: T | undefined, claimed: T | undefined): T | undefined => {
    if (claimed === undefined || !wins(key, held, claimed)) return held;
    stamps[key] = stamp;
    return claimed;
  };

  let status = was.status;
  const [rankWas, rankSeen] = [trialStatusRank(was.status), trialStatusRank(seen.status)];
  if (rankSeen > rankWas || (rankSeen === rankWas && seen.status !== was.status && wins('status', was.status, seen.status))) {
    status = seen.status;
    stamps['status'] = stamp;
  } else if (rankSeen === rankWas && seen.status === was.status && stamp > (stamps['status'] ?? '')) {
    stamps['status'] = stamp;
  }

  const objective = take('objective', objectiveOf(was), objectiveOf(seen));
  const pending = !objective && (was.objectiveStatus === 'pending' || seen.objectiveStatus === 'pending');

  const singles: Partial<Record<(typeof SINGLE_VALUES)[number], string>> = {};
  for (const field of SINGLE_VALUES) singles[field] = take(field, was[field], seen[field]);

  const hyperparameters = mergeRecord('hp:', was.hyperparameters, seen.hyperparameters, take);
  const metrics = mergeRecord('m:', was.metrics ?? {}, finiteOnly(seen.metrics), take);

  const trial: Trial = {
    trialId: was.trialId,
    status,
    hyperparameters,
    ...(objective?.value !== undefined ? { objectiveValue: objective.value } : {}),
    ...(objective ? { objectiveStatus: objective.status } : pending ? { objectiveStatus: 'pending' as const } : {}),
    ...definedOnly(singles),
    stoppedEarly: was.stoppedEarly || seen.stoppedEarly,
    ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
  };
  return { trial, stamps };
}

/** True when `a` and `b` hold the same facts (key order aside). */
export function sameTrial(a: Trial, b: Trial): boolean {
  return canonical(a) === canonical(b);
}

interface Objective {
  readonly status: 'succeeded' | 'failed';
  readonly value?: number;
}

/** The objective as a fact: a finite value, or a verdict of failed; anything else is unknown. */
function objectiveOf(trial: Trial): Objective | undefined {
  const value = trial.objectiveValue;
  if (value !== undefined && Number.isFinite(value)) return { status: trial.objectiveStatus === 'failed' ? 'failed' : 'succeeded', value };
  return trial.objectiveStatus === 'failed' ? { status: 'failed' } : undefined;
}

function mergeRecord<V>(
  prefix: string,
  held: Readonly<Record<string, V>>,
  seen: Readonly<Record<string, V>>,
  take: (key: string, held: V | undefined, claimed: V | undefined) => V | undefined,
): Record<string, V> {
  const out: Record<string, V> = { ...held };
  for (const [name, value] of Object.entries(seen)) {
    const kept = take(prefix + name, Object.hasOwn(held, name) ? held[name] : undefined, value);
    if (kept !== undefined) out[name] = kept;
  }
  return out;
}

function finiteOnly(metrics: Readonly<Record<string, number>> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics ?? {}).filter(([, v]) => Number.isFinite(v)));
}

function definedOnly<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** ISO 8601 in one width, so stamps compare as strings; an unreadable time counts as the oldest. */
function normalTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? new Date(0).toISOString() : new Date(ms).toISOString();
}

/** JSON with keys sorted at every level: equal facts give equal strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
