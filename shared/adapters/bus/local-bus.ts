import { EVENT_SOURCE, detailTypeOf, type AnyTunewireEvent } from '../../domain/events';
import { isRetryable } from '../../domain/errors';
import type { EventBus } from '../../ports/bus';
import type { EventBridgeEnvelope } from '../../edge/envelopes';
import { matchesEventPattern } from './event-pattern';
import type { BusRule } from './serverless-rules';

export type Target = (envelope: EventBridgeEnvelope) => Promise<unknown>;

export interface Delivery {
  readonly functionName: string;
  readonly envelope: EventBridgeEnvelope;
  readonly result?: unknown;
  readonly error?: unknown;
  readonly attempts: number;
}

export interface LocalBusOptions {
  /** The routing rules, or where to get them on first use (reading serverless.yml costs a command ~120 ms it may not need). */
  readonly rules: readonly BusRule[] | (() => readonly BusRule[]);
  /** Function name (as in serverless.yml) to the handler body it runs. */
  readonly targets: Readonly<Record<string, Target>>;
  /** Deliveries in flight at once, across targets (EventBridge invokes targets concurrently). */
  readonly concurrency?: number;
  /** Attempts per delivery for retryable errors, as Lambda's asynchronous retries. */
  readonly maxAttempts?: number;
  /**
   * Functions delivered to at once, outside the concurrency limit: `notify`, whose retries to a
   * failing receiver back off for minutes and must not hold up the functions that move jobs on.
   */
  readonly background?: readonly string[];
  readonly onDelivery?: (delivery: Delivery) => void;
}

/** Our event as EventBridge carries it: the deterministic id travels in the detail, as on AWS. */
export function toEnvelope(event: AnyTunewireEvent): EventBridgeEnvelope {
  return {
    version: '0',
    id: event.id,
    'detail-type': detailTypeOf(event.kind),
    source: EVENT_SOURCE,
    account: 'local',
    time: event.time,
    region: 'local',
    resources: [],
    detail: { ...event.detail, eventId: event.id, subject: event.subject },
  };
}

/**
 * The embedded default's EventBridge: routes each event to every function whose rule in
 * serverless.yml matches it, asynchronously, as EventBridge does. Failed deliveries are retried
 * when the error is retryable and kept as dead letters otherwise.
 */
export class LocalBus implements EventBus {
  private readonly queue: Array<{ functionName: string; envelope: EventBridgeEnvelope }> = [];
  private running = 0;
  /** Queued or running deliveries per function, background ones included. */
  private readonly pending = new Map<string, number>();
  private idleWaiters: Array<{ readonly except: ReadonlySet<string>; readonly resolve: () => void }> = [];
  readonly deadLetters: Delivery[] = [];
  readonly published: EventBridgeEnvelope[] = [];

  private loadedRules: readonly BusRule[] | undefined;

  constructor(private readonly options: LocalBusOptions) {
    if (typeof options.rules !== 'function') this.rules();
  }

  /** The rules, checked once: every function they route to must have a local target. */
  private rules(): readonly BusRule[] {
    if (this.loadedRules) return this.loadedRules;
    const rules = typeof this.options.rules === 'function' ? this.options.rules() : this.options.rules;
    for (const rule of rules) {
      if (!this.options.targets[rule.functionName]) throw new Error(`serverless.yml routes to ${rule.functionName}, which has no local target`);
    }
    this.loadedRules = rules;
    return rules;
  }

  async publish(events: readonly AnyTunewireEvent[]): Promise<void> {
    for (const event of events) this.inject(toEnvelope(event));
  }

  /** Puts a raw event on the bus, as a provider (or `tunewire replay`) would. */
  inject(envelope: EventBridgeEnvelope): void {
    this.published.push(envelope);
    for (const functionName of this.route(envelope)) {
      this.pending.set(functionName, (this.pending.get(functionName) ?? 0) + 1);
      if (this.options.background?.includes(functionName)) void this.deliver(functionName, envelope).finally(() => this.settled(functionName));
      else this.queue.push({ functionName, envelope });
    }
    this.pump();
  }

  /** The functions whose rules match the event. */
  route(envelope: EventBridgeEnvelope): string[] {
    const names = this.rules().filter((r) => matchesEventPattern(r.pattern, envelope)).map((r) => r.functionName);
    return [...new Set(names)];
  }

  /**
   * Resolves when nothing is queued or running, apart from deliveries to the `except` functions.
   *
   * @example
   *   await bus.drain({ except: ['notify'] }); // the job has moved on; webhooks may still be retrying
   */
  drain(options: { except?: readonly string[] } = {}): Promise<void> {
    const except = new Set(options.except ?? []);
    if (this.idle(except)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push({ except, resolve }));
  }

  private idle(except: ReadonlySet<string>): boolean {
    for (const [functionName, count] of this.pending) if (count > 0 && !except.has(functionName)) return false;
    return true;
  }

  private settled(functionName: string): void {
    this.pending.set(functionName, (this.pending.get(functionName) ?? 1) - 1);
    const waiting = this.idleWaiters;
    this.idleWaiters = waiting.filter((w) => !this.idle(w.except));
    for (const w of waiting) if (!this.idleWaiters.includes(w)) w.resolve();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 4;
    while (this.running < limit && this.queue.length > 0) {
      const next = this.queue.shift() as { functionName: string; envelope: EventBridgeEnvelope };
      this.running++;
      void this.deliver(next.functionName, next.envelope).finally(() => {
        this.running--;
        this.pump();
        this.settled(next.functionName);
      });
    }
  }

  private async deliver(functionName: string, envelope: EventBridgeEnvelope): Promise<void> {
    const target = this.options.targets[functionName] as Target;
    const maxAttempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await target(envelope);
        this.options.onDelivery?.({ functionName, envelope, result, attempts: attempt });
        return;
      } catch (error) {
        if (attempt < maxAttempts && isRetryable(error)) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          continue;
        }
        const delivery = { functionName, envelope, error, attempts: attempt };
        this.deadLetters.push(delivery);
        this.options.onDelivery?.(delivery);
        return;
      }
    }
  }
}
