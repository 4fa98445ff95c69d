import type { PubSub, Topic } from '@google-cloud/pubsub';
import { EventValidationError, type FieldIssue } from '../../domain/errors';
import { EVENT_CATALOG, EVENT_SOURCE, cloudEventTypeOf, type AnyTunewireEvent, type EventKind } from '../../domain/events';
import type { EventBus } from '../../ports/bus';
import { BusPublishError, type BusPublishFailure } from './bus-errors';

/** Pub/Sub quotas a message must meet; one message over them fails the whole batch it is sent in. */
export const PUBSUB_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
export const PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES = 1024;

/** Our code for a message we refuse to send because Pub/Sub never would accept it. */
export const MESSAGE_TOO_LARGE = 'MessageTooLarge';

export interface PubSubMessageOut {
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
}

/**
 * A CloudEvent in Pub/Sub binary content mode: the data is the event's detail as JSON, and the
 * context attributes travel as `ce-*` message attributes.
 */
export function toPubSubMessage(event: AnyTunewireEvent, source: string = EVENT_SOURCE): PubSubMessageOut {
  return {
    data: Buffer.from(JSON.stringify(event.detail), 'utf8'),
    attributes: {
      'ce-specversion': '1.0',
      'ce-id': event.id,
      'ce-type': cloudEventTypeOf(event.kind),
      'ce-source': source,
      'ce-subject': event.subject,
      'ce-time': event.time,
      'content-type': 'application/json',
    },
  };
}

const KIND_BY_CLOUD_EVENT_TYPE: ReadonlyMap<string, EventKind> = new Map(
  (Object.keys(EVENT_CATALOG) as EventKind[]).map((kind) => [cloudEventTypeOf(kind), kind]),
);

/**
 * Reads one of our own messages back. `data` is the message body: a Buffer (pull), or a string
 * holding either the JSON itself or its base64 (a push envelope's `message.data`).
 *
 * @example
 *   subscription.on('message', (m) => handle(fromPubSubMessage(m)));
 */
export function fromPubSubMessage(message: { data: Buffer | string; attributes: Record<string, string> }): AnyTunewireEvent {
  const subject = 'Pub/Sub message';
  const attributes = message.attributes ?? {};
  const issues: FieldIssue[] = [];
  const required = (name: string): string => {
    const value = attributes[name];
    if (value === undefined || value === '') issues.push({ path: `attributes.${name}`, message: 'is required' });
    return value ?? '';
  };

  const specVersion = required('ce-specversion');
  const id = required('ce-id');
  const type = required('ce-type');
  const eventSubject = required('ce-subject');
  const time = required('ce-time');
  if (specVersion && specVersion !== '1.0') issues.push({ path: 'attributes.ce-specversion', message: `must be "1.0", got "${specVersion}"` });
  const kind = KIND_BY_CLOUD_EVENT_TYPE.get(type);
  if (type && !kind) {
    issues.push({ path: 'attributes.ce-type', message: `"${type}" is not one of ${[...KIND_BY_CLOUD_EVENT_TYPE.keys()].join(', ')}` });
  }
  if (time && Number.isNaN(Date.parse(time))) issues.push({ path: 'attributes.ce-time', message: `"${time}" is not an RFC 3339 time` });

  let detail: unknown;
  try {
    detail = JSON.parse(messageText(message.data));
  } catch (error) {
    issues.push({ path: 'data', message: 'must be a JSON document' });
    throw new EventValidationError(subject, issues, { cause: error });
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) issues.push({ path: 'data', message: 'must be a JSON object (the event detail)' });
  if (issues.length > 0 || !kind) throw new EventValidationError(subject, issues);

  // The detail is trusted as far as its shape: these are messages this module wrote.
  return { id, kind, subject: eventSubject, time, detail } as AnyTunewireEvent;
}

function messageText(data: Buffer | string): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  // JSON text of an object starts with `{`; its base64 never does (it starts with `ey`).
  return data.trimStart().startsWith('{') ? data : Buffer.from(data, 'base64').toString('utf8');
}

export interface PubSubBusOptions {
  readonly pubsub: PubSub;
  /** Topic name or full `projects/<p>/topics/<t>` path. */
  readonly topic: string;
  /** `ce-source` of every message. */
  readonly source?: string;
}

/**
 * Publishes our events to a Pub/Sub topic as CloudEvents in binary content mode. The client's
 * publisher batches and retries transient failures itself; what still fails is named in a
 * `BusPublishError`. One Topic object is kept, so its batching and connections are reused.
 *
 * @example
 *   const bus = new PubSubBus({ pubsub: new PubSub({ projectId }), topic: config.eventsTopic });
 *   await bus.publish([event]);
 */
export class PubSubBus implements EventBus {
  private readonly topic: Topic;
  private readonly source: string;

  constructor(options: PubSubBusOptions) {
    this.topic = options.pubsub.topic(options.topic);
    this.source = options.source ?? EVENT_SOURCE;
  }

  async publish(events: readonly AnyTunewireEvent[]): Promise<void> {
    if (events.length === 0) return;
    let cause: unknown;
    const outcomes = await Promise.all(
      events.map(async (event): Promise<BusPublishFailure | undefined> => {
        const message = toPubSubMessage(event, this.source);
        const refusal = oversize(message);
        if (refusal) return { eventId: event.id, code: MESSAGE_TOO_LARGE, message: refusal, retryable: false };
        try {
          await this.topic.publishMessage(message);
          return undefined;
        } catch (error) {
          cause ??= error;
          const status = grpcStatusOf(error);
          return {
            eventId: event.id,
            code: status === undefined ? (error instanceof Error ? error.name : 'UnknownError') : (GRPC_STATUS_NAMES[status] ?? `GRPC_${status}`),
            message: error instanceof Error ? error.message : String(error),
            retryable: status === undefined || !FINAL_GRPC_STATUSES.has(status),
          };
        }
      }),
    );
    const failures = outcomes.filter((f): f is BusPublishFailure => f !== undefined);
    if (failures.length > 0) throw new BusPublishError(`Pub/Sub topic ${this.topic.name}`, failures, cause === undefined ? undefined : { cause });
  }
}

function oversize(message: PubSubMessageOut): string | undefined {
  for (const [key, value] of Object.entries(message.attributes)) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES) return `attribute ${key} is ${bytes} bytes; Pub/Sub accepts at most ${PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES}`;
  }
  const size = message.data.length + Object.entries(message.attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > PUBSUB_MAX_MESSAGE_BYTES) return `message is ${size} bytes; Pub/Sub accepts at most ${PUBSUB_MAX_MESSAGE_BYTES}`;
  return undefined;
}

function grpcStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'number' ? error.code : undefined;
}

/** gRPC status names (grpc/doc/statuscodes.md); kept here so we need not import google-gax. */
const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** Statuses no retry can change: bad request, missing topic, no permission. */
const FINAL_GRPC_STATUSES: ReadonlySet<number> = new Set([3, 5, 6, 7, 9, 11, 12, 16]);
