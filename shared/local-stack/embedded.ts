import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LocalBus, type Delivery } from '../adapters/bus/local-bus';
import { loadBusRules } from '../adapters/bus/serverless-rules';
import { DynamoDbLedger } from '../adapters/dynamodb/dynamodb-ledger';
import { DynamoDbTemplateStore } from '../adapters/dynamodb/dynamodb-template-store';
import type { AppDependencies } from '../composition';
import { createNotifyDependencies, loadWebhookConfig } from '../webhooks-composition';
import { handleNotifyEvent } from '../edge/notify-events';
import { handleTriggerEvent } from '../edge/trigger-events';
import { ensureTable } from '../adapters/dynamodb/table';
import { LedgerModelRegistry } from '../adapters/local/ledger-model-registry';
import { LocalProvider } from '../adapters/local/local-provider';
import { coreTargets } from '../edge/handlers';
import { systemClock } from '../ports/clock';
import { ProviderCatalog, type Dependencies } from '../use-cases/dependencies';
import { startDynamoDbLocal } from './dynamodb-local';
import { ensurePrivateDir, writePrivateFile } from './state-dir';
import { cloudProviderEntries, providerSettingsFrom } from '../provider-bindings';

export const LOCAL_TABLE = 'tunewire-local';

export interface EmbeddedStack {
  /** Everything the use cases need, the template store and the webhook dependencies included. */
  readonly deps: AppDependencies;
  readonly bus: LocalBus;
  readonly localProvider: LocalProvider;
  readonly dynamoEndpoint: string;
  /** The production handler bodies by function name, as serverless.yml names them. */
  readonly targets: Readonly<Record<string, (event: unknown) => Promise<unknown>>>;
  close(): Promise<void>;
}

export interface EmbeddedStackOptions {
  /** Where the stack keeps its state: `.tunewire/` in the working directory by default. Made private (0700). */
  readonly home: string;
  /** The repository root: serverless.yml is read from here and trial commands run here. */
  readonly root: string;
  readonly onDelivery?: (delivery: Delivery) => void;
}

interface StackFile {
  readonly dynamoEndpoint: string;
  readonly pid: number;
}

/**
 * The embedded default: DynamoDB Local kept under `<home>/dynamodb`, the local bus routing by
 * serverless.yml, and the local engine. A running `tunewire dev` is reused (its DynamoDB Local
 * holds the data files), and `TUNEWIRE_DYNAMODB_ENDPOINT` or `AWS_ENDPOINT_URL_DYNAMODB` point the
 * ledger at any other DynamoDB.
 */
export async function openEmbeddedStack(options: EmbeddedStackOptions, env: NodeJS.ProcessEnv = process.env): Promise<EmbeddedStack> {
  ensurePrivateDir(options.home);
  const external = env.TUNEWIRE_DYNAMODB_ENDPOINT ?? env.AWS_ENDPOINT_URL_DYNAMODB;
  const shared = external ? undefined : await runningStack(options.home);
  const started = external || shared ? undefined : await startDynamoDbLocal({ dataDir: join(options.home, 'dynamodb') });
  const dynamoEndpoint = external ?? shared?.dynamoEndpoint ?? (started as { endpoint: string }).endpoint;
  // Other CLI calls made while this one runs use this DynamoDB Local rather than open its files twice.
  const withdraw = started ? advertiseStack(options.home, dynamoEndpoint) : undefined;

  try {
    return await assemble(options, env, dynamoEndpoint, async () => {
      withdraw?.();
      await started?.stop();
    });
  } catch (error) {
    withdraw?.();
    await started?.stop();
    throw error;
  }
}

async function assemble(options: EmbeddedStackOptions, env: NodeJS.ProcessEnv, dynamoEndpoint: string, release: () => Promise<void>): Promise<EmbeddedStack> {
  const external = Boolean(env.TUNEWIRE_DYNAMODB_ENDPOINT ?? env.AWS_ENDPOINT_URL_DYNAMODB);
  const client = new DynamoDBClient({
    endpoint: dynamoEndpoint,
    region: env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 8,
    // DynamoDB Local takes any keys; real credentials are used when they are set.
    ...(env.AWS_ACCESS_KEY_ID || external ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
  const tableName = env.TUNEWIRE_TABLE ?? LOCAL_TABLE;
  await ensureTable(client, tableName);

  // The handlers and the bus need each other: targets reach `deps` only when an event arrives.
  let deps: AppDependencies | undefined;
  const ready = () => deps as AppDependencies;
  const targets: Record<string, (event: unknown) => Promise<unknown>> = {
    ...coreTargets(ready),
    notify: (event) => handleNotifyEvent(ready().webhooks, event),
    trigger: (event) => handleTriggerEvent(ready(), event),
  };
  const bus = new LocalBus({
    rules: loadBusRules(join(options.root, 'serverless.yml')),
    targets,
    ...(options.onDelivery ? { onDelivery: options.onDelivery } : {}),
  });
  const localProvider = new LocalProvider({
    workDir: join(options.home, 'local'),
    cwd: options.root,
    emit: async (event) => bus.inject(event),
  });
  const ledger = new DynamoDbLedger({ client, tableName });
  // Webhooks to this machine are allowed here (a receiver under development); never in a deployment.
  const webhooks = createNotifyDependencies({
    client,
    tableName,
    ledger,
    clock: systemClock,
    config: loadWebhookConfig({ TUNEWIRE_WEBHOOK_ALLOW: '127.0.0.1,::1,localhost', ...env }),
  });
  deps = {
    ledger,
    webhooks,
    templates: new DynamoDbTemplateStore({ client, tableName }),
    bus,
    clock: systemClock,
    providers: new ProviderCatalog({
      local: { provider: localProvider, registry: new LedgerModelRegistry() },
      ...cloudProviderEntries(providerSettingsFrom(env)),
    }),
  };

  return {
    deps,
    bus,
    localProvider,
    dynamoEndpoint,
    targets,
    async close() {
      await localProvider.close();
      await bus.drain();
      client.destroy();
      await release();
    },
  };
}

/** Marks this process's DynamoDB Local as the one other CLI calls should use. */
export function advertiseStack(home: string, dynamoEndpoint: string): () => void {
  const file = join(home, 'stack.json');
  writePrivateFile(file, JSON.stringify({ dynamoEndpoint, pid: process.pid } satisfies StackFile));
  return () => rmSync(file, { force: true });
}

async function runningStack(home: string): Promise<StackFile | undefined> {
  const file = join(home, 'stack.json');
  if (!existsSync(file)) return undefined;
  try {
    const stack = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
    process.kill(stack.pid, 0);
    const { hostname, port } = new URL(stack.dynamoEndpoint);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => (socket.end(), resolve()));
      socket.on('error', reject);
    });
    return stack;
  } catch {
    rmSync(file, { force: true });
    return undefined;
  }
}
