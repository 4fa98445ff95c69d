import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toEnvelope } from '../../../shared/adapters/bus/local-bus';
import { DynamoDbWebhookStore } from '../../../shared/adapters/dynamodb/dynamodb-webhook-store';
import { webhookSender } from '../../../shared/adapters/webhooks/webhook-sender';
import { eventIds, makeEvent, type AnyTunewireEvent } from '../../../shared/domain/events';
import { handleNotifyEvent } from '../../../shared/edge/notify-events';
import { systemClock } from '../../../shared/ports/clock';
import { newSubscriptionId, newWebhookSecret, SubscriptionExistsError, SubscriptionNotFoundError, type Subscription } from '../../../shared/ports/webhooks';
import { addSubscription, removeSubscription, subscriptionView, SubscriptionValidationError } from '../../../shared/use-cases/manage-webhooks';
import { ABANDONED_DELIVERY, notify, replayDeadLetters, specSubscriptionId, type NotifyDependencies } from '../../../shared/use-cases/notify';
import type { DeadLetter } from '../../../shared/ports/webhooks';
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

function verify(secret: string, request: Received): unknown {
  const headers = Object.fromEntries(Object.entries(request.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return new Webhook(secret).verify(request.body, headers);
}

let counter = 0;
function finishedEvent(): AnyTunewireEvent {
  const jobId = `job-${++counter}-${Date.now()}`;
  return makeEvent('job.finished', eventIds.finished(jobId), jobId, { jobId, name: 'churn-xgb', provider: 'local', status: 'succeeded' }, new Date());
}

describe('notify (webhooks)', () => {
  const receiver = new Receiver();
  let store: DynamoDbWebhookStore;
  let delays: number[];
  let deps: NotifyDependencies;

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(() => receiver.stop());

  beforeEach(async () => {
    const { client, tableName } = await freshLedger('webhooks');
    store = new DynamoDbWebhookStore({ client, tableName });
    delays = [];
    deps = {
      store,
      send: webhookSender({ allow: ['127.0.0.1'], timeoutMs: 2_000 }),
      clock: systemClock,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
    };
  });

  async function subscribe(url: string, events: Subscription['events'] = ['*']): Promise<Subscription> {
    const subscription: Subscription = { id: newSubscriptionId(), url, events, secret: newWebhookSecret(), enabled: true, createdAt: new Date().toISOString() };
    await store.putSubscription(subscription);
    return subscription;
  }

  it('retries a 500 after backoff and a 429 after its Retry-After, then delivers once, signed', async () => {
    const url = receiver.script('/flaky', [{ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }]);
    const subscription = await subscribe(url);
    const event = finishedEvent();

    const result = await notify(deps, event);

    expect(result.targets).toEqual([expect.objectContaining({ subscriptionId: subscription.id, outcome: 'delivered', attempts: 3, status: 200 })]);
    // full jitter with random() = 0.5 over 1 s, then the receiver's Retry-After of 1 s exactly
    expect(delays).toEqual([500, 1_000]);
    const requests = receiver.at('/flaky');
    expect(requests).toHaveLength(3);
    for (const request of requests) {
      expect(verify(subscription.secret, request)).toEqual({ type: 'tunewire.job.finished', timestamp: event.time, data: event.detail });
      expect(request.headers['webhook-id']).toBe(event.id);
    }
    expect(await store.listDeadLetters()).toEqual([]);
  });

  it('disables the subscription on 410 Gone and stops trying', async () => {
    const subscription = await subscribe(receiver.script('/gone', [{ status: 410 }]));

    const result = await notify(deps, finishedEvent());

    expect(result.targets[0]).toMatchObject({ outcome: 'disabled', attempts: 1, status: 410 });
    expect(await store.getSubscription(subscription.id)).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/^410 Gone/) });
    expect(await store.listDeadLetters()).toEqual([]);
    // disabled subscriptions get nothing more
    expect((await notify(deps, finishedEvent())).targets).toEqual([]);
    expect(receiver.at('/gone')).toHaveLength(1);
  });

  it('treats a 302 as a failure and never follows it, not even to an allowed address', async () => {
    const followedPath = '/redirect-target';
    await subscribe(receiver.script('/redirect-private', [{ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } }]));
    await subscribe(receiver.script('/redirect-local', [{ status: 302, headers: { location: `${receiver.origin}${followedPath}` } }]));

    const result = await notify(deps, finishedEvent());

    expect(result.targets).toHaveLength(2);
    for (const target of result.targets) expect(target).toMatchObject({ outcome: 'dead-lettered', attempts: 1, status: 302, error: expect.stringMatching(/redirect .* not followed/) });
    expect(receiver.at(followedPath)).toHaveLength(0);
    expect(delays).toEqual([]);
  });

  it('records a dead letter after the last attempt, and a replay delivers it and removes it', async () => {
    const url = receiver.script('/down', [{ status: 503 }, { status: 503 }, { status: 503 }]);
    const subscription = await subscribe(url);
    const event = finishedEvent();
    const three = { ...deps, retry: { maxAttempts: 3 } };

    const result = await notify(three, event);

    expect(result.targets[0]).toMatchObject({ outcome: 'dead-lettered', attempts: 3, status: 503 });
    expect(delays).toEqual([500, 1_000]); // 0.5 x 1 s, 0.5 x 2 s
    const [letter, ...more] = await store.listDeadLetters();
    expect(more).toEqual([]);
    expect(letter).toMatchObject({ subscriptionId: subscription.id, url, eventId: event.id, attempts: 3, lastError: expect.stringMatching(/^HTTP 503/), event });
    expect(await store.listDeadLetters({ subscriptionId: subscription.id })).toHaveLength(1);

    // the receiver is back (the script is used up: 200 from now on)
    const replayed = await replayDeadLetters(three, { subscriptionId: subscription.id });

    expect(replayed).toEqual([expect.objectContaining({ subscriptionId: subscription.id, eventId: event.id, outcome: 'delivered' })]);
    expect(await store.listDeadLetters()).toEqual([]);
    const last = receiver.at('/down').at(-1) as Received;
    expect(verify(subscription.secret, last)).toMatchObject({ data: event.detail });
    expect(last.headers['webhook-id']).toBe(event.id);
  });

  it('stops retrying on shutdown and records the delivery as a dead letter a replay sends', async () => {
    const url = receiver.script('/shutdown', [{ status: 503 }]);
    const subscription = await subscribe(url);
    const event = finishedEvent();
    const stop = new AbortController();
    const abandoned: DeadLetter[] = [];
    // the back-off never ends by itself: only the shutdown gets the delivery out of it
    const stopping = { ...deps, sleep: () => new Promise<void>(() => undefined), shutdown: { signal: stop.signal, onAbandoned: (l: DeadLetter) => void abandoned.push(l) } };

    const pending = notify(stopping, event);
    await new Promise<void>((resolve) => {
      const check = () => (receiver.at('/shutdown').length > 0 ? resolve() : setImmediate(check));
      check();
    });
    stop.abort();
    const result = await pending;

    expect(result.targets[0]).toMatchObject({ outcome: 'dead-lettered', attempts: 1, status: 503, error: expect.stringContaining(ABANDONED_DELIVERY) });
    expect(abandoned).toHaveLength(1);
    expect(await store.listDeadLetters()).toEqual([expect.objectContaining({ subscriptionId: subscription.id, eventId: event.id, attempts: 1, lastError: expect.stringContaining('HTTP 503') })]);
    // after the shutdown nothing more is sent, not even a first attempt
    const later = await notify(stopping, finishedEvent());
    expect(later.targets[0]).toMatchObject({ outcome: 'dead-lettered', attempts: 0 });
    expect(receiver.at('/shutdown')).toHaveLength(1);

    expect((await replayDeadLetters(deps)).map((r) => r.outcome)).toEqual(['delivered', 'delivered']);
  });

  it('keeps a dead letter whose replay fails again, and skips one whose subscription is gone', async () => {
    const failing = await subscribe(receiver.script('/still-down', [{ status: 400 }, { status: 400 }]));
    const deleted = await subscribe(receiver.script('/deleted', [{ status: 400 }]));
    await notify(deps, finishedEvent());
    await store.deleteSubscription(deleted.id);

    const replayed = await replayDeadLetters(deps);

    expect(replayed.map((r) => [r.subscriptionId, r.outcome]).sort()).toEqual(
      [
        [failing.id, 'failed'],
        [deleted.id, 'skipped'],
      ].sort(),
    );
    expect(await store.listDeadLetters()).toHaveLength(2);
  });

  it('sends the same event twice with the same webhook-id', async () => {
    await subscribe(receiver.script('/twice', []));
    const event = finishedEvent();

    await notify(deps, event);
    await notify(deps, event);

    const ids = receiver.at('/twice').map((r) => r.headers['webhook-id']);
    expect(ids).toEqual([event.id, event.id]);
  });

  it('lets one bad receiver fail without touching the others, and honours the event filter', async () => {
    await subscribe(receiver.script('/bad', [{ status: 500 }, { status: 500 }]));
    await subscribe(receiver.script('/good', []));
    await subscribe(receiver.script('/promotions-only', []), ['model.promoted']);

    const result = await notify({ ...deps, retry: { maxAttempts: 2 } }, finishedEvent());

    expect(result.targets.map((t) => t.outcome).sort()).toEqual(['dead-lettered', 'delivered']);
    expect(receiver.at('/promotions-only')).toHaveLength(0);
  });

  it('refuses a subscriber URL on a private address without the allow-list, as a dead letter', async () => {
    await subscribe(receiver.script('/not-allowed', []));
    const strict = { ...deps, send: webhookSender({ timeoutMs: 2_000 }) };

    const result = await notify(strict, finishedEvent());

    expect(result.targets[0]).toMatchObject({ outcome: 'dead-lettered', attempts: 1, error: expect.stringMatching(/loopback/) });
    expect(receiver.at('/not-allowed')).toHaveLength(0);
  });

  it("delivers to the job spec's own notify targets, signed with the spec secret", async () => {
    const url = receiver.script('/spec-target', []);
    const specSecret = newWebhookSecret();
    const event = finishedEvent();
    const withSpec: NotifyDependencies = {
      ...deps,
      specSecret,
      specNotifyTargets: async () => [
        { url, events: ['job.finished'] },
        { url: receiver.script('/spec-other', []), events: ['model.promoted'] },
      ],
    };

    const result = await notify(withSpec, event);

    expect(result.targets).toEqual([expect.objectContaining({ subscriptionId: specSubscriptionId(event.subject), outcome: 'delivered' })]);
    expect(verify(specSecret, receiver.at('/spec-target')[0] as Received)).toMatchObject({ type: 'tunewire.job.finished' });
    expect(receiver.at('/spec-other')).toHaveLength(0);
  });

  it('handles an EventBridge delivery of our event end to end (the notify function body)', async () => {
    const subscription = await subscribe(receiver.script('/from-bus', []));
    const event = finishedEvent();

    const outcome = await handleNotifyEvent(deps, { ...toEnvelope(event), id: 'eventbridge-delivery-id' });

    expect(outcome).toMatchObject({ outcome: 'applied', jobId: event.subject });
    const request = receiver.at('/from-bus')[0] as Received;
    expect(request.headers['webhook-id']).toBe(event.id);
    expect(verify(subscription.secret, request)).toEqual({ type: 'tunewire.job.finished', timestamp: event.time, data: event.detail });
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
  it('shows a URL stored with credentials (before they were refused) redacted', () => {
    const stored: Subscription = { id: 'sub_a', url: 'https://user:s3cret@hooks.example.com/t?x=1', events: ['*'], secret: newWebhookSecret(), enabled: true, createdAt: '2025-01-01T00:00:00.000Z' };
    expect(subscriptionView(stored)).toEqual({ id: 'sub_a', url: 'https://***@hooks.example.com/t?x=1', events: ['*'], enabled: true, createdAt: '2025-01-01T00:00:00.000Z' });
  });
});
