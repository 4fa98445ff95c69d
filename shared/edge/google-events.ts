import * as z from 'zod';
import { EventValidationError } from '../domain/errors';
import type { JobObservation, JobRecord } from '../domain/job';
import { zodIssues } from '../domain/spec';
import { JOB_STATUSES, TRIAL_STATUSES } from '../domain/status';
import type { ProviderJobEvent } from '../use-cases/provider-events';
import { checkEventShape, decodePushData, isPubSubPush, MAX_PUSH_BYTES, parseDetail, pubSubPushSchema, type EventBridgeEnvelope } from './envelopes';

/**
 * Vertex AI and ML Engine push no job state of their own. Two things stand in for that, and both
 * reach `status-change` through one Pub/Sub push subscription:
 *
 * - the watcher (a scheduled function) gets each active Google job from its provider and
 *   publishes what changed as an EventBridge-shaped event, so `parseTransportEvent` unwraps it
 *   like any other push; its claim was read from the provider, so it needs no confirming;
 * - a Cloud Logging sink routes the providers' job log entries to the same topic; a log line is
 *   not a status we can trust, so it becomes a nudge: an event without a claim, and the use case
 *   gets the job from the provider.
 */

export const WATCHER_SOURCE = 'tunewire.google-watcher';
export const WATCHER_DETAIL_TYPE = 'Google Tuning Job State Change';
export const LOGGING_SOURCE = 'cloud-logging';

const GOOGLE_PROVIDERS = ['vertex', 'mlengine'] as const;
export type GoogleProviderName = (typeof GOOGLE_PROVIDERS)[number];

export function isGoogleProvider(name: string): name is GoogleProviderName {
  return (GOOGLE_PROVIDERS as readonly string[]).includes(name);
}

/** A Pub/Sub message to publish (the shape `Topic.publishMessage` takes). */
export interface WatcherMessage {
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
}

/**
 * The watcher's message for one job whose provider state differs from the ledger. The envelope id
 * names what was seen, so publishing the same observation twice (a retried sweep, a redelivery)
 * is one delivery to `status-change`: the second is a duplicate.
 *
 * @example await topic.publishMessage(toWatcherMessage(job, await provider.describe(refOf(job))));
 */
export function toWatcherMessage(job: JobRecord, observation: JobObservation): WatcherMessage {
  const envelope = {
    version: '0',
    id: `${job.provider}:${job.providerJobName}:${observation.providerStatus}:${observation.observedAt}`,
    'detail-type': WATCHER_DETAIL_TYPE,
    source: WATCHER_SOURCE,
    time: observation.observedAt,
    resources: job.providerJobId ? [job.providerJobId] : [],
    detail: { provider: job.provider, providerJobName: job.providerJobName, jobId: job.jobId, observation },
  } satisfies EventBridgeEnvelope;
  return {
    data: Buffer.from(JSON.stringify(envelope), 'utf8'),
    attributes: { provider: job.provider, jobId: job.jobId },
  };
}

const observationSchema = z.object({
  status: z.enum(JOB_STATUSES),
  providerStatus: z.string().min(1),
  observedAt: z.string().min(1),
  failureReason: z.string().optional(),
  trialCounts: z.partialRecord(z.enum(TRIAL_STATUSES), z.number().int().min(0)).optional(),
  flags: z.array(z.string()).optional(),
  providerBestTrialId: z.string().optional(),
});

const watcherDetailSchema = z.object({
  provider: z.enum(GOOGLE_PROVIDERS),
  providerJobName: z.string().min(1),
  jobId: z.string().min(1),
  observation: observationSchema,
});

/** The watcher's event: a claim read from the provider's get, so `confirmed`. */
export function googleWatcherJobEvent(envelope: EventBridgeEnvelope): ProviderJobEvent {
  const detail = parseDetail(watcherDetailSchema, envelope, 'Google watcher event');
  const o = detail.observation;
  const claimed: JobObservation = {
    status: o.status,
    providerStatus: o.providerStatus,
    observedAt: o.observedAt,
    ...(o.failureReason !== undefined ? { failureReason: o.failureReason } : {}),
    ...(o.trialCounts !== undefined ? { trialCounts: o.trialCounts } : {}),
    ...(o.flags !== undefined ? { flags: o.flags } : {}),
    ...(o.providerBestTrialId !== undefined ? { providerBestTrialId: o.providerBestTrialId } : {}),
  };
  return { provider: detail.provider, providerJobName: detail.providerJobName, eventId: envelope.id, source: WATCHER_SOURCE, claimed, confirmed: true };
}

// ---------------------------------------------------------------------------------------------
// Cloud Logging sink → Pub/Sub
//
// A sink whose destination is a Pub/Sub topic publishes each matching LogEntry as the message
// data (JSON, the LogEntry's REST form) with the attribute `logging.googleapis.com/timestamp`.
// What the providers' job entries look like (read from google-cloud-cli 528's own log streaming,
// googlecloudsdk/command_lib/ml_engine/log_utils.py and command_lib/ai/log_util.py, used by
// `gcloud ai-platform jobs stream-logs` and `gcloud ai hp-tuning-jobs stream-logs`):
//
// - ML Engine (AI Platform Training) jobs log under resource.type "ml_job" (formerly
//   "cloudml_job") with resource.labels { project_id, job_id, task_name }; job_id is the ML Engine
//   jobId, which must start with a letter. task_name "service" carries the service's own lines
//   (job queued, started, completed, failed); "master-replica-0", ... carry the training code's.
// - Vertex AI HyperparameterTuningJobs log under the same resource.type "ml_job"; job_id is the
//   numeric id that ends the job's resource name
//   projects/{project}/locations/{location}/hyperparameterTuningJobs/{id}. A numeric job_id can
//   only be Vertex's.
// - Cloud Audit Logs (create, cancel, delete) name the job in protoPayload.resourceName:
//   projects/*/locations/*/hyperparameterTuningJobs/* (serviceName aiplatform.googleapis.com) or
//   projects/*/jobs/* (ml.googleapis.com).
// - resource.type "aiplatform.googleapis.com/HyperparameterTuningJob" with a job_id label is also
//   accepted; we found no Google page documenting it, so it is a guess kept because it is harmless.
// ---------------------------------------------------------------------------------------------

const ML_JOB_RESOURCE_TYPES: ReadonlySet<string> = new Set(['ml_job', 'cloudml_job']);
const VERTEX_HPT_RESOURCE_TYPE = 'aiplatform.googleapis.com/HyperparameterTuningJob';
const VERTEX_HPT_NAME = /^projects\/[^/]+\/locations\/[^/]+\/hyperparameterTuningJobs\/([^/]+)$/;
const ML_ENGINE_JOB_NAME = /^projects\/[^/]+\/jobs\/([^/]+)$/;
const NUMERIC_ID = /^\d+$/;

const logEntrySchema = z.object({
  logName: z.string().min(1),
  resource: z.object({ type: z.string().min(1), labels: z.record(z.string(), z.string()).optional() }),
  insertId: z.string().min(1),
  timestamp: z.string().optional(),
  receiveTimestamp: z.string().optional(),
  severity: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  jsonPayload: z.record(z.string(), z.unknown()).optional(),
  textPayload: z.string().optional(),
  protoPayload: z.looseObject({ serviceName: z.string().optional(), methodName: z.string().optional(), resourceName: z.string().optional() }).optional(),
});
export type LogEntry = z.infer<typeof logEntrySchema>;

/**
 * A nudge from a log entry. `providerJobName` is what the entry names: ML Engine's jobId (the
 * ledger's providerJobName), or Vertex's numeric job id (the last segment of the ledger's
 * providerJobId, NOT its providerJobName). `providerJobId` is the full resource name when the
 * entry gives one (audit logs).
 */
export interface LoggingSinkNudge extends ProviderJobEvent {
  readonly provider: GoogleProviderName;
  readonly providerJobId?: string;
  readonly claimed?: undefined;
}

/** True for a Pub/Sub push whose data is a LogEntry (a Logging sink's message). Never throws. */
export function isLoggingSinkPush(raw: unknown): boolean {
  if (!isPubSubPush(raw)) return false;
  const data = (raw as { message?: { data?: unknown } }).message?.data;
  if (typeof data !== 'string') return false;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    return false;
  }
  return typeof decoded === 'object' && decoded !== null && typeof (decoded as { logName?: unknown }).logName === 'string' && typeof (decoded as { resource?: unknown }).resource === 'object';
}

/**
 * Reads a Logging sink's push as a nudge for the job its entry names. Returns undefined when the
 * push does not carry a LogEntry (hand it to `parseTransportEvent`); throws EventValidationError
 * when it does but names no Vertex AI or ML Engine tuning job (the sink's filter lets through more
 * than it should), so the handler rejects it instead of retrying.
 *
 * @example
 *   const nudge = parseLoggingSinkPush(body);
 *   if (nudge) return applyStatusChange(deps, nudge);
 */
export function parseLoggingSinkPush(raw: unknown, subject = 'Cloud Logging sink message'): LoggingSinkNudge | undefined {
  if (!isLoggingSinkPush(raw)) return undefined;
  checkEventShape(raw, subject, { maxBytes: MAX_PUSH_BYTES });
  const pushed = pubSubPushSchema.safeParse(raw);
  if (!pushed.success) throw new EventValidationError(subject, zodIssues(pushed.error), { cause: pushed.error });
  const parsed = logEntrySchema.safeParse(decodePushData(pushed.data.message.data, subject));
  if (!parsed.success) throw new EventValidationError(subject, zodIssues(parsed.error, 'message.data'), { cause: parsed.error });
  const entry = parsed.data;
  const job = jobOfLogEntry(entry);
  if (!job) {
    throw new EventValidationError(subject, [
      {
        path: 'message.data.resource',
        message: `${entry.resource.type} entry ${entry.insertId} names no Vertex AI or ML Engine tuning job (expected resource.type ml_job with a job_id label, or an audit entry naming .../hyperparameterTuningJobs/<id> or projects/<p>/jobs/<id>)`,
      },
    ]);
  }
  // insertId is the entry's own id: a redelivered message is a duplicate, another entry a new nudge.
  return { ...job, eventId: entry.insertId, source: LOGGING_SOURCE };
}

type NamedJob = Pick<LoggingSinkNudge, 'provider' | 'providerJobName' | 'providerJobId'>;

function jobOfLogEntry(entry: LogEntry): NamedJob | undefined {
  const resourceName = entry.protoPayload?.resourceName;
  if (resourceName) {
    const vertex = VERTEX_HPT_NAME.exec(resourceName);
    if (vertex?.[1]) return { provider: 'vertex', providerJobName: vertex[1], providerJobId: resourceName };
    const mlEngine = ML_ENGINE_JOB_NAME.exec(resourceName);
    if (mlEngine?.[1]) return { provider: 'mlengine', providerJobName: mlEngine[1] };
  }
  const jobId = entry.resource.labels?.['job_id'];
  if (!jobId) return undefined;
  if (entry.resource.type === VERTEX_HPT_RESOURCE_TYPE) return { provider: 'vertex', providerJobName: jobId };
  if (ML_JOB_RESOURCE_TYPES.has(entry.resource.type)) {
    // ML Engine job ids start with a letter; Vertex's are int64 numbers.
    return NUMERIC_ID.test(jobId) ? { provider: 'vertex', providerJobName: jobId } : { provider: 'mlengine', providerJobName: jobId };
  }
  return undefined;
}
