import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeBus } from './adapters/bus/eventbridge-bus';
import { DynamoDbLedger } from './adapters/dynamodb/dynamodb-ledger';
import type { Config } from './config';
import type { EventBus } from './ports/bus';
import { systemClock } from './ports/clock';
import type { ProviderName } from './domain/spec';
import { ProviderCatalog, type Dependencies, type ProviderEntry } from './use-cases/dependencies';

/**
 * The composition root for deployed functions: every client is built here, once per cold start.
 * Cloud providers register their bindings as they are added (SageMaker, Vertex AI, ML Engine).
 */
export async function createCloudDependencies(config: Config, providers: Partial<Record<ProviderName, ProviderEntry>>): Promise<Dependencies> {
  const dynamo = ledgerClient(config);
  return {
    ledger: new DynamoDbLedger({ client: dynamo, tableName: config.tableName }),
    bus: await createBus(config),
    clock: systemClock,
    providers: new ProviderCatalog(providers),
  };
}

/**
 * The DynamoDB client every function uses for the ledger's table. Throttling is retried by the
 * SDK's standard strategy; 8 attempts (not the default 3) ride out heavy throttling, as the
 * property tests showed at 50%.
 */
export function ledgerClient(config: Pick<Config, 'region' | 'dynamoEndpoint'>): DynamoDBClient {
  return new DynamoDBClient({ region: config.region, maxAttempts: 8, ...(config.dynamoEndpoint ? { endpoint: config.dynamoEndpoint } : {}) });
}

async function createBus(config: Config): Promise<EventBus> {
  if (config.bus.kind === 'eventbridge') {
    return new EventBridgeBus({ client: new EventBridgeClient({ region: config.region }), eventBusName: config.bus.eventBusName });
  }
  // Loaded only where Pub/Sub is the bus, so AWS bundles do not carry the Google client.
  const [{ PubSub }, { PubSubBus }] = await Promise.all([import('@google-cloud/pubsub'), import('./adapters/bus/pubsub-bus')]);
  return new PubSubBus({ pubsub: new PubSub(config.bus.projectId ? { projectId: config.bus.projectId } : {}), topic: config.bus.topic });
}
