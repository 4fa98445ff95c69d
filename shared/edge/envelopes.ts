import * as z from 'zod';
import { EventValidationError } from '../domain/errors';
import { detailTypeOf, kindOfCloudEventType } from '../domain/events';
import { zodIssues } from '../domain/spec';

/** An EventBridge event as a rule target receives it. */
export const eventBridgeEnvelopeSchema = z.object({
  version: z.string().optional(),
  id: z.string().min(1),
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
    messageId: z.string().min(1).optional(),
    message_id: z.string().min(1).optional(),
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
  if (!isPubSubPush(raw)) return { transport: 'eventbridge', envelope: parseEnvelope(raw, subject) };

  const pushed = pubSubPushSchema.safeParse(raw);
  if (!pushed.success) throw new EventValidationError(subject, zodIssues(pushed.error), { cause: pushed.error });
  const push = pushed.data;
  const messageId = push.message.messageId ?? push.message.message_id;
  if (!messageId) throw new EventValidationError(subject, [{ path: 'message.messageId', message: 'is required' }]);
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(push.message.data ?? '', 'base64').toString('utf8'));
  } catch (error) {
    throw new EventValidationError(subject, [{ path: 'message.data', message: 'must be base64 of a JSON document' }], { cause: error });
  }
  const attributes = push.message.attributes ?? {};
  const ceType = attributes['ce-type'];
  const ceSource = attributes['ce-source'];
  if (ceType && ceSource) {
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
