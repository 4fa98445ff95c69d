import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamoDbWebhookStore, WebhookItemCorruptError, webhookKeys } from '../../../shared/adapters/dynamodb/dynamodb-webhook-store';
import { LocalKeyFileCipher } from '../../../shared/adapters/webhooks/secret-ciphers';
import { PARTITION_KEY, SORT_KEY } from '../../../shared/adapters/dynamodb/table';
import { newWebhookSecret, type Subscription } from '../../../shared/ports/webhooks';
import { rotateSubscriptionSecret } from '../../../shared/use-cases/manage-webhooks';
import { freshLedger } from '../../support/dynamodb';

describe('DynamoDbWebhookStore with a cipher', () => {
  it('keeps the secret, the previous secret and the header values out of the stored items, and reads them back', async () => {
    const { client, tableName } = await freshLedger('webhook-sealed');
    const cipher = new LocalKeyFileCipher({ path: join(mkdtempSync(join(tmpdir(), 'tunewire-key-')), 'webhook-secrets.key') });
    const store = new DynamoDbWebhookStore({ client, tableName, cipher });
    const subscription: Subscription = {
      id: 'sub_sealed',
      url: 'https://hooks.example.com/t',
      events: ['*'],
      secret: newWebhookSecret(),
      headers: { Authorization: 'Bearer sup3r-t0ken' },
      format: 'slack',
      enabled: true,
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    await store.putSubscription(subscription);
    const rotated = await rotateSubscriptionSecret({ store, clock: { now: () => new Date('2026-01-02T00:00:00.000Z') } }, subscription.id);

    for (const [pk, sk] of [
      [webhookKeys.subscription(subscription.id), webhookKeys.meta],
      [webhookKeys.index, webhookKeys.indexSubscription(subscription.id)],
    ] as const) {
      const raw = JSON.stringify((await client.send(new GetItemCommand({ TableName: tableName, Key: { [PARTITION_KEY]: { S: pk }, [SORT_KEY]: { S: sk } } }))).Item);
      expect(raw).toContain('v1:local:');
      for (const secret of [subscription.secret, rotated.secret, 'sup3r-t0ken', subscription.secret.slice(6), rotated.secret.slice(6)]) expect(raw).not.toContain(secret);
    }
    expect(await store.getSubscription(subscription.id)).toEqual({
      ...subscription,
      secret: rotated.secret,
      previousSecret: subscription.secret,
      previousSecretExpiresAt: '2026-01-03T00:00:00.000Z',
    });
    expect((await store.listSubscriptions()).map((s) => s.secret)).toEqual([rotated.secret]);
    // without the key the sealed secrets cannot be read at all
    await expect(new DynamoDbWebhookStore({ client, tableName }).getSubscription(subscription.id)).rejects.toBeInstanceOf(WebhookItemCorruptError);
  });

  it('still reads a subscription stored in plain text before secrets were sealed', async () => {
    const { client, tableName } = await freshLedger('webhook-plain');
    const old: Subscription = { id: 'sub_old', url: 'https://hooks.example.com/t', events: ['*'], secret: newWebhookSecret(), enabled: true, createdAt: '2025-01-01T00:00:00.000Z' };
    await new DynamoDbWebhookStore({ client, tableName }).putSubscription(old);
    const cipher = new LocalKeyFileCipher({ path: join(mkdtempSync(join(tmpdir(), 'tunewire-key-')), 'k.key') });
    expect(await new DynamoDbWebhookStore({ client, tableName, cipher }).getSubscription('sub_old')).toEqual(old);
  });
});
