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
import { SubscriptionExistsError, type DeadLetter, type Subscription, type WebhookStore } from '../../ports/webhooks';
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
 *
 * Why index items rather than a Scan or a GSI: listing is one strongly consistent Query on one
 * small partition, and the existing GSIs keep their single meaning. The copy and the item are
 * always written in one transaction, so they cannot drift. Subscriptions are few; one partition
 * holds them comfortably.
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

export class DynamoDbWebhookStore implements WebhookStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async putSubscription(subscription: Subscription): Promise<void> {
    const body = subscriptionAttributes(subscription);
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
    return out.Item ? toSubscription(out.Item) : undefined;
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return (await this.query(webhookKeys.index, webhookKeys.indexSubscriptionPrefix)).map(toSubscription);
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
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async deleteSubscription(id: string): Promise<boolean> {
    try {
      await this.transact([this.delete(webhookKeys.subscription(id), webhookKeys.meta), this.delete(webhookKeys.index, webhookKeys.indexSubscription(id))]);
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
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
      if (conditionFailed(error)) return false;
      throw error;
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

function subscriptionAttributes(s: Subscription): Record<string, unknown> {
  return {
    kind: 'webhook-subscription',
    id: s.id,
    url: s.url,
    events: [...s.events],
    secret: s.secret,
    enabled: s.enabled,
    disabledReason: s.disabledReason,
    createdAt: s.createdAt,
  };
}

function conditionFailed(error: unknown): boolean {
  return error instanceof TransactionCanceledException && (error.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
}

function text(row: Record<string, unknown>, field: string, key: string): string {
  const value = row[field];
  if (typeof value !== 'string') throw new WebhookItemCorruptError(key, `${field} is not a string`);
  return value;
}

function toSubscription(item: Item): Subscription {
  const row = unmarshall(item);
  const key = `${row[PARTITION_KEY]}/${row[SORT_KEY]}`;
  const events = row.events;
  if (!Array.isArray(events) || !events.every((e) => typeof e === 'string')) throw new WebhookItemCorruptError(key, 'events is not a list of strings');
  return {
    id: text(row, 'id', key),
    url: text(row, 'url', key),
    events: events as Subscription['events'],
    secret: text(row, 'secret', key),
    enabled: row.enabled === true,
    ...(typeof row.disabledReason === 'string' ? { disabledReason: row.disabledReason } : {}),
    createdAt: text(row, 'createdAt', key),
  };
}

function toDeadLetter(item: Item): DeadLetter {
  const row = unmarshall(item);
  const key = `${row[PARTITION_KEY]}/${row[SORT_KEY]}`;
  let event: AnyTunewireEvent;
  try {
    event = JSON.parse(text(row, 'event', key)) as AnyTunewireEvent;
  } catch (error) {
    if (error instanceof WebhookItemCorruptError) throw error;
    throw new WebhookItemCorruptError(key, 'event is not JSON');
  }
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
