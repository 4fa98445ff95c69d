import * as z from 'zod';
import { EventValidationError } from '../domain/errors';
import { detailTypeOf, kindOfCloudEventType } from '../domain/events';
import { boundedId, depthIssue, ID_LIMITS, idLengthIssue, jsonBytes } from '../domain/limits';
import { zodIssues } from '../domain/spec';

/**
 * The largest event the edge reads, or a Pub/Sub message's data decodes to. EventBridge stops at
 * 256 KB an entry, but our own events on the in-process and Pub/Sub buses may carry a whole trial,
 * which the ledger holds in one item of at most 400 KB: 1 MB takes every event we could have sent
 * and still bounds what a hostile one costs to read.
 */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** A Pub/Sub push as delivered: base64 data (4/3 of the event) plus attributes and envelope. */
export const MAX_PUSH_BYTES = 2 * 1024 * 1024;

/**
 * Refuses an event nested too deeply or too large before anything else reads it: the schemas,
 * JSON.stringify and the bus's pattern matcher all recurse. `prefix` names where the value sits
 * (`message.data` for a push's decoded data).
 */
export function checkEventShape(raw: unknown, subject: string, options: { readonly maxBytes?: number; readonly prefix?: string } = {}): void {
  const { maxBytes = MAX_EVENT_BYTES, prefix = '' } = options;
  const deep = depthIssue(raw, prefix);
  if (deep) throw new EventValidationError(subject, [deep]);
  const bytes = jsonBytes(raw);
  if (bytes === undefined) throw new EventValidationError(subject, [{ path: prefix, message: 'must be a JSON document' }]);
  if (bytes > maxBytes) throw new EventValidationError(subject, [{ path: prefix, message: `is ${Math.ceil(bytes / 1024)} KB; an event may be at most ${maxBytes / 1024} KB` }]);
}

/** An EventBridge event as a rule target receives it. */
export const eventBridgeEnvelopeSchema = z.object({
  version: z.string().optional(),
  /** Becomes part of ledger keys (`SEEN#<id>`, `HIST#...#<id>#...`), so it is bounded in bytes. */
  id: boundedId(ID_LIMITS.eventId),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  account: z.string().optional(),
  time: z.string().optional(),
  region: z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.record(z.string(), z.unknown()),
});
export type EventBridgeEnvelope = z.infer<typeof eventBridgeEnvelopeSchema>;

/** A Pub/Sub push delivery: the standard JSON body with base64 `message.data`. */
export const pubSubPushSchema = z.object({
  message: z.object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: boundedId(ID_LIMITS.eventId).optional(),
    message_id: boundedId(ID_LIMITS.eventId).optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().min(1),
  deliveryAttempt: z.number().optional(),
});
export type PubSubPush = z.infer<typeof pubSubPushSchema>;

export type TransportEvent =
  | { readonly transport: 'eventbridge'; readonly envelope: EventBridgeEnvelope }
  | { readonly transport: 'pubsub'; readonly envelope: EventBridgeEnvelope; readonly push: PubSubPush };

export function isPubSubPush(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'message' in raw && 'subscription' in raw;
}

/**
 * Accepts an event exactly as a transport delivers it and returns it as an EventBridge-shaped
 * envelope. A Pub/Sub push carries in `data` either an EventBridge-shaped event or a CloudEvent
 * in binary mode (attributes `ce-*`, data = the detail); the message id is the delivery id.
 */
export function parseTransportEvent(raw: unknown, subject = 'event'): TransportEvent {
  if (!isPubSubPush(raw)) {
    checkEventShape(raw, subject);
    return { transport: 'eventbridge', envelope: parseEnvelope(raw, subject) };
  }
  checkEventShape(raw, subject, { maxBytes: MAX_PUSH_BYTES });

  const pushed = pubSubPushSchema.safeParse(raw);
  if (!pushed.success) throw new EventValidationError(subject, zodIssues(pushed.error), { cause: pushed.error });
  const push = pushed.data;
  const messageId = push.message.messageId ?? push.message.message_id;
  if (!messageId) throw new EventValidationError(subject, [{ path: 'message.messageId', message: 'is required' }]);
  const data = decodePushData(push.message.data, subject);
  const attributes = push.message.attributes ?? {};
  const ceType = attributes['ce-type'];
  const ceSource = attributes['ce-source'];
  if (ceType && ceSource) {
    const ceId = attributes['ce-id'];
    const idIssue = ceId === undefined ? undefined : idLengthIssue('message.attributes.ce-id', ceId, ID_LIMITS.eventId);
    if (idIssue) throw new EventValidationError(subject, [idIssue]);
    const detail = z.record(z.string(), z.unknown()).safeParse(data);
    if (!detail.success) throw new EventValidationError(subject, [{ path: 'message.data', message: 'must be a JSON object (the CloudEvent data)' }]);
    // our own events read the same whichever bus carried them: detail-type, eventId and subject
    const kind = kindOfCloudEventType(ceType);
    const id = attributes['ce-id'] ?? messageId;
    return {
      transport: 'pubsub',
      push,
      envelope: {
        id,
        'detail-type': kind ? detailTypeOf(kind) : ceType,
        source: ceSource,
        ...(attributes['ce-time'] ? { time: attributes['ce-time'] } : push.message.publishTime ? { time: push.message.publishTime } : {}),
        detail: kind ? { ...detail.data, eventId: id, ...(attributes['ce-subject'] ? { subject: attributes['ce-subject'] } : {}) } : detail.data,
      },
    };
  }
  const envelope = parseEnvelope(data, subject, 'message.data');
  return { transport: 'pubsub', push, envelope: { ...envelope, id: envelope.id || messageId } };
}

/** A push's `message.data`: base64 of a JSON document, checked like an event once decoded. */
export function decodePushData(data: string | undefined, subject: string): unknown {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(data ?? '', 'base64').toString('utf8'));
  } catch (error) {
    throw new EventValidationError(subject, [{ path: 'message.data', message: 'must be base64 of a JSON document' }], { cause: error });
  }
  checkEventShape(decoded, subject, { prefix: 'message.data' });
  return decoded;
}

function parseEnvelope(raw: unknown, subject: string, prefix = ''): EventBridgeEnvelope {
  const parsed = eventBridgeEnvelopeSchema.safeParse(raw);
  if (!parsed.success) throw new EventValidationError(subject, zodIssues(parsed.error, prefix), { cause: parsed.error });
  return parsed.data;
}

/** Parses `detail` with a schema, reporting paths under `detail.`. */
export function parseDetail<T extends z.ZodType>(schema: T, envelope: EventBridgeEnvelope, subject: string): z.output<T> {
  const parsed = schema.safeParse(envelope.detail);
  if (!parsed.success) throw new EventValidationError(subject, zodIssues(parsed.error, 'detail'), { cause: parsed.error });
  return parsed.data;
}
