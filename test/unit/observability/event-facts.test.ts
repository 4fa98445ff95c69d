import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toPubSubMessage } from '../../../shared/adapters/bus/pubsub-bus';
import { makeEvent } from '../../../shared/domain/events';
import { eventFacts, eventLagMs } from '../../../shared/observability/event-facts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('eventFacts', () => {
  it('reads id, time and the job id (detail.jobId) from an EventBridge event', () => {
    expect(eventFacts({ id: 'e-1', time: '2026-01-01T00:00:00Z', source: 'tunewire', detail: { jobId: 'churn-1' } })).toEqual({
      eventId: 'e-1',
      eventTime: '2026-01-01T00:00:00Z',
      jobId: 'churn-1',
    });
  });

  it('has no job id for a provider event: the use case finds it', () => {
    const event = JSON.parse(readFileSync(join(ROOT, 'events/sagemaker/tuning-job-state-change.completed.json'), 'utf8')) as { id: string };
    const facts = eventFacts(event);
    expect(facts.eventId).toBe(event.id);
    expect(facts.jobId).toBeUndefined();
  });

  it('reads our CloudEvent attributes from a Pub/Sub push body', () => {
    const event = makeEvent('job.finished', 'churn-1:finished', 'churn-1', { jobId: 'churn-1', name: 'churn', provider: 'vertex', status: 'succeeded' }, new Date('2026-01-01T00:00:00Z'));
    const { data, attributes } = toPubSubMessage(event);
    const push = { message: { messageId: '99', publishTime: '2026-01-01T00:00:01Z', data: data.toString('base64'), attributes }, subscription: 'projects/p/subscriptions/s' };
    expect(eventFacts(push)).toEqual({ eventId: 'churn-1:finished', eventTime: '2026-01-01T00:00:00.000Z', jobId: 'churn-1' });
  });

  it('falls back to the Pub/Sub message id and publish time', () => {
    expect(eventFacts({ message: { messageId: '99', publishTime: '2026-01-01T00:00:01Z', data: '' } })).toEqual({ eventId: '99', eventTime: '2026-01-01T00:00:01Z' });
  });

  it('reads nothing from what is not an event', () => {
    for (const junk of [undefined, null, 'text', 42, [], { detail: 'x' }]) expect(eventFacts(junk)).toEqual({});
  });
});

describe('eventLagMs', () => {
  it('is the time from the event to handled, never negative', () => {
    const handledAt = Date.parse('2026-01-01T00:00:02.500Z');
    expect(eventLagMs({ eventTime: '2026-01-01T00:00:00Z' }, handledAt)).toBe(2500);
    expect(eventLagMs({ eventTime: '2026-01-01T00:00:09Z' }, handledAt)).toBe(0);
  });

  it('is undefined without a readable time', () => {
    expect(eventLagMs({}, 0)).toBeUndefined();
    expect(eventLagMs({ eventTime: 'yesterday' }, 0)).toBeUndefined();
  });
});
