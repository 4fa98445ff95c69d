import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbWebhookStore } from '../../../shared/adapters/dynamodb/dynamodb-webhook-store';
import { eventIds, makeEvent, type AnyTunewireEvent } from '../../../shared/domain/events';
import { handleRetryBatch } from '../../../shared/edge/notify-events';
import type { Clock } from '../../../shared/ports/clock';
import {
  newWebhookSecret,
  type DeadLetter,
  type DeliveryResult,
  type DeliveryScheduler,
  type PendingDelivery,
  type PendingKey,
  type RetryTicket,
  type SendWebhook,
  type Subscription,
  type WebhookStore,
  type WebhookTarget,
} from '../../../shared/ports/webhooks';
import { CLAIM_LEASE_MS, notify, type NotifyDependencies } from '../../../shared/use-cases/notify';
import { freshLedger } from '../../support/dynamodb';

const START = new Date('2026-01-05T10:00:00.000Z');

class FakeClock implements Clock {
  constructor(private at: number) {}
  now(): Date {
    return new Date(this.at);
  }
  set(date: Date | string): void {
    this.at = new Date(date).getTime();
  }
}

class RecordingScheduler implements DeliveryScheduler {
  readonly scheduled: { ticket: RetryTicket; dueAt: Date }[] = [];
  async schedule(ticket: RetryTicket, dueAt: Date): Promise<void> {
    this.scheduled.push({ ticket, dueAt });
  }
  ticketFor(subscriptionId: string): { ticket: RetryTicket; dueAt: Date } {
    const found = this.scheduled.filter((s) => s.ticket.subscriptionId === subscriptionId).at(-1);
    if (!found) throw new Error(`nothing was scheduled for ${subscriptionId}`);
    return found;
  }
}

/** The send port, answering 503 on every target's first attempt and 200 after; records each attempt. */
class ScriptedSend {
  readonly attempts: string[] = [];
  readonly send: SendWebhook = async (target: WebhookTarget): Promise<DeliveryResult> => {
    this.attempts.push(target.subscriptionId);
    return this.attempts.filter((id) => id === target.subscriptionId).length === 1 ? { outcome: 'retry', status: 503, error: 'HTTP 503' } : { outcome: 'delivered', status: 200 };
  };
  count(subscriptionId: string): number {
    return this.attempts.filter((id) => id === subscriptionId).length;
  }
}

/**
 * The real store, except that what concerns one subscription goes to `broken` while `failing` is
 * set: a throttled or unreachable table for that record, the others untouched.
 */
class OneSubscriptionFails implements WebhookStore {
  failing = true;
  constructor(
    private readonly inner: WebhookStore,
    private readonly subscriptionId: string,
    private readonly broken: Partial<Pick<WebhookStore, 'getPendingDelivery' | 'getSubscription'>>,
  ) {}

  private hit(subscriptionId: string): boolean {
    return this.failing && subscriptionId === this.subscriptionId;
  }

  getPendingDelivery(key: PendingKey): Promise<PendingDelivery | undefined> {
    return this.hit(key.subscriptionId) && this.broken.getPendingDelivery ? this.broken.getPendingDelivery(key) : this.inner.getPendingDelivery(key);
  }
  getSubscription(id: string): Promise<Subscription | undefined> {
    return this.hit(id) && this.broken.getSubscription ? this.broken.getSubscription(id) : this.inner.getSubscription(id);
  }
  putSubscription(subscription: Subscription): Promise<void> {
    return this.inner.putSubscription(subscription);
  }
  listSubscriptions(): Promise<Subscription[]> {
    return this.inner.listSubscriptions();
  }
  setSubscriptionEnabled(id: string, enabled: boolean, reason?: string): Promise<boolean> {
    return this.inner.setSubscriptionEnabled(id, enabled, reason);
  }
  deleteSubscription(id: string): Promise<boolean> {
    return this.inner.deleteSubscription(id);
  }
  rotateSecret(id: string, secret: string, previous: { secret: string; expiresAt: string }): Promise<boolean> {
    return this.inner.rotateSecret(id, secret, previous);
  }
  savePendingDelivery(pending: PendingDelivery, previous?: PendingDelivery): Promise<boolean> {
    return this.inner.savePendingDelivery(pending, previous);
  }
  listPendingDeliveries(options?: { dueBy?: Date }): Promise<PendingDelivery[]> {
    return this.inner.listPendingDeliveries(options);
  }
  deletePendingDelivery(pending: PendingDelivery): Promise<boolean> {
    return this.inner.deletePendingDelivery(pending);
  }
  recordDeadLetter(deadLetter: DeadLetter): Promise<void> {
    return this.inner.recordDeadLetter(deadLetter);
  }
  listDeadLetters(options?: { subscriptionId?: string }): Promise<DeadLetter[]> {
    return this.inner.listDeadLetters(options);
  }
  deleteDeadLetter(key: Pick<DeadLetter, 'subscriptionId' | 'at' | 'eventId'>): Promise<boolean> {
    return this.inner.deleteDeadLetter(key);
  }
}

function finishedEvent(): AnyTunewireEvent {
  return makeEvent('job.finished', eventIds.finished('job-retry-batch'), 'job-retry-batch', { jobId: 'job-retry-batch', name: 'churn-xgb', provider: 'local', status: 'succeeded' }, START);
}

/** An SQS record as the Lambda event source hands it over. */
function sqsRecord(messageId: string, body: unknown) {
  return { messageId, receiptHandle: `r-${messageId}`, body: typeof body === 'string' ? body : JSON.stringify(body), attributes: {}, eventSource: 'aws:sqs' };
}

describe('handleRetryBatch', () => {
  let store: DynamoDbWebhookStore;
  let unreachable: DynamoDbWebhookStore;
  let clock: FakeClock;
  let scheduler: RecordingScheduler;
  let sender: ScriptedSend;

  beforeEach(async () => {
    const { client, tableName } = await freshLedger('retry-batch');
    store = new DynamoDbWebhookStore({ client, tableName });
    // the same DynamoDB, a table that does not exist: the SDK's own ResourceNotFoundException
    unreachable = new DynamoDbWebhookStore({ client, tableName: `${tableName}-missing` });
    clock = new FakeClock(START.getTime());
    scheduler = new RecordingScheduler();
    sender = new ScriptedSend();
  });

  /** Two subscriptions whose first attempt failed, each with a pending delivery due at the same time. */
  async function twoPending(): Promise<{ due: Date; ticketA: RetryTicket; ticketB: RetryTicket }> {
    for (const id of ['sub_a', 'sub_b']) {
      await store.putSubscription({ id, url: `https://hooks.example.com/${id}`, events: ['*'], secret: newWebhookSecret(), enabled: true, createdAt: START.toISOString() });
    }
    await notify({ store, send: sender.send, clock, random: () => 0, scheduler }, finishedEvent());
    const a = scheduler.ticketFor('sub_a');
    const b = scheduler.ticketFor('sub_b');
    expect(a.dueAt).toEqual(b.dueAt);
    return { due: a.dueAt, ticketA: a.ticket, ticketB: b.ticket };
  }

  function depsWith(flaky: WebhookStore): NotifyDependencies {
    return { store: flaky, send: sender.send, clock, random: () => 0, scheduler };
  }

  it('reports a record whose store read is throttled as a batch item failure, alone; SQS brings it back and it is delivered', async () => {
    const { due, ticketA, ticketB } = await twoPending();
    const throttled = new OneSubscriptionFails(store, 'sub_a', {
      getPendingDelivery: async () => {
        throw new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { httpStatusCode: 400 } });
      },
    });
    clock.set(due);

    const result = await handleRetryBatch(depsWith(throttled), { Records: [sqsRecord('m-a', ticketA), sqsRecord('m-b', ticketB), sqsRecord('m-junk', '{"nope":1}')] });

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-a' }]);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ outcome: 'failed', detail: expect.stringMatching(/m-a.*ProvisionedThroughputExceededException/) }),
      expect.objectContaining({ subscriptionId: 'sub_b', outcome: 'delivered', attempts: 2 }),
      expect.objectContaining({ outcome: 'rejected' }),
    ]);
    expect(sender.count('sub_a')).toBe(1);
    // the failed record's pending delivery is untouched: same attempt, same due time
    expect(await store.getPendingDelivery(ticketA)).toMatchObject({ attempt: 2, dueAt: due.toISOString() });
    expect(await store.getPendingDelivery(ticketB)).toBeUndefined();

    throttled.failing = false;
    const again = await handleRetryBatch(depsWith(throttled), { Records: [sqsRecord('m-a', ticketA)] });

    expect(again.batchItemFailures).toEqual([]);
    expect(again.outcomes).toEqual([expect.objectContaining({ subscriptionId: 'sub_a', outcome: 'delivered', attempts: 2 })]);
    expect(sender.count('sub_a')).toBe(2);
    expect(await store.listPendingDeliveries()).toEqual([]);
  });

  it('reports a record whose table is unreachable after its attempt was claimed; the redelivered message waits out the claim, then delivers', async () => {
    const { due, ticketA, ticketB } = await twoPending();
    const flaky = new OneSubscriptionFails(store, 'sub_a', { getSubscription: (id) => unreachable.getSubscription(id) });
    clock.set(due);

    const result = await handleRetryBatch(depsWith(flaky), { Records: [sqsRecord('m-a', ticketA), sqsRecord('m-b', ticketB)] });

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-a' }]);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ outcome: 'failed', detail: expect.stringMatching(/ResourceNotFoundException/) }),
      expect.objectContaining({ subscriptionId: 'sub_b', outcome: 'delivered' }),
    ]);
    expect(sender.count('sub_a')).toBe(1);

    // SQS redelivers within the claim's lease: not due yet, so scheduled again for the lease's end
    flaky.failing = false;
    const early = await handleRetryBatch(depsWith(flaky), { Records: [sqsRecord('m-a', ticketA)] });
    const leaseEnd = new Date(due.getTime() + CLAIM_LEASE_MS);
    expect(early).toEqual({ batchItemFailures: [], outcomes: [{ outcome: 'rescheduled', dueAt: leaseEnd.toISOString() }] });
    expect(scheduler.ticketFor('sub_a')).toEqual({ ticket: ticketA, dueAt: leaseEnd });

    clock.set(leaseEnd);
    const late = await handleRetryBatch(depsWith(flaky), { Records: [sqsRecord('m-a2', ticketA)] });
    expect(late.outcomes).toEqual([expect.objectContaining({ subscriptionId: 'sub_a', outcome: 'delivered', attempts: 2 })]);
    expect(sender.count('sub_a')).toBe(2);
    expect(await store.listPendingDeliveries()).toEqual([]);
  });
});
