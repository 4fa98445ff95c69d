import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { LocalBus, type Delivery } from '../adapters/bus/local-bus';
import { loadBusRules } from '../adapters/bus/serverless-rules';
import { DynamoDbLedger } from '../adapters/dynamodb/dynamodb-ledger';
import { DynamoDbTemplateStore } from '../adapters/dynamodb/dynamodb-template-store';
import { LocalKeyFileCipher } from '../adapters/webhooks/secret-ciphers';
import type { AppDependencies } from '../composition';
import { createNotifyDependencies, loadWebhookConfig } from '../webhooks-composition';
import { RetryRunner } from '../adapters/webhooks/retry-runner';
import { runDueDeliveries } from '../use-cases/notify';
import { handleNotifyEvent } from '../edge/notify-events';
import { handleTriggerEvent } from '../edge/trigger-events';
import { ensureTable } from '../adapters/dynamodb/table';
import { LedgerModelRegistry } from '../adapters/local/ledger-model-registry';
import { LocalProvider } from '../adapters/local/local-provider';
import { coreTargets } from '../edge/handlers';
import { systemClock } from '../ports/clock';
import { ProviderCatalog, type Dependencies } from '../use-cases/dependencies';
import { attachService, type AttachedService } from './service';
import { ensurePrivateDir, readOrCreateApiToken } from './state-dir';
import { ServiceLocalEngine, type EngineAddress, type LocalEngine } from './engine-api';
import { cloudProviderEntries, providerSettingsFrom } from '../provider-bindings';

export const LOCAL_TABLE = 'tunewire-local';

export interface EmbeddedStack {
  /** Everything the use cases need, the template store and the webhook dependencies included. */
  readonly deps: AppDependencies;
  readonly bus: LocalBus;
  /** The service's engine when the stack is attached to it; this process's own otherwise. */
  readonly localProvider: LocalEngine;
  readonly dynamoEndpoint: string;
  /** The service this stack is attached to, when it is: its engine runs the local jobs. */
  readonly servicePid?: number;
  /** The production handler bodies by function name, as serverless.yml names them. */
  readonly targets: Readonly<Record<string, (event: unknown) => Promise<unknown>>>;
  /**
   * Lets the work in flight finish (webhook first attempts included) and stops the retry runner;
   * pending retries stay in the store for the next runner (the service's).
   */
  close(): Promise<void>;
}

export interface EmbeddedStackOptions {
  /** Where the stack keeps its state: `.tunewire/` in the working directory by default. Made private (0700). */
  readonly home: string;
  /** The repository root: serverless.yml is read from here and trial commands run here. */
  readonly root: string;
  readonly onDelivery?: (delivery: Delivery) => void;
}

/**
 * The embedded default: the state directory's shared service (started on first need, see
 * service.ts) owns DynamoDB Local on `<home>/dynamodb` and runs the local engine, so local jobs
 * outlive the command that submitted them; this process attaches to it for as long as the stack is
 * open, with its own bus for the events it publishes. `TUNEWIRE_DYNAMODB_ENDPOINT` or
 * `AWS_ENDPOINT_URL_DYNAMODB` point the ledger at any other DynamoDB, and then no service is
 * involved: local jobs run in this process, and end with it.
 */
export async function openEmbeddedStack(options: EmbeddedStackOptions, env: NodeJS.ProcessEnv = process.env): Promise<EmbeddedStack> {
  ensurePrivateDir(options.home);
  const external = env.TUNEWIRE_DYNAMODB_ENDPOINT ?? env.AWS_ENDPOINT_URL_DYNAMODB;
  const service = external ? undefined : await attachService(options.home, { env });
  const dynamoEndpoint = external ?? (service as AttachedService).info.dynamoEndpoint;
  const apiUrl = service?.info.apiUrl;
  // a service started by an older tunewire has no engine to offer: this process runs its own
  const engine: EngineChoice = apiUrl ? { kind: 'service', address: { url: apiUrl, token: readOrCreateApiToken(options.home).token } } : { kind: 'here' };
  try {
    const stack = await assemble(options, env, dynamoEndpoint, engine, async () => service?.release());
    return service && apiUrl ? { ...stack, servicePid: service.info.pid } : stack;
  } catch (error) {
    service?.release();
    throw error;
  }
}

/** The service's own stack: its ledger is the DynamoDB Local it started, and it runs the local engine. */
export function openEngineStack(options: EmbeddedStackOptions, dynamoEndpoint: string, env: NodeJS.ProcessEnv = process.env): Promise<EmbeddedStack> {
  ensurePrivateDir(options.home);
  return assemble(options, env, dynamoEndpoint, { kind: 'here' }, async () => undefined);
}

type EngineChoice = { readonly kind: 'here' } | { readonly kind: 'service'; readonly address: EngineAddress };

async function assemble(options: EmbeddedStackOptions, env: NodeJS.ProcessEnv, dynamoEndpoint: string, engine: EngineChoice, release: () => Promise<void>): Promise<EmbeddedStack> {
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
    // read on the first event: `status` and `trials` publish none
    rules: () => loadBusRules(join(options.root, 'serverless.yml')),
    targets,
    // a receiver that keeps failing backs off for minutes; nothing waits for it but close()
    background: ['notify'],
    ...(options.onDelivery ? { onDelivery: options.onDelivery } : {}),
  });
  const ownEngine = new LocalProvider({
    workDir: join(options.home, 'local'),
    cwd: options.root,
    emit: async (event) => bus.inject(event),
  });
  // attached to the service, this process's engine only reads the jobs' state files
  const localProvider: LocalEngine = engine.kind === 'service' ? new ServiceLocalEngine(ownEngine, engine.address, env) : ownEngine;
  const ledger = new DynamoDbLedger({ client, tableName });
  // Webhook retries are due for about a day: the long-lived process runs them (the service, or
  // this one when it runs its own engine); a command attached to the service only makes first
  // attempts, and the service's runner finds the pending ones on its next poll.
  const retries = engine.kind === 'here' ? new RetryRunner({ runDue: () => runDueDeliveries(webhooks), now: () => systemClock.now() }) : undefined;
  // Webhooks to this machine are allowed here (a receiver under development); never in a deployment.
  const webhooks = createNotifyDependencies({
    client,
    tableName,
    ledger,
    clock: systemClock,
    ...(retries ? { scheduler: retries } : {}),
    // secrets at rest are sealed with a key only this state directory's owner can read
    secretKeyFile: join(options.home, 'webhook-secrets.key'),
    config: loadWebhookConfig({ TUNEWIRE_WEBHOOK_ALLOW: '127.0.0.1,::1,localhost', ...env }),
  });
  retries?.start();
  deps = {
    ledger,
    webhooks,
    templates: new DynamoDbTemplateStore({ client, tableName, cipher: new LocalKeyFileCipher({ path: join(options.home, 'webhook-secrets.key') }) }),
    ...(env.TUNEWIRE_API_URL ? { apiUrl: env.TUNEWIRE_API_URL } : {}),
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
      await ownEngine.close();
      // first attempts end within the send timeout; what they left pending waits in the store
      await bus.drain();
      await retries?.stop();
      client.destroy();
      await release();
    },
  };
}
