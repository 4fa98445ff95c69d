import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbWebhookStore, WebhookItemCorruptError, webhookKeys } from '../../../shared/adapters/dynamodb/dynamodb-webhook-store';
import { PARTITION_KEY, SORT_KEY } from '../../../shared/adapters/dynamodb/table';
import { LocalKeyFileCipher } from '../../../shared/adapters/webhooks/secret-ciphers';
import { newWebhookSecret, type SecretCipher, type Subscription } from '../../../shared/ports/webhooks';
import { freshLedger } from '../../support/dynamodb';

const TOKEN = 'Bearer pl41n-t0ken';

/** A subscription as stored before sealing existed: a rotation under way and a custom header. */
function legacySubscription(id: string): Subscription {
  return {
    id,
    url: 'https://hooks.example.com/legacy',
    events: ['job.finished'],
    secret: newWebhookSecret(),
    previousSecret: newWebhookSecret(),
    previousSecretExpiresAt: '2099-01-01T00:00:00.000Z',
    headers: { Authorization: TOKEN },
    enabled: true,
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}

/** A cipher that runs `before` ahead of sealing: another writer acting between our read and write-back. */
class CipherWithInterleaving implements SecretCipher {
  before: (() => Promise<void>) | undefined;
  constructor(private readonly inner: SecretCipher) {}
  async seal(plaintext: string): Promise<string> {
    const before = this.before;
    this.before = undefined;
    await before?.();
    return this.inner.seal(plaintext);
  }
  open(sealed: string): Promise<string> {
    return this.inner.open(sealed);
  }
}

describe('DynamoDbWebhookStore sealing plain-text secrets on read', () => {
  let client: DynamoDBClient;
  let tableName: string;
  let cipher: CipherWithInterleaving;
  let store: DynamoDbWebhookStore;

  beforeEach(async () => {
    ({ client, tableName } = await freshLedger('webhook-reseal'));
    cipher = new CipherWithInterleaving(new LocalKeyFileCipher({ path: join(mkdtempSync(join(tmpdir(), 'tunewire-key-')), 'webhook-secrets.key') }));
    store = new DynamoDbWebhookStore({ client, tableName, cipher });
  });

  const keysOf = (id: string) =>
    [
      [webhookKeys.subscription(id), webhookKeys.meta],
      [webhookKeys.index, webhookKeys.indexSubscription(id)],
    ] as const;

  /** Both items of a subscription, written with the raw client in the pre-sealing layout. */
  async function putPlain(s: Subscription): Promise<void> {
    for (const [pk, sk] of keysOf(s.id)) {
      await client.send(new PutItemCommand({ TableName: tableName, Item: marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk, kind: 'webhook-subscription', ...s }) }));
    }
  }

  async function rawItems(id: string): Promise<(Record<string, unknown> | undefined)[]> {
    return Promise.all(
      keysOf(id).map(async ([pk, sk]) => {
        const out = await client.send(new GetItemCommand({ TableName: tableName, Key: marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk }), ConsistentRead: true }));
        return out.Item ? unmarshall(out.Item) : undefined;
      }),
    );
  }

  it('seals the secret, the previous secret and the headers of both items on the first read, and keeps the rest', async () => {
    const legacy = legacySubscription('sub_legacy');
    await putPlain(legacy);

    expect(await store.getSubscription(legacy.id)).toEqual(legacy);

    for (const item of await rawItems(legacy.id)) {
      const raw = JSON.stringify(item);
      expect(item?.sealed).toMatch(/^v1:local:/);
      for (const plain of [legacy.secret, legacy.previousSecret as string, TOKEN, legacy.secret.slice(6)]) expect(raw).not.toContain(plain);
      expect(item).not.toHaveProperty('secret');
      expect(item).not.toHaveProperty('headers');
      expect(item).toMatchObject({ id: legacy.id, url: legacy.url, enabled: true, previousSecretExpiresAt: legacy.previousSecretExpiresAt });
    }
    expect(await store.getSubscription(legacy.id)).toEqual(legacy);
    expect(await store.listSubscriptions()).toEqual([legacy]);
    // sealed for real: a store without the key can no longer read it
    await expect(new DynamoDbWebhookStore({ client, tableName }).getSubscription(legacy.id)).rejects.toBeInstanceOf(WebhookItemCorruptError);
  });

  it('seals on a list read too', async () => {
    const legacy: Subscription = { id: 'sub_listed', url: 'https://hooks.example.com/l', events: ['*'], secret: newWebhookSecret(), enabled: true, createdAt: '2025-01-01T00:00:00.000Z' };
    await putPlain(legacy);

    expect(await store.listSubscriptions()).toEqual([legacy]);

    for (const item of await rawItems(legacy.id)) {
      expect(item?.sealed).toMatch(/^v1:local:/);
      expect(JSON.stringify(item)).not.toContain(legacy.secret);
    }
  });

  it('does not overwrite a rotation made between the read and the write-back', async () => {
    const legacy = legacySubscription('sub_rotated');
    await putPlain(legacy);
    const rotated: Subscription = { ...legacy, secret: newWebhookSecret(), previousSecret: legacy.secret };
    cipher.before = () => putPlain(rotated);

    // the read returns what it read; the write-back loses to the newer secret
    expect(await store.getSubscription(legacy.id)).toEqual(legacy);

    for (const item of await rawItems(legacy.id)) {
      expect(item).toMatchObject({ secret: rotated.secret, previousSecret: legacy.secret });
      expect(item).not.toHaveProperty('sealed');
    }
    // the next read seals the rotated secrets
    expect(await store.getSubscription(legacy.id)).toEqual(rotated);
    for (const item of await rawItems(legacy.id)) expect(JSON.stringify(item)).not.toContain(rotated.secret);
  });

  it('does not overwrite a change of headers, nor bring back a deleted subscription', async () => {
    const legacy = legacySubscription('sub_changed');
    await putPlain(legacy);
    cipher.before = () => putPlain({ ...legacy, headers: { Authorization: 'Bearer n3w' } });
    await store.getSubscription(legacy.id);
    for (const item of await rawItems(legacy.id)) expect(item).toMatchObject({ headers: { Authorization: 'Bearer n3w' } });

    const doomed = legacySubscription('sub_deleted');
    await putPlain(doomed);
    cipher.before = async () => {
      for (const [pk, sk] of keysOf(doomed.id)) await client.send(new DeleteItemCommand({ TableName: tableName, Key: marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk }) }));
    };
    expect(await store.getSubscription(doomed.id)).toEqual(doomed);
    expect(await rawItems(doomed.id)).toEqual([undefined, undefined]);
  });

  it('keeps a change to another attribute made between the read and the write-back', async () => {
    const legacy = legacySubscription('sub_disabled');
    await putPlain(legacy);
    cipher.before = async () => {
      expect(await store.setSubscriptionEnabled(legacy.id, false, '410 Gone')).toBe(true);
    };

    await store.getSubscription(legacy.id);

    for (const item of await rawItems(legacy.id)) {
      expect(item).toMatchObject({ enabled: false, disabledReason: '410 Gone', sealed: expect.stringMatching(/^v1:local:/) });
      expect(item).not.toHaveProperty('secret');
    }
  });

  it('returns the secret when the write-back fails, and leaves the item as it was', async () => {
    const legacy = legacySubscription('sub_unsealable');
    await putPlain(legacy);
    const cannotSeal: SecretCipher = {
      seal: async () => {
        throw new Error('AccessDeniedException: not authorized to perform kms:GenerateDataKey');
      },
      open: (sealed) => cipher.open(sealed),
    };

    expect(await new DynamoDbWebhookStore({ client, tableName, cipher: cannotSeal }).getSubscription(legacy.id)).toEqual(legacy);

    for (const item of await rawItems(legacy.id)) expect(item).toMatchObject({ secret: legacy.secret, headers: { Authorization: TOKEN } });
  });
});
