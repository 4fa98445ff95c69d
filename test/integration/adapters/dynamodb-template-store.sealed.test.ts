import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTemplateStore } from '../../../shared/adapters/dynamodb/dynamodb-template-store';
import { LocalKeyFileCipher, SealedSecretError } from '../../../shared/adapters/webhooks/secret-ciphers';
import { handleInboundWebhook } from '../../../shared/edge/inbound-webhook';
import type { Clock } from '../../../shared/ports/clock';
import type { WebhookAuth } from '../../../shared/ports/templates';
import { ProviderCatalog } from '../../../shared/use-cases/dependencies';
import { putTemplate, type TemplateDependencies } from '../../../shared/use-cases/manage-templates';
import { freshLedger } from '../../support/dynamodb';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

const STANDARD: WebhookAuth = { kind: 'standard', secret: `whsec_${Buffer.from('a-thirty-two-byte-secret-for-tst').toString('base64')}` };
const HMAC: WebhookAuth = { kind: 'hmac', secret: 'hmac-secret-of-the-data-platform', header: 'x-platform-signature' };
/** Each secret and, for `whsec_`, its key alone: neither may appear in a stored item. */
const secretParts = (auth: WebhookAuth) => [auth.secret, ...(auth.secret.startsWith('whsec_') ? [auth.secret.slice('whsec_'.length)] : [])];

const spec = {
  name: 'churn-xgb',
  provider: 'sagemaker',
  objective: { metric: 'validation:auc', goal: 'maximize' },
  parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
  strategy: 'random',
  budget: { maxTrials: 4, parallelTrials: 2 },
  trial: { inputs: [{ channel: 'train', s3Uri: 's3://tunewire-data/churn/base/' }] },
};
const body = JSON.stringify({ location: 's3://tunewire-data/churn/2026-11-25/', labels: { 'dataset-date': '2026-11-25' } });
const newKeyFile = () => join(mkdtempSync(join(tmpdir(), 'tunewire-key-')), 'webhook-secrets.key');

describe('DynamoDbTemplateStore with a cipher against DynamoDB Local', () => {
  let client: DynamoDBClient;
  let tableName: string;
  let keyFile: string;
  let sealed: DynamoDbTemplateStore;
  let plain: DynamoDbTemplateStore;
  let sagemaker: ScriptedProvider;
  /** Every item of the table, as stored. */
  let rawItems: () => Promise<string>;
  const depsWith = (templates: DynamoDbTemplateStore, ledger: TemplateDependencies['ledger']): TemplateDependencies => {
    // near real time: the standardwebhooks package checks its own tolerance against Date.now()
    const clock: Clock = { now: () => new Date() };
    return { ledger, bus: new RecordingBus(), clock, templates, providers: new ProviderCatalog({ sagemaker: { provider: sagemaker, registry: new RecordingRegistry() } }) };
  };
  let deps: TemplateDependencies;
  let plainDeps: TemplateDependencies;
  const put = (d: TemplateDependencies, webhook: WebhookAuth, name = 'churn') => putTemplate(d, { name, document: { spec, triggers: { datasetName: 'churn-daily', webhook } } });
  const standardHook = (d: TemplateDependencies, id: string) => {
    const at = new Date();
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(STANDARD.secret).sign(id, at, body) };
    return handleInboundWebhook(d, { template: 'churn', headers, body });
  };
  const hmacHook = (d: TemplateDependencies, template: string) =>
    handleInboundWebhook(d, { template, headers: { 'x-platform-signature': `sha256=${createHmac('sha256', HMAC.secret).update(body).digest('hex')}` }, body });

  beforeEach(async () => {
    const fresh = await freshLedger('template-store-sealed');
    ({ client, tableName } = fresh);
    keyFile = newKeyFile();
    sealed = new DynamoDbTemplateStore({ client, tableName, cipher: new LocalKeyFileCipher({ path: keyFile }) });
    plain = new DynamoDbTemplateStore({ client, tableName });
    sagemaker = new ScriptedProvider('sagemaker');
    deps = depsWith(sealed, fresh.ledger);
    plainDeps = depsWith(plain, fresh.ledger);
    rawItems = async () => JSON.stringify((await client.send(new ScanCommand({ TableName: tableName }))).Items);
  });

  it('keeps the secret out of every stored item, and reads it back through get, list and the put answer', async () => {
    await put(deps, STANDARD);
    const { template } = await sealed.putTemplate({ name: 'churn', spec: (await sealed.getVersion('churn'))!.spec, settings: { policy: 'queue', debounceSeconds: 0, triggers: { webhook: HMAC } }, at: '2026-11-25T08:00:00.000Z' });

    const raw = await rawItems();
    expect(raw).toContain('v1:local:');
    for (const secret of [...secretParts(STANDARD), ...secretParts(HMAC)]) expect(raw).not.toContain(secret);
    expect(template.triggers.webhook).toEqual(HMAC);
    expect((await sealed.getTemplate('churn'))?.triggers.webhook).toEqual(HMAC);
    // listing leaves the secret sealed (see dynamodb-template-store.lost-key.test.ts)
    expect((await sealed.listTemplates()).map((t) => t.triggers.webhook)).toEqual([{ kind: HMAC.kind, header: HMAC.header }]);
    expect((await sealed.listVersions('churn')).map((v) => v.version)).toEqual([1, 2]);
  });

  it('verifies inbound deliveries against the sealed secret, Standard Webhooks and HMAC', async () => {
    await put(deps, STANDARD);
    await put(deps, HMAC, 'churn-hmac');
    const answers = [await standardHook(deps, 'msg_1'), await hmacHook(deps, 'churn-hmac')];
    expect(answers.map((a) => [a.statusCode, a.body.decision])).toEqual([
      [202, 'submitted'],
      [202, 'submitted'],
    ]);
    expect(sagemaker.creates).toHaveLength(2);
  });

  it('still reads a head stored in plain text before sealing, and seals it on the next put', async () => {
    await put(plainDeps, STANDARD);
    expect(await rawItems()).toContain(STANDARD.secret);
    expect((await sealed.getTemplate('churn'))?.triggers.webhook).toEqual(STANDARD);
    expect((await standardHook(deps, 'msg_1')).statusCode).toBe(202);

    await put(deps, STANDARD);
    const raw = await rawItems();
    for (const secret of secretParts(STANDARD)) expect(raw).not.toContain(secret);
    expect((await sealed.getTemplate('churn'))?.triggers.webhook).toEqual(STANDARD);
  });

  it('fails getTemplate with SealedSecretError under another key or without one, never reading a template without its secret', async () => {
    await put(deps, STANDARD);
    const otherKey = new DynamoDbTemplateStore({ client, tableName, cipher: new LocalKeyFileCipher({ path: newKeyFile() }) });
    await expect(otherKey.getTemplate('churn')).rejects.toBeInstanceOf(SealedSecretError);
    expect((await otherKey.listTemplates()).map((t) => t.triggers.webhook)).toEqual([{ kind: 'standard' }]);
    await expect(plain.getTemplate('churn')).rejects.toBeInstanceOf(SealedSecretError);
    // the inbound handler does not turn it into a 401 (which would read as the sender's fault)
    await expect(standardHook(depsWith(otherKey, deps.ledger), 'msg_1')).rejects.toBeInstanceOf(SealedSecretError);
    expect(sagemaker.creates).toHaveLength(0);
  });

  it('lets a template whose key was lost be put again with its secret, or deleted', async () => {
    await put(deps, STANDARD);
    await put(deps, STANDARD, 'churn-old');
    const newKey = new DynamoDbTemplateStore({ client, tableName, cipher: new LocalKeyFileCipher({ path: newKeyFile() }) });
    const newDeps = depsWith(newKey, deps.ledger);

    expect((await put(newDeps, STANDARD)).latestVersion).toBe(2);
    expect((await newKey.getTemplate('churn'))?.triggers.webhook).toEqual(STANDARD);
    expect((await standardHook(newDeps, 'msg_1')).statusCode).toBe(202);
    expect(await newKey.deleteTemplate('churn-old')).toBe(true);
    expect((await newKey.listTemplates()).map((t) => t.name)).toEqual(['churn']);
  });
});
