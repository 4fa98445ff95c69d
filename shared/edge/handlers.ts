import * as z from 'zod';
import { EventValidationError, ValidationError, type FieldIssue } from '../domain/errors';
import { EVENT_SOURCE, detailTypeOf } from '../domain/events';
import { boundedId, ID_LIMITS, idLengthIssue } from '../domain/limits';
import { parseSpec } from '../domain/spec';
import { isTerminalJobStatus, JOB_STATUSES } from '../domain/status';
import { applyStatusChange } from '../use-cases/apply-status-change';
import type { Dependencies } from '../use-cases/dependencies';
import { fanOutTrials } from '../use-cases/fan-out-trials';
import { promoteBest } from '../use-cases/promote-best';
import type { HandledEvent, ProviderJobEvent, ProviderTrialEvent } from '../use-cases/provider-events';
import { submitJob } from '../use-cases/submit-job';
import { parseDetail, parseTransportEvent, type EventBridgeEnvelope } from './envelopes';
import { LOCAL_JOB_DETAIL_TYPE, LOCAL_SOURCE, LOCAL_TRIAL_DETAIL_TYPE, localJobEvent, localTrialEvent } from './local-events';
import { googleWatcherJobEvent, parseLoggingSinkPush, WATCHER_DETAIL_TYPE, WATCHER_SOURCE } from './google-events';
import {
  SAGEMAKER_SOURCE,
  sageMakerTrainingJobEvent,
  sageMakerTuningJobEvent,
  TRAINING_JOB_STATE_CHANGE,
  TUNING_JOB_STATE_CHANGE,
} from '../adapters/sagemaker/sagemaker-events';

/**
 * The production handlers' bodies, shared by the Lambda entries in `functions/`, the local bus
 * and `tunewire replay`: parse the delivery, pick the parser for its source and detail-type, call
 * one use case. Bad input becomes a `rejected` outcome (retrying cannot fix it); anything else
 * propagates so the transport retries and, in the end, dead-letters.
 */

/** The ids of a parsed event that become ledger keys, and the limit of each. */
const KEY_FIELDS = {
  eventId: ID_LIMITS.eventId,
  providerJobName: ID_LIMITS.providerJobName,
  jobId: ID_LIMITS.jobId,
  trialId: ID_LIMITS.trialId,
  providerBestTrialId: ID_LIMITS.trialId,
} as const;
type KeyField = keyof typeof KEY_FIELDS;

interface Parser<T> {
  readonly source: string;
  readonly detailType: string;
  parse(envelope: EventBridgeEnvelope): T;
  /** Where in the event each key id is read from, for the field error (default `id` and `detail`). */
  readonly fields?: Partial<Record<KeyField, string>>;
}

const jobEventParsers: Parser<ProviderJobEvent>[] = [
  { source: LOCAL_SOURCE, detailType: LOCAL_JOB_DETAIL_TYPE, parse: localJobEvent, fields: { providerJobName: 'detail.jobName' } },
  {
    source: SAGEMAKER_SOURCE,
    detailType: TUNING_JOB_STATE_CHANGE,
    parse: sageMakerTuningJobEvent,
    fields: { providerJobName: 'detail.HyperParameterTuningJobName', providerBestTrialId: 'detail.BestTrainingJob.TrainingJobName' },
  },
  {
    source: WATCHER_SOURCE,
    detailType: WATCHER_DETAIL_TYPE,
    parse: googleWatcherJobEvent,
    fields: { providerJobName: 'detail.providerJobName', providerBestTrialId: 'detail.observation.providerBestTrialId' },
  },
];
const trialEventParsers: Parser<ProviderTrialEvent>[] = [
  { source: LOCAL_SOURCE, detailType: LOCAL_TRIAL_DETAIL_TYPE, parse: localTrialEvent, fields: { providerJobName: 'detail.jobName', trialId: 'detail.trial.trialId' } },
  {
    source: SAGEMAKER_SOURCE,
    detailType: TRAINING_JOB_STATE_CHANGE,
    parse: sageMakerTrainingJobEvent,
    fields: { providerJobName: 'detail.TuningJobArn', jobId: 'detail.Tags', trialId: 'detail.TrainingJobName' },
  },
];

/**
 * Every id of a parsed event that the ledger uses in a key, within DynamoDB's key limits, so an
 * oversize id is a rejection here and not a ValidationException (retried, then dead-lettered)
 * from DynamoDB. Whichever parser read the event, a provider's or ours.
 */
function checkEventKeys(event: ProviderJobEvent | ProviderTrialEvent, subject: string, fields: Partial<Record<KeyField, string>> = {}): void {
  const values: Record<KeyField, string | undefined> = {
    eventId: event.eventId,
    providerJobName: event.providerJobName,
    jobId: 'jobId' in event ? event.jobId : undefined,
    trialId: 'trial' in event ? event.trial?.trialId : undefined,
    providerBestTrialId: 'claimed' in event ? event.claimed?.providerBestTrialId : undefined,
  };
  const issues = (Object.keys(KEY_FIELDS) as KeyField[]).flatMap((field): FieldIssue[] => {
    const value = values[field];
    const issue = value === undefined ? undefined : idLengthIssue(fields[field] ?? (field === 'eventId' ? 'id' : 'detail'), value, KEY_FIELDS[field]);
    return issue ? [issue] : [];
  });
  if (issues.length) throw new EventValidationError(subject, issues);
}

function parseWith<T extends ProviderJobEvent | ProviderTrialEvent>(parser: Parser<T>, envelope: EventBridgeEnvelope, subject: string): T {
  const event = parser.parse(envelope);
  checkEventKeys(event, subject, parser.fields);
  return event;
}

/** Providers add their event parsers here (SageMaker's, the Google watcher's). */
export function registerProviderEventParsers(parsers: { job?: Parser<ProviderJobEvent>[]; trial?: Parser<ProviderTrialEvent>[] }): void {
  jobEventParsers.push(...(parsers.job ?? []));
  trialEventParsers.push(...(parsers.trial ?? []));
}

function pick<T>(parsers: readonly Parser<T>[], envelope: EventBridgeEnvelope): Parser<T> | undefined {
  return parsers.find((p) => p.source === envelope.source && p.detailType === envelope['detail-type']);
}

async function guarded(work: () => Promise<HandledEvent>): Promise<HandledEvent> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ValidationError) return { outcome: 'rejected', detail: error.message };
    throw error;
  }
}

const ownJobDetail = z.object({ jobId: boundedId(ID_LIMITS.jobId) });
const ownStatusDetail = ownJobDetail.extend({ status: z.enum(JOB_STATUSES) });

function isOwn(envelope: EventBridgeEnvelope, kind: Parameters<typeof detailTypeOf>[0]): boolean {
  return envelope.source === EVENT_SOURCE && envelope['detail-type'] === detailTypeOf(kind);
}

export function handleStatusChangeEvent(deps: Dependencies, raw: unknown): Promise<HandledEvent> {
  return guarded(async () => {
    // A Logging sink's entry is only a nudge: the provider is asked for the job's state.
    const nudge = parseLoggingSinkPush(raw, 'status-change event');
    if (nudge) {
      checkEventKeys(nudge, 'status-change event', { eventId: 'message.data.insertId', providerJobName: 'message.data.resource' });
      return applyStatusChange(deps, nudge);
    }
    const { envelope } = parseTransportEvent(raw, 'status-change event');
    const parser = pick(jobEventParsers, envelope);
    if (!parser) return { outcome: 'ignored', detail: `status-change has no parser for ${envelope.source} / ${envelope['detail-type']}` };
    return applyStatusChange(deps, parseWith(parser, envelope, 'status-change event'));
  });
}

export function handleTrialFanOutEvent(deps: Dependencies, raw: unknown): Promise<HandledEvent> {
  return guarded(async () => {
    const { envelope } = parseTransportEvent(raw, 'trial-fan-out event');
    if (isOwn(envelope, 'job.status_changed')) {
      const detail = parseDetail(ownStatusDetail, envelope, 'Tuning Job Status Changed');
      // status-change read the last trials itself before it announced the finish
      if (isTerminalJobStatus(detail.status)) return { outcome: 'ignored', jobId: detail.jobId, detail: 'trials were synced when the job finished' };
      return fanOutTrials(deps, detail);
    }
    const parser = pick(trialEventParsers, envelope);
    if (!parser) return { outcome: 'ignored', detail: `trial-fan-out has no parser for ${envelope.source} / ${envelope['detail-type']}` };
    return fanOutTrials(deps, parseWith(parser, envelope, 'trial-fan-out event'));
  });
}

export function handlePromoteEvent(deps: Dependencies, raw: unknown): Promise<HandledEvent> {
  return guarded(async () => {
    const { envelope } = parseTransportEvent(raw, 'promote-best event');
    if (!isOwn(envelope, 'job.finished')) {
      throw new EventValidationError('promote-best event', [{ path: 'detail-type', message: `must be "${detailTypeOf('job.finished')}" from source ${EVENT_SOURCE}` }]);
    }
    return promoteBest(deps, parseDetail(ownJobDetail, envelope, 'Tuning Job Finished'));
  });
}

export const TUNING_REQUEST_SOURCE = 'tunewire.requests';
export const TUNING_REQUEST_DETAIL_TYPE = 'Tuning Job Requested';

const tuningRequestDetail = z.object({
  spec: z.record(z.string(), z.unknown()),
  idempotencyKey: boundedId(ID_LIMITS.idempotencyKey).optional(),
});

/** Submit from an event: a data pipeline or a person puts a `Tuning Job Requested` event. */
export function handleSubmitEvent(deps: Dependencies, raw: unknown): Promise<HandledEvent> {
  return guarded(async () => {
    const { envelope } = parseTransportEvent(raw, 'submit event');
    const detail = parseDetail(tuningRequestDetail, envelope, 'Tuning Job Requested');
    const spec = parseSpec(detail.spec, 'detail.spec');
    const { job, created } = await submitJob(deps, {
      spec,
      // the event id makes a redelivered request the same job
      idempotencyKey: detail.idempotencyKey ?? envelope.id,
      trigger: `event:${envelope.source}`,
    });
    return { outcome: created ? 'applied' : 'duplicate', jobId: job.jobId, detail: `job ${job.jobId} ${job.status}` };
  });
}

/**
 * The four core functions' handler bodies by their serverless.yml names, for an in-process bus.
 * `deps` is read when an event arrives, so the bus and the dependencies can refer to each other.
 */
export function coreTargets(deps: () => Dependencies): Record<'submit' | 'status-change' | 'trial-fan-out' | 'promote-best', (event: unknown) => Promise<HandledEvent>> {
  return {
    submit: (event) => handleSubmitEvent(deps(), event),
    'status-change': (event) => handleStatusChangeEvent(deps(), event),
    'trial-fan-out': (event) => handleTrialFanOutEvent(deps(), event),
    'promote-best': (event) => handlePromoteEvent(deps(), event),
  };
}
