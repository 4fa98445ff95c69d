import * as z from 'zod';
import { EventValidationError } from '../domain/errors';
import { EVENT_SOURCE, kindOfDetailType, type AnyTunewireEvent } from '../domain/events';
import { notify, type NotifyDependencies } from '../use-cases/notify';
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

/** The notify function's body: parse, deliver to every receiver, report. */
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
