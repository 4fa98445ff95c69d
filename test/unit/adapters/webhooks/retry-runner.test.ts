import { describe, expect, it } from 'vitest';
import { RetryRunner, type Timers } from '../../../../shared/adapters/webhooks/retry-runner';

/** Timers that fire only when the test moves time. */
class ManualTimers implements Timers {
  now = 0;
  private next = 0;
  private readonly pending = new Map<number, { at: number; run: () => void }>();
  setTimeout(run: () => void, ms: number): unknown {
    const id = ++this.next;
    this.pending.set(id, { at: this.now + ms, run });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get armed(): number {
    return this.pending.size;
  }
  /** Moves time to `to`, firing every timer due on the way, in order. */
  advanceTo(to: number): void {
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].run();
    }
    this.now = to;
  }
}

const ticket = { subscriptionId: 'sub_a', targetKey: '0123456789abcdef', eventId: 'e', attempt: 2 };

describe('RetryRunner', () => {
  it('runs what is due on start, at each scheduled time, and on every poll', async () => {
    const timers = new ManualTimers();
    const runs: number[] = [];
    const runner = new RetryRunner({ runDue: async () => void runs.push(timers.now), now: () => new Date(timers.now), pollMs: 60_000, timers });

    runner.start();
    await runner.idle();
    await runner.schedule(ticket, new Date(5_000));
    timers.advanceTo(5_000);
    await runner.idle();
    timers.advanceTo(60_000);
    await runner.idle();

    expect(runs).toEqual([0, 5_000, 60_000]);
  });

  it('runs once more, not twice at once, when woken during a run', async () => {
    const timers = new ManualTimers();
    let active = 0;
    let most = 0;
    let count = 0;
    let release: () => void = () => undefined;
    const runner = new RetryRunner({
      runDue: async () => {
        active += 1;
        most = Math.max(most, active);
        count += 1;
        if (count === 1) await new Promise<void>((resolve) => (release = resolve));
        active -= 1;
      },
      now: () => new Date(timers.now),
      pollMs: 0,
      timers,
    });

    runner.start();
    await runner.schedule(ticket, new Date(0));
    await runner.schedule(ticket, new Date(0));
    timers.advanceTo(0);
    release();
    await runner.idle();

    expect(most).toBe(1);
    expect(count).toBe(2);
  });

  it('clears its timers on stop and keeps going after a failed run', async () => {
    const timers = new ManualTimers();
    const errors: unknown[] = [];
    let fail = true;
    const runner = new RetryRunner({
      runDue: async () => {
        if (fail) throw new Error('DynamoDB Local is restarting');
      },
      now: () => new Date(timers.now),
      pollMs: 1_000,
      timers,
      onError: (e) => errors.push(e),
    });
    runner.start();
    await runner.idle();
    fail = false;
    timers.advanceTo(1_000);
    await runner.idle();
    await runner.schedule(ticket, new Date(10 * 3_600_000));

    await runner.stop();

    expect(errors).toHaveLength(1);
    expect(timers.armed).toBe(0);
    await runner.schedule(ticket, new Date(20_000));
    expect(timers.armed).toBe(0);
  });
});
