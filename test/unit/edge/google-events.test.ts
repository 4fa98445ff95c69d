import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventValidationError } from '../../../shared/domain/errors';
import type { JobRecord } from '../../../shared/domain/job';
import { parseTransportEvent } from '../../../shared/edge/envelopes';
import {
  LOGGING_SOURCE,
  WATCHER_DETAIL_TYPE,
  WATCHER_SOURCE,
  googleWatcherJobEvent,
  isLoggingSinkPush,
  parseLoggingSinkPush,
  toWatcherMessage,
} from '../../../shared/edge/google-events';
import { EVENTS_DIR, loadEvent } from '../../support/fixtures';

const VERTEX_RESOURCE = 'projects/381726543210/locations/us-central1/hyperparameterTuningJobs/5385127743893422080';

/** A push body as Pub/Sub delivers `data` (any JSON value, or raw text). */
function push(data: unknown, attributes: Record<string, string> = {}) {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return { message: { data: Buffer.from(text).toString('base64'), attributes, messageId: '42' }, subscription: 'projects/p/subscriptions/s' };
}

function issuesOf(run: () => unknown): { path: string; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(EventValidationError);
    return [...(error as EventValidationError).issues];
  }
  throw new Error('expected an EventValidationError');
}

describe('events/gcp samples', () => {
  it('are all covered here', () => {
    expect(readdirSync(join(EVENTS_DIR, 'gcp')).sort()).toEqual([
      'push.cloudevent.job-finished.json',
      'push.logging-sink.mlengine.json',
      'push.logging-sink.vertex-audit.json',
      'push.logging-sink.vertex.json',
      'push.malformed.json',
      'push.watcher.mlengine-running.json',
      'push.watcher.vertex-succeeded.json',
    ]);
  });

  it('push.watcher.vertex-succeeded.json is a confirmed succeeded claim for the Vertex job', () => {
    const raw = loadEvent('gcp/push.watcher.vertex-succeeded.json');
    expect(isLoggingSinkPush(raw)).toBe(false);
    const { transport, envelope } = parseTransportEvent(raw);
    expect(transport).toBe('pubsub');
    expect([envelope.source, envelope['detail-type']]).toEqual([WATCHER_SOURCE, WATCHER_DETAIL_TYPE]);
    expect(googleWatcherJobEvent(envelope)).toEqual({
      provider: 'vertex',
      providerJobName: 'churn-vertex-4k2m9q7zta',
      eventId: 'vertex:churn-vertex-4k2m9q7zta:JOB_STATE_SUCCEEDED:2026-11-23T11:42:05.000Z',
      source: WATCHER_SOURCE,
      claimed: {
        status: 'succeeded',
        providerStatus: 'JOB_STATE_SUCCEEDED',
        observedAt: '2026-11-23T11:42:05.000Z',
        trialCounts: { succeeded: 18, failed: 1, stopped: 1 },
        providerBestTrialId: '14',
      },
      confirmed: true,
    });
  });

  it('push.watcher.mlengine-running.json is a confirmed running claim for the ML Engine job', () => {
    const { envelope } = parseTransportEvent(loadEvent('gcp/push.watcher.mlengine-running.json'));
    expect(googleWatcherJobEvent(envelope)).toEqual({
      provider: 'mlengine',
      providerJobName: 'census_mlengine_4k2m9q7zta',
      eventId: 'mlengine:census_mlengine_4k2m9q7zta:RUNNING:2026-11-23T10:15:00.000Z',
      source: WATCHER_SOURCE,
      claimed: { status: 'running', providerStatus: 'RUNNING', observedAt: '2026-11-23T10:15:00.000Z', trialCounts: { succeeded: 3, running: 2 } },
      confirmed: true,
    });
  });

  it('push.logging-sink.mlengine.json is a nudge for the ML Engine job, by its jobId', () => {
    const raw = loadEvent('gcp/push.logging-sink.mlengine.json');
    expect(isLoggingSinkPush(raw)).toBe(true);
    expect(parseLoggingSinkPush(raw)).toEqual({ provider: 'mlengine', providerJobName: 'census_mlengine_4k2m9q7zta', eventId: '1b2xk7qf5c8m3d', source: LOGGING_SOURCE });
  });

  it('push.logging-sink.vertex.json is a nudge for the Vertex job, by its numeric id', () => {
    const nudge = parseLoggingSinkPush(loadEvent('gcp/push.logging-sink.vertex.json'));
    expect(nudge).toEqual({ provider: 'vertex', providerJobName: '5385127743893422080', eventId: 'x9k3m2p7q1r5t', source: LOGGING_SOURCE });
    expect(nudge?.claimed).toBeUndefined();
  });

  it('push.logging-sink.vertex-audit.json is a nudge naming the Vertex job by its resource name', () => {
    expect(parseLoggingSinkPush(loadEvent('gcp/push.logging-sink.vertex-audit.json'))).toEqual({
      provider: 'vertex',
      providerJobName: '5385127743893422080',
      providerJobId: VERTEX_RESOURCE,
      eventId: '-q7w3e9r1t5y',
      source: LOGGING_SOURCE,
    });
  });

  it('push.cloudevent.job-finished.json reads as our own Tuning Job Finished', () => {
    const raw = loadEvent('gcp/push.cloudevent.job-finished.json');
    expect(parseLoggingSinkPush(raw)).toBeUndefined();
    const { envelope } = parseTransportEvent(raw);
    expect(envelope).toMatchObject({
      id: 'churn-vertex-4k2m9q7zta:finished',
      source: 'tunewire',
      'detail-type': 'Tuning Job Finished',
      detail: { eventId: 'churn-vertex-4k2m9q7zta:finished', subject: 'churn-vertex-4k2m9q7zta', jobId: 'churn-vertex-4k2m9q7zta', status: 'succeeded', model: 'churn' },
    });
  });

  it('push.malformed.json is refused naming message.data', () => {
    const raw = loadEvent('gcp/push.malformed.json');
    expect(isLoggingSinkPush(raw)).toBe(false);
    expect(parseLoggingSinkPush(raw)).toBeUndefined();
    expect(issuesOf(() => parseTransportEvent(raw, 'status-change event'))).toEqual([{ path: 'message.data', message: 'must be base64 of a JSON document' }]);
  });
});

describe('toWatcherMessage', () => {
  const job = { jobId: 'churn-vertex-4k2m9q7zta', provider: 'vertex', providerJobName: 'churn-vertex-4k2m9q7zta', providerJobId: VERTEX_RESOURCE } as JobRecord;
  const observation = { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: '2026-11-23T10:00:00.000Z' } as const;

  it('names what was seen in its id, so the same observation is the same delivery', () => {
    const a = toWatcherMessage(job, observation);
    const b = toWatcherMessage(job, { ...observation });
    expect(a.data.equals(b.data)).toBe(true);
    expect(a.attributes).toEqual({ provider: 'vertex', jobId: 'churn-vertex-4k2m9q7zta' });
    const { envelope } = parseTransportEvent(push(JSON.parse(a.data.toString('utf8'))));
    expect(envelope.id).toBe('vertex:churn-vertex-4k2m9q7zta:JOB_STATE_RUNNING:2026-11-23T10:00:00.000Z');
    expect(envelope.resources).toEqual([VERTEX_RESOURCE]);
  });

  it('round-trips through a push to the same claim', () => {
    const { envelope } = parseTransportEvent(push(JSON.parse(toWatcherMessage(job, observation).data.toString('utf8'))));
    expect(googleWatcherJobEvent(envelope).claimed).toEqual(observation);
  });
});

describe('googleWatcherJobEvent', () => {
  const envelopeWith = (detail: Record<string, unknown>) => ({ id: 'e1', 'detail-type': WATCHER_DETAIL_TYPE, source: WATCHER_SOURCE, detail });
  const good = { provider: 'vertex', providerJobName: 'j', jobId: 'j', observation: { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: 't' } };

  it('refuses a provider that is not Google', () => {
    expect(issuesOf(() => googleWatcherJobEvent(envelopeWith({ ...good, provider: 'sagemaker' })))[0]?.path).toBe('detail.provider');
  });

  it('names each bad field under detail', () => {
    const issues = issuesOf(() => googleWatcherJobEvent(envelopeWith({ ...good, observation: { status: 'finished', observedAt: 't', trialCounts: { won: 1 } } })));
    expect(issues.map((i) => i.path).sort()).toEqual(['detail.observation.providerStatus', 'detail.observation.status', 'detail.observation.trialCounts.won'].sort());
  });
});

describe('parseLoggingSinkPush', () => {
  const entry = (over: Record<string, unknown>) => ({
    logName: 'projects/p/logs/ml.googleapis.com%2Fjob',
    insertId: 'i1',
    timestamp: '2026-11-23T10:00:00Z',
    resource: { type: 'ml_job', labels: { project_id: 'p', job_id: 'census_job', task_name: 'service' } },
    textPayload: 'Job completed successfully.',
    ...over,
  });

  it('leaves alone a push that carries no LogEntry', () => {
    expect(parseLoggingSinkPush(loadEvent('pubsub/push.local-job-state-change.json'))).toBeUndefined();
    expect(parseLoggingSinkPush({ version: '0', id: 'x', source: 's', 'detail-type': 'd', detail: {} })).toBeUndefined();
    expect(isLoggingSinkPush(push('[1, 2]'))).toBe(false);
  });

  it('reads the legacy cloudml_job resource as ML Engine', () => {
    expect(parseLoggingSinkPush(push(entry({ resource: { type: 'cloudml_job', labels: { job_id: '7up' } } })))?.provider).toBe('mlengine');
  });

  it('reads an ML Engine audit entry by its resource name', () => {
    const audit = entry({ resource: { type: 'audited_resource', labels: {} }, protoPayload: { serviceName: 'ml.googleapis.com', resourceName: 'projects/p/jobs/census_job' } });
    expect(parseLoggingSinkPush(push(audit))).toMatchObject({ provider: 'mlengine', providerJobName: 'census_job' });
  });

  it('reads the aiplatform HyperparameterTuningJob resource as Vertex', () => {
    const typed = entry({ resource: { type: 'aiplatform.googleapis.com/HyperparameterTuningJob', labels: { job_id: '123' } } });
    expect(parseLoggingSinkPush(push(typed))).toMatchObject({ provider: 'vertex', providerJobName: '123' });
  });

  it('refuses an entry of another resource, naming message.data.resource', () => {
    const other = entry({ resource: { type: 'gce_instance', labels: { instance_id: '1' } } });
    expect(issuesOf(() => parseLoggingSinkPush(push(other)))[0]?.path).toBe('message.data.resource');
  });

  it('refuses an entry without insertId, naming the field', () => {
    const { insertId: _dropped, ...noId } = entry({});
    expect(issuesOf(() => parseLoggingSinkPush(push(noId)))).toEqual([expect.objectContaining({ path: 'message.data.insertId' })]);
  });
});
