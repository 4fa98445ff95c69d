import { TunewireError } from '../../domain/errors';

/** Why one event was not accepted by the bus. `code` is the transport's own (EventBridge ErrorCode, gRPC status name). */
export interface BusPublishFailure {
  readonly eventId: string;
  readonly code: string;
  readonly message: string;
  /** Whether sending this event again can succeed (throttling, internal failure) or never will (too large, malformed, denied). */
  readonly retryable: boolean;
}

/**
 * Some events were not accepted by the bus; the others were. Publishing the same events again is
 * safe: ids are deterministic, so consumers drop the repeats. Retryable only when every failure
 * is: an event that can never be sent (too large, denied) makes retrying the whole input pointless.
 */
export class BusPublishError extends TunewireError {
  readonly code = 'BUS.PUBLISH_FAILED';
  readonly retryable: boolean;

  constructor(
    readonly transport: string,
    readonly failures: readonly BusPublishFailure[],
    options?: { cause?: unknown },
  ) {
    super(
      `${transport}: ${failures.length} event(s) not published: ${failures
        .slice(0, 5)
        .map((f) => `${f.eventId} (${f.code}: ${f.message})`)
        .join('; ')}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}`,
      options,
    );
    this.retryable = failures.length > 0 && failures.every((f) => f.retryable);
  }

  /** The ids of the events that were not published, in input order. */
  get eventIds(): readonly string[] {
    return this.failures.map((f) => f.eventId);
  }
}
