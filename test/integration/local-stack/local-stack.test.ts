import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
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


const mode = (path: string) => statSync(path).mode & 0o777;

/** The local addresses of the sockets listening on `port`, as Linux lists them in /proc/net/tcp and tcp6 (hex). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A' && fields[1]?.endsWith(`:${hexPort}`))
      .map((fields) => (fields[1] as string).split(':')[0] as string),
  );
}

/** 127.0.0.0/8 (byte-swapped in /proc), the same as an IPv4-mapped IPv6 address, or ::1. */
function isLoopback(hexAddress: string): boolean {
  return /^[0-9A-F]{6}7F$/.test(hexAddress) || /^0{16}FFFF0000[0-9A-F]{6}7F$/.test(hexAddress) || hexAddress === '00000000000000000000000001000000';
}

/** A raw ListTables, with the headers a web page would add; node:http so that Host can be set. */
function listTablesStatus(endpoint: string, headers: Record<string, string>, method = 'POST'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      endpoint,
      {
        method,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
          ...headers,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end('{}');
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
    // as an older tunewire or a default umask left them
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'shared-local-instance.db'), '', { mode: 0o644 });
    chmodSync(join(dataDir, 'shared-local-instance.db'), 0o644);
  });

  // The global set-up's DynamoDB Local was started by startDynamoDbLocal too.
  const endpoint = inject('dynamoEndpoint');

  it('listens on 127.0.0.1 only', () => {
    const addresses = listeningAddresses(Number(new URL(endpoint).port));
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.filter((address) => !isLoopback(address))).toEqual([]);
  });

  it('answers an SDK-shaped request and refuses a DNS-rebinding Host or any Origin with 403', async () => {
    const { host } = new URL(endpoint);
    expect(await listTablesStatus(endpoint, {})).toBe(200);
    expect(await listTablesStatus(endpoint, { host: `localhost:${new URL(endpoint).port}` })).toBe(200);
    expect(await listTablesStatus(endpoint, { host: `rebind.evil.example:${new URL(endpoint).port}` })).toBe(403);
    expect(await listTablesStatus(endpoint, { host: 'rebind.evil.example' })).toBe(403);
    expect(await listTablesStatus(endpoint, { origin: 'https://evil.example' })).toBe(403);
    expect(await listTablesStatus(endpoint, { origin: `http://${host}` })).toBe(403);
    expect(await listTablesStatus(endpoint, { origin: 'https://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS')).toBe(403);
  });

  afterAll(async () => {
    await Promise.all(running.map((service) => service.stop()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps a table in its dataDir across a stop and a start, in files only their owner can read', { timeout: 60_000 }, async () => {
    const first = await startDynamoDbLocal({ dataDir });
    running.push(first);
    expect(mode(dataDir)).toBe(0o700);
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
    const files = readdirSync(dataDir);
    expect(files).toContain('shared-local-instance.db');
    expect(Object.fromEntries(files.map((f) => [f, mode(join(dataDir, f))]))).toEqual(Object.fromEntries(files.map((f) => [f, 0o600])));
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
