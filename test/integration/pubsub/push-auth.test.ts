import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub, type Subscription, type Topic } from '@google-cloud/pubsub';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PushAuthConfig } from '../../../shared/edge/push-auth';
import { createPushEndpoint, type PushResponse } from '../../../shared/edge/push-endpoint';
import type { HandledEvent } from '../../../shared/use-cases/provider-events';
import { FakeGoogleCerts, PUSH_AUDIENCE, PUSH_SENDER } from '../../support/google-id-tokens';

// The Pub/Sub emulator is started by test/global-setup.ts; without gcloud this file is SKIPPED.
// The emulator pushes without a token, as a subscription without --push-auth-service-account would.
const host = inject('pubsubEmulatorHost');

describe.skipIf(!host)('Pub/Sub push authentication (Pub/Sub emulator)', () => {
  let pubsub: PubSub;
  let google: FakeGoogleCerts;
  let server: Server | undefined;
  const created: { topics: Topic[]; subscriptions: Subscription[] } = { topics: [], subscriptions: [] };

  beforeAll(async () => {
    pubsub = new PubSub({ projectId: 'tunewire-test', apiEndpoint: host ?? '', emulatorMode: true });
    google = await FakeGoogleCerts.start();
  });

  afterEach(async () => {
    for (const subscription of created.subscriptions.splice(0)) await subscription.delete().catch(() => undefined);
    for (const topic of created.topics.splice(0)) await topic.delete().catch(() => undefined);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  afterAll(async () => {
    await pubsub?.close();
    await google?.close();
  });

  /** Serves the real push endpoint on loopback, as the Functions Framework would, and subscribes it to a fresh topic. */
  async function pushTo(auth: PushAuthConfig): Promise<{ topic: Topic; statuses: number[]; handled: unknown[] }> {
    const statuses: number[] = [];
    const handled: unknown[] = [];
    const endpoint = createPushEndpoint({
      auth,
      client: google.client(),
      warn: () => undefined,
      handle: async (body): Promise<HandledEvent> => {
        handled.push(body);
        return { outcome: 'applied' };
      },
    });
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const res: PushResponse = {
          status(code) {
            response.statusCode = code;
            return res;
          },
          set(field, value) {
            response.setHeader(field, value);
            return res;
          },
          json(body) {
            statuses.push(response.statusCode);
            response.setHeader('content-type', 'application/json');
            response.end(JSON.stringify(body));
          },
        };
        const headers = request.headers as Record<string, string | string[] | undefined>;
        void endpoint({ headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }, res).catch(() => response.writeHead(500).end());
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const name = `tunewire-push-auth-${randomUUID()}`;
    const [topic] = await pubsub.createTopic(name);
    const [subscription] = await topic.createSubscription(`${name}-push`, {
      pushConfig: { pushEndpoint: `http://127.0.0.1:${(server?.address() as AddressInfo).port}/push` },
      ackDeadlineSeconds: 10,
    });
    created.topics.push(topic);
    created.subscriptions.push(subscription);
    return { topic, statuses, handled };
  }

  async function until(condition: () => boolean, timeoutMs = 8_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('refuses an unsigned push with 401 and never handles it; Pub/Sub delivers it again', async () => {
    const { topic, statuses, handled } = await pushTo({ mode: 'verify', audience: PUSH_AUDIENCE, serviceAccountEmail: PUSH_SENDER });
    await topic.publishMessage({ json: { hello: 'world' } });
    await until(() => statuses.length >= 2);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(handled).toEqual([]);
  });

  it('handles the same push once with push authentication switched off', async () => {
    const { topic, statuses, handled } = await pushTo({ mode: 'off' });
    await topic.publishMessage({ json: { hello: 'world' } });
    await until(() => handled.length >= 1);
    expect(statuses[0]).toBe(200);
    expect(handled).toHaveLength(1);
  });
});
