import * as z from 'zod';
import { EventValidationError } from '../../domain/errors';
import type { JobObservation } from '../../domain/job';
import { isTerminalTrialStatus } from '../../domain/status';
import { withObjectiveFromMetrics, type Trial } from '../../domain/trial';
import { parseDetail, type EventBridgeEnvelope } from '../../edge/envelopes';
import type { ProviderJobEvent, ProviderTrialEvent } from '../../use-cases/provider-events';
import { SAGEMAKER_JOB_NAME } from './sagemaker-names';
import { JOB_ID_TAG } from './sagemaker-request';
import { flagsOf, isoTime, mapTrainingJobStatus, mapTuningJobStatus, trialCountsOf } from './sagemaker-responses';

/**
 * SageMaker's EventBridge events (source aws.sagemaker) as provider events.
 *
 * SageMaker's events are hints: they may repeat, arrive late, lack fields or carry placeholders
 * (AWS's own examples show `"HyperParameterTuningJobStatus": "status"` and times as strings of
 * epoch milliseconds). So only the fields that say which job are required; every other field is
 * read leniently and dropped when unreadable, and a status-less event still names its job so the
 * status-change use case can ask `describe`.
 */
export const SAGEMAKER_SOURCE = 'aws.sagemaker';
export const TUNING_JOB_STATE_CHANGE = 'SageMaker HyperParameter Tuning Job State Change';
export const TRAINING_JOB_STATE_CHANGE = 'SageMaker Training Job State Change';

const TUNING_JOB_STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped', 'Deleting', 'DeleteFailed'] as const;
const TRAINING_JOB_STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped', 'Deleting'] as const;

/** The tuning job's name is the ARN's last path segment. */
const TUNING_JOB_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:hyper-parameter-tuning-job\/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,31})$/;

/**
 * A tuning job names each training job it launches `<tuning job name>-<3-digit index>-<8 hex>`
 * (CreateHyperParameterTuningJob: the name "is a prefix for the names of all training jobs that
 * this tuning job launches"). Tuning job names are at most 32 characters.
 */
const LAUNCHED_TRAINING_JOB_NAME = /^(.{1,32})-\d{3}-[0-9a-fA-F]{8}$/;

const requiredName = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .min(1, 'must not be empty');

// Lenient readers: an unreadable value becomes undefined instead of failing the event.
const text = z.string().min(1).optional().catch(undefined);
const count = z
  .union([z.number().int().min(0), z.string().regex(/^\d+$/).transform(Number)])
  .optional()
  .catch(undefined);
const numeric = z.union([z.number(), z.string().regex(/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/).transform(Number)]).refine(Number.isFinite);
const time = z.unknown().transform((v) => isoTime(v)).optional();
/**
 * Tags with string values, by key. AWS's events carry a map of key to value (`"Tags": {}`); some
 * producers send the API's list of `{Key, Value}` pairs instead: both read the same.
 */
const tags = z
  .union([
    z.array(z.object({ Key: z.string(), Value: z.unknown() }).nullable().catch(null)).transform((pairs) => pairs.flatMap((p): [string, unknown][] => (p ? [[p.Key, p.Value]] : []))),
    z.record(z.string(), z.unknown()).transform((map): [string, unknown][] => Object.entries(map)),
  ])
  .transform((entries) => {
    const byKey: Record<string, string> = {};
    for (const [key, value] of entries) if (typeof value === 'string' && value.trim() !== '') byKey[key] = value;
    return byKey;
  })
  .optional()
  .catch(undefined);

const tuningJobDetail = z.object({
  HyperParameterTuningJobName: requiredName,
  HyperParameterTuningJobStatus: z.enum(TUNING_JOB_STATUSES).optional().catch(undefined),
  FailureReason: text,
  LastModifiedTime: time,
  HyperParameterTuningEndTime: time,
  TrainingJobStatusCounters: z
    .object({ Completed: count, InProgress: count, RetryableError: count, NonRetryableError: count, Stopped: count })
    .optional()
    .catch(undefined),
  ObjectiveStatusCounters: z.object({ Succeeded: count, Pending: count, Failed: count }).optional().catch(undefined),
  BestTrainingJob: z.object({ TrainingJobName: text }).optional().catch(undefined),
  OverallBestTrainingJob: z.object({ TrainingJobName: text }).optional().catch(undefined),
});

const trainingJobDetail = z.object({
  TrainingJobName: requiredName,
  // Absent from AWS's documented example and from the event's schema; present in some real events.
  TuningJobArn: z.string({ error: 'must be a string' }).regex(TUNING_JOB_ARN, 'must be the ARN of a hyper-parameter-tuning-job').optional(),
  Tags: tags,
  TrainingJobStatus: z.enum(TRAINING_JOB_STATUSES).optional().catch(undefined),
  SecondaryStatus: text,
  FailureReason: text,
  HyperParameters: z.record(z.string(), z.unknown()).optional().catch(undefined),
  FinalMetricDataList: z
    .array(z.object({ MetricName: z.string().min(1), Value: numeric }).nullable().catch(null))
    .optional()
    .catch(undefined),
  ModelArtifacts: z.object({ S3ModelArtifacts: text }).optional().catch(undefined),
  CreationTime: time,
  TrainingStartTime: time,
  TrainingEndTime: time,
  LastModifiedTime: time,
});

function expectDetailType(envelope: EventBridgeEnvelope, detailType: string, subject: string): void {
  const issues = [
    ...(envelope.source === SAGEMAKER_SOURCE ? [] : [{ path: 'source', message: `must be "${SAGEMAKER_SOURCE}"` }]),
    ...(envelope['detail-type'] === detailType ? [] : [{ path: 'detail-type', message: `must be "${detailType}"` }]),
  ];
  if (issues.length) throw new EventValidationError(subject, issues);
}

/**
 * "SageMaker HyperParameter Tuning Job State Change": which tuning job, and the status it claims
 * when the event carries a real one. The claim is observed at LastModifiedTime (else the
 * envelope's time), so a late InProgress after a Completed is older and changes nothing.
 */
export function sageMakerTuningJobEvent(envelope: EventBridgeEnvelope): ProviderJobEvent {
  const subject = 'SageMaker tuning job event';
  expectDetailType(envelope, TUNING_JOB_STATE_CHANGE, subject);
  const detail = parseDetail(tuningJobDetail, envelope, subject);
  const status = detail.HyperParameterTuningJobStatus;
  return {
    provider: 'sagemaker',
    providerJobName: detail.HyperParameterTuningJobName,
    eventId: envelope.id,
    source: SAGEMAKER_SOURCE,
    ...(status ? { claimed: claimedObservation(detail, status, envelope) } : {}),
  };
}

function claimedObservation(
  detail: z.output<typeof tuningJobDetail>,
  status: (typeof TUNING_JOB_STATUSES)[number],
  envelope: EventBridgeEnvelope,
): JobObservation {
  const counters = detail.TrainingJobStatusCounters;
  const best = detail.BestTrainingJob?.TrainingJobName;
  const flags = flagsOf({
    status,
    retryableErrors: counters?.RetryableError,
    objective: detail.ObjectiveStatusCounters,
    bestTrainingJob: best,
    overallBestTrainingJob: detail.OverallBestTrainingJob?.TrainingJobName,
  });
  return {
    status: mapTuningJobStatus(status),
    providerStatus: status,
    observedAt: detail.LastModifiedTime ?? detail.HyperParameterTuningEndTime ?? isoTime(envelope.time) ?? new Date(0).toISOString(),
    ...(detail.FailureReason ? { failureReason: detail.FailureReason } : {}),
    ...(counters ? { trialCounts: trialCountsOf(counters) } : {}),
    ...(flags.length ? { flags } : {}),
    ...(best ? { providerBestTrialId: best } : {}),
  };
}

/**
 * "SageMaker Training Job State Change" of a training job a tuning job launched: a trial event of
 * that tuning job. A finished training job comes back as a trial, so fan-out can store it without
 * calling SageMaker.
 *
 * Which tuning job: AWS's documented event has no TuningJobArn (some real events do), so it is
 * read, in order, from TuningJobArn; else from the `tunewire:job-id` tag, which SageMaker copies
 * from the tuning job to every training job it launches (`jobId`; the provider job name is still
 * read from the name prefix when there is one); else from the training job's name, which the
 * tuning job's name prefixes. A training job none of these ties to a tuning job is not a tuning
 * trial, and is refused naming `detail.TuningJobArn`.
 *
 * The event is an observation, and what it lacks is unknown rather than empty. It lists every
 * final metric without saying which is the objective (AWS's documented example lists none): they
 * all go in `trial.metrics`, and the objective is filled only when the training job names it in
 * its `_tuning_objective_metric` hyperparameter (SageMaker adds it to the training jobs a tuning
 * job launches) and reported it. Otherwise the objective stays unknown, neither value nor status,
 * for the listing or the caller (`withObjective`) to fill; only a Failed training job says its
 * objective failed. Hyperparameters are those the training job ran with, static ones included,
 * without SageMaker's internal `_`-prefixed keys. The event does not say whether the tuning job
 * stopped the training job early, so `stoppedEarly` is false here; the listed summaries
 * (`trialFromSummary`) judge it with the spec.
 */
export function sageMakerTrainingJobEvent(envelope: EventBridgeEnvelope): ProviderTrialEvent {
  const subject = 'SageMaker training job event';
  expectDetailType(envelope, TRAINING_JOB_STATE_CHANGE, subject);
  const detail = parseDetail(trainingJobDetail, envelope, subject);
  const fromArn = detail.TuningJobArn === undefined ? undefined : TUNING_JOB_ARN.exec(detail.TuningJobArn)?.[1];
  const fromName = launchingTuningJobName(detail.TrainingJobName);
  const jobId = detail.Tags?.[JOB_ID_TAG];
  const providerJobName = fromArn ?? fromName;
  if (providerJobName === undefined && jobId === undefined) {
    throw new EventValidationError(subject, [
      {
        path: 'detail.TuningJobArn',
        message: `is required when neither the ${JOB_ID_TAG} tag nor the training job's name says which tuning job launched it: a training job without a tuning job is not a tuning trial`,
      },
    ]);
  }
  const status = detail.TrainingJobStatus ? mapTrainingJobStatus(detail.TrainingJobStatus) : undefined;
  const observedAt = detail.LastModifiedTime ?? detail.TrainingEndTime ?? isoTime(envelope.time);
  return {
    provider: 'sagemaker',
    providerJobName: providerJobName ?? '',
    ...(jobId !== undefined ? { jobId } : {}),
    eventId: envelope.id,
    source: SAGEMAKER_SOURCE,
    ...(observedAt ? { observedAt } : {}),
    ...(status && isTerminalTrialStatus(status) ? { trial: trialOf(detail, status) } : {}),
  };
}

/** The tuning job a training job's name says launched it, if the name has the launched form. */
function launchingTuningJobName(trainingJobName: string): string | undefined {
  const prefix = LAUNCHED_TRAINING_JOB_NAME.exec(trainingJobName)?.[1];
  return prefix !== undefined && SAGEMAKER_JOB_NAME.test(prefix) ? prefix : undefined;
}

function trialOf(detail: z.output<typeof trainingJobDetail>, status: Trial['status']): Trial {
  const hyperparameters: Record<string, string> = {};
  let objectiveMetric: string | undefined;
  for (const [key, value] of Object.entries(detail.HyperParameters ?? {})) {
    if (value === null || value === undefined || typeof value === 'object') continue;
    if (key === '_tuning_objective_metric') objectiveMetric = String(value);
    if (key.startsWith('_')) continue;
    hyperparameters[key] = String(value);
  }
  const metrics: Record<string, number> = {};
  for (const m of detail.FinalMetricDataList ?? []) if (m) metrics[m.MetricName] = m.Value;
  const startedAt = detail.TrainingStartTime ?? detail.CreationTime;
  const endedAt = detail.TrainingEndTime;
  const artifactUri = detail.ModelArtifacts?.S3ModelArtifacts;
  const trial: Trial = {
    trialId: detail.TrainingJobName,
    status,
    hyperparameters,
    // A failed training job's objective failed, as SageMaker's ObjectiveStatus says; any other
    // job's objective is unknown until its metric is read (here or from the listing).
    ...(status === 'failed' ? { objectiveStatus: 'failed' as const } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(endedAt ? { endedAt } : {}),
    stoppedEarly: false,
    ...(detail.FailureReason ? { failureReason: detail.FailureReason } : {}),
    ...(artifactUri ? { artifactUri } : {}),
    ...(Object.keys(metrics).length ? { metrics } : {}),
  };
  return objectiveMetric !== undefined ? withObjective(trial, objectiveMetric) : trial;
}

/**
 * Fills a trial's objective from its metrics, for the objective metric the spec names. A trial
 * that has not reported the metric keeps its objective as it was: unknown for a finished one
 * (an event may simply not carry metrics, so "not here" never means "failed"; the listing's
 * ObjectiveStatus says that), failed for a failed one, and pending for one still running.
 */
export function withObjective(trial: Trial, metric: string): Trial {
  const filled = withObjectiveFromMetrics(trial, metric);
  if (filled.objectiveValue !== undefined || filled.objectiveStatus !== undefined || isTerminalTrialStatus(trial.status)) return filled;
  return { ...filled, objectiveStatus: 'pending' };
}
