import * as z from 'zod';
import { EventValidationError } from '../domain/errors';
import { EVENT_SOURCE, kindOfDetailType, type AnyTunewireEvent } from '../domain/events';
import { notify, retryDelivery, type NotifyDependencies, type RetryOutcome } from '../use-cases/notify';
import type { HandledEvent } from '../use-cases/provider-events';
import { parseDetail, parseTransportEvent, type EventBridgeEnvelope } from './envelopes';

/** What toEnvelope adds to every detail of ours: the deterministic id and the subject. */
const ownEventDetail = z.looseObject({ eventId: z.string().min(1), subject: z.string().min(1) });

/**
 * Rebuilds one of our events from its envelope (EventBridge, or Pub/Sub whichever mode): the kind
 * from the detail-type, the id and subject from the detail (the envelope id is the transport's).
 */
export function tunewireEventOf(envelope: EventBridgeEnvelope): AnyTunewireEvent {
  const kind = envelope.source === EVENT_SOURCE ? kindOfDetailType(envelope['detail-type']) : undefined;
  if (!kind) throw new EventValidationError('notify event', [{ path: 'detail-type', message: `must be one of our detail-types from source ${EVENT_SOURCE}` }]);
  const { eventId, subject, ...detail } = parseDetail(ownEventDetail, envelope, envelope['detail-type']);
  // Our own producer built the detail from the typed event and notify passes it on verbatim, reading
  // only jobId (checked where read); re-validating every detail shape here would duplicate events.ts.
  return { id: eventId, kind, subject, time: envelope.time ?? new Date(0).toISOString(), detail } as unknown as AnyTunewireEvent;
}

/** The notify function's body for one of our events: parse, first attempt to every receiver, report. */
export async function handleNotifyEvent(deps: NotifyDependencies, raw: unknown): Promise<HandledEvent> {
  let event: AnyTunewireEvent;
  try {
    event = tunewireEventOf(parseTransportEvent(raw, 'notify event').envelope);
  } catch (error) {
    if (error instanceof EventValidationError) return { outcome: 'rejected', detail: error.message };
    throw error;
  }
  const result = await notify(deps, event);
  const counts = result.targets.reduce<Record<string, number>>((acc, t) => ({ ...acc, [t.outcome]: (acc[t.outcome] ?? 0) + 1 }), {});
  const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ') || 'no receivers';
  return {
    outcome: result.targets.length ? 'applied' : 'ignored',
    ...('jobId' in event.detail && typeof event.detail.jobId === 'string' ? { jobId: event.detail.jobId } : {}),
    detail: `${event.id}: ${summary}`,
  };
}

/** The body of one retry-queue message: which pending delivery, which attempt. */
export const retryTicketSchema = z.strictObject({
  subscriptionId: z.string().min(1).max(200),
  targetKey: z.string().regex(/^[0-9a-f]{16}$/),
  eventId: z.string().min(1).max(512),
  attempt: z.number().int().min(2).max(20),
});

const sqsBatchSchema = z.object({
  Records: z.array(z.object({ messageId: z.string(), body: z.string(), eventSource: z.literal('aws:sqs') })).min(1),
});

/** Does this invocation come from the retry queue (an SQS batch) rather than the bus? */
export function isRetryBatch(raw: unknown): boolean {
  return sqsBatchSchema.safeParse(raw).success;
}

/** What the retry queue's event source needs back (ReportBatchItemFailures), and what the log says. */
export interface RetryBatchResult {
  readonly batchItemFailures: readonly { readonly itemIdentifier: string }[];
  readonly outcomes: readonly (RetryOutcome | { readonly outcome: 'rejected' | 'failed'; readonly detail: string })[];
}

/**
 * The notify function's body for a batch from the retry queue: each message is one due attempt.
 * A message that is not a ticket is dropped (logged as rejected; it can never succeed); one whose
 * attempt throws (the store is throttled or down) is reported as failed, so SQS brings it back,
 * alone, and logged, as nothing else would show the error.
 */
export async function handleRetryBatch(deps: NotifyDependencies, raw: unknown): Promise<RetryBatchResult> {
  const batch = sqsBatchSchema.parse(raw);
  const failures: { itemIdentifier: string }[] = [];
  const outcomes: RetryBatchResult['outcomes'][number][] = [];
  for (const record of batch.Records) {
    let ticket: z.infer<typeof retryTicketSchema>;
    try {
      ticket = retryTicketSchema.parse(JSON.parse(record.body));
    } catch (error) {
      outcomes.push({ outcome: 'rejected', detail: `message ${record.messageId} is not a retry ticket: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}` });
      continue;
    }
    try {
      outcomes.push(await retryDelivery(deps, ticket));
    } catch (error) {
      failures.push({ itemIdentifier: record.messageId });
      outcomes.push({ outcome: 'failed', detail: `message ${record.messageId} will be retried by the queue: ${errorSummary(error)}` });
    }
  }
  return { batchItemFailures: failures, outcomes };
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : String(error).slice(0, 200);
}
