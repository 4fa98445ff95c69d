import type { protos } from '@google-cloud/aiplatform';
import { ProviderError } from '../../domain/errors';
import type { JobObservation } from '../../domain/job';
import type { Goal, TuningSpec } from '../../domain/spec';
import type { JobStatus, TrialStatus } from '../../domain/status';
import { isBetter, selectBestTrial, type Trial } from '../../domain/trial';

type IHyperparameterTuningJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
type ITrial = protos.google.cloud.aiplatform.v1.ITrial;
type IMeasurement = protos.google.cloud.aiplatform.v1.IMeasurement;
type IStudySpec = protos.google.cloud.aiplatform.v1.IStudySpec;
type JobStateName = keyof typeof protos.google.cloud.aiplatform.v1.JobState;
type TrialStateName = keyof typeof protos.google.cloud.aiplatform.v1.Trial.State;

/*
 * Vertex enums arrive by name from the Node client (proto-loader's `enums: String`) and may arrive
 * by number from other readers; both are accepted. The numbers are job_state.proto's and
 * study.proto's (Trial.State); a unit test checks them against the protos the client ships.
 */

/** JobState by number, as job_state.proto numbers it. */
export const JOB_STATES: readonly JobStateName[] = [
  'JOB_STATE_UNSPECIFIED',
  'JOB_STATE_QUEUED',
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_PAUSED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_UPDATING',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
];

/** Trial.State by number, as study.proto numbers it. */
export const TRIAL_STATES: readonly TrialStateName[] = ['STATE_UNSPECIFIED', 'REQUESTED', 'ACTIVE', 'STOPPING', 'SUCCEEDED', 'INFEASIBLE'];

const JOB_STATUS_OF: Readonly<Record<JobStateName, JobStatus | undefined>> = {
  JOB_STATE_UNSPECIFIED: undefined,
  JOB_STATE_QUEUED: 'pending',
  JOB_STATE_PENDING: 'pending',
  JOB_STATE_RUNNING: 'running',
  // an update of a running job (e.g. its resources): the job goes on running
  JOB_STATE_UPDATING: 'running',
  JOB_STATE_SUCCEEDED: 'succeeded',
  // some trials succeeded: a result to promote, flagged `partially_succeeded`
  JOB_STATE_PARTIALLY_SUCCEEDED: 'succeeded',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_EXPIRED: 'failed',
  JOB_STATE_CANCELLING: 'stopping',
  JOB_STATE_CANCELLED: 'stopped',
  // not terminal: a paused job can resume
  JOB_STATE_PAUSED: 'paused',
};

const TRIAL_STATUS_OF: Readonly<Record<TrialStateName, TrialStatus | undefined>> = {
  STATE_UNSPECIFIED: undefined,
  REQUESTED: 'pending',
  ACTIVE: 'running',
  // "the Trial should stop according to the service": still running until its CustomJob ends
  STOPPING: 'running',
  SUCCEEDED: 'succeeded',
  // how Vertex ends a trial that failed or ended without a final measurement
  INFEASIBLE: 'infeasible',
};

function enumName<N extends string>(state: string | number | null | undefined, names: readonly N[]): string {
  if (typeof state === 'number') return names[state] ?? String(state);
  return state ?? names[0] ?? '';
}

/** The job state's name, whether it came as a name or a number. @example jobStateName(4) // 'JOB_STATE_SUCCEEDED' */
export function jobStateName(state: string | number | null | undefined): string {
  return enumName(state, JOB_STATES);
}

/** The trial state's name, whether it came as a name or a number. @example trialStateName(5) // 'INFEASIBLE' */
export function trialStateName(state: string | number | null | undefined): string {
  return enumName(state, TRIAL_STATES);
}

/**
 * A Vertex JobState in tunewire's vocabulary. Throws `ProviderError` (PROVIDER.UNKNOWN_STATUS)
 * for JOB_STATE_UNSPECIFIED and for states this version does not know.
 *
 * @example mapJobState('JOB_STATE_CANCELLING') // 'stopping'
 */
export function mapJobState(state: string | number): JobStatus {
  const name = jobStateName(state);
  const status = (JOB_STATUS_OF as Readonly<Record<string, JobStatus | undefined>>)[name];
  if (!status) {
    throw new ProviderError('vertex', 'mapJobState', `job state ${JSON.stringify(state)} has no tunewire status`, { retryable: false, code: 'PROVIDER.UNKNOWN_STATUS' });
  }
  return status;
}

/**
 * A Vertex Trial.State in tunewire's vocabulary. Throws `ProviderError` for STATE_UNSPECIFIED and
 * unknown states.
 *
 * @example mapTrialState('INFEASIBLE') // 'infeasible'
 */
export function mapTrialState(state: string | number): TrialStatus {
  const name = trialStateName(state);
  const status = (TRIAL_STATUS_OF as Readonly<Record<string, TrialStatus | undefined>>)[name];
  if (!status) {
    throw new ProviderError('vertex', 'mapTrialState', `trial state ${JSON.stringify(state)} has no tunewire status`, { retryable: false, code: 'PROVIDER.UNKNOWN_STATUS' });
  }
  return status;
}

type TimestampLike = protos.google.protobuf.ITimestamp | string | Date | null | undefined;

/** A protobuf Timestamp (seconds as number, string or Long), a Date or an ISO string, as an ISO string; undefined when unset. */
export function isoTime(value: TimestampLike): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
  }
  if (value.seconds === null || value.seconds === undefined) return undefined;
  // milliseconds, as every other time in the ledger
  const ms = Number(String(value.seconds)) * 1000 + Math.floor((value.nanos ?? 0) / 1e6);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/**
 * What a HyperparameterTuningJob says, in tunewire's vocabulary: status from `state`, time from
 * `updateTime` (the latest of Vertex's times that is set), failure from `error.message`, trial
 * counts from `trials`. Flags: `partially_succeeded` (some trials failed but the job succeeded),
 * `expired` (failed because it expired). `providerBestTrialId` is the trial the job's own
 * StudySpec makes best (see `judgingOfStudy` and `bestTrialFromVertex`); none when the job names
 * no single metric with a goal, or no trial is eligible.
 *
 * @example observationFromJob(await client.getHyperparameterTuningJob({ name })[0]).status // 'running'
 */
export function observationFromJob(job: IHyperparameterTuningJob): JobObservation {
  const providerStatus = jobStateName(job.state);
  const status = mapJobState(job.state ?? 0);
  const observedAt = isoTime(job.updateTime) ?? isoTime(job.endTime) ?? isoTime(job.startTime) ?? isoTime(job.createTime);
  if (observedAt === undefined) {
    throw new ProviderError('vertex', 'describe', `job ${job.name ?? '(unnamed)'} carries no time (updateTime, endTime, startTime, createTime)`, {
      retryable: false,
      code: 'PROVIDER.BAD_RESPONSE',
    });
  }
  const flags: string[] = [];
  if (providerStatus === 'JOB_STATE_PARTIALLY_SUCCEEDED') flags.push('partially_succeeded');
  if (providerStatus === 'JOB_STATE_EXPIRED') flags.push('expired');
  const failureReason = job.error?.message ? job.error.message : providerStatus === 'JOB_STATE_EXPIRED' ? 'the job expired (JOB_STATE_EXPIRED)' : undefined;
  const judging = judgingOfStudy(job.studySpec);
  const best = judging && Array.isArray(job.trials) ? bestOf(job.trials, judging, undefined) : undefined;
  return {
    status,
    providerStatus,
    observedAt,
    ...(failureReason !== undefined ? { failureReason } : {}),
    ...(Array.isArray(job.trials) ? { trialCounts: countTrials(job.trials) } : {}),
    ...(flags.length > 0 ? { flags } : {}),
    ...(best ? { providerBestTrialId: best.trialId } : {}),
  };
}

function countTrials(trials: readonly ITrial[]): Partial<Record<TrialStatus, number>> {
  const counts: Partial<Record<TrialStatus, number>> = {};
  for (const trial of trials) {
    const status = (TRIAL_STATUS_OF as Readonly<Record<string, TrialStatus | undefined>>)[trialStateName(trial.state)];
    // an unspecified trial state is not worth failing the whole observation over; it is left uncounted
    if (status) counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

/** A Trial.Parameter value (google.protobuf.Value, or a plain value) as the string tunewire stores. */
function parameterValue(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const v = value as { numberValue?: number | null; stringValue?: string | null; boolValue?: boolean | null };
  if (v.numberValue !== undefined && v.numberValue !== null) return String(v.numberValue);
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return String(v.boolValue);
  return '';
}

function metricOf(measurement: IMeasurement | null | undefined, metricId: string): number | undefined {
  const found = measurement?.metrics?.find((m) => m.metricId === metricId);
  const value = found?.value;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * What Vertex judges a trial by: the study's objective metric and goal, and which measurement is a
 * trial's result (StudySpec.MeasurementSelectionType).
 */
export interface VertexJudging {
  readonly metric: string;
  readonly goal: Goal;
  readonly selection: 'best' | 'last';
}

/**
 * The judging a spec renders to (see vertex-request): no `measurementSelection` is sent as
 * LAST_MEASUREMENT, and is read so here.
 *
 * @example judgingOfSpec(spec) // { metric: 'auc', goal: 'maximize', selection: 'last' }
 */
export function judgingOfSpec(spec: TuningSpec): VertexJudging {
  return { metric: spec.objective.metric, goal: spec.objective.goal, selection: spec.measurementSelection === 'best' ? 'best' : 'last' };
}

const GOAL_OF: Readonly<Record<string, Goal | undefined>> = { MAXIMIZE: 'maximize', 1: 'maximize', MINIMIZE: 'minimize', 2: 'minimize' };
const SELECTION_OF: Readonly<Record<string, VertexJudging['selection'] | undefined>> = { BEST_MEASUREMENT: 'best', 2: 'best' };

/**
 * The judging a job's StudySpec carries, enums by name or number. Unspecified selection is
 * LAST_MEASUREMENT (study.proto: "Will be treated as LAST_MEASUREMENT"). Undefined unless the
 * study has exactly one metric with a goal: several metrics have no single best trial.
 *
 * @example judgingOfStudy(job.studySpec) // { metric: 'auc', goal: 'maximize', selection: 'best' }
 */
export function judgingOfStudy(study: IStudySpec | null | undefined): VertexJudging | undefined {
  const metrics = study?.metrics ?? [];
  const [only] = metrics;
  if (metrics.length !== 1 || !only?.metricId) return undefined;
  const goal = GOAL_OF[String(only.goal ?? '')];
  if (!goal) return undefined;
  return { metric: only.metricId, goal, selection: SELECTION_OF[String(study?.measurementSelectionType ?? '')] ?? 'last' };
}

/**
 * The objective under the job's measurement selection, as study.proto defines a trial's result:
 * LAST_MEASUREMENT is `finalMeasurement` ("the final measurement containing the objective value")
 * and only it; a final measurement without the metric means no objective, whatever the
 * intermediate measurements said (they are "used for early stopping computations"). BEST_MEASUREMENT
 * is the best value for the goal among `measurements` and `finalMeasurement`, so it holds also
 * where the final measurement was reported only at the end.
 */
function objectiveOf(trial: ITrial, judging: VertexJudging): number | undefined {
  if (judging.selection === 'last') return metricOf(trial.finalMeasurement, judging.metric);
  let best: number | undefined;
  for (const value of [...(trial.measurements ?? []), trial.finalMeasurement].map((m) => metricOf(m, judging.metric))) {
    if (value !== undefined && (best === undefined || isBetter(judging.goal, value, best))) best = value;
  }
  return best;
}

/** Every metric the trial reported, last value each; the final measurement wins. */
function metricsOf(trial: ITrial): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const measurement of [...(trial.measurements ?? []), trial.finalMeasurement]) {
    for (const m of measurement?.metrics ?? []) {
      if (m.metricId && typeof m.value === 'number' && Number.isFinite(m.value)) metrics[m.metricId] = m.value;
    }
  }
  return metrics;
}

function baseOutputDirectory(spec: TuningSpec): string | undefined {
  const dir = spec.trial['baseOutputDirectory'];
  return typeof dir === 'string' && dir.length > 0 ? dir.replace(/\/+$/, '') : undefined;
}

/**
 * A Vertex trial of a HyperparameterTuningJob in tunewire's form, exactly as this read shows it
 * (the ledger merges reads: it keeps what an earlier read knew).
 *
 * - hyperparameters: the tuned values as strings (static ones are in the spec).
 * - objectiveValue: see `objectiveOf`; set for succeeded trials only, judged by the spec's
 *   measurement selection (none given is LAST, as vertex-request sends it). A succeeded trial
 *   without an objective has objectiveStatus `failed`.
 * - INFEASIBLE ("should not be attempted again", set when a trial is done but lacks its final
 *   measurement): status `infeasible`, objectiveStatus `failed`, no objective whatever it
 *   reported, `infeasibleReason` as the failure reason; never best.
 * - artifactUri: `<baseOutputDirectory>/<trial id>/model/`, the AIP_MODEL_DIR Vertex gives the
 *   trial's CustomJob.
 * - stoppedEarly: Vertex's Trial has no field recording an early stop; STOPPING ("should stop
 *   according to the service") is the only sign. A read finding the trial STOPPING says true (its
 *   status still `running` until its CustomJob ends); the later SUCCEEDED read says false, as
 *   Vertex then does, and the ledger's merge keeps the true it saw. A trial stopped between two
 *   reads is never seen STOPPING.
 *
 * @example trialFromVertex({ id: '3', state: 'SUCCEEDED', parameters: [...], finalMeasurement: {...} }, spec).objectiveValue
 */
export function trialFromVertex(trial: ITrial, spec: TuningSpec): Trial {
  return judgedTrial(trial, judgingOfSpec(spec), baseOutputDirectory(spec));
}

/**
 * The trial Vertex's own rule makes best among `trials` (a job's, from one Get), mapped in full as
 * `trialFromVertex` maps it: objectives by the spec's measurement selection, then
 * `selectBestTrial` (succeeded with an objective; infeasible never; a tie goes to the trial that
 * ended first, then the smaller id).
 *
 * @example bestTrialFromVertex(job.trials ?? [], spec)?.trialId // '4'
 */
export function bestTrialFromVertex(trials: readonly ITrial[], spec: TuningSpec): Trial | undefined {
  return bestOf(trials, judgingOfSpec(spec), baseOutputDirectory(spec));
}

/** The one rule behind `bestTrialFromVertex` and an observation's `providerBestTrialId`. */
function bestOf(trials: readonly ITrial[], judging: VertexJudging, base: string | undefined): Trial | undefined {
  // Only trials that can win are mapped: a trial in a state this version does not know must not
  // fail the whole read, as it does not fail the trial counts.
  const finished = trials.filter((t) => {
    const status = (TRIAL_STATUS_OF as Readonly<Record<string, TrialStatus | undefined>>)[trialStateName(t.state)];
    return status === 'succeeded' || status === 'stopped';
  });
  return selectBestTrial(finished.map((t) => judgedTrial(t, judging, base)), judging.goal);
}

function judgedTrial(trial: ITrial, judging: VertexJudging, base: string | undefined): Trial {
  const trialId = trial.id || trial.name?.split('/').pop() || '';
  if (!trialId) throw new ProviderError('vertex', 'listTrials', 'a trial carries neither id nor name', { retryable: false, code: 'PROVIDER.BAD_RESPONSE' });
  const stateName = trialStateName(trial.state);
  const status = mapTrialState(trial.state ?? 0);
  const hyperparameters: Record<string, string> = {};
  for (const p of trial.parameters ?? []) if (p.parameterId) hyperparameters[p.parameterId] = parameterValue(p.value);

  const objectiveValue = status === 'succeeded' ? objectiveOf(trial, judging) : undefined;
  const objectiveStatus = status === 'succeeded' ? (objectiveValue !== undefined ? 'succeeded' : 'failed') : status === 'infeasible' ? 'failed' : 'pending';
  const startedAt = isoTime(trial.startTime);
  const endedAt = isoTime(trial.endTime);
  const metrics = metricsOf(trial);
  return {
    trialId,
    status,
    hyperparameters,
    ...(objectiveValue !== undefined ? { objectiveValue } : {}),
    objectiveStatus,
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(endedAt !== undefined ? { endedAt } : {}),
    stoppedEarly: stateName === 'STOPPING',
    ...(trial.infeasibleReason ? { failureReason: trial.infeasibleReason } : {}),
    ...(base !== undefined ? { artifactUri: `${base}/${trialId}/model/` } : {}),
    ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
  };
}
