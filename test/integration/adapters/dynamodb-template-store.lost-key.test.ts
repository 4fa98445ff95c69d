import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTemplateStore } from '../../../shared/adapters/dynamodb/dynamodb-template-store';
import { LocalKeyFileCipher, SealedSecretError } from '../../../shared/adapters/webhooks/secret-ciphers';
import { handleInboundWebhook } from '../../../shared/edge/inbound-webhook';
import { handleTriggerEvent } from '../../../shared/edge/trigger-events';
import type { Clock } from '../../../shared/ports/clock';
import type { WebhookAuth } from '../../../shared/ports/templates';
import { ProviderCatalog } from '../../../shared/use-cases/dependencies';
import { listTemplates, putTemplate, type TemplateDependencies } from '../../../shared/use-cases/manage-templates';
import { freshLedger } from '../../support/dynamodb';
import { loadEvent } from '../../support/fixtures';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

const STANDARD: WebhookAuth = { kind: 'standard', secret: `whsec_${Buffer.from('a-thirty-two-byte-secret-for-tst').toString('base64')}` };
const HMAC: WebhookAuth = { kind: 'hmac', secret: 'hmac-secret-of-the-data-platform', header: 'x-platform-signature' };
const spec = {
  name: 'churn-xgb',
  provider: 'sagemaker',
  objective: { metric: 'validation:auc', goal: 'maximize' },
  parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
  strategy: 'random',
  budget: { maxTrials: 4, parallelTrials: 2 },
  trial: { inputs: [{ channel: 'train', s3Uri: 's3://tunewire-data/churn/base/' }] },
};
const newKeyFile = () => join(mkdtempSync(join(tmpdir(), 'tunewire-key-')), 'webhook-secrets.key');

/**
 * Two templates on one table: `churn` sealed with the trigger function's key, `fraud` sealed with a
 * key the function does not have (a lost or rotated-away key).
 */
describe('DynamoDbTemplateStore with one template whose key was lost, against DynamoDB Local', () => {
  let store: DynamoDbTemplateStore;
  let deps: TemplateDependencies;
  let sagemaker: ScriptedProvider;
  let now: Date;

  beforeEach(async () => {
    const fresh = await freshLedger('template-store-lost-key');
    store = new DynamoDbTemplateStore({ client: fresh.client, tableName: fresh.tableName, cipher: new LocalKeyFileCipher({ path: newKeyFile() }) });
    const lostKey = new DynamoDbTemplateStore({ client: fresh.client, tableName: fresh.tableName, cipher: new LocalKeyFileCipher({ path: newKeyFile() }) });
    sagemaker = new ScriptedProvider('sagemaker');
    // near real time: the standardwebhooks package checks its own tolerance against Date.now()
    now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const clock: Clock = { now: () => now };
    const depsWith = (templates: DynamoDbTemplateStore): TemplateDependencies => ({
      ledger: fresh.ledger,
      bus: new RecordingBus(),
      clock,
      templates,
      providers: new ProviderCatalog({ sagemaker: { provider: sagemaker, registry: new RecordingRegistry() } }),
    });
    deps = depsWith(store);
    await putTemplate(deps, { name: 'churn', document: { spec, triggers: { s3Prefix: 's3://tunewire-data/churn/', datasetName: 'churn-daily', webhook: STANDARD } } });
    await putTemplate(depsWith(lostKey), { name: 'fraud', document: { spec: { ...spec, name: 'fraud-xgb' }, triggers: { s3Prefix: 's3://tunewire-data/fraud/', webhook: HMAC } } });
  });

  const s3Event = (key: string, id: string) => {
    const sample = loadEvent('triggers/s3-object-created.json') as { detail: { object: Record<string, unknown> } };
    return { ...sample, id, time: now.toISOString(), detail: { ...sample.detail, object: { ...sample.detail.object, key } } };
  };
  const standardHook = (id: string) => {
    const body = JSON.stringify({ location: 's3://tunewire-data/churn/2026-11-25/' });
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(STANDARD.secret).sign(id, now, body) };
    return handleInboundWebhook(deps, { template: 'churn', headers, body });
  };

  it('lists both templates without opening a secret: the scheme and header only', async () => {
    expect((await store.listTemplates()).map((t) => [t.name, t.triggers.webhook])).toEqual([
      ['churn', { kind: 'standard' }],
      ['fraud', { kind: 'hmac', header: 'x-platform-signature' }],
    ]);
    expect((await listTemplates(deps)).map((t) => t.triggers.webhook?.secret)).toEqual(['***', '***']);
  });

  it('submits an S3 trigger for the healthy template', async () => {
    const outcome = await handleTriggerEvent(deps, s3Event('churn/2026-11-23/part-00000.parquet', 'e1'));
    expect([outcome.outcome, outcome.detail]).toEqual(['applied', 'churn: submitted']);
    expect(sagemaker.creates.map((c) => c.spec.name)).toEqual(['churn-xgb']);
  });

  it('submits a Dataset Ready trigger for the healthy template', async () => {
    const outcome = await handleTriggerEvent(deps, loadEvent('triggers/dataset-ready.json'));
    expect([outcome.outcome, outcome.detail]).toEqual(['applied', 'churn: submitted']);
  });

  it('still starts the template whose secret cannot be opened from data signals: only its webhook needs the secret', async () => {
    const outcome = await handleTriggerEvent(deps, s3Event('fraud/2026-11-23/x.csv', 'e2'));
    expect([outcome.outcome, outcome.detail]).toEqual(['applied', 'fraud: submitted']);
    expect(sagemaker.creates.map((c) => c.spec.name)).toEqual(['fraud-xgb']);
  });

  it("fails only that template's inbound webhook (SealedSecretError, a 500), as before; the healthy one's answers 202", async () => {
    await expect(store.getTemplate('fraud')).rejects.toBeInstanceOf(SealedSecretError);
    await expect(handleInboundWebhook(deps, { template: 'fraud', headers: { 'x-platform-signature': 'sha256=00' }, body: '{}' })).rejects.toBeInstanceOf(SealedSecretError);
    expect((await standardHook('msg_1')).statusCode).toBe(202);
  });
});
