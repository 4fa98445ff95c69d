import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toEnvelope } from '../../../shared/adapters/bus/local-bus';
import { DynamoDbWebhookStore } from '../../../shared/adapters/dynamodb/dynamodb-webhook-store';
import { deriveSpecSecret, specSigning } from '../../../shared/adapters/webhooks/spec-signing';
import { webhookSender } from '../../../shared/adapters/webhooks/webhook-sender';
import { eventIds, makeEvent, type AnyTunewireEvent } from '../../../shared/domain/events';
import { handleNotifyEvent, handleRetryBatch } from '../../../shared/edge/notify-events';
import type { Clock } from '../../../shared/ports/clock';
import { systemClock } from '../../../shared/ports/clock';
import {
  newSubscriptionId,
  newWebhookSecret,
  SubscriptionExistsError,
  SubscriptionNotFoundError,
  targetKeyOf,
  type DeliveryScheduler,
  type RetryTicket,
  type Subscription,
} from '../../../shared/ports/webhooks';
import { addSubscription, removeSubscription, rotateSubscriptionSecret, subscriptionView, SubscriptionValidationError } from '../../../shared/use-cases/manage-webhooks';
import {
  notify,
  replayDeadLetters,
  retryDelivery,
  runDueDeliveries,
  specSubscriptionId,
  STANDARD_WEBHOOKS_SCHEDULE_MS,
  type NotifyDependencies,
  type TargetOutcome,
} from '../../../shared/use-cases/notify';
import { freshLedger } from '../../support/dynamodb';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}
type Reply = { status: number; headers?: Record<string, string> };

/** A webhook receiver on 127.0.0.1 that answers each path from a script (then 200) and records every request. */
class Receiver {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, Reply[]>();
  private server: Server | undefined;
  origin = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const reply = this.scripts.get(path)?.shift() ?? { status: 200 };
        res.writeHead(reply.status, reply.headers ?? {}).end(reply.status >= 400 ? 'nope' : 'ok');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  script(path: string, replies: Reply[]): string {
    this.scripts.set(path, replies);
    return `${this.origin}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Standard Webhooks verification written from the spec, independent of the package that signs:
 * HMAC-SHA256 over `id.timestamp.body` with the base64 key after `whsec_`; `webhook-signature` is a
 * space-separated list of `v1,<base64>`. True when any listed signature matches.
 */
function verifiesWith(secret: string, request: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${String(request.headers['webhook-id'])}.${String(request.headers['webhook-timestamp'])}.${request.body}`;
  const expected = createHmac('sha256', key).update(signed).digest('base64');
  return String(request.headers['webhook-signature'] ?? '')
    .split(' ')
    .some((s) => s === `v1,${expected}`);
}

function payloadOf(secret: string, request: Received): unknown {
  expect(verifiesWith(secret, request)).toBe(true);
  return JSON.parse(request.body);
}

let counter = 0;
function finishedEvent(at = new Date()): AnyTunewireEvent {
  const jobId = `job-${++counter}-${Date.now()}`;
  return makeEvent('job.finished', eventIds.finished(jobId), jobId, { jobId, name: 'churn-xgb', provider: 'local', status: 'succeeded' }, at);
}

/** A clock that moves only when told. */
class FakeClock implements Clock {
  constructor(private at: number) {}
  now(): Date {
    return new Date(this.at);
  }
  set(date: Date | string): void {
    this.at = new Date(date).getTime();
  }
  advance(ms: number): void {
    this.at += ms;
  }
}

/** A scheduler that only records what it was asked. */
class RecordingScheduler implements DeliveryScheduler {
  readonly scheduled: { ticket: RetryTicket; dueAt: Date }[] = [];
  async schedule(ticket: RetryTicket, dueAt: Date): Promise<void> {
    this.scheduled.push({ ticket, dueAt });
  }
  /** The ticket for the latest attempt (a re-scheduled earlier ticket does not count). */
  last(): { ticket: RetryTicket; dueAt: Date } {
    const latest = Math.max(...this.scheduled.map((s) => s.ticket.attempt));
    const last = this.scheduled.filter((s) => s.ticket.attempt === latest).at(-1);
    if (!last) throw new Error('nothing was scheduled');
    return last;
  }
}

const START = new Date('2026-01-05T10:00:00.000Z');

describe('notify (webhooks)', () => {
  const receiver = new Receiver();
  let store: DynamoDbWebhookStore;
  let clock: FakeClock;
  let scheduler: RecordingScheduler;
  let deps: NotifyDependencies;

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(() => receiver.stop());

  beforeEach(async () => {
    const { client, tableName } = await freshLedger('webhooks');
    store = new DynamoDbWebhookStore({ client, tableName });
    clock = new FakeClock(START.getTime());
    scheduler = new RecordingScheduler();
    deps = { store, send: webhookSender({ allow: ['127.0.0.1'], timeoutMs: 2_000 }), clock, random: () => 0, scheduler };
  });

  async function subscribe(url: string, more: Partial<Subscription> = {}): Promise<Subscription> {
    const subscription: Subscription = { id: newSubscriptionId(), url, events: ['*'], secret: newWebhookSecret(), enabled: true, createdAt: START.toISOString(), ...more };
    await store.putSubscription(subscription);
    return subscription;
  }

  /** Moves the fake clock to the last scheduled due time and makes that attempt. */
  async function nextAttempt(): ReturnType<typeof retryDelivery> {
    const { ticket, dueAt } = scheduler.last();
    clock.set(dueAt);
    return retryDelivery(deps, ticket);
  }

  it('follows the Standard Webhooks schedule for a receiver that keeps answering 503, then dead-letters it', async () => {
    const url = receiver.script('/down-for-days', Array.from({ length: 8 }, () => ({ status: 503 })));
    const subscription = await subscribe(url);
    const event = finishedEvent(START);

    const first = await notify(deps, event);

    expect(first.targets).toEqual([expect.objectContaining({ outcome: 'scheduled', attempts: 1, status: 503, nextAttemptAt: '2026-01-05T10:00:05.000Z' })]);
    const outcomes: TargetOutcome[] = [];
    for (let i = 0; i < 7; i++) outcomes.push((await nextAttempt()) as TargetOutcome);

    // the waits between attempts are the schedule's, without sleeping anywhere
    const dueTimes = scheduler.scheduled.map((s) => s.dueAt.getTime());
    const waits = dueTimes.map((t, i) => t - (i === 0 ? START.getTime() : (dueTimes[i - 1] as number)));
    expect(waits).toEqual(STANDARD_WEBHOOKS_SCHEDULE_MS.slice(1));
    expect(scheduler.scheduled.map((s) => s.ticket.attempt)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['scheduled', 'scheduled', 'scheduled', 'scheduled', 'scheduled', 'scheduled', 'dead-lettered']);
    // about a day: 27 h 35 min 5 s from the first attempt to the last
    expect(clock.now().getTime() - START.getTime()).toBe(99_305_000);
    expect(receiver.at('/down-for-days')).toHaveLength(8);
    expect(await store.listPendingDeliveries()).toEqual([]);
    expect(await store.listDeadLetters()).toEqual([expect.objectContaining({ subscriptionId: subscription.id, eventId: event.id, attempts: 8, lastError: expect.stringMatching(/^HTTP 503/) })]);
  });

  it('adds jitter to the wait, and honours a Retry-After longer than the schedule', async () => {
    await subscribe(receiver.script('/slow-down', [{ status: 429, headers: { 'retry-after': '120' } }, { status: 500 }]));
    const jittery = { ...deps, random: () => 0.5 };

    await notify(jittery, finishedEvent(START));
    expect(scheduler.last().dueAt.getTime() - START.getTime()).toBe(120_000); // 5 s + 5 % < 120 s asked for
    const { ticket, dueAt: at } = scheduler.last();
    clock.set(at);
    await retryDelivery(jittery, ticket);
    expect(scheduler.last().dueAt.getTime() - at.getTime()).toBe(300_000 + 15_000); // 5 min + 0.5 × 10 %
  });

  it('retries 408, 409, 425 and 429, and dead-letters 404 and 302 at once without following the redirect', async () => {
    for (const status of [408, 409, 425, 429]) await subscribe(receiver.script(`/again-${status}`, [{ status }]));
    await subscribe(receiver.script('/missing', [{ status: 404 }]));
    await subscribe(receiver.script('/moved', [{ status: 302, headers: { location: `${receiver.origin}/redirect-target` } }]));

    const result = await notify(deps, finishedEvent(START));

    const byStatus = Object.fromEntries(result.targets.map((t) => [t.status, t.outcome]));
    expect(byStatus).toEqual({ 408: 'scheduled', 409: 'scheduled', 425: 'scheduled', 429: 'scheduled', 404: 'dead-lettered', 302: 'dead-lettered' });
    expect(result.targets.find((t) => t.status === 302)?.error).toMatch(/redirect .* not followed/);
    expect(receiver.at('/redirect-target')).toHaveLength(0);
    expect((await store.listDeadLetters()).map((l) => l.attempts)).toEqual([1, 1]);
    expect(await store.listPendingDeliveries()).toHaveLength(4);
  });

  it('disables the subscription on 410 Gone, also on a retry, and stops trying', async () => {
    const subscription = await subscribe(receiver.script('/gone-later', [{ status: 503 }, { status: 410 }]));

    await notify(deps, finishedEvent(START));
    const second = await nextAttempt();

    expect(second).toMatchObject({ outcome: 'disabled', attempts: 2, status: 410 });
    expect(await store.getSubscription(subscription.id)).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/^410 Gone/) });
    expect(await store.listPendingDeliveries()).toEqual([]);
    expect(await store.listDeadLetters()).toEqual([]);
    expect((await notify(deps, finishedEvent(START))).targets).toEqual([]);
  });

  it('sends nothing for a ticket that comes early, twice, or after its subscription was deleted', async () => {
    const subscription = await subscribe(receiver.script('/tickets', [{ status: 503 }, { status: 503 }]));
    await notify(deps, finishedEvent(START));
    const { ticket, dueAt } = scheduler.last();

    // early (a queue delay is at most 15 min): scheduled again for its time, nothing sent
    expect(await retryDelivery(deps, ticket)).toEqual({ outcome: 'rescheduled', dueAt: dueAt.toISOString() });
    expect(scheduler.last()).toEqual({ ticket, dueAt });
    clock.set(dueAt);
    // the same ticket twice, at the same moment: one attempt (the other finds it claimed, or
    // already moved a lease ahead and schedules itself for then, or already moved on: stale)
    const both = (await Promise.all([retryDelivery(deps, ticket), retryDelivery(deps, ticket)])).map((o) => o.outcome);
    expect(both.filter((o) => o === 'scheduled')).toHaveLength(1);
    expect(both.filter((o) => o !== 'scheduled')).toEqual([expect.stringMatching(/^(claimed-elsewhere|rescheduled|stale)$/)]);
    expect(await retryDelivery(deps, ticket)).toEqual({ outcome: 'stale' });
    expect(receiver.at('/tickets')).toHaveLength(2);

    await store.deleteSubscription(subscription.id);
    expect(await nextAttempt()).toMatchObject({ outcome: 'skipped', error: 'the subscription was deleted' });
    expect(receiver.at('/tickets')).toHaveLength(2);
    expect(await store.listPendingDeliveries()).toEqual([]);
  });

  it('runs only what is due, and takes over an attempt whose runner died once its lease is over', async () => {
    await subscribe(receiver.script('/due', [{ status: 503 }]));
    await notify(deps, finishedEvent(START));
    const { ticket, dueAt } = scheduler.last();

    expect(await runDueDeliveries(deps)).toEqual([]);
    clock.set(dueAt);
    // a runner claims the attempt and dies before sending
    const pending = await store.getPendingDelivery(ticket);
    expect(await store.savePendingDelivery({ ...(pending as NonNullable<typeof pending>), dueAt: new Date(dueAt.getTime() + 120_000).toISOString() }, pending)).toBe(true);
    expect(await runDueDeliveries(deps)).toEqual([]);

    clock.advance(120_000);
    expect(await runDueDeliveries(deps)).toEqual([expect.objectContaining({ outcome: 'delivered', attempts: 2 })]);
    expect(await store.listPendingDeliveries()).toEqual([]);
  });

  it('signs with both secrets during a rotation, and with the new one only after the grace period', async () => {
    const subscription = await subscribe(receiver.script('/rotating', []));
    const rotated = await rotateSubscriptionSecret({ store, clock }, subscription.id, { graceMs: 3_600_000 });
    const event = finishedEvent(START);

    await notify(deps, event);
    clock.advance(3_600_001);
    await notify(deps, finishedEvent(clock.now()));

    const [during, after] = receiver.at('/rotating') as [Received, Received];
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(subscription.secret, during)).toBe(true);
    expect(verifiesWith(rotated.secret, during)).toBe(true);
    expect(payloadOf(rotated.secret, during)).toEqual({ type: 'tunewire.job.finished', timestamp: event.time, data: event.detail });
    expect(verifiesWith(rotated.secret, after)).toBe(true);
    expect(verifiesWith(subscription.secret, after)).toBe(false);
    expect(rotated.previousSecretExpiresAt).toBe('2026-01-05T11:00:00.000Z');
  });

  it('sends a Slack-shaped body and the custom headers, which cannot replace the signature', async () => {
    const subscription = await subscribe(receiver.script('/slack', []), { format: 'slack', headers: { Authorization: 'Bearer t0ken', 'webhook-signature': 'v1,forged' } });
    const event = finishedEvent(START);

    await notify(deps, event);

    const request = receiver.at('/slack')[0] as Received;
    expect(JSON.parse(request.body)).toEqual({ text: expect.stringContaining(`tunewire job.finished ${event.subject}`) });
    expect(JSON.parse(request.body).text).toContain('status: succeeded');
    expect(request.headers.authorization).toBe('Bearer t0ken');
    expect(verifiesWith(subscription.secret, request)).toBe(true);
    expect(String(request.headers['webhook-signature'])).not.toContain('forged');
  });

  it('gives every spec notify URL its own secret, so one receiver cannot forge for another', async () => {
    const masterKey = newWebhookSecret();
    const mine = receiver.script('/spec-mine', []);
    const theirs = receiver.script('/spec-theirs', []);
    const event = finishedEvent(START);
    const withSpec: NotifyDependencies = {
      ...deps,
      specSigning: specSigning({ masterKey }),
      specNotifyTargets: async () => [
        { url: mine, events: ['job.finished'] },
        { url: theirs, events: ['job.finished'] },
        { url: receiver.script('/spec-other', []), events: ['model.promoted'] },
      ],
    };

    const result = await notify(withSpec, event);

    expect(result.targets.map((t) => [t.subscriptionId, t.outcome])).toEqual([
      [specSubscriptionId(event.subject), 'delivered'],
      [specSubscriptionId(event.subject), 'delivered'],
    ]);
    const toMine = receiver.at('/spec-mine')[0] as Received;
    const toTheirs = receiver.at('/spec-theirs')[0] as Received;
    expect(verifiesWith(deriveSpecSecret(masterKey, mine), toMine)).toBe(true);
    expect(verifiesWith(deriveSpecSecret(masterKey, theirs), toTheirs)).toBe(true);
    // the secret one receiver holds verifies nothing sent to the other
    expect(verifiesWith(deriveSpecSecret(masterKey, mine), toTheirs)).toBe(false);
    expect(verifiesWith(masterKey, toMine)).toBe(false);
    expect(receiver.at('/spec-other')).toHaveLength(0);
  });

  it('retries two spec URLs of one job as two pending deliveries', async () => {
    const a = receiver.script('/spec-a', [{ status: 503 }]);
    const b = receiver.script('/spec-b', [{ status: 503 }]);
    const withSpec: NotifyDependencies = { ...deps, specSigning: specSigning({ masterKey: newWebhookSecret() }), specNotifyTargets: async () => [a, b].map((url) => ({ url, events: ['job.finished'] })) };
    await notify(withSpec, finishedEvent(START));

    expect((await store.listPendingDeliveries()).map((p) => p.targetKey).sort()).toEqual([targetKeyOf(a), targetKeyOf(b)].sort());
    clock.advance(5_000);
    expect((await runDueDeliveries(withSpec)).map((o) => o.outcome)).toEqual(['delivered', 'delivered']);
  });

  it('replays a dead letter, which keeps its webhook-id, and removes it once delivered', async () => {
    const url = receiver.script('/replay', [{ status: 400 }, { status: 400 }]);
    const subscription = await subscribe(url);
    const event = finishedEvent(START);
    await notify(deps, event);
    expect(await store.listDeadLetters()).toEqual([expect.objectContaining({ subscriptionId: subscription.id, url, eventId: event.id, attempts: 1, event })]);

    expect((await replayDeadLetters(deps)).map((r) => r.outcome)).toEqual(['failed']);
    expect(await store.listDeadLetters()).toHaveLength(1);
    expect((await replayDeadLetters(deps, { subscriptionId: subscription.id })).map((r) => r.outcome)).toEqual(['delivered']);
    expect(await store.listDeadLetters()).toEqual([]);
    const last = receiver.at('/replay').at(-1) as Received;
    expect(last.headers['webhook-id']).toBe(event.id);
    expect(payloadOf(subscription.secret, last)).toMatchObject({ data: event.detail });
  });

  it('skips a dead letter whose subscription is gone', async () => {
    const deleted = await subscribe(receiver.script('/deleted', [{ status: 400 }]));
    await notify(deps, finishedEvent(START));
    await store.deleteSubscription(deleted.id);

    expect(await replayDeadLetters(deps)).toEqual([expect.objectContaining({ subscriptionId: deleted.id, outcome: 'skipped' })]);
    expect(await store.listDeadLetters()).toHaveLength(1);
  });

  it('sends the same event twice with the same webhook-id, and keeps one pending delivery and one next attempt for it', async () => {
    await subscribe(receiver.script('/twice', [{ status: 503 }, { status: 503 }]));
    const event = finishedEvent(START);

    await notify(deps, event);
    await notify(deps, event);

    expect(receiver.at('/twice').map((r) => r.headers['webhook-id'])).toEqual([event.id, event.id]);
    expect(await store.listPendingDeliveries()).toHaveLength(1);
    // the second ticket finds the first one's attempt made (or claimed): one more attempt in all
    clock.set(new Date(START.getTime() + 5_000));
    const outcomes = await Promise.all(scheduler.scheduled.map((s) => retryDelivery(deps, s.ticket)));
    expect(outcomes.filter((o) => o.outcome === 'delivered')).toHaveLength(1);
    expect(receiver.at('/twice')).toHaveLength(3);
  });

  it('lets one bad receiver fail without touching the others, and honours the event filter', async () => {
    await subscribe(receiver.script('/bad', [{ status: 400 }]));
    await subscribe(receiver.script('/good', []));
    await subscribe(receiver.script('/promotions-only', []), { events: ['model.promoted'] });

    const result = await notify(deps, finishedEvent(START));

    expect(result.targets.map((t) => t.outcome).sort()).toEqual(['dead-lettered', 'delivered']);
    expect(receiver.at('/promotions-only')).toHaveLength(0);
  });

  it('refuses a subscriber URL on a private address without the allow-list, as a dead letter', async () => {
    await subscribe(receiver.script('/not-allowed', []));
    const strict = { ...deps, send: webhookSender({ timeoutMs: 2_000 }) };

    const result = await notify(strict, finishedEvent(START));

    expect(result.targets[0]).toMatchObject({ outcome: 'dead-lettered', attempts: 1, error: expect.stringMatching(/loopback/) });
    expect(receiver.at('/not-allowed')).toHaveLength(0);
  });

  it('handles an EventBridge delivery of our event end to end (the notify function body)', async () => {
    const subscription = await subscribe(receiver.script('/from-bus', []));
    const event = finishedEvent();

    const outcome = await handleNotifyEvent(deps, { ...toEnvelope(event), id: 'eventbridge-delivery-id' });

    expect(outcome).toMatchObject({ outcome: 'applied', jobId: event.subject });
    const request = receiver.at('/from-bus')[0] as Received;
    expect(request.headers['webhook-id']).toBe(event.id);
    expect(payloadOf(subscription.secret, request)).toEqual({ type: 'tunewire.job.finished', timestamp: event.time, data: event.detail });
  });

  it('handles a retry-queue batch: due tickets attempted, a malformed one dropped', async () => {
    await subscribe(receiver.script('/from-queue', [{ status: 503 }]));
    await notify(deps, finishedEvent(START));
    const { ticket, dueAt } = scheduler.last();
    clock.set(dueAt);
    const record = (messageId: string, body: string) => ({ messageId, body, eventSource: 'aws:sqs', receiptHandle: 'r', attributes: {} });

    const result = await handleRetryBatch(deps, { Records: [record('m1', JSON.stringify(ticket)), record('m2', '{"nope":1}')] });

    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes).toEqual([expect.objectContaining({ outcome: 'delivered' }), expect.objectContaining({ outcome: 'rejected' })]);
  });

  it('rejects an envelope that is not one of our events', async () => {
    const outcome = await handleNotifyEvent(deps, { id: 'x', source: 'aws.sagemaker', 'detail-type': 'SageMaker Training Job State Change', detail: {} });
    expect(outcome.outcome).toBe('rejected');
  });
});

describe('DynamoDbWebhookStore', () => {
  let store: DynamoDbWebhookStore;

  beforeEach(async () => {
    const { client, tableName } = await freshLedger('webhook-store');
    store = new DynamoDbWebhookStore({ client, tableName });
  });

  const subscription = (id: string): Subscription => ({ id, url: 'https://hooks.example.com/x', events: ['job.finished'], secret: newWebhookSecret(), enabled: true, createdAt: '2025-01-01T00:00:00.000Z' });

  it('creates, reads, lists, disables, re-enables and deletes a subscription', async () => {
    await store.putSubscription(subscription('sub_a'));
    await store.putSubscription(subscription('sub_b'));
    expect(await store.getSubscription('sub_a')).toMatchObject({ id: 'sub_a', events: ['job.finished'], enabled: true });
    expect((await store.listSubscriptions()).map((s) => s.id)).toEqual(['sub_a', 'sub_b']);

    expect(await store.setSubscriptionEnabled('sub_a', false, '410 Gone')).toBe(true);
    expect(await store.getSubscription('sub_a')).toMatchObject({ enabled: false, disabledReason: '410 Gone' });
    expect((await store.listSubscriptions())[0]).toMatchObject({ enabled: false, disabledReason: '410 Gone' });
    expect(await store.setSubscriptionEnabled('sub_a', true)).toBe(true);
    expect(await store.getSubscription('sub_a')).not.toHaveProperty('disabledReason');

    expect(await store.deleteSubscription('sub_a')).toBe(true);
    expect(await store.deleteSubscription('sub_a')).toBe(false);
    expect(await store.getSubscription('sub_a')).toBeUndefined();
    expect((await store.listSubscriptions()).map((s) => s.id)).toEqual(['sub_b']);
  });

  it('refuses a second subscription with the same id, and updates of a missing one', async () => {
    await store.putSubscription(subscription('sub_a'));
    await expect(store.putSubscription(subscription('sub_a'))).rejects.toBeInstanceOf(SubscriptionExistsError);
    expect(await store.setSubscriptionEnabled('sub_missing', false, 'x')).toBe(false);
    expect(await store.listSubscriptions()).toHaveLength(1);
  });

  it('records a dead letter once, lists it per subscription and overall, oldest first, and deletes it', async () => {
    const event = makeEvent('job.finished', eventIds.finished('job-1'), 'job-1', { jobId: 'job-1', name: 'n', provider: 'local', status: 'failed' }, new Date('2025-01-01T00:00:00Z'));
    const letter = { subscriptionId: 'sub_a', url: 'https://hooks.example.com/x', eventId: event.id, event, attempts: 6, lastError: 'HTTP 503', at: '2025-01-02T00:00:00.000Z' };
    await store.recordDeadLetter(letter);
    await store.recordDeadLetter(letter);
    await store.recordDeadLetter({ ...letter, subscriptionId: 'spec:job-1', at: '2025-01-01T00:00:00.000Z' });

    expect(await store.listDeadLetters({ subscriptionId: 'sub_a' })).toEqual([letter]);
    expect((await store.listDeadLetters()).map((l) => l.subscriptionId)).toEqual(['spec:job-1', 'sub_a']);
    expect(await store.deleteDeadLetter(letter)).toBe(true);
    expect(await store.deleteDeadLetter(letter)).toBe(false);
    expect((await store.listDeadLetters()).map((l) => l.subscriptionId)).toEqual(['spec:job-1']);
  });
});

describe('addSubscription', () => {
  it('refuses bad input field by field and writes nothing', async () => {
    const { client, tableName } = await freshLedger('webhook-admin');
    const store = new DynamoDbWebhookStore({ client, tableName });
    const error = await addSubscription({ store, clock: systemClock }, { url: 'ftp://x.example/', events: ['job.exploded'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubscriptionValidationError);
    expect((error as SubscriptionValidationError).issues.map((i) => i.path).sort()).toEqual(['events[0]', 'url']);
    expect(await store.listSubscriptions()).toEqual([]);

    const added = await addSubscription({ store, clock: systemClock }, { url: 'https://hooks.example.com/t', events: ['job.finished'] });
    expect(added.secret).toMatch(/^whsec_/);
    expect(subscriptionView(added)).not.toHaveProperty('secret');
    await removeSubscription({ store }, added.id);
    await expect(removeSubscription({ store }, added.id)).rejects.toBeInstanceOf(SubscriptionNotFoundError);
  });

  it('refuses a URL with a user name or password as a url field error that does not repeat them, and writes nothing', async () => {
    const { client, tableName } = await freshLedger('webhook-userinfo');
    const store = new DynamoDbWebhookStore({ client, tableName });
    for (const url of ['https://user:s3cret@hooks.example.com/t', 'https://user@hooks.example.com/t', 'https://@hooks.example.com/t']) {
      const error = await addSubscription({ store, clock: systemClock }, { url }).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(SubscriptionValidationError);
      expect((error as SubscriptionValidationError).issues, url).toEqual([{ path: 'url', message: expect.stringMatching(/user name or password/) }]);
      expect((error as SubscriptionValidationError).message).not.toMatch(/s3cret|user@/);
    }
    expect(await store.listSubscriptions()).toEqual([]);
  });
});

describe('subscriptionView', () => {
  it('shows scheme and host only, no secret and no header value', () => {
    const stored: Subscription = {
      id: 'sub_a',
      url: 'https://user:s3cret@hooks.example.com:8443/services/T0/B0/XXXX?token=1',
      events: ['*'],
      secret: newWebhookSecret(),
      previousSecret: newWebhookSecret(),
      previousSecretExpiresAt: '2025-01-02T00:00:00.000Z',
      headers: { Authorization: 'Bearer t0ken' },
      format: 'slack',
      enabled: true,
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    expect(subscriptionView(stored)).toEqual({
      id: 'sub_a',
      url: 'https://hooks.example.com:8443/…',
      events: ['*'],
      format: 'slack',
      headers: ['Authorization'],
      enabled: true,
      previousSecretExpiresAt: '2025-01-02T00:00:00.000Z',
      createdAt: '2025-01-01T00:00:00.000Z',
    });
    expect(JSON.stringify(subscriptionView(stored))).not.toMatch(/whsec_|t0ken|s3cret|XXXX|token/);
  });
});
