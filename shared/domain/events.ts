import type { JobRecord } from './job';
import { isTerminalJobStatus, type JobStatus, type TrialStatus } from './status';
import type { Goal, ProviderName, TuningSpec } from './spec';
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

/** The spec's objective: what "better" means for every value in the event. */
export interface ObjectiveRef {
  readonly metric: string;
  readonly goal: Goal;
}

/** A trial's objective result, with the metric and goal it is measured by. */
export interface ObjectiveResult extends ObjectiveRef {
  readonly value?: number;
  readonly status?: 'pending' | 'succeeded' | 'failed';
}

/**
 * A trial as events carry it: the trial's own facts, hyperparameters typed by the spec (double,
 * integer and discrete ones as numbers, categorical ones and unknown names as strings), the
 * objective with its metric and goal, and how long it ran. Nothing internal (no `announced`).
 */
export interface TrialPayload extends Omit<Trial, 'hyperparameters'> {
  readonly hyperparameters: Readonly<Record<string, string | number>>;
  /** Always present from tunewire's producers; optional in the type for hand-built events. */
  readonly objective?: ObjectiveResult;
  readonly durationSeconds?: number;
}

/**
 * What every job event says of its job, so a consumer needs no second read. The optional fields are
 * always present from tunewire's producers (`url` only where TUNEWIRE_API_URL is configured); they
 * are optional in the type so hand-built events (tests, replays) stay short.
 */
interface JobRefDetail {
  readonly jobId: string;
  readonly name: string;
  readonly provider: ProviderName;
  readonly providerJobName?: string;
  readonly objective?: ObjectiveRef;
  readonly labels?: Readonly<Record<string, string>>;
  /** The job in the HTTP API: `<TUNEWIRE_API_URL>/jobs/<jobId>`. */
  readonly url?: string;
}

/**
 * Job announcements are numbered per job: `job.submitted` is 1, each status change the next, and
 * `job.finished` the last. tunewire publishes them in that order; a consumer whose transport
 * reorders can order by `sequence` (and drop any `sequence` it has seen).
 */
interface JobSequenced {
  readonly sequence?: number;
  readonly trialCounts?: Readonly<Partial<Record<TrialStatus, number>>>;
}

export interface JobSubmittedDetail extends JobRefDetail, JobSequenced {
  readonly status: JobStatus;
  readonly adopted: boolean;
  readonly submittedAt?: string;
}
export interface JobStatusChangedDetail extends JobRefDetail, JobSequenced {
  readonly from: JobStatus;
  readonly status: JobStatus;
  readonly providerStatus?: string;
  /** When the provider was seen in this status (the event's time). */
  readonly observedAt?: string;
  readonly failureReason?: string;
}
export interface JobFinishedDetail extends JobRefDetail, JobSequenced {
  readonly status: JobStatus;
  readonly failureReason?: string;
  readonly endReason?: string;
  readonly bestTrial?: TrialPayload;
  readonly model?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
}
export interface TrialFinishedDetail extends JobRefDetail {
  readonly trial: TrialPayload;
}
export interface ModelPromotedDetail extends JobRefDetail {
  readonly model: string;
  readonly trial: TrialPayload;
  readonly objectiveValue: number;
  readonly previous?: { readonly jobId: string; readonly trialId: string; readonly objectiveValue: number };
  readonly version: string;
  /** When the promotion was decided (the event's time). */
  readonly decidedAt?: string;
}
export interface ModelPromotionSkippedDetail extends JobRefDetail {
  readonly model: string;
  readonly reason: string;
  readonly trial?: TrialPayload;
  readonly decidedAt?: string;
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
  /**
   * One id per status reached. Only running and paused can be reached again (a Vertex job paused
   * and resumed): a change into or out of `paused` carries its sequence number, so each visit is
   * an event of its own and no two bodies share an id.
   */
  statusChanged: (jobId: string, status: JobStatus, visit?: { readonly from: JobStatus; readonly sequence: number }) =>
    visit && (status === 'paused' || visit.from === 'paused') ? `${jobId}:status:${status}:${visit.sequence}` : `${jobId}:status:${status}`,
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
  const slim = (trial: TrialPayload): TrialPayload => {
    const { metrics: _metrics, ...rest } = trial;
    return { ...rest, hyperparameters: {}, ...(trial.failureReason ? { failureReason: trial.failureReason.slice(0, 4096) } : {}) };
  };
  const detail: Record<string, unknown> = { ...event.detail };
  for (const field of ['trial', 'bestTrial'] as const) {
    const trial = detail[field] as TrialPayload | undefined;
    if (trial) detail[field] = slim(trial);
  }
  const jobId = typeof detail['jobId'] === 'string' ? detail['jobId'] : event.subject;
  detail['claimCheck'] = { reason: 'the detail was too large for the transport', trials: `/jobs/${jobId}/trials` };
  return { ...event, detail } as E;
}

// ---- event bodies -----------------------------------------------------------------------------
//
// Every body below is a pure function of ledger facts that do not change once the event happened
// (the trial as finished, the status and the observation that brought it, the decision), and its
// time is when it happened, never when it was announced. The ledger's announcement claim stores
// the events it publishes, so a repeat after a crash republishes the same bytes.

/** Where events point readers: the HTTP API's base URL (TUNEWIRE_API_URL), when configured. */
export interface EventLinks {
  readonly apiUrl?: string;
}

/** The job in the HTTP API, or undefined without a configured base URL. */
export function jobUrl(links: EventLinks, jobId: string): string | undefined {
  if (!links.apiUrl) return undefined;
  return `${links.apiUrl.replace(/\/+$/, '')}/jobs/${encodeURIComponent(jobId)}`;
}

type JobFacts = Pick<JobRecord, 'jobId' | 'name' | 'provider' | 'providerJobName' | 'spec'>;

/** What every job event says of its job. */
export function jobRefOf(job: JobFacts, links: EventLinks): JobRefDetail {
  const url = jobUrl(links, job.jobId);
  return {
    jobId: job.jobId,
    name: job.name,
    provider: job.provider,
    providerJobName: job.providerJobName,
    objective: { metric: job.spec.objective.metric, goal: job.spec.objective.goal },
    labels: { ...(job.spec.labels ?? {}) },
    ...(url ? { url } : {}),
  };
}

/** Seconds from `start` to `end`, when both are readable and in order. */
export function secondsBetween(start: string | undefined, end: string | undefined): number | undefined {
  if (!start || !end) return undefined;
  const [a, b] = [Date.parse(start), Date.parse(end)];
  if (Number.isNaN(a) || Number.isNaN(b) || b < a) return undefined;
  return Math.round(b - a) / 1000;
}

/** Hyperparameters typed by the spec: numeric parameters as numbers, the rest as the provider wrote them. */
export function typedHyperparameters(spec: Pick<TuningSpec, 'parameters'>, hyperparameters: Readonly<Record<string, string>>): Record<string, string | number> {
  const numeric = new Set(spec.parameters.filter((p) => p.type !== 'categorical').map((p) => p.name));
  const out: Record<string, string | number> = {};
  for (const name of Object.keys(hyperparameters).sort()) {
    const raw = hyperparameters[name] as string;
    const n = numeric.has(name) && raw.trim() !== '' ? Number(raw) : Number.NaN;
    out[name] = Number.isFinite(n) ? n : raw;
  }
  return out;
}

/** A trial as events carry it (see TrialPayload); strips anything that is not a Trial field. */
export function trialPayloadOf(spec: Pick<TuningSpec, 'parameters' | 'objective'>, trial: Trial): TrialPayload {
  const duration = secondsBetween(trial.startedAt, trial.endedAt);
  const objective: ObjectiveResult = {
    metric: spec.objective.metric,
    goal: spec.objective.goal,
    ...(trial.objectiveValue !== undefined ? { value: trial.objectiveValue } : {}),
    ...(trial.objectiveStatus !== undefined ? { status: trial.objectiveStatus } : {}),
  };
  return definedOnly<TrialPayload>({
    trialId: trial.trialId,
    status: trial.status,
    hyperparameters: typedHyperparameters(spec, trial.hyperparameters),
    objective,
    objectiveValue: trial.objectiveValue,
    objectiveStatus: trial.objectiveStatus,
    startedAt: trial.startedAt,
    endedAt: trial.endedAt,
    durationSeconds: duration,
    stoppedEarly: trial.stoppedEarly,
    failureReason: trial.failureReason,
    artifactUri: trial.artifactUri,
    definitionName: trial.definitionName,
    metrics: trial.metrics && sortedRecord(trial.metrics),
  });
}

/**
 * `trial.finished`: at the trial's end (its `endedAt`; a trial without one at the job's last
 * observation, else the job's creation, so the time never depends on when it was announced).
 */
export function trialFinishedEvent(job: JobFacts & Pick<JobRecord, 'createdAt' | 'lastObservedAt'>, trial: Trial, links: EventLinks): TunewireEvent<'trial.finished'> {
  const time = trial.endedAt ?? job.lastObservedAt ?? job.createdAt;
  return event('trial.finished', eventIds.trialFinished(job.jobId, trial.trialId), job.jobId, { ...jobRefOf(job, links), trial: trialPayloadOf(job.spec, trial) }, time);
}

/** The next job announcement, numbered `sequence`, and the announced marks it leaves behind. */
export interface JobAnnouncement {
  readonly event: AnyTunewireEvent;
  readonly sequence: number;
  /** The status whose announcements are complete once this one is out (absent: unchanged). */
  readonly completes?: JobStatus;
}

/**
 * The job's next announcement, from its announced marks: `job.submitted`, then a status change
 * from the last announced status to the current one, then (terminal) `job.finished`. Undefined
 * when every announcement is out. `bestTrial` is the job's best after the final trial sync.
 */
export function nextJobAnnouncement(
  job: JobRecord,
  links: EventLinks,
  extra: { readonly adopted?: boolean; readonly bestTrial?: Trial } = {},
): JobAnnouncement | undefined {
  if (job.status === 'submitting') return undefined;
  const done = job.announcedSequence ?? (job.announcedStatus ? 1 : 0);
  const sequence = done + 1;
  const ref = jobRefOf(job, links);
  const counts = job.trialCounts ? { trialCounts: sortedRecord(job.trialCounts) } : {};
  if (done === 0) {
    const submittedAt = job.submittedAt ?? job.createdAt;
    const detail: JobSubmittedDetail = { ...ref, status: 'pending', adopted: extra.adopted ?? job.adopted ?? false, submittedAt, sequence };
    return { event: event('job.submitted', eventIds.submitted(job.jobId), job.jobId, detail, submittedAt), sequence, completes: 'pending' };
  }
  const announced = job.announcedStatus ?? 'pending';
  const observedAt = job.lastObservedAt ?? job.updatedAt;
  const failure = job.failureReason !== undefined ? { failureReason: job.failureReason } : {};
  const terminal = isTerminalJobStatus(job.status);
  if (announced === job.status) return undefined;
  const changeId = eventIds.statusChanged(job.jobId, job.status, { from: announced, sequence });
  if (job.announcedEventId !== eventIds.statusChanged(job.jobId, job.status, { from: announced, sequence: done })) {
    const detail: JobStatusChangedDetail = {
      ...ref,
      from: announced,
      status: job.status,
      ...(job.providerStatus !== undefined ? { providerStatus: job.providerStatus } : {}),
      observedAt,
      ...failure,
      ...counts,
      sequence,
    };
    return { event: event('job.status_changed', changeId, job.jobId, detail, observedAt), sequence, ...(terminal ? {} : { completes: job.status }) };
  }
  if (!terminal) return undefined;
  const startedAt = job.submittedAt ?? job.createdAt;
  const duration = secondsBetween(startedAt, observedAt);
  const detail: JobFinishedDetail = {
    ...ref,
    status: job.status,
    ...failure,
    ...(job.endReason !== undefined ? { endReason: job.endReason } : {}),
    ...(extra.bestTrial ? { bestTrial: trialPayloadOf(job.spec, extra.bestTrial) } : {}),
    ...(job.spec.promotion ? { model: job.spec.promotion.model } : {}),
    ...counts,
    startedAt,
    endedAt: observedAt,
    ...(duration !== undefined ? { durationSeconds: duration } : {}),
    sequence,
  };
  return { event: event('job.finished', eventIds.finished(job.jobId), job.jobId, detail, observedAt), sequence, completes: job.status };
}

function event<K extends EventKind>(kind: K, id: string, subject: string, detail: EventDetails[K], time: string): TunewireEvent<K> {
  return makeEvent(kind, id, subject, detail, new Date(Date.parse(time) || 0));
}

function sortedRecord<V>(record: Readonly<Record<string, V>>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function definedOnly<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}
