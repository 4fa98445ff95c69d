import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDynamoDbLocal } from '../../../shared/local-stack/dynamodb-local';
import type { RunningService } from '../../../shared/local-stack/ports';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
}

function accepts(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

describe('global setup', () => {
  it('provides a DynamoDB Local that answers ListTables', async () => {
    const client = dynamoClient(inject('dynamoEndpoint'));
    try {
      const tables = await client.send(new ListTablesCommand({}));
      expect(tables.TableNames).toBeInstanceOf(Array);
    } finally {
      client.destroy();
    }
  });

  const host = inject('pubsubEmulatorHost');
  // Skipped when gcloud or its Pub/Sub emulator is not installed; global-setup printed a warning saying why.
  it.skipIf(!host)('provides a Pub/Sub emulator that creates and lists a topic', async () => {
    const pubsub = new PubSub({ projectId: 'tunewire-test', apiEndpoint: host ?? '' });
    try {
      const name = `local-stack-${Date.now()}`;
      const [topic] = await pubsub.createTopic(name);
      const [topics] = await pubsub.getTopics();
      expect(topics.map((t) => t.name)).toContain(topic.name);
    } finally {
      await pubsub.close();
    }
  });
});

describe('startDynamoDbLocal', () => {
  let dataDir: string;
  const running: RunningService[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tunewire-dynamodb-'));
  });

  afterAll(async () => {
    await Promise.all(running.map((service) => service.stop()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps a table in its dataDir across a stop and a start', { timeout: 60_000 }, async () => {
    const first = await startDynamoDbLocal({ dataDir });
    running.push(first);
    const before = dynamoClient(first.endpoint);
    await before.send(
      new CreateTableCommand({
        TableName: 'kept',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    before.destroy();
    await first.stop();
    expect(await accepts(first.endpoint)).toBe(false);

    const second = await startDynamoDbLocal({ dataDir });
    running.push(second);
    const after = dynamoClient(second.endpoint);
    try {
      const tables = await after.send(new ListTablesCommand({}));
      expect(tables.TableNames).toEqual(['kept']);
    } finally {
      after.destroy();
    }
  });
});
