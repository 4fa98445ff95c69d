import type { DeliveryScheduler, RetryTicket } from '../../ports/webhooks';

/** setTimeout and clearTimeout, injectable so tests drive time by hand. */
export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (run, ms) => {
    const handle = setTimeout(run, ms);
    // a pending retry hours away must not keep a process alive
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Node's timers take at most 2^31 - 1 ms; a longer wait wakes early and the poll finds nothing due. */
const MAX_TIMER_MS = 2_147_483_647;

export interface RetryRunnerOptions {
  /** Runs every pending delivery due by now: `() => runDueDeliveries(webhooks)`. */
  readonly runDue: () => Promise<unknown>;
  readonly now: () => Date;
  /**
   * Also looks every this often, for deliveries another process made (the CLI's first attempts,
   * a runner that died mid-attempt). Default 5 s; 0 polls only on start.
   */
  readonly pollMs?: number;
  readonly timers?: Timers;
  /** A failed run (DynamoDB Local restarting) is reported here and tried at the next wake-up. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The local platform for webhook retries: a timer per due time, in the long-lived process. It is
 * the scheduler (notify tells it when the next attempt is due) and a poller; each wake-up runs
 * whatever is due then, one run at a time. The pending deliveries live in the store, so stopping
 * loses nothing: the next runner's first poll picks them up.
 *
 * @example
 *   const runner = new RetryRunner({ runDue: () => runDueDeliveries(webhooks), now: () => new Date() });
 *   const webhooks = createNotifyDependencies({ ..., scheduler: runner });
 *   runner.start();
 *   await runner.stop(); // at close
 */
export class RetryRunner implements DeliveryScheduler {
  private readonly timers: Timers;
  private readonly wakeUps = new Set<unknown>();
  private poll: unknown;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: RetryRunnerOptions) {
    this.timers = options.timers ?? systemTimers;
  }

  /** Runs what is due now, then polls every pollMs. */
  start(): void {
    this.stopped = false;
    this.wake();
    const pollMs = this.options.pollMs ?? 5_000;
    if (pollMs > 0) {
      const tick = () => {
        this.poll = this.timers.setTimeout(tick, pollMs);
        this.wake();
      };
      this.poll = this.timers.setTimeout(tick, pollMs);
    }
  }

  async schedule(_ticket: RetryTicket, dueAt: Date): Promise<void> {
    if (this.stopped) return;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, dueAt.getTime() - this.options.now().getTime()));
    const handle = this.timers.setTimeout(() => {
      this.wakeUps.delete(handle);
      this.wake();
    }, ms);
    this.wakeUps.add(handle);
  }

  /** Clears every timer and waits for the run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const handle of this.wakeUps) this.timers.clearTimeout(handle);
    this.wakeUps.clear();
    if (this.poll !== undefined) this.timers.clearTimeout(this.poll);
    this.poll = undefined;
    await this.running;
  }

  /** Resolves when the runs started so far (and any they asked for) are done: for tests. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.options.runDue();
        } catch (error) {
          this.options.onError?.(error);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
  }
}
