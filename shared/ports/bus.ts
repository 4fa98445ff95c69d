import type { AnyTunewireEvent } from '../domain/events';

/**
 * Where our events go: EventBridge (detail-type + source `tunewire`), Pub/Sub (CloudEvents
 * attributes), or the in-process bus of the embedded default.
 *
 * @example
 *   await bus.publish([makeEvent('job.finished', eventIds.finished(job.jobId), job.jobId, detail, clock.now())]);
 */
export interface EventBus {
  /** Resolves when every event is accepted; throws `BusPublishError` naming those that were not. */
  publish(events: readonly AnyTunewireEvent[]): Promise<void>;
}
