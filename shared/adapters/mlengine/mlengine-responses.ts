import { ProviderError } from '../../domain/errors';
import type { JobObservation } from '../../domain/job';
import type { Goal, TuningSpec } from '../../domain/spec';
import type { JobStatus, TrialStatus } from '../../domain/status';
import { isBetter, type Trial } from '../../domain/trial';
import type { MlEngineHyperparameterOutput, MlEngineJob, MlEngineJobState, MlEngineMetric } from './mlengine-request';
import { mlEngineTrialSpecSchema } from './mlengine-spec';

// ML Engine's vocabulary stops here: job and trial states map into tunewire's.

const JOB_STATES: Readonly<Record<MlEngineJobState, JobStatus>> = {
  // Not a state a created job reports; pending is the lowest rank, so it can never move a job back.
  STATE_UNSPECIFIED: 'pending',
  QUEUED: 'pending',
  PREPARING: 'pending',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLING: 'stopping',
  CANCELLED: 'stopped',
};

/** Trial states (newer API versions report them; they reuse the job's `State`). */
const TRIAL_STATES: Readonly<Record<MlEngineJobState, TrialStatus>> = {
  STATE_UNSPECIFIED: 'succeeded',
  QUEUED: 'pending',
  PREPARING: 'pending',
  RUNNING: 'running',
  CANCELLING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'stopped',
};

/** An ML Engine job state in tunewire's vocabulary. @example mapMlEngineJobState('CANCELLING') // 'stopping' */
export function mapMlEngineJobState(state: string | undefined): JobStatus {
  const key = state ?? 'STATE_UNSPECIFIED';
  if (!Object.hasOwn(JOB_STATES, key)) {
    throw new ProviderError('mlengine', 'mapStatus', `unknown job state "${state}"`, { retryable: false, code: 'PROVIDER.UNKNOWN_STATUS' });
  }
  return JOB_STATES[key as MlEngineJobState];
}

/**
 * A trial's status. The reference lists only successful trials and gives them no state: a listed
 * trial without one succeeded. A trial the service stopped early is `stopped` (with `stoppedEarly`).
 */
export function mapMlEngineTrialState(trial: Pick<MlEngineHyperparameterOutput, 'state' | 'isTrialStoppedEarly'>): TrialStatus {
  const key = trial.state ?? 'STATE_UNSPECIFIED';
  if (!Object.hasOwn(TRIAL_STATES, key)) {
    throw new ProviderError('mlengine', 'mapStatus', `unknown trial state "${trial.state}"`, { retryable: false, code: 'PROVIDER.UNKNOWN_STATUS' });
  }
  const status = TRIAL_STATES[key as MlEngineJobState];
  return status === 'succeeded' && trial.isTrialStoppedEarly ? 'stopped' : status;
}

/** RFC 3339 with up to nanoseconds → ISO with milliseconds; undefined when absent or unreadable. */
function isoTime(time: string | undefined): string | undefined {
  if (!time) return undefined;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/**
 * What a job says now, in tunewire's vocabulary. `observedAt` is the job's latest time (end, start
 * or create), so repeated reads of an unchanged job observe the same moment; `fallbackTime` is used
 * only when the job carries no time at all. `errorMessage` (a failure or a cancellation) becomes
 * the failure reason. `providerBestTrialId` is `providerBestOutput`'s trial.
 */
export function observationFromJob(job: MlEngineJob, fallbackTime: Date = new Date(0)): JobObservation {
  const times = [job.createTime, job.startTime, job.endTime].map(isoTime).filter((t): t is string => t !== undefined).sort();
  const trials = job.trainingOutput?.trials ?? [];
  const counts: Partial<Record<TrialStatus, number>> = {};
  for (const trial of trials) {
    const status = mapMlEngineTrialState(trial);
    counts[status] = (counts[status] ?? 0) + 1;
  }
  const completed = Number(job.trainingOutput?.completedTrialCount ?? 0);
  if (trials.length === 0 && Number.isSafeInteger(completed) && completed > 0) counts.succeeded = completed;

  const best = providerBestOutput(job);

  return {
    status: mapMlEngineJobState(job.state),
    providerStatus: job.state ?? 'STATE_UNSPECIFIED',
    observedAt: times[times.length - 1] ?? fallbackTime.toISOString(),
    ...(job.errorMessage ? { failureReason: job.errorMessage } : {}),
    ...(Object.keys(counts).length > 0 ? { trialCounts: counts } : {}),
    ...(best ? { providerBestTrialId: best.trialId } : {}),
  };
}

/**
 * The trial ML Engine's own judgement makes best: the best finite `finalMetric.objectiveValue`
 * ("the final objective metric seen for this trial") for the job's goal (`MAXIMIZE` unless the job
 * says `MINIMIZE`, the reference's default), among trials that finished without failing (listed
 * without a state, SUCCEEDED, or stopped early). The service gives trials no end times, so a tie
 * goes to the trial listed first, in the service's own order. One rule for `describe` and
 * `bestTrial`, so both name the same trial from the same read.
 *
 * @example providerBestOutput(job)?.trialId // '7'
 */
export function providerBestOutput(job: MlEngineJob): MlEngineHyperparameterOutput | undefined {
  const goal: Goal = job.trainingInput?.hyperparameters?.goal === 'MINIMIZE' ? 'minimize' : 'maximize';
  let best: { trial: MlEngineHyperparameterOutput; value: number } | undefined;
  for (const trial of job.trainingOutput?.trials ?? []) {
    const value = trial.finalMetric?.objectiveValue;
    if (!trial.trialId || value === undefined || !Number.isFinite(value)) continue;
    const status = mapMlEngineTrialState(trial);
    if (status !== 'succeeded' && status !== 'stopped') continue;
    if (!best || isBetter(goal, value, best.value)) best = { trial, value };
  }
  return best?.trial;
}

/**
 * The trial's objective: `finalMetric`, the value the service itself judges the trial by (so
 * tunewire's measurement selection is `last` here; `best` is refused by validation). Should only
 * `allMetrics` be there (the reference says it is not populated), its last step is taken.
 */
export function objectiveOf(trial: MlEngineHyperparameterOutput): number | undefined {
  const finite = (m: MlEngineMetric | undefined): m is MlEngineMetric & { objectiveValue: number } =>
    m?.objectiveValue !== undefined && Number.isFinite(m.objectiveValue);
  if (finite(trial.finalMetric)) return trial.finalMetric.objectiveValue;
  const history = (trial.allMetrics ?? []).filter(finite).sort((a, b) => Number(a.trainingStep ?? 0) - Number(b.trainingStep ?? 0));
  return history[history.length - 1]?.objectiveValue;
}

/**
 * Where a trial's model is: a built-in algorithm's `modelPath`, else `<jobDir>/<trialId>`. ML
 * Engine passes `--job-dir` to every trial; the convention (the service's own samples follow it)
 * is that a trainer in a tuning job writes under the job dir joined with its trial id, read from
 * TF_CONFIG's `task.trial`. Without a job dir there is no known location.
 */
export function trialArtifactUri(trial: MlEngineHyperparameterOutput, jobDir: string | undefined): string | undefined {
  const modelPath = trial.builtInAlgorithmOutput?.modelPath;
  if (modelPath) return modelPath;
  if (!jobDir || !trial.trialId) return undefined;
  return `${jobDir.replace(/\/+$/, '')}/${trial.trialId}`;
}

/**
 * One ML Engine trial as a tunewire trial. The job dir comes from the job as the service holds it,
 * else from the spec. `metrics` holds the final value under the objective's name.
 */
export function trialFromOutput(trial: MlEngineHyperparameterOutput, spec: TuningSpec, job: MlEngineJob): Trial {
  if (!trial.trialId) throw new ProviderError('mlengine', 'listTrials', `job ${job.jobId} lists a trial without a trialId`, { retryable: false, code: 'PROVIDER.BAD_RESPONSE' });
  const status = mapMlEngineTrialState(trial);
  const objectiveValue = objectiveOf(trial);
  const finished = status === 'succeeded' || status === 'stopped' || status === 'failed' || status === 'infeasible';
  const objectiveStatus: Trial['objectiveStatus'] = objectiveValue !== undefined ? 'succeeded' : finished ? 'failed' : 'pending';
  const specJobDir = mlEngineTrialSpecSchema.shape.jobDir.safeParse(spec.trial['jobDir']);
  const jobDir = job.trainingInput?.jobDir ?? (specJobDir.success ? specJobDir.data : undefined);
  const artifactUri = trialArtifactUri(trial, jobDir);
  const final = trial.finalMetric?.objectiveValue;
  const startedAt = isoTime(trial.startTime);
  const endedAt = isoTime(trial.endTime);
  return {
    trialId: trial.trialId,
    status,
    hyperparameters: { ...(trial.hyperparameters ?? {}) },
    ...(objectiveValue !== undefined ? { objectiveValue } : {}),
    objectiveStatus,
    ...(startedAt ? { startedAt } : {}),
    ...(endedAt ? { endedAt } : {}),
    stoppedEarly: trial.isTrialStoppedEarly === true,
    ...(status === 'failed' ? { failureReason: 'the trial failed (ML Engine reports no reason per trial; see the job logs)' } : {}),
    ...(artifactUri ? { artifactUri } : {}),
    ...(final !== undefined && Number.isFinite(final) ? { metrics: { [spec.objective.metric]: final } } : {}),
  };
}
