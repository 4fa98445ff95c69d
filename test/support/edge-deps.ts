import { DynamoDbTemplateStore } from '../../shared/adapters/dynamodb/dynamodb-template-store';
import { DynamoDbWebhookStore } from '../../shared/adapters/dynamodb/dynamodb-webhook-store';
import type { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import type { Clock } from '../../shared/ports/clock';
import { ProviderCatalog } from '../../shared/use-cases/dependencies';
import type { TemplateDependencies } from '../../shared/use-cases/manage-templates';
import type { NotifyDependencies } from '../../shared/use-cases/notify';
import { freshLedger } from './dynamodb';
import { RecordingBus } from './recording-bus';
import { RecordingRegistry, ScriptedProvider } from './scripted-provider';

/** What the edge (HTTP API, handlers, triggers) needs, all on one fresh DynamoDB Local table. */
export interface EdgeDependencies extends TemplateDependencies {
  readonly ledger: DynamoDbLedger;
  readonly bus: RecordingBus;
  readonly webhooks: NotifyDependencies;
  readonly providers: ProviderCatalog;
}

export interface EdgeFixture {
  readonly deps: EdgeDependencies;
  readonly providers: { readonly local: ScriptedProvider; readonly sagemaker: ScriptedProvider };
  /** Items in the table: ledger, templates and webhooks share it. */
  readonly itemCount: () => Promise<number>;
}

/**
 * Scripted providers, a recording bus, and the DynamoDB ledger, template and webhook stores on a
 * table of their own. The clock is near real time (Standard Webhooks checks its tolerance against
 * Date.now()).
 */
export async function edgeFixture(prefix: string): Promise<EdgeFixture> {
  const { ledger, client, tableName, itemCount } = await freshLedger(prefix);
  const clock: Clock = { now: () => new Date() };
  const local = new ScriptedProvider('local');
  const sagemaker = new ScriptedProvider('sagemaker');
  const deps: EdgeDependencies = {
    ledger,
    bus: new RecordingBus(),
    clock,
    templates: new DynamoDbTemplateStore({ client, tableName }),
    providers: new ProviderCatalog({
      local: { provider: local, registry: new RecordingRegistry() },
      sagemaker: { provider: sagemaker, registry: new RecordingRegistry() },
    }),
    webhooks: {
      store: new DynamoDbWebhookStore({ client, tableName }),
      send: async () => ({ outcome: 'delivered', status: 200 }),
      clock,
      random: () => 0.5,
    },
  };
  return { deps, providers: { local, sagemaker }, itemCount };
}

/** A spec every provider here takes, named `name`. */
export function edgeSpec(provider: 'local' | 'sagemaker' = 'local', name = 'churn-xgb'): Record<string, unknown> {
  return {
    name,
    provider,
    objective: { metric: 'validation:auc', goal: 'maximize' },
    parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
    strategy: 'random',
    budget: { maxTrials: 4, parallelTrials: 2 },
    trial: provider === 'local' ? { command: ['python', 'train.py', '--data={{data}}'] } : { inputs: [{ channel: 'train', s3Uri: 's3://tunewire-data/churn/base/' }] },
  };
}
