import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { join } from 'node:path';
import { LocalBus } from '../shared/adapters/bus/local-bus';
import { loadBusRules } from '../shared/adapters/bus/serverless-rules';
import { DynamoDbLedger } from '../shared/adapters/dynamodb/dynamodb-ledger';
import { ensureTable } from '../shared/adapters/dynamodb/table';
import { SageMakerModelRegistry } from '../shared/adapters/sagemaker/sagemaker-model-registry';
import { SageMakerProvider } from '../shared/adapters/sagemaker/sagemaker-provider';
import { readSpec } from '../shared/cli/main';
import type { AnyTunewireEvent } from '../shared/domain/events';
import type { TuningSpec } from '../shared/domain/spec';
import type { EventBridgeEnvelope } from '../shared/edge/envelopes';
import { coreTargets } from '../shared/edge/handlers';
import type { EventBus } from '../shared/ports/bus';
import { systemClock, type Clock } from '../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../shared/use-cases/dependencies';
import { FakeSageMaker, type FakeSageMakerOptions } from '../test/support/fake-sagemaker';

export const ROOT = join(import.meta.dirname, '..');
export const spec: TuningSpec = readSpec(join(ROOT, 'examples', 'sagemaker-xgboost', 'spec.yaml'));
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** DynamoDB requests sent through one client, by command name. */
export class DynamoCounter {
  readonly byCommand: Record<string, number> = {};
  get writes(): number {
    return ['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'TransactWriteItemsCommand', 'BatchWriteItemCommand'].reduce((sum, c) => sum + (this.byCommand[c] ?? 0), 0);
  }
  get total(): number {
    return Object.values(this.byCommand).reduce((a, b) => a + b, 0);
  }
  reset(): void {
    for (const key of Object.keys(this.byCommand)) delete this.byCommand[key];
  }
}

/** A DynamoDB client for `endpoint` that counts every request it sends (retries not included). */
export function countingDynamoClient(endpoint: string): { client: DynamoDBClient; counter: DynamoCounter } {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 10 });
  const counter = new DynamoCounter();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counter.byCommand[name] = (counter.byCommand[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCounter' },
  );
  return { client, counter };
}

let tables = 0;
export async function freshLedger(client: DynamoDBClient, prefix: string): Promise<{ ledger: DynamoDbLedger; tableName: string }> {
  const tableName = `bench-${prefix}-${++tables}-${Date.now()}`;
  await ensureTable(client, tableName);
  return { ledger: new DynamoDbLedger({ client, tableName }), tableName };
}

/** The local bus, telling `onPublish` the moment each of our events is handed to it. */
export class TimedBus extends LocalBus {
  onPublish: (event: AnyTunewireEvent, at: number) => void = () => undefined;
  override async publish(events: readonly AnyTunewireEvent[]): Promise<void> {
    const at = performance.now();
    for (const event of events) this.onPublish(event, at);
    return super.publish(events);
  }
}

/** A bus that keeps nothing: for timing handlers alone. */
export const nullBus: EventBus = { publish: async () => undefined };

export interface SageMakerWorld {
  readonly fake: FakeSageMaker;
  readonly provider: SageMakerProvider;
  readonly sdk: SageMakerClient;
  readonly deps: Dependencies;
  readonly bus: TimedBus;
  stop(): Promise<void>;
}

/**
 * The production event path as the integration tests wire it: the real SageMaker SDK client
 * against the wire-level fake, whose EventBridge events go into the local bus, which routes them
 * by serverless.yml to the production handler bodies, against DynamoDB Local. With `bus` given,
 * handlers publish there instead (the fake's events are then not routed anywhere).
 */
export async function sageMakerWorld(
  ledger: DynamoDbLedger,
  options: { fake?: FakeSageMakerOptions; bus?: EventBus; concurrency?: number; clock?: Clock } = {},
): Promise<SageMakerWorld> {
  const fake = await new FakeSageMaker(options.fake).start();
  const sdk = new SageMakerClient({ endpoint: fake.endpoint, region: 'us-east-1', credentials, maxAttempts: 10 });
  const provider = new SageMakerProvider({ client: sdk });
  let ready: Dependencies | undefined;
  const use = () => ready as Dependencies;
  const bus = new TimedBus({
    concurrency: options.concurrency ?? 4,
    rules: loadBusRules(join(ROOT, 'serverless.yml')),
    targets: {
      ...coreTargets(use),
      // serverless.yml routes our events to these too; not under test here
      notify: async () => undefined,
      trigger: async () => undefined,
    },
  });
  const deps: Dependencies = {
    ledger,
    bus: options.bus ?? bus,
    clock: options.clock ?? systemClock,
    providers: new ProviderCatalog({ sagemaker: { provider, registry: new SageMakerModelRegistry({ client: sdk }) } }),
  };
  ready = deps;
  if (!options.bus) fake.onEvent((event) => bus.inject(event as unknown as EventBridgeEnvelope));
  return { fake, provider, sdk, deps, bus, stop: () => fake.stop() };
}

/** Waits until the fake's listeners and the bus are idle. */
export async function settle(world: SageMakerWorld): Promise<void> {
  await world.fake.drainEvents();
  await world.bus.drain();
}

/** The total of a fake's call counters. */
export function callTotal(calls: Readonly<Record<string, number>>): number {
  return Object.values(calls).reduce((a, b) => a + b, 0);
}
