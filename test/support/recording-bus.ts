import type { AnyTunewireEvent } from '../../shared/domain/events';
import type { EventBus } from '../../shared/ports/bus';

/** Keeps what was published, for assertions. */
export class RecordingBus implements EventBus {
  readonly events: AnyTunewireEvent[] = [];
  async publish(events: readonly AnyTunewireEvent[]): Promise<void> {
    this.events.push(...events);
  }
  ofKind<K extends AnyTunewireEvent['kind']>(kind: K): Extract<AnyTunewireEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<AnyTunewireEvent, { kind: K }> => e.kind === kind);
  }
  /** Distinct event ids: what a consumer that drops repeats sees. */
  distinctIds(kind?: AnyTunewireEvent['kind']): Set<string> {
    return new Set(this.events.filter((e) => !kind || e.kind === kind).map((e) => e.id));
  }
}
