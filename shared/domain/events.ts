import type { JobStatus } from './status';
import type { ProviderName } from './spec';
import type { Trial } from './trial';

/**
 * Our own events. Each has an EventBridge detail-type (source `tunewire`) and a CloudEvents type
 * for Pub/Sub, and a deterministic id built from what it is about, so that a consumer (and a
 * webhook receiver, through webhook-id) can drop repeats.
 */
export const EVENT_SOURCE = 'tunewire';

export const EVENT_CATALOG = {
  'job.submitted': 'Tuning Job Submitted',
  'job.status_changed': 'Tuning Job Status Changed',
  'job.finished': 'Tuning Job Finished',
  'trial.finished': 'Tuning Trial Finished',
  'model.promoted': 'Model Promoted',
  'model.promotion_skipped': 'Model Promotion Skipped',
  'retune.requested': 'Retune Requested',
} as const;

export type EventKind = keyof typeof EVENT_CATALOG;
export type DetailType = (typeof EVENT_CATALOG)[EventKind];

export function detailTypeOf(kind: EventKind): DetailType {
  return EVENT_CATALOG[kind];
}

export function kindOfDetailType(detailType: string): EventKind | undefined {
  return (Object.keys(EVENT_CATALOG) as EventKind[]).find((k) => EVENT_CATALOG[k] === detailType);
}

/** CloudEvents `type` attribute for Pub/Sub, e.g. `tunewire.job.finished`. */
export function cloudEventTypeOf(kind: EventKind): string {
  return `${EVENT_SOURCE}.${kind}`;
}

export function kindOfCloudEventType(type: string): EventKind | undefined {
  return (Object.keys(EVENT_CATALOG) as EventKind[]).find((k) => cloudEventTypeOf(k) === type);
}

interface JobRefDetail {
  readonly jobId: string;
  readonly name: string;
  readonly provider: ProviderName;
  readonly providerJobName?: string;
}

export interface JobSubmittedDetail extends JobRefDetail {
  readonly status: JobStatus;
  readonly adopted: boolean;
}
export interface JobStatusChangedDetail extends JobRefDetail {
  readonly from: JobStatus;
  readonly status: JobStatus;
  readonly failureReason?: string;
}
export interface JobFinishedDetail extends JobRefDetail {
  readonly status: JobStatus;
  readonly failureReason?: string;
  readonly bestTrial?: Trial;
  readonly model?: string;
}
export interface TrialFinishedDetail extends JobRefDetail {
  readonly trial: Trial;
}
export interface ModelPromotedDetail extends JobRefDetail {
  readonly model: string;
  readonly trial: Trial;
  readonly objectiveValue: number;
  readonly previous?: { readonly jobId: string; readonly trialId: string; readonly objectiveValue: number };
  readonly version: string;
}
export interface ModelPromotionSkippedDetail extends JobRefDetail {
  readonly model: string;
  readonly reason: string;
  readonly trial?: Trial;
}
export interface RetuneRequestedDetail {
  readonly template: string;
  readonly reason: string;
}

export interface EventDetails {
  'job.submitted': JobSubmittedDetail;
  'job.status_changed': JobStatusChangedDetail;
  'job.finished': JobFinishedDetail;
  'trial.finished': TrialFinishedDetail;
  'model.promoted': ModelPromotedDetail;
  'model.promotion_skipped': ModelPromotionSkippedDetail;
  'retune.requested': RetuneRequestedDetail;
}

export interface TunewireEvent<K extends EventKind = EventKind> {
  /** Deterministic: the same fact always has the same id. */
  readonly id: string;
  readonly kind: K;
  readonly time: string;
  /** The job id (or model / template name) the event is about. */
  readonly subject: string;
  readonly detail: EventDetails[K];
}

export type AnyTunewireEvent = { [K in EventKind]: TunewireEvent<K> }[EventKind];

export const eventIds = {
  submitted: (jobId: string) => `${jobId}:submitted`,
  statusChanged: (jobId: string, status: JobStatus) => `${jobId}:status:${status}`,
  finished: (jobId: string) => `${jobId}:finished`,
  trialFinished: (jobId: string, trialId: string) => `${jobId}:trial:${trialId}`,
  promotion: (jobId: string, model: string) => `${jobId}:promotion:${model}`,
  retune: (template: string, slot: string) => `retune:${template}:${slot}`,
};

export function makeEvent<K extends EventKind>(kind: K, id: string, subject: string, detail: EventDetails[K], time: Date): TunewireEvent<K> {
  return { id, kind, subject, detail, time: time.toISOString() };
}

/** Detail bytes an event may take on a transport before its trials are sent by reference. */
export const CLAIM_CHECK_BYTES = 192 * 1024;

/**
 * The claim-check: an event whose detail is too large for the transport (EventBridge takes 256 KB
 * an entry) carries its trials without hyperparameters and metrics, and says where the whole trial
 * is: the ledger, read through `GET /jobs/{jobId}/trials` or `tunewire trials <job>`.
 */
export function withClaimCheck<E extends AnyTunewireEvent>(event: E, maxBytes = CLAIM_CHECK_BYTES): E {
  if (Buffer.byteLength(JSON.stringify(event.detail), 'utf8') <= maxBytes) return event;
  const slim = (trial: Trial): Trial => {
    const { metrics: _metrics, ...rest } = trial;
    return { ...rest, hyperparameters: {}, ...(trial.failureReason ? { failureReason: trial.failureReason.slice(0, 4096) } : {}) };
  };
  const detail: Record<string, unknown> = { ...event.detail };
  for (const field of ['trial', 'bestTrial'] as const) {
    const trial = detail[field] as Trial | undefined;
    if (trial) detail[field] = slim(trial);
  }
  const jobId = typeof detail['jobId'] === 'string' ? detail['jobId'] : event.subject;
  detail['claimCheck'] = { reason: 'the detail was too large for the transport', trials: `/jobs/${jobId}/trials` };
  return { ...event, detail } as E;
}
