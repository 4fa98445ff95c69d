import { queryAll } from './paging';
import {
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TunewireError } from '../../domain/errors';
import type { AnyTunewireEvent } from '../../domain/events';
import {
  SubscriptionExistsError,
  type DeadLetter,
  type PendingDelivery,
  type PendingKey,
  type SecretCipher,
  type Subscription,
  type WebhookFormat,
  type WebhookStore,
} from '../../ports/webhooks';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './table';

/**
 * Webhook subscriptions and dead letters on the ledger's single table, under key prefixes of
 * their own (they never share a partition with jobs or models):
 *
 *   pk              sk                                  what
 *   SUB#<id>        META                                the subscription
 *   SUB#<id>        DLQ#<at>#<event id>                 one dead letter of that target (TTL)
 *   WEBHOOKS        SUB#<id>                            index copy of the subscription, for list
 *   WEBHOOKS        DLQ#<at>#<subscription id>#<event id>  index copy of the dead letter (TTL)
 *   SUB#<id>        PENDING#<event id>#<target key>     a delivery waiting for its next attempt
 *   WEBHOOKS        PENDING#<due at>#<id>#<event id>#<target key>  its index copy, by due time
 *
 * Why index items rather than a Scan or a GSI: listing is one strongly consistent Query on one
 * small partition, and the existing GSIs keep their single meaning. The copy and the item are
 * always written in one transaction, so they cannot drift. Subscriptions are few; one partition
 * holds them comfortably. A pending delivery's index copy moves (delete + put, in the same
 * transaction) whenever its due time does, so "what is due" is one range Query.
 *
 * Secrets (the signing secret, the previous one during a rotation, custom headers) are sealed with
 * the SecretCipher into one `sealed` attribute; the item never holds them in plain text. Items
 * written before (a plain `secret`) are still read, and sealed in place on that read (best effort).
 */
export const webhookKeys = {
  subscription: (id: string) => `SUB#${id}`,
  meta: 'META',
  deadLetter: (at: string, eventId: string) => `DLQ#${at}#${eventId}`,
  deadLetterPrefix: 'DLQ#',
  index: 'WEBHOOKS',
  indexSubscription: (id: string) => `SUB#${id}`,
  indexSubscriptionPrefix: 'SUB#',
  indexDeadLetter: (at: string, subscriptionId: string, eventId: string) => `DLQ#${at}#${subscriptionId}#${eventId}`,
  pending: (eventId: string, targetKey: string) => `PENDING#${eventId}#${targetKey}`,
  pendingPrefix: 'PENDING#',
  indexPending: (dueAt: string, subscriptionId: string, eventId: string, targetKey: string) => `PENDING#${dueAt}#${subscriptionId}#${eventId}#${targetKey}`,
  /** Sorts after every index key of a pending delivery due at `dueAt` ('$' follows '#'). */
  indexPendingUpTo: (dueAt: string) => `PENDING#${dueAt}$`,
} as const;

export const DEAD_LETTER_RETENTION_DAYS = 30;

type Item = Record<string, AttributeValue>;

export class WebhookItemCorruptError extends TunewireError {
  readonly code = 'WEBHOOK.ITEM_CORRUPT';
  readonly retryable = false;
  constructor(readonly key: string, problem: string) {
    super(`webhook item ${key}: ${problem}`);
  }
}

/**
 * @example
 *   const store = new DynamoDbWebhookStore({ client, tableName, cipher: new LocalKeyFileCipher({ path }) });
 */
export class DynamoDbWebhookStore implements WebhookStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly cipher: SecretCipher | undefined;
  /** Off once sealing failed (e.g. a role that may open but not seal): not tried on every read. */
  private resealing = true;

  /** Without a cipher, secrets are written in plain text: tests and stores that predate sealing only. */
  constructor(options: { client: DynamoDBClient; tableName: string; cipher?: SecretCipher }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.cipher = options.cipher;
  }

  async putSubscription(subscription: Subscription): Promise<void> {
    const body = await this.subscriptionAttributes(subscription);
    try {
      // condition: the META item must not exist (a second create with the same id is refused)
      await this.transact([
        this.put({ [PARTITION_KEY]: webhookKeys.subscription(subscription.id), [SORT_KEY]: webhookKeys.meta, ...body }, true),
        this.put({ [PARTITION_KEY]: webhookKeys.index, [SORT_KEY]: webhookKeys.indexSubscription(subscription.id), ...body }, false),
      ]);
    } catch (error) {
      if (conditionFailed(error)) throw new SubscriptionExistsError(subscription.id);
      throw error;
    }
  }

  async getSubscription(id: string): Promise<Subscription | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ [PARTITION_KEY]: webhookKeys.subscription(id), [SORT_KEY]: webhookKeys.meta }), ConsistentRead: true }),
    );
    return out.Item ? this.toSubscription(out.Item) : undefined;
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return Promise.all((await this.query(webhookKeys.index, webhookKeys.indexSubscriptionPrefix)).map((item) => this.toSubscription(item)));
  }

  async rotateSecret(id: string, secret: string, previous: { secret: string; expiresAt: string }): Promise<boolean> {
    const current = await this.getSubscription(id);
    if (!current) return false;
    const body = await this.subscriptionAttributes({ ...current, secret, previousSecret: previous.secret, previousSecretExpiresAt: previous.expiresAt });
    const put = (pk: string, sk: string): TransactWriteItem => ({
      Put: {
        TableName: this.tableName,
        Item: marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk, ...body }, { removeUndefinedValues: true }),
        // condition: the subscription still exists (a rotation must not bring back a deleted one)
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY },
      },
    });
    try {
      await this.transact([put(webhookKeys.subscription(id), webhookKeys.meta), put(webhookKeys.index, webhookKeys.indexSubscription(id))]);
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async savePendingDelivery(pending: PendingDelivery, previous?: PendingDelivery): Promise<boolean> {
    const body = pendingAttributes(pending);
    const main = { [PARTITION_KEY]: webhookKeys.subscription(pending.subscriptionId), [SORT_KEY]: webhookKeys.pending(pending.eventId, pending.targetKey), ...body };
    const index = { [PARTITION_KEY]: webhookKeys.index, [SORT_KEY]: webhookKeys.indexPending(pending.dueAt, pending.subscriptionId, pending.eventId, pending.targetKey), ...body };
    const items: TransactWriteItem[] = [];
    if (!previous) {
      // condition: not pending yet (the same event delivered twice has one next attempt)
      items.push(this.put(main, true));
    } else {
      // timeline: runner A loads (attempt n, due d) → A claims (n, d → d+lease) → A moves it to
      // (n+1, d'). Runner B, holding the same (n, d), must fail its claim: both parts are compared.
      items.push({
        Put: {
          TableName: this.tableName,
          Item: marshall(main, { removeUndefinedValues: true }),
          ConditionExpression: '#attempt = :attempt AND #dueAt = :dueAt',
          ExpressionAttributeNames: { '#attempt': 'attempt', '#dueAt': 'dueAt' },
          ExpressionAttributeValues: marshall({ ':attempt': previous.attempt, ':dueAt': previous.dueAt }),
        },
      });
      const oldIndex = webhookKeys.indexPending(previous.dueAt, previous.subscriptionId, previous.eventId, previous.targetKey);
      if (oldIndex !== index[SORT_KEY]) items.push({ Delete: { TableName: this.tableName, Key: marshall({ [PARTITION_KEY]: webhookKeys.index, [SORT_KEY]: oldIndex }) } });
    }
    items.push(this.put(index, false));
    try {
      await this.transact(items);
      return true;
    } catch (error) {
      if (lostRace(error)) return false;
      throw error;
    }
  }

  async getPendingDelivery(key: PendingKey): Promise<PendingDelivery | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ [PARTITION_KEY]: webhookKeys.subscription(key.subscriptionId), [SORT_KEY]: webhookKeys.pending(key.eventId, key.targetKey) }), ConsistentRead: true }),
    );
    return out.Item ? toPendingDelivery(out.Item) : undefined;
  }

  async listPendingDeliveries(options: { dueBy?: Date } = {}): Promise<PendingDelivery[]> {
    if (!options.dueBy) return (await this.query(webhookKeys.index, webhookKeys.pendingPrefix)).map(toPendingDelivery);
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
      ExpressionAttributeValues: marshall({ ':pk': webhookKeys.index, ':from': webhookKeys.pendingPrefix, ':to': webhookKeys.indexPendingUpTo(options.dueBy.toISOString()) }),
      ConsistentRead: true,
    });
    return items.map(toPendingDelivery);
  }

  async deletePendingDelivery(pending: PendingDelivery): Promise<boolean> {
    try {
      await this.transact([
        {
          Delete: {
            TableName: this.tableName,
            Key: marshall({ [PARTITION_KEY]: webhookKeys.subscription(pending.subscriptionId), [SORT_KEY]: webhookKeys.pending(pending.eventId, pending.targetKey) }),
            // condition: still the attempt we made (another runner may have moved it on)
            ConditionExpression: '#attempt = :attempt AND #dueAt = :dueAt',
            ExpressionAttributeNames: { '#attempt': 'attempt', '#dueAt': 'dueAt' },
            ExpressionAttributeValues: marshall({ ':attempt': pending.attempt, ':dueAt': pending.dueAt }),
          },
        },
        { Delete: { TableName: this.tableName, Key: marshall({ [PARTITION_KEY]: webhookKeys.index, [SORT_KEY]: webhookKeys.indexPending(pending.dueAt, pending.subscriptionId, pending.eventId, pending.targetKey) }) } },
      ]);
      return true;
    } catch (error) {
      if (lostRace(error)) return false;
      throw error;
    }
  }

  async setSubscriptionEnabled(id: string, enabled: boolean, reason?: string): Promise<boolean> {
    const withReason = !enabled && reason !== undefined;
    const update = (pk: string, sk: string): TransactWriteItem => ({
      Update: {
        TableName: this.tableName,
        Key: marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk }),
        // condition: the subscription still exists (an update must not create a half item)
        ConditionExpression: 'attribute_exists(#pk)',
        UpdateExpression: withReason ? 'SET #enabled = :enabled, #reason = :reason' : 'SET #enabled = :enabled REMOVE #reason',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#enabled': 'enabled', '#reason': 'disabledReason' },
        ExpressionAttributeValues: marshall(withReason ? { ':enabled': enabled, ':reason': reason } : { ':enabled': enabled }),
      },
    });
    try {
      await this.transact([update(webhookKeys.subscription(id), webhookKeys.meta), update(webhookKeys.index, webhookKeys.indexSubscription(id))]);
      return true;
    } catch (error) {
      if (lostRace(error)) return false;
      throw error;
    }
  }

  async deleteSubscription(id: string): Promise<boolean> {
    try {
      await this.transact([this.delete(webhookKeys.subscription(id), webhookKeys.meta), this.delete(webhookKeys.index, webhookKeys.indexSubscription(id))]);
      return true;
    } catch (error) {
      if (lostRace(error)) return false;
      throw error;
    }
  }

  async recordDeadLetter(deadLetter: DeadLetter): Promise<void> {
    const body = {
      kind: 'webhook-dead-letter',
      subscriptionId: deadLetter.subscriptionId,
      url: deadLetter.url,
      eventId: deadLetter.eventId,
      // JSON, not a map: the event is replayed byte for byte and never queried by field
      event: JSON.stringify(deadLetter.event),
      attempts: deadLetter.attempts,
      lastError: deadLetter.lastError.slice(0, 2_000),
      at: deadLetter.at,
      [TTL_ATTRIBUTE]: Math.floor(Date.parse(deadLetter.at) / 1000) + DEAD_LETTER_RETENTION_DAYS * 86_400,
    };
    try {
      // condition: not recorded yet (a retried notify records the same letter once)
      await this.transact([
        this.put({ [PARTITION_KEY]: webhookKeys.subscription(deadLetter.subscriptionId), [SORT_KEY]: webhookKeys.deadLetter(deadLetter.at, deadLetter.eventId), ...body }, true),
        this.put({ [PARTITION_KEY]: webhookKeys.index, [SORT_KEY]: webhookKeys.indexDeadLetter(deadLetter.at, deadLetter.subscriptionId, deadLetter.eventId), ...body }, false),
      ]);
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }

  async listDeadLetters(options: { subscriptionId?: string } = {}): Promise<DeadLetter[]> {
    const items = options.subscriptionId
      ? await this.query(webhookKeys.subscription(options.subscriptionId), webhookKeys.deadLetterPrefix)
      : await this.query(webhookKeys.index, webhookKeys.deadLetterPrefix);
    return items.map(toDeadLetter);
  }

  async deleteDeadLetter(key: Pick<DeadLetter, 'subscriptionId' | 'at' | 'eventId'>): Promise<boolean> {
    try {
      await this.transact([
        this.delete(webhookKeys.subscription(key.subscriptionId), webhookKeys.deadLetter(key.at, key.eventId)),
        this.delete(webhookKeys.index, webhookKeys.indexDeadLetter(key.at, key.subscriptionId, key.eventId)),
      ]);
      return true;
    } catch (error) {
      if (lostRace(error)) return false;
      throw error;
    }
  }

  private async subscriptionAttributes(s: Subscription): Promise<Record<string, unknown>> {
    const secrets: SealedSecrets = { secret: s.secret, ...(s.previousSecret ? { previousSecret: s.previousSecret } : {}), ...(s.headers ? { headers: s.headers } : {}) };
    return {
      kind: 'webhook-subscription',
      id: s.id,
      url: s.url,
      events: [...s.events],
      ...(this.cipher ? { sealed: await this.cipher.seal(JSON.stringify(secrets)) } : secrets),
      previousSecretExpiresAt: s.previousSecretExpiresAt,
      format: s.format,
      enabled: s.enabled,
      disabledReason: s.disabledReason,
      createdAt: s.createdAt,
    };
  }

  private async toSubscription(item: Item): Promise<Subscription> {
    const row = unmarshall(item);
    const key = `${row[PARTITION_KEY]}/${row[SORT_KEY]}`;
    const events = row.events;
    if (!Array.isArray(events) || !events.every((e) => typeof e === 'string')) throw new WebhookItemCorruptError(key, 'events is not a list of strings');
    const secrets = await this.secretsOf(row, key);
    if (typeof row.sealed !== 'string') await this.resealPlain(text(row, 'id', key), secrets);
    return {
      id: text(row, 'id', key),
      url: text(row, 'url', key),
      events: events as Subscription['events'],
      secret: secrets.secret,
      ...(secrets.previousSecret && typeof row.previousSecretExpiresAt === 'string' ? { previousSecret: secrets.previousSecret, previousSecretExpiresAt: row.previousSecretExpiresAt } : {}),
      ...(secrets.headers ? { headers: secrets.headers } : {}),
      ...(row.format === 'slack' || row.format === 'standard' ? { format: row.format as WebhookFormat } : {}),
      enabled: row.enabled === true,
      ...(typeof row.disabledReason === 'string' ? { disabledReason: row.disabledReason } : {}),
      createdAt: text(row, 'createdAt', key),
    };
  }

  private async secretsOf(row: Record<string, unknown>, key: string): Promise<SealedSecrets> {
    if (typeof row.sealed !== 'string') {
      const headers = row.headers as Record<string, string> | undefined;
      return { secret: text(row, 'secret', key), ...(typeof row.previousSecret === 'string' ? { previousSecret: row.previousSecret } : {}), ...(headers ? { headers } : {}) };
    }
    if (!this.cipher) throw new WebhookItemCorruptError(key, 'its secrets are sealed and this store has no cipher to open them');
    let parsed: unknown;
    try {
      parsed = JSON.parse(await this.cipher.open(row.sealed));
    } catch (error) {
      if (error instanceof SyntaxError) throw new WebhookItemCorruptError(key, 'sealed secrets are not JSON');
      throw error;
    }
    const secrets = parsed as SealedSecrets;
    if (typeof secrets?.secret !== 'string') throw new WebhookItemCorruptError(key, 'sealed secrets have no secret');
    return secrets;
  }

  /**
   * Seals the plain-text secrets of a subscription stored before sealing existed, on both its
   * items, leaving every other attribute alone. Best effort: the read that found them returns them
   * whether or not this lands, and the next read tries again.
   */
  private async resealPlain(id: string, plain: SealedSecrets): Promise<void> {
    if (!this.cipher || !this.resealing) return;
    let sealed: string;
    try {
      sealed = await this.cipher.seal(JSON.stringify(plain));
    } catch {
      this.resealing = false;
      return;
    }
    // timeline: reader A gets the plain item → B rotates or re-creates it (sealed), or deletes it →
    // A writes back. A's secrets are stale then, so the write-back holds only while the item is:
    //   still plain           attribute_not_exists(sealed)
    //   the same secret       secret = what A read (false on a deleted item: nothing comes back)
    //   the same previous     previousSecret = what A read, or still none
    //   the same headers      headers = what A read, or still none
    const condition = [
      'attribute_not_exists(#sealed)',
      '#secret = :secret',
      plain.previousSecret !== undefined ? '#previousSecret = :previousSecret' : 'attribute_not_exists(#previousSecret)',
      plain.headers !== undefined ? '#headers = :headers' : 'attribute_not_exists(#headers)',
    ].join(' AND ');
    const update = (pk: string, sk: string): TransactWriteItem => ({
      Update: {
        TableName: this.tableName,
        Key: marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk }),
        UpdateExpression: 'SET #sealed = :sealed REMOVE #secret, #previousSecret, #headers',
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#sealed': 'sealed', '#secret': 'secret', '#previousSecret': 'previousSecret', '#headers': 'headers' },
        ExpressionAttributeValues: marshall(
          { ':sealed': sealed, ':secret': plain.secret, ':previousSecret': plain.previousSecret, ':headers': plain.headers },
          { removeUndefinedValues: true },
        ),
      },
    });
    try {
      await this.transact([update(webhookKeys.subscription(id), webhookKeys.meta), update(webhookKeys.index, webhookKeys.indexSubscription(id))]);
    } catch {
      // a lost race (the condition), throttling, a missing permission: the secrets stay as they were
    }
  }

  private put(item: Record<string, unknown>, mustBeNew: boolean): TransactWriteItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: marshall(item, { removeUndefinedValues: true }),
        ...(mustBeNew ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } } : {}),
      },
    };
  }

  private delete(pk: string, sk: string): TransactWriteItem {
    return {
      Delete: {
        TableName: this.tableName,
        Key: marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk }),
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY },
      },
    };
  }

  private async transact(items: TransactWriteItem[]): Promise<void> {
    await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
  }

  private async query(pk: string, skPrefix: string): Promise<Item[]> {
    return queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
      ExpressionAttributeValues: marshall({ ':pk': pk, ':prefix': skPrefix }),
      ConsistentRead: true,
    });
  }
}

function pendingAttributes(p: PendingDelivery): Record<string, unknown> {
  return {
    kind: 'webhook-pending',
    subscriptionId: p.subscriptionId,
    targetKey: p.targetKey,
    url: p.url,
    eventId: p.eventId,
    event: JSON.stringify(p.event),
    attempt: p.attempt,
    dueAt: p.dueAt,
    lastError: p.lastError.slice(0, 2_000),
    lastStatus: p.lastStatus,
    firstAttemptAt: p.firstAttemptAt,
  };
}

/** What is sealed together: one cipher call per subscription. */
interface SealedSecrets {
  readonly secret: string;
  readonly previousSecret?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

function conditionFailed(error: unknown): boolean {
  return error instanceof TransactionCanceledException && (error.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
}

/** A pending delivery's write lost a race: its condition failed, or another write to it was in flight. */
function lostRace(error: unknown): boolean {
  return conditionFailed(error) || (error instanceof TransactionCanceledException && (error.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict'));
}

function text(row: Record<string, unknown>, field: string, key: string): string {
  const value = row[field];
  if (typeof value !== 'string') throw new WebhookItemCorruptError(key, `${field} is not a string`);
  return value;
}

function toPendingDelivery(item: Item): PendingDelivery {
  const row = unmarshall(item);
  const key = `${row[PARTITION_KEY]}/${row[SORT_KEY]}`;
  return {
    subscriptionId: text(row, 'subscriptionId', key),
    targetKey: text(row, 'targetKey', key),
    url: text(row, 'url', key),
    eventId: text(row, 'eventId', key),
    event: eventOf(row, key),
    attempt: typeof row.attempt === 'number' ? row.attempt : 0,
    dueAt: text(row, 'dueAt', key),
    lastError: text(row, 'lastError', key),
    ...(typeof row.lastStatus === 'number' ? { lastStatus: row.lastStatus } : {}),
    firstAttemptAt: text(row, 'firstAttemptAt', key),
  };
}

function eventOf(row: Record<string, unknown>, key: string): AnyTunewireEvent {
  try {
    return JSON.parse(text(row, 'event', key)) as AnyTunewireEvent;
  } catch (error) {
    if (error instanceof WebhookItemCorruptError) throw error;
    throw new WebhookItemCorruptError(key, 'event is not JSON');
  }
}

function toDeadLetter(item: Item): DeadLetter {
  const row = unmarshall(item);
  const key = `${row[PARTITION_KEY]}/${row[SORT_KEY]}`;
  const event = eventOf(row, key);
  return {
    subscriptionId: text(row, 'subscriptionId', key),
    url: text(row, 'url', key),
    eventId: text(row, 'eventId', key),
    event,
    attempts: typeof row.attempts === 'number' ? row.attempts : 0,
    lastError: text(row, 'lastError', key),
    at: text(row, 'at', key),
  };
}
