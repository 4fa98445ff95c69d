import { randomUUID } from 'node:crypto';
import { PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BusPublishError } from '../../../shared/adapters/bus/bus-errors';
import { MESSAGE_TOO_LARGE, PubSubBus, fromPubSubMessage, toPubSubMessage } from '../../../shared/adapters/bus/pubsub-bus';
import { EventValidationError } from '../../../shared/domain/errors';
import { eventIds, makeEvent, type AnyTunewireEvent } from '../../../shared/domain/events';

const NOW = new Date('2025-03-01T12:00:00.000Z');

function trialEvent(n: number): AnyTunewireEvent {
  const trialId = `trial-${String(n).padStart(3, '0')}`;
  return makeEvent(
    'trial.finished',
    eventIds.trialFinished('job-1', trialId),
    'job-1',
    {
      jobId: 'job-1',
      name: 'churn-xgb',
      provider: 'vertex',
      trial: { trialId, status: 'succeeded', hyperparameters: { eta: '0.1' }, objectiveValue: n / 1000, stoppedEarly: false },
    },
    NOW,
  );
}

const someEvents: AnyTunewireEvent[] = [
  makeEvent('job.submitted', eventIds.submitted('job-1'), 'job-1', { jobId: 'job-1', name: 'churn-xgb', provider: 'vertex', status: 'pending', adopted: false }, NOW),
  trialEvent(1),
  makeEvent('retune.requested', eventIds.retune('churn', '2025-03-01'), 'churn', { template: 'churn', reason: 'schedule' }, NOW),
];

/** Collects messages until `count` distinct ce-ids have arrived (delivery is at-least-once). */
function receive(subscription: Subscription, count: number, timeoutMs = 15_000): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const byId = new Map<string, Message>();
    const done = (outcome: () => void) => {
      clearTimeout(timer);
      subscription.removeListener('message', onMessage);
      subscription.removeListener('error', onError);
      outcome();
    };
    const onMessage = (message: Message) => {
      message.ack();
      byId.set(message.attributes['ce-id'] ?? message.id, message);
      if (byId.size >= count) done(() => resolve([...byId.values()]));
    };
    const onError = (error: Error) => done(() => reject(error));
    const timer = setTimeout(() => done(() => reject(new Error(`received ${byId.size} of ${count} messages`))), timeoutMs);
    subscription.on('message', onMessage);
    subscription.on('error', onError);
  });
}

// The Pub/Sub emulator (google-cloud-cli) is started by test/global-setup.ts; on a machine
// without it the host is null and these tests are skipped rather than failed.
const host = inject('pubsubEmulatorHost');

describe.skipIf(!host)('PubSubBus (Pub/Sub emulator)', () => {
  let pubsub: PubSub;
  const created: { topics: Topic[]; subscriptions: Subscription[] } = { topics: [], subscriptions: [] };

  async function topicWithSubscription(): Promise<{ topicName: string; subscription: Subscription }> {
    const topicName = `tunewire-bus-${randomUUID()}`;
    const [topic] = await pubsub.createTopic(topicName);
    const [subscription] = await topic.createSubscription(`${topicName}-pull`);
    created.topics.push(topic);
    created.subscriptions.push(subscription);
    return { topicName, subscription };
  }

  beforeAll(() => {
    pubsub = new PubSub({ projectId: 'tunewire-test', apiEndpoint: host ?? '', emulatorMode: true });
  });
  afterAll(async () => {
    for (const subscription of created.subscriptions) {
      await subscription.close();
      await subscription.delete().catch(() => undefined);
    }
    for (const topic of created.topics) await topic.delete().catch(() => undefined);
    await pubsub.close();
  });

  it('publishes each event as a binary-mode CloudEvent that reads back as the same event', async () => {
    const { topicName, subscription } = await topicWithSubscription();

    await new PubSubBus({ pubsub, topic: topicName }).publish(someEvents);
    const messages = await receive(subscription, someEvents.length);

    const byId = new Map(messages.map((m) => [m.attributes['ce-id'], m]));
    for (const event of someEvents) {
      const message = byId.get(event.id);
      expect(message?.attributes).toEqual({
        'ce-specversion': '1.0',
        'ce-id': event.id,
        'ce-type': `tunewire.${event.kind}`,
        'ce-source': 'tunewire',
        'ce-subject': event.subject,
        'ce-time': '2025-03-01T12:00:00.000Z',
        'content-type': 'application/json',
      });
      expect(JSON.parse(message?.data.toString('utf8') ?? '')).toEqual(event.detail);
      expect(fromPubSubMessage({ data: message?.data ?? '', attributes: message?.attributes ?? {} })).toEqual(event);
    }
  });

  it('publishes 200 events and all of them arrive', async () => {
    const { topicName, subscription } = await topicWithSubscription();
    const events = Array.from({ length: 200 }, (_, i) => trialEvent(i + 1));

    await new PubSubBus({ pubsub, topic: topicName, source: 'tunewire.test' }).publish(events);
    const messages = await receive(subscription, events.length);

    expect(new Set(messages.map((m) => m.attributes['ce-id']))).toEqual(new Set(events.map((e) => e.id)));
    expect(messages.every((m) => m.attributes['ce-source'] === 'tunewire.test')).toBe(true);
  });

  it('refuses a message Pub/Sub would reject and still publishes the others', async () => {
    const { topicName, subscription } = await topicWithSubscription();
    const tooLong = makeEvent('retune.requested', eventIds.retune('churn', 'x'), 's'.repeat(2000), { template: 'churn', reason: 'test' }, NOW);

    const error = await new PubSubBus({ pubsub, topic: topicName }).publish([trialEvent(1), tooLong]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BusPublishError);
    expect((error as BusPublishError).retryable).toBe(false);
    expect((error as BusPublishError).failures).toEqual([expect.objectContaining({ eventId: tooLong.id, code: MESSAGE_TOO_LARGE })]);
    const [message] = await receive(subscription, 1);
    expect(message?.attributes['ce-id']).toBe(trialEvent(1).id);
  });

  it('names every event when the topic does not exist', async () => {
    const error = await new PubSubBus({ pubsub, topic: `missing-${randomUUID()}` }).publish(someEvents).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BusPublishError);
    const failure = error as BusPublishError;
    expect(failure.eventIds).toEqual(someEvents.map((e) => e.id));
    expect(failure.failures.every((f) => f.code === 'NOT_FOUND' && !f.retryable)).toBe(true);
    expect(failure.retryable).toBe(false);
  });
});

describe('fromPubSubMessage', () => {
  const event = someEvents[0] as AnyTunewireEvent;

  it('reads base64 data, as a push envelope carries it', () => {
    const { data, attributes } = toPubSubMessage(event);
    expect(fromPubSubMessage({ data: data.toString('base64'), attributes })).toEqual(event);
    expect(fromPubSubMessage({ data: data.toString('utf8'), attributes })).toEqual(event);
  });

  it('refuses a ce-type outside the catalog, naming the attribute', () => {
    const { data, attributes } = toPubSubMessage(event);
    const read = () => fromPubSubMessage({ data, attributes: { ...attributes, 'ce-type': 'tunewire.job.exploded' } });
    expect(read).toThrow(EventValidationError);
    expect(read).toThrow(/attributes\.ce-type/);
  });

  it('refuses a message without ce-id or with data that is not a JSON object', () => {
    const { attributes } = toPubSubMessage(event);
    const { ['ce-id']: _dropped, ...withoutId } = attributes;
    expect(() => fromPubSubMessage({ data: Buffer.from('{}'), attributes: withoutId })).toThrow(/attributes\.ce-id: is required/);
    expect(() => fromPubSubMessage({ data: Buffer.from('[1]'), attributes })).toThrow(/data: must be a JSON object/);
  });
});
