import type {
  DescribeHyperParameterTuningJobCommandOutput,
  HyperParameterTrainingJobSummary,
  HyperParameterTuningJobStatus,
  ObjectiveStatus,
  TrainingJobStatus,
} from '@aws-sdk/client-sagemaker';
import { ProviderError } from '../../domain/errors';
import type { JobObservation } from '../../domain/job';
import type { TuningSpec } from '../../domain/spec';
import type { JobStatus, TrialStatus } from '../../domain/status';
import type { Trial } from '../../domain/trial';

/**
 * SageMaker's answers in tunewire's vocabulary. SageMaker's status words stop here.
 *
 * Deleting and DeleteFailed mean someone deleted the tuning job: whatever it was, it will run no
 * more, so both read as stopped (a job already finished keeps its outcome: terminal statuses never
 * change) and carry a flag saying what happened.
 */
export function mapTuningJobStatus(s: HyperParameterTuningJobStatus): JobStatus {
  switch (s) {
    case 'InProgress':
      return 'running';
    case 'Completed':
      return 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Stopping':
      return 'stopping';
    case 'Stopped':
    case 'Deleting':
    case 'DeleteFailed':
      return 'stopped';
    default:
      throw unknownStatus('tuning job', s);
  }
}

/**
 * A training job is a trial. Stopping is still running as far as a trial goes (its objective may
 * yet come); Deleting means it will report nothing more, so it reads as stopped.
 */
export function mapTrainingJobStatus(s: TrainingJobStatus): TrialStatus {
  switch (s) {
    case 'InProgress':
    case 'Stopping':
      return 'running';
    case 'Completed':
      return 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Stopped':
    case 'Deleting':
      return 'stopped';
    default:
      throw unknownStatus('training job', s);
  }
}

export function mapObjectiveStatus(s: ObjectiveStatus): NonNullable<Trial['objectiveStatus']> {
  switch (s) {
    case 'Succeeded':
      return 'succeeded';
    case 'Pending':
      return 'pending';
    case 'Failed':
      return 'failed';
    default:
      throw unknownStatus('objective', s);
  }
}

function unknownStatus(what: string, status: unknown): ProviderError {
  return new ProviderError('sagemaker', 'read', `unknown ${what} status ${JSON.stringify(status)}`, { retryable: false, code: 'PROVIDER.UNKNOWN_STATUS' });
}

/**
 * A SageMaker time as ISO 8601. The SDK gives Dates; events give strings of epoch milliseconds
 * ("1583831889050"), numbers, ISO strings or placeholders. Anything unreadable is undefined.
 */
export function isoTime(value: unknown): string | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = secondsOrMs(value);
  else if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) ms = secondsOrMs(Number(value));
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) ms = Date.parse(value);
  else return undefined;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

// The API's wire form is epoch seconds, events use milliseconds; 1e11 ms is 1973, 1e11 s is year 5138.
function secondsOrMs(n: number): number {
  return n < 1e11 ? n * 1000 : n;
}

/** Training job counters in trial statuses; both kinds of error are failed trials. */
export function trialCountsOf(counters: {
  Completed?: number | undefined;
  InProgress?: number | undefined;
  RetryableError?: number | undefined;
  NonRetryableError?: number | undefined;
  Stopped?: number | undefined;
}): Partial<Record<TrialStatus, number>> {
  const counts: Partial<Record<TrialStatus, number>> = {};
  const add = (status: TrialStatus, n: number | undefined) => {
    if (n !== undefined && Number.isFinite(n)) counts[status] = (counts[status] ?? 0) + n;
  };
  add('succeeded', counters.Completed);
  add('running', counters.InProgress);
  add('failed', counters.RetryableError);
  add('failed', counters.NonRetryableError);
  add('stopped', counters.Stopped);
  return counts;
}

/**
 * Facts beside the status, as flags: objective counters (`objective-failed:3`), retryable errors
 * (SageMaker may retry them), a deletion, and the overall best training job of a warm-started
 * job when it belongs to a parent (`overall-best:<training job name>`).
 */
export function flagsOf(input: {
  status?: string | undefined;
  retryableErrors?: number | undefined;
  objective?: { Succeeded?: number | undefined; Pending?: number | undefined; Failed?: number | undefined } | undefined;
  bestTrainingJob?: string | undefined;
  overallBestTrainingJob?: string | undefined;
}): string[] {
  const flags: string[] = [];
  if (input.status === 'Deleting') flags.push('deleting');
  if (input.status === 'DeleteFailed') flags.push('delete-failed');
  if (input.retryableErrors) flags.push(`retryable-errors:${input.retryableErrors}`);
  const objective = input.objective ?? {};
  if (objective.Succeeded) flags.push(`objective-succeeded:${objective.Succeeded}`);
  if (objective.Pending) flags.push(`objective-pending:${objective.Pending}`);
  if (objective.Failed) flags.push(`objective-failed:${objective.Failed}`);
  if (input.overallBestTrainingJob && input.overallBestTrainingJob !== input.bestTrainingJob) {
    flags.push(`overall-best:${input.overallBestTrainingJob}`);
  }
  return flags;
}

/**
 * DescribeHyperParameterTuningJob as an observation. `observedAt` is LastModifiedTime, when the
 * status last changed. The best trial is this job's BestTrainingJob; a warm-started job's
 * OverallBestTrainingJob may be a parent's training job, so it only shows as a flag.
 */
export function observationFromDescribe(r: DescribeHyperParameterTuningJobCommandOutput): JobObservation {
  const providerStatus = r.HyperParameterTuningJobStatus;
  if (!providerStatus) throw unknownStatus('tuning job', providerStatus);
  const counters = r.TrainingJobStatusCounters;
  const flags = flagsOf({
    status: providerStatus,
    retryableErrors: counters?.RetryableError,
    objective: r.ObjectiveStatusCounters,
    bestTrainingJob: r.BestTrainingJob?.TrainingJobName,
    overallBestTrainingJob: r.OverallBestTrainingJob?.TrainingJobName,
  });
  const best = r.BestTrainingJob?.TrainingJobName;
  return {
    status: mapTuningJobStatus(providerStatus),
    providerStatus,
    observedAt: isoTime(r.LastModifiedTime) ?? isoTime(r.HyperParameterTuningEndTime) ?? isoTime(r.CreationTime) ?? new Date(0).toISOString(),
    ...(r.FailureReason ? { failureReason: r.FailureReason } : {}),
    ...(counters ? { trialCounts: trialCountsOf(counters) } : {}),
    ...(flags.length ? { flags } : {}),
    ...(best ? { providerBestTrialId: best } : {}),
  };
}

/**
 * One training job of ListTrainingJobsForHyperParameterTuningJob as a trial.
 *
 * The summary does not say why a job stopped: a Stopped job reads as stopped early when the spec
 * lets SageMaker stop jobs (earlyStopping auto, or Hyperband), and as stopped by hand otherwise.
 * Categorical values that come back JSON-quoted (`"gbtree"`, as the SageMaker Python SDK sends
 * them) are unquoted when the unquoted value is one of the spec's.
 */
export function trialFromSummary(s: HyperParameterTrainingJobSummary, spec: TuningSpec): Trial {
  if (!s.TrainingJobName) throw new ProviderError('sagemaker', 'list training jobs', 'a training job summary has no TrainingJobName', { retryable: false });
  if (!s.TrainingJobStatus) throw unknownStatus('training job', s.TrainingJobStatus);
  const status = mapTrainingJobStatus(s.TrainingJobStatus);
  const final = s.FinalHyperParameterTuningJobObjectiveMetric;
  const value = final?.Value !== undefined && Number.isFinite(final.Value) ? final.Value : undefined;
  const metricName = final?.MetricName ?? spec.objective.metric;
  const startedAt = isoTime(s.TrainingStartTime) ?? isoTime(s.CreationTime);
  const endedAt = isoTime(s.TrainingEndTime);
  const selfStopping = spec.earlyStopping === 'auto' || spec.strategy === 'hyperband';
  return {
    trialId: s.TrainingJobName,
    status,
    hyperparameters: unquoted(s.TunedHyperParameters ?? {}, spec),
    ...(value !== undefined ? { objectiveValue: value, metrics: { [metricName]: value } } : {}),
    ...(s.ObjectiveStatus ? { objectiveStatus: mapObjectiveStatus(s.ObjectiveStatus) } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(endedAt ? { endedAt } : {}),
    stoppedEarly: status === 'stopped' && s.TrainingJobStatus === 'Stopped' && selfStopping,
    ...(s.FailureReason ? { failureReason: s.FailureReason } : {}),
    ...(s.TrainingJobDefinitionName ? { definitionName: s.TrainingJobDefinitionName } : {}),
  };
}

function unquoted(tuned: Readonly<Record<string, string>>, spec: TuningSpec): Record<string, string> {
  const choices = new Map(spec.parameters.flatMap((p) => (p.type === 'categorical' || p.type === 'discrete' ? [[p.name, new Set(p.values.map(String))] as const] : [])));
  return Object.fromEntries(
    Object.entries(tuned).map(([key, raw]) => {
      const inner = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : undefined;
      return [key, inner !== undefined && !choices.get(key)?.has(raw) && choices.get(key)?.has(inner) ? inner : raw];
    }),
  );
}
