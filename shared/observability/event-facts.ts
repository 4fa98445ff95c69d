/**
 * What a log line needs to know about a delivery before (or without) parsing it: its id, its own
 * time and the tunewire job it is about. Read defensively: a malformed event still gets a log
 * line, and the edge's schemas still decide whether it is valid.
 *
 * The correlation id is the tunewire job id. Our own events carry it as `detail.jobId` (every
 * detail type in `shared/domain/events.ts` does), so it travels from submit through status-change,
 * trial-fan-out, promote-best and notify without a separate header. A provider's event names only
 * the provider's job; the use case finds the job id and returns it in its outcome. On Pub/Sub our
 * events are CloudEvents and the job id is their `ce-subject` attribute.
 *
 * @example
 *   eventFacts({ id: 'e-1', time: '2026-01-01T00:00:00Z', detail: { jobId: 'churn-1' } })
 *   // { eventId: 'e-1', eventTime: '2026-01-01T00:00:00Z', jobId: 'churn-1' }
 */
export interface EventFacts {
  readonly eventId?: string;
  /** ISO time the event was emitted (EventBridge `time`) or published (Pub/Sub `publishTime`). */
  readonly eventTime?: string;
  readonly jobId?: string;
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

export function eventFacts(event: unknown): EventFacts {
  const root = record(event);
  if (!root) return {};
  // A Pub/Sub push body: { message: { messageId, publishTime, data, attributes }, subscription }.
  // Our own messages are CloudEvents whose `ce-subject` is the job id (shared/adapters/bus/pubsub-bus.ts).
  const message = record(root['message']);
  if (message) {
    const attributes = record(message['attributes']);
    return compact({
      eventId: text(attributes?.['ce-id']) ?? text(message['messageId']),
      eventTime: text(attributes?.['ce-time']) ?? text(message['publishTime']),
      jobId: text(attributes?.['ce-subject']),
    });
  }
  // An EventBridge event (what EventBridge hands a Lambda target, and what our local bus delivers)
  return compact({ eventId: text(root['id']), eventTime: text(root['time']), jobId: text(record(root['detail'])?.['jobId']) });
}

/** Milliseconds from the event's own time to `handledAt`; undefined when the event has no readable time. */
export function eventLagMs(facts: EventFacts, handledAt: number): number | undefined {
  if (!facts.eventTime) return undefined;
  const at = Date.parse(facts.eventTime);
  return Number.isNaN(at) ? undefined : Math.max(0, handledAt - at);
}

function compact(facts: { eventId: string | undefined; eventTime: string | undefined; jobId: string | undefined }): EventFacts {
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)) as EventFacts;
}
