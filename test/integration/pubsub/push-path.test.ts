import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub, type Subscription, type Topic } from '@google-cloud/pubsub';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { PubSubPublisher } from '../../../shared/adapters/bus/pubsub-publisher';
import { parseSpec } from '../../../shared/domain/spec';
import { WATCHER_DETAIL_TYPE, WATCHER_SOURCE, googleWatcherJobEvent, toWatcherMessage } from '../../../shared/edge/google-events';
import { handleStatusChangeEvent, registerProviderEventParsers } from '../../../shared/edge/handlers';
import { systemClock } from '../../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import type { HandledEvent } from '../../../shared/use-cases/provider-events';
import { submitJob } from '../../../shared/use-cases/submit-job';
import { freshLedger } from '../../support/dynamodb';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

// The Pub/Sub emulator is started by test/global-setup.ts. Where gcloud is not installed the host
// is null and this whole file is SKIPPED (global-setup prints a loud banner saying so): the push
// path is then only covered by the unit tests of its parsers, not end to end.
const host = inject('pubsubEmulatorHost');

const spec = parseSpec({
  name: 'churn-vertex',
  provider: 'vertex',
  objective: { metric: 'auc', goal: 'maximize' },
  parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
  budget: { maxTrials: 4 },
  trial: {},
});

/** What the loopback endpoint received and answered, in order. */
interface Delivery {
  readonly body: unknown;
  readonly status: number;
  readonly outcome?: HandledEvent;
  readonly error?: unknown;
}

describe.skipIf(!host)('Pub/Sub push into status-change (Pub/Sub emulator, DynamoDB Local)', () => {
  let pubsub: PubSub;
  let server: Server;
  let endpoint: string;
  let deps: Dependencies;
  let ledger: DynamoDbLedger;
  let bus: RecordingBus;
  let vertex: ScriptedProvider;
  const deliveries: Delivery[] = [];
  const created: { topics: Topic[]; subscriptions: Subscription[] } = { topics: [], subscriptions: [] };

  beforeAll(async () => {
    // as the lead's composition will: the watcher's events have a parser in status-change
    registerProviderEventParsers({ job: [{ source: WATCHER_SOURCE, detailType: WATCHER_DETAIL_TYPE, parse: googleWatcherJobEvent }] });
    pubsub = new PubSub({ projectId: 'tunewire-test', apiEndpoint: host ?? '', emulatorMode: true });

    // The push endpoint: a thin HTTP entry like the deployed function's, answering 204 when
    // handled (any outcome, rejected included) and 500 when it threw, so Pub/Sub redelivers.
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        void (async () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            const outcome = await handleStatusChangeEvent(deps, body);
            deliveries.push({ body, status: 204, outcome });
            response.writeHead(204).end();
          } catch (error) {
            deliveries.push({ body, status: 500, error });
            response.writeHead(500).end();
          }
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
  });

  afterAll(async () => {
    for (const subscription of created.subscriptions) await subscription.delete().catch(() => undefined);
    for (const topic of created.topics) await topic.delete().catch(() => undefined);
    await pubsub?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  beforeEach(async () => {
    ({ ledger } = await freshLedger('push-path'));
    bus = new RecordingBus();
    vertex = new ScriptedProvider('vertex', true);
    deps = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ vertex: { provider: vertex, registry: new RecordingRegistry() } }) };
    deliveries.length = 0;
  });

  async function pushTopic(): Promise<string> {
    const name = `tunewire-watch-${randomUUID()}`;
    const [topic] = await pubsub.createTopic(name);
    const [subscription] = await topic.createSubscription(`${name}-push`, { pushConfig: { pushEndpoint: endpoint }, ackDeadlineSeconds: 10 });
    created.topics.push(topic);
    created.subscriptions.push(subscription);
    return name;
  }

  async function until(count: number, timeoutMs = 5_000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (deliveries.length < count) {
      if (Date.now() > deadline) throw new Error(`${deliveries.length} of ${count} pushes arrived within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return [...deliveries];
  }

  it('applies a pushed watcher message once, and a redelivery of it is a duplicate', async () => {
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'push-path' });
    const observation = { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: '2026-11-23T10:05:00.000Z', trialCounts: { running: 2 } } as const;
    const message = toWatcherMessage(job, observation);
    const publisher = new PubSubPublisher({ pubsub, topic: await pushTopic() });
    const describes = vertex.calls.describe;

    await publisher.publish(message);
    const [first] = await until(1);
    const afterFirst = await ledger.getJob(job.jobId);
    // the same message again, as a redelivery or a retried sweep would send it
    await publisher.publish(message);
    const [, second] = await until(2);
    const afterSecond = await ledger.getJob(job.jobId);

    expect(first).toMatchObject({ status: 204, outcome: { outcome: 'applied', jobId: job.jobId, detail: 'pending -> running' } });
    expect(afterFirst).toMatchObject({ status: 'running', providerStatus: 'JOB_STATE_RUNNING', trialCounts: { running: 2 } });
    expect(second).toMatchObject({ status: 204, outcome: { outcome: 'duplicate', jobId: job.jobId } });
    expect(afterSecond).toEqual(afterFirst);
    expect(bus.ofKind('job.status_changed').map((e) => e.id)).toEqual([`${job.jobId}:status:running`]);
    // a confirmed claim: status-change did not get the job from the provider
    expect(vertex.calls.describe).toBe(describes);
    // two Pub/Sub messages, one provider event: the message ids differ, the envelope id does not
    const pushed = [first, second].map((d) => (d?.body as { message: { messageId: string } }).message.messageId);
    expect(new Set(pushed).size).toBe(2);
    expect((await ledger.listHistory(job.jobId)).map((h) => h.outcome).sort()).toEqual(['applied', 'duplicate']);
  });

  it('answers a push whose data is not JSON as rejected, so Pub/Sub does not redeliver it', async () => {
    const topic = await pushTopic();
    await pubsub.topic(topic).publishMessage({ data: Buffer.from('{"version": "0", "id": "trunc'), attributes: { provider: 'vertex' } });
    const [delivery] = await until(1);
    expect(delivery).toMatchObject({ status: 204, outcome: { outcome: 'rejected' } });
    expect(delivery?.outcome?.detail).toContain('message.data');
  });
});
