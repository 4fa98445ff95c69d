import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { EventBridgeBus } from './adapters/bus/eventbridge-bus';
import { DynamoDbLedger } from './adapters/dynamodb/dynamodb-ledger';
import { DynamoDbTemplateStore } from './adapters/dynamodb/dynamodb-template-store';
import { KmsEnvelopeCipher } from './adapters/webhooks/secret-ciphers';
import type { Config } from './config';
import type { EventBus } from './ports/bus';
import { systemClock } from './ports/clock';
import type { ProviderName } from './domain/spec';
import { ProviderCatalog, type ProviderEntry } from './use-cases/dependencies';
import type { TemplateDependencies } from './use-cases/manage-templates';
import type { NotifyDependencies } from './use-cases/notify';
import { createNotifyDependencies, type WebhookConfig } from './webhooks-composition';

/** Everything any function's use cases need: the core, the template store and the webhooks. */
export type AppDependencies = TemplateDependencies & { readonly webhooks: NotifyDependencies };

/**
 * The composition root for deployed functions: every client is built here, once per cold start,
 * and shared by the stores on the one table.
 */
export async function createCloudDependencies(
  config: Config,
  providers: Partial<Record<ProviderName, ProviderEntry>>,
  webhookConfig: WebhookConfig,
): Promise<AppDependencies> {
  const client = ledgerClient(config);
  const { tableName } = config;
  const ledger = new DynamoDbLedger({ client, tableName });
  // One cipher for template and subscription secrets: the webhook KMS key, one client, one data-key cache.
  const cipher = webhookConfig.kmsKeyId
    ? new KmsEnvelopeCipher({ client: new KMSClient(webhookConfig.region ? { region: webhookConfig.region } : {}), keyId: webhookConfig.kmsKeyId })
    : undefined;
  return {
    ledger,
    bus: await createBus(config),
    clock: systemClock,
    providers: new ProviderCatalog(providers),
    ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}),
    templates: new DynamoDbTemplateStore({ client, tableName, ...(cipher ? { cipher } : {}) }),
    webhooks: createNotifyDependencies({ client, tableName, ledger, clock: systemClock, config: webhookConfig, ...(cipher ? { cipher } : {}) }),
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
