import * as z from 'zod';
import {
  LOCAL_EVENT_SOURCE,
  LOCAL_JOB_STATE_CHANGE,
  LOCAL_JOB_STATUS_WORDS,
  LOCAL_TRIAL_STATE_CHANGE,
  LOCAL_TRIAL_STATUS_WORDS,
  localJobObservation,
} from '../adapters/local/local-provider';
import type { EventBridgeEnvelope } from './envelopes';
import { parseDetail } from './envelopes';
import type { ProviderJobEvent, ProviderTrialEvent } from '../use-cases/provider-events';

export const LOCAL_SOURCE = LOCAL_EVENT_SOURCE;
export const LOCAL_JOB_DETAIL_TYPE = LOCAL_JOB_STATE_CHANGE;
export const LOCAL_TRIAL_DETAIL_TYPE = LOCAL_TRIAL_STATE_CHANGE;

const count = z.number().int().min(0);

const localJobDetail = z.object({
  jobName: z.string().min(1),
  status: z.enum(LOCAL_JOB_STATUS_WORDS),
  seq: z.number().int().min(0),
  failureReason: z.string().optional(),
  /** Why the job ended: target reached, budget used, too many failures, stopped by hand. */
  endReason: z.string().optional(),
  trialCounts: z.partialRecord(z.enum(LOCAL_TRIAL_STATUS_WORDS), count).optional(),
  objectiveCounts: z.partialRecord(z.enum(['pending', 'succeeded', 'failed']), count).optional(),
  completedWithoutObjective: count.optional(),
});

const localTrialDetail = localJobDetail.extend({
  trial: z.object({
    trialId: z.string().min(1),
    status: z.enum(LOCAL_TRIAL_STATUS_WORDS),
  }).passthrough(),
});

/** The local engine's job event: authoritative, ordered by `seq`. */
export function localJobEvent(envelope: EventBridgeEnvelope): ProviderJobEvent {
  const detail = parseDetail(localJobDetail, envelope, 'local job event');
  const observedAt = envelope.time ?? new Date(0).toISOString();
  return {
    provider: 'local',
    providerJobName: detail.jobName,
    eventId: envelope.id,
    source: LOCAL_SOURCE,
    // seq orders events the engine emitted within one millisecond
    claimed: localJobObservation(detail, `${observedAt}#${String(detail.seq).padStart(8, '0')}`),
  };
}

export function localTrialEvent(envelope: EventBridgeEnvelope): ProviderTrialEvent {
  const detail = parseDetail(localTrialDetail, envelope, 'local trial event');
  return { provider: 'local', providerJobName: detail.jobName, eventId: envelope.id, source: LOCAL_SOURCE };
}
