import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BusPublishError } from '../../../shared/adapters/bus/bus-errors';
import {
  ENTRY_TOO_LARGE,
  EventBridgeBus,
  PUT_EVENTS_MAX_BYTES,
  putEventsEntrySize,
  toPutEventsEntries,
} from '../../../shared/adapters/bus/eventbridge-bus';
import { eventIds, makeEvent, type AnyTunewireEvent } from '../../../shared/domain/events';
import { FakeEventBridge } from '../../support/fake-eventbridge';

const NOW = new Date('2025-03-01T12:00:00.000Z');

function trialEvent(n: number, extra: Record<string, string> = {}): AnyTunewireEvent {
  const trialId = `trial-${String(n).padStart(3, '0')}`;
  return makeEvent(
    'trial.finished',
    eventIds.trialFinished('job-1', trialId),
    'job-1',
    {
      jobId: 'job-1',
      name: 'churn-xgb',
      provider: 'sagemaker',
      trial: { trialId, status: 'succeeded', hyperparameters: { eta: '0.1', ...extra }, objectiveValue: n / 100, stoppedEarly: false },
    },
    NOW,
  );
}

const trialEvents = (count: number) => Array.from({ length: count }, (_, i) => trialEvent(i + 1));

describe('EventBridgeBus', () => {
  const fake = new FakeEventBridge();
  let client: EventBridgeClient;
  const sleeps: number[] = [];

  // The SDK's own retries are off so that each test sees exactly the requests the bus makes.
  const busWith = (options: { maxAttempts?: number } = {}) =>
    new EventBridgeBus({
      client,
      eventBusName: 'tunewire-test',
      sleep: async (ms) => void sleeps.push(ms),
      ...options,
    });

  beforeAll(async () => {
    await fake.start();
    client = new EventBridgeClient({
      endpoint: fake.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    sleeps.length = 0;
  });

  it('sends 25 events as 3 PutEvents requests of at most 10 entries', async () => {
    await busWith().publish(trialEvents(25));

    expect(fake.requests.map((r) => r.entries.length)).toEqual([10, 10, 5]);
    expect(fake.requests.every((r) => r.target === 'AWSEvents.PutEvents' && r.contentType === 'application/x-amz-json-1.1')).toBe(true);
    expect(fake.entries.map((e) => (JSON.parse(e.Detail ?? '{}') as { eventId: string }).eventId)).toEqual(trialEvents(25).map((e) => e.id));
    expect(sleeps).toEqual([]);
  });

  it('carries our deterministic id in the detail as eventId, with source, detail-type, time and bus', async () => {
    const event = trialEvent(7);
    await busWith().publish([event]);

    const [entry] = fake.entries;
    expect(entry).toMatchObject({
      Source: 'tunewire',
      DetailType: 'Tuning Trial Finished',
      EventBusName: 'tunewire-test',
      Time: NOW.getTime() / 1000,
    });
    expect(entry?.Resources ?? []).toEqual([]);
    expect(JSON.parse(entry?.Detail ?? '{}')).toEqual({ ...event.detail, eventId: 'job-1:trial:trial-007', subject: 'job-1' });
  });

  it('uses the source option when given', async () => {
    await new EventBridgeBus({ client, eventBusName: 'tunewire-test', source: 'tunewire.staging' }).publish([trialEvent(1)]);
    expect(fake.entries[0]?.Source).toBe('tunewire.staging');
  });

  it('resends only the failed entries, matched by index, then succeeds', async () => {
    const failing = new Set(['job-1:trial:trial-003', 'job-1:trial:trial-012']);
    fake.failEntries({ match: (detail) => failing.has(String(detail.eventId)), times: 2, errorCode: 'ThrottlingException' });

    await busWith().publish(trialEvents(12));

    const idsPerRequest = fake.requests.map((r) => r.entries.map((e) => (JSON.parse(e.Detail ?? '{}') as { eventId: string }).eventId));
    expect(idsPerRequest.map((ids) => ids.length)).toEqual([10, 2, 2, 2]);
    expect(idsPerRequest.slice(2)).toEqual([[...failing], [...failing]]);
    expect(sleeps).toHaveLength(2);
  });

  it('backs off exponentially with full jitter between attempts', async () => {
    fake.failEntries({ match: () => true, times: Infinity });
    const bus = new EventBridgeBus({ client, eventBusName: 'tunewire-test', maxAttempts: 4, baseDelayMs: 100, random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) });

    await expect(bus.publish([trialEvent(1)])).rejects.toBeInstanceOf(BusPublishError);
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('throws BusPublishError naming the ids still failing after maxAttempts', async () => {
    fake.failEntries({ match: (detail) => detail.eventId === 'job-1:trial:trial-002', times: Infinity, errorMessage: 'still broken' });

    const error = await busWith({ maxAttempts: 3 }).publish(trialEvents(5)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BusPublishError);
    const failure = error as BusPublishError;
    expect(failure.code).toBe('BUS.PUBLISH_FAILED');
    expect(failure.retryable).toBe(true);
    expect(failure.eventIds).toEqual(['job-1:trial:trial-002']);
    expect(failure.failures).toEqual([{ eventId: 'job-1:trial:trial-002', code: 'InternalFailure', message: 'still broken', retryable: true }]);
    expect(fake.requests.map((r) => r.entries.length)).toEqual([5, 1, 1]);
  });

  it('does not resend entries that failed for a reason AWS calls final', async () => {
    fake.failEntries({ match: (detail) => detail.eventId === 'job-1:trial:trial-001', times: Infinity, errorCode: 'MalformedDetail' });

    const error = await busWith().publish(trialEvents(2)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BusPublishError);
    expect((error as BusPublishError).retryable).toBe(false);
    expect((error as BusPublishError).eventIds).toEqual(['job-1:trial:trial-001']);
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a throttled request as a whole, then succeeds', async () => {
    fake.failRequests(2);

    await busWith().publish(trialEvents(3));

    expect(fake.requests.map((r) => r.entries.length)).toEqual([3, 3, 3]);
    expect(sleeps).toHaveLength(2);
  });

  it('reports a request throttled on every attempt as retryable, with the SDK error as cause', async () => {
    fake.failRequests(Infinity);

    const error = await busWith({ maxAttempts: 2 }).publish(trialEvents(2)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BusPublishError);
    const failure = error as BusPublishError;
    expect(failure.retryable).toBe(true);
    expect(failure.failures.map((f) => f.code)).toEqual(['ThrottlingException', 'ThrottlingException']);
    expect((failure.cause as Error).name).toBe('ThrottlingException');
    expect(fake.requests).toHaveLength(2);
  });

  it('does not retry a request the service refuses for good', async () => {
    fake.failRequests(Infinity, 'ResourceNotFoundException', 'Event bus tunewire-test does not exist.');

    const error = await busWith().publish(trialEvents(1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BusPublishError);
    expect((error as BusPublishError).retryable).toBe(false);
    expect((error as BusPublishError).failures[0]?.code).toBe('ResourceNotFoundException');
    expect(fake.requests).toHaveLength(1);
  });

  it('sends a trial too large for an entry by claim-check: without its hyperparameters, pointing at the ledger', async () => {
    const huge = trialEvent(2, { blob: 'x'.repeat(PUT_EVENTS_MAX_BYTES) });
    await busWith().publish([huge]);
    const [entry] = fake.entries;
    expect(putEventsEntrySize(entry as never)).toBeLessThan(PUT_EVENTS_MAX_BYTES);
    expect(JSON.parse(entry?.Detail ?? '{}')).toMatchObject({ eventId: huge.id, claimCheck: { trials: '/jobs/job-1/trials' }, trial: { trialId: 'trial-002', hyperparameters: {} } });
  });

  it('refuses an entry over 256 KB that has no trial to slim, without sending it, and sends the others', async () => {
    const huge = makeEvent('model.promotion_skipped', 'job-1:promotion:churn', 'job-1', { jobId: 'job-1', name: 'churn-xgb', provider: 'sagemaker', model: 'churn', reason: 'x'.repeat(PUT_EVENTS_MAX_BYTES) }, NOW);

    const error = await busWith().publish([trialEvent(1), huge, trialEvent(3)]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BusPublishError);
    const failure = error as BusPublishError;
    expect(failure.retryable).toBe(false);
    expect(failure.failures).toEqual([expect.objectContaining({ eventId: huge.id, code: ENTRY_TOO_LARGE, retryable: false })]);
    expect(fake.entries.map((e) => (JSON.parse(e.Detail ?? '{}') as { eventId: string }).eventId)).toEqual([trialEvent(1).id, trialEvent(3).id]);
  });

  it('splits requests so that none exceeds 256 KB', async () => {
    // Three entries of ~100 KB: two fit in one request, the third needs another.
    const events = [1, 2, 3].map((n) => trialEvent(n, { blob: 'y'.repeat(100 * 1024) }));
    const sizes = toPutEventsEntries(events, { eventBusName: 'tunewire-test' }).map(putEventsEntrySize);
    expect(sizes[0]! + sizes[1]!).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
    expect(sizes[0]! + sizes[1]! + sizes[2]!).toBeGreaterThan(PUT_EVENTS_MAX_BYTES);

    await busWith().publish(events);

    expect(fake.requests.map((r) => r.entries.length)).toEqual([2, 1]);
  });

  it('does nothing for no events', async () => {
    await busWith().publish([]);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('putEventsEntrySize', () => {
  it('counts Time as 14 bytes and the strings as UTF-8 bytes', () => {
    expect(putEventsEntrySize({ Time: NOW, Source: 'tunewire', DetailType: 'Ü', Detail: '{"a":"€"}', Resources: ['arn:x'] })).toBe(
      14 + 8 + 2 + 11 + 5,
    );
    expect(putEventsEntrySize({ Source: 's', DetailType: 'd' })).toBe(2);
  });
});
