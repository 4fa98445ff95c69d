import { queryAll, scanAll } from './paging';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TunewireError, ConcurrencyError } from '../../domain/errors';
import type { TuningSpec } from '../../domain/spec';
import type {
  ClaimResult,
  InboundClaim,
  InboundDeliveryResult,
  ListedTriggers,
  QueuedTrigger,
  TemplateRecord,
  TemplateRecordWithSecret,
  TemplateSettings,
  TemplateStore,
  TemplateTriggers,
  TemplateVersion,
  TriggerDecision,
  WebhookAuth,
} from '../../ports/templates';
import type { SecretCipher } from '../../ports/webhooks';
import { SealedSecretError } from '../webhooks/secret-ciphers';
import { HISTORY_RETENTION_DAYS, TTL_ATTRIBUTE } from './table';

/**
 * Template items on the ledger's table, under their own partition prefix (the ledger never reads
 * `TPL#` partitions):
 *
 *   pk            sk                     what
 *   TPL#<name>    HEAD                   latest version, policy, triggers, running slot, queued trigger
 *   TPL#<name>    V#<000001>             one immutable spec version
 *   TPL#<name>    TRIG#<at>#<id>         one trigger decision (TTL)
 *   TPL#<name>    DEB#<dedupe key>       debounce marker, valid until expiresAt (TTL)
 *   TPL#<name>    HOOK#<delivery key>    inbound webhook delivery: a leased claim, then its result (TTL)
 *
 * The head is `HEAD`, not `META`: the ledger's listJobs scans for `sk = META`.
 *
 * With a cipher, the inbound webhook secret is stored sealed, as `triggers.webhook.sealedSecret`
 * (no `secret`); heads written before sealing keep `secret` in plain text and still read, until
 * the template's next put seals it. Only getTemplate opens it (the inbound webhook); listing,
 * triggering and outcomes read the head with the secret left out, sealed or not.
 */
export const templateKeys = {
  template: (name: string) => `TPL#${name}`,
  head: 'HEAD',
  version: (n: number) => `V#${String(n).padStart(6, '0')}`,
  versionPrefix: 'V#',
  decision: (at: string, id: string) => `TRIG#${at}#${id}`,
  decisionPrefix: 'TRIG#',
  debounce: (dedupeKey: string) => `DEB#${dedupeKey}`,
  delivery: (key: string) => `HOOK#${key}`,
} as const;

export class TemplateNotFoundError extends TunewireError {
  readonly code = 'TEMPLATE.NOT_FOUND';
  readonly retryable = false;
  constructor(readonly template: string) {
    super(`template ${template} was not found`);
  }
}

export interface DynamoDbTemplateStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Seals `triggers.webhook.secret` at rest. Without one it is written in plain text: tests only. */
  readonly cipher?: SecretCipher;
}

type Item = Record<string, AttributeValue>;
const PUT_ATTEMPTS = 5;
/** Racing takeovers of one expired delivery claim: each loss re-reads what the winner stored. */
const CLAIM_ATTEMPTS = 3;

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/**
 * The TemplateStore on the ledger's DynamoDB table. A failed condition becomes a result (`held`,
 * false) carrying what the winner stored, never an exception.
 *
 * @example
 *   const templates = new DynamoDbTemplateStore({ client: dynamo, tableName: config.tableName, cipher });
 */
export class DynamoDbTemplateStore implements TemplateStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly cipher: SecretCipher | undefined;

  constructor(options: DynamoDbTemplateStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.cipher = options.cipher;
  }

  async putTemplate(input: { name: string; spec: TuningSpec; settings: TemplateSettings; at: string }): Promise<{ template: TemplateRecordWithSecret; version: TemplateVersion }> {
    // sealed once: a lost race writes the same sealed value on its next attempt
    const triggers = await this.sealTriggers(input.settings.triggers);
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      const previous = (await this.latestVersion(input.name)) ?? 0;
      const version: TemplateVersion = { name: input.name, version: previous + 1, spec: input.spec, createdAt: input.at };
      // Timeline: two puts read latestVersion n -> both try to write V#n+1 and move the head from n
      // -> one transaction wins; the other's conditions fail and it re-reads and writes n+2.
      const versionIsNew = 'attribute_not_exists(pk)';
      const headUnchanged = previous === 0 ? 'attribute_not_exists(latestVersion)' : 'latestVersion = :previous';
      try {
        await this.client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: toItem({ pk: templateKeys.template(input.name), sk: templateKeys.version(version.version), name: input.name, version: version.version, spec: JSON.stringify(input.spec), createdAt: input.at }),
                  ConditionExpression: versionIsNew,
                },
              },
              {
                Update: {
                  TableName: this.tableName,
                  Key: this.headKey(input.name),
                  UpdateExpression:
                    'SET #name = :name, latestVersion = :next, #policy = :policy, debounceSeconds = :debounce, triggers = :triggers, updatedAt = :at, createdAt = if_not_exists(createdAt, :at)',
                  ConditionExpression: headUnchanged,
                  ExpressionAttributeNames: { '#name': 'name', '#policy': 'policy' },
                  ExpressionAttributeValues: toItem({
                    ':name': input.name,
                    ':next': version.version,
                    ':policy': input.settings.policy,
                    ':debounce': input.settings.debounceSeconds,
                    ':triggers': triggers,
                    ':at': input.at,
                    ...(previous === 0 ? {} : { ':previous': previous }),
                  }),
                },
              },
            ],
          }),
        );
        const template = await this.getTemplate(input.name);
        if (!template) throw new TemplateNotFoundError(input.name);
        return { template, version };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
      }
    }
    throw new ConcurrencyError(`template ${input.name}: lost ${PUT_ATTEMPTS} races writing a new version`);
  }

  async getTemplate(name: string): Promise<TemplateRecordWithSecret | undefined> {
    const head = await this.headItem(name);
    return head ? this.openTemplate(head) : undefined;
  }

  async getTemplateHead(name: string): Promise<TemplateRecord | undefined> {
    const head = await this.headItem(name);
    return head ? headFromItem(head) : undefined;
  }

  async getVersion(name: string, version?: number): Promise<TemplateVersion | undefined> {
    const n = version ?? (await this.latestVersion(name));
    if (n === undefined) return undefined;
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: toItem({ pk: templateKeys.template(name), sk: templateKeys.version(n) }), ConsistentRead: true }),
    );
    return Item ? versionFromItem(Item) : undefined;
  }

  async listVersions(name: string): Promise<TemplateVersion[]> {
    return (await this.queryPrefix(name, templateKeys.versionPrefix)).map(versionFromItem);
  }

  /**
   * A scan keeping HEAD items: fine while templates are few (the CLI and API list them, the trigger
   * function matches signals against them). No secret is opened: a lost key must not stop the
   * triggers of every template, and no caller of the list verifies a webhook.
   */
  async listTemplates(): Promise<TemplateRecord[]> {
    const rows = await scanAll(this.client, {
      TableName: this.tableName,
      FilterExpression: 'sk = :head AND begins_with(pk, :tpl)',
      ExpressionAttributeValues: toItem({ ':head': templateKeys.head, ':tpl': 'TPL#' }),
    });
    return rows.map(headFromItem).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deleteTemplate(name: string): Promise<boolean> {
    const existed = (await this.headItem(name)) !== undefined;
    const keys = (await this.queryPrefix(name, '')).map((item) => ({ pk: item['pk'] as AttributeValue, sk: item['sk'] as AttributeValue }));
    for (let i = 0; i < keys.length; i += 25) {
      let pending: Item[] = keys.slice(i, i + 25);
      for (let attempt = 0; pending.length && attempt < 8; attempt++) {
        const { UnprocessedItems } = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending.map((Key) => ({ DeleteRequest: { Key } })) } }),
        );
        pending = (UnprocessedItems?.[this.tableName] ?? []).flatMap((r) => (r.DeleteRequest?.Key ? [r.DeleteRequest.Key] : []));
      }
    }
    return existed;
  }

  async claimDebounce(name: string, dedupeKey: string, input: { owner: string; at: string; windowSeconds: number }): Promise<ClaimResult> {
    // Timeline: 50 S3 events for one directory arrive together -> each puts DEB#<dir> -> the first
    // wins; the others fail the condition until the window ends (TTL deletion is late, so the
    // condition reads expiresAt rather than trusting the item to be gone). A redelivery of the
    // winner's own event (same owner) claims again, so a crashed winner's retry still submits.
    const free = 'attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :owner';
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem({
            pk: templateKeys.template(name),
            sk: templateKeys.debounce(dedupeKey),
            owner: input.owner,
            claimedAt: input.at,
            [TTL_ATTRIBUTE]: epochSeconds(input.at) + input.windowSeconds,
          }),
          ConditionExpression: free,
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: toItem({ ':now': epochSeconds(input.at), ':owner': input.owner }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item ? unmarshall(error.Item) : {};
      return { kind: 'held', by: String(old['owner'] ?? ''), since: String(old['claimedAt'] ?? '') };
    }
  }

  async claimRunningSlot(name: string, jobId: string, input: { at: string; expected?: string }): Promise<ClaimResult> {
    // Timeline: trigger A and the schedule both find the slot empty -> both try to put their job
    // id -> one wins; the other sees the winner's id and applies its policy (queue/drop/skip).
    // `expected` lets a caller replace a holder it judged finished, and only that holder.
    const slotFree = 'attribute_exists(pk) AND (attribute_not_exists(runningJobId) OR runningJobId = :job' + (input.expected ? ' OR runningJobId = :expected)' : ')');
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.headKey(name),
          UpdateExpression: 'SET runningJobId = :job, runningSince = :at',
          ConditionExpression: slotFree,
          ExpressionAttributeValues: toItem({ ':job': jobId, ':at': input.at, ...(input.expected ? { ':expected': input.expected } : {}) }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!error.Item) throw new TemplateNotFoundError(name);
      const old = unmarshall(error.Item);
      return { kind: 'held', by: String(old['runningJobId']), since: String(old['runningSince'] ?? '') };
    }
  }

  async releaseRunningSlot(name: string, jobId: string, input: { succeeded: boolean; at: string }): Promise<boolean> {
    const holds = 'runningJobId = :job';
    const update = input.succeeded ? 'REMOVE runningJobId, runningSince SET lastSuccessfulJobId = :job, updatedAt = :at' : 'REMOVE runningJobId, runningSince SET updatedAt = :at';
    const released = await this.ifCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.headKey(name),
          UpdateExpression: update,
          ConditionExpression: holds,
          ExpressionAttributeValues: toItem({ ':job': jobId, ':at': input.at }),
        }),
      ),
    );
    if (!released && input.succeeded) {
      // The slot moved on (judged stale and taken over) but the job did succeed: it is still the
      // newest good parent unless a later one was recorded since.
      await this.ifCondition(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.headKey(name),
            UpdateExpression: 'SET lastSuccessfulJobId = :job',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(lastSuccessfulJobId)',
            ExpressionAttributeValues: toItem({ ':job': jobId }),
          }),
        ),
      );
    }
    return released;
  }

  async queueTrigger(name: string, trigger: QueuedTrigger): Promise<void> {
    const ok = await this.ifCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.headKey(name),
          UpdateExpression: 'SET queued = :queued',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: toItem({ ':queued': trigger }),
        }),
      ),
    );
    if (!ok) throw new TemplateNotFoundError(name);
  }

  async takeQueuedTrigger(name: string, decisionId: string): Promise<boolean> {
    // Two finish events for the same job (a redelivery) must not both submit the queued trigger.
    return this.ifCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.headKey(name),
          UpdateExpression: 'REMOVE queued',
          ConditionExpression: 'queued.decisionId = :id',
          ExpressionAttributeValues: toItem({ ':id': decisionId }),
        }),
      ),
    );
  }

  async claimInboundDelivery(name: string, key: string, input: { owner: string; at: string; leaseSeconds: number; retainSeconds: number }): Promise<InboundClaim> {
    // Timeline: delivery d arrives -> handler A puts HOOK#d {claimed, owner A, lease t+60s, firstAt t}
    // -> B, a concurrent copy of d, fails the put and sees A's live lease: in-progress. A triggers:
    //   - and completes: HOOK#d becomes {done, result}; any later copy of d is answered with it;
    //   - and fails: A releases (lease = now); the sender's retry C takes over (owner and lease
    //     unchanged since C read them), keeps firstAt, so it derives A's job id and finishes A's work;
    //   - and crashes: the lease runs out; the retry takes over as above.
    // The record outlives its TTL until DynamoDB deletes it, so the put reads expiresAt itself.
    const nowMs = Date.parse(input.at);
    const now = Math.floor(nowMs / 1000);
    const leaseUntilMs = nowMs + input.leaseSeconds * 1000;
    const Key = toItem({ pk: templateKeys.template(name), sk: templateKeys.delivery(key) });
    let old: Record<string, unknown> = {};
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const absentOrExpired = 'attribute_not_exists(pk) OR #ttl <= :now';
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ pk: templateKeys.template(name), sk: templateKeys.delivery(key), state: 'claimed', owner: input.owner, leaseUntilMs, firstAt: input.at, claimedAt: input.at, attempt: 1, [TTL_ATTRIBUTE]: now + input.retainSeconds }),
            ConditionExpression: absentOrExpired,
            ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: toItem({ ':now': now }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { kind: 'claimed', firstAt: input.at, attempt: 1 };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        old = error.Item ? unmarshall(error.Item) : {};
      }
      if (old['state'] === 'done') return { kind: 'done', firstAt: String(old['firstAt']), result: JSON.parse(String(old['result'])) as InboundDeliveryResult };
      if (Number(old['leaseUntilMs']) > nowMs) return { kind: 'in-progress', leaseUntil: new Date(Number(old['leaseUntilMs'])).toISOString() };
      // a record without an owner is a replay marker from before leases (HOOK#<id> {receivedAt}):
      // its trigger may have failed, so it is taken over like a released claim
      const legacy = old['owner'] === undefined;
      const stillAsRead = legacy ? 'attribute_not_exists(#owner) AND #ttl > :now' : '#state = :claimed AND #owner = :previousOwner AND leaseUntilMs = :previousLease AND #ttl > :now';
      const firstAt = String(old['firstAt'] ?? old['receivedAt'] ?? input.at);
      try {
        const { Attributes } = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key,
            UpdateExpression: 'SET #state = :claimed, #owner = :owner, leaseUntilMs = :lease, firstAt = :firstAt, claimedAt = :at, attempt = if_not_exists(attempt, :zero) + :one',
            ConditionExpression: stillAsRead,
            ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner', '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: toItem({
              ':claimed': 'claimed',
              ...(legacy ? {} : { ':previousOwner': old['owner'], ':previousLease': old['leaseUntilMs'] }),
              ':now': now,
              ':owner': input.owner,
              ':lease': leaseUntilMs,
              ':firstAt': firstAt,
              ':at': input.at,
              ':zero': 0,
              ':one': 1,
            }),
            ReturnValues: 'ALL_NEW',
          }),
        );
        const row = Attributes ? unmarshall(Attributes) : {};
        return { kind: 'claimed', firstAt: String(row['firstAt']), attempt: Number(row['attempt']) };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // another retry took it over, or it finished or expired meanwhile: read it again
      }
    }
    return { kind: 'in-progress', leaseUntil: new Date(Number(old['leaseUntilMs'] ?? leaseUntilMs)).toISOString() };
  }

  async completeInboundDelivery(name: string, key: string, input: { owner: string; at: string; result: InboundDeliveryResult }): Promise<boolean> {
    // Only the lease holder records the result: a handler whose lease ran out and was taken over
    // leaves the record to its successor, which triggers the same job.
    const holds = '#state = :claimed AND #owner = :owner';
    return this.ifCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem({ pk: templateKeys.template(name), sk: templateKeys.delivery(key) }),
          UpdateExpression: 'SET #state = :done, #result = :result, completedAt = :at REMOVE leaseUntilMs',
          ConditionExpression: holds,
          ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner', '#result': 'result' },
          ExpressionAttributeValues: toItem({ ':claimed': 'claimed', ':owner': input.owner, ':done': 'done', ':result': JSON.stringify(input.result), ':at': input.at }),
        }),
      ),
    );
  }

  async releaseInboundDelivery(name: string, key: string, input: { owner: string; at: string }): Promise<boolean> {
    const holds = '#state = :claimed AND #owner = :owner';
    return this.ifCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem({ pk: templateKeys.template(name), sk: templateKeys.delivery(key) }),
          UpdateExpression: 'SET leaseUntilMs = :now, releasedAt = :at',
          ConditionExpression: holds,
          ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner' },
          ExpressionAttributeValues: toItem({ ':claimed': 'claimed', ':owner': input.owner, ':now': Date.parse(input.at), ':at': input.at }),
        }),
      ),
    );
  }

  async recordDecision(decision: TriggerDecision): Promise<void> {
    // Recording the same decision twice (a retried handler) keeps the first.
    await this.ifCondition(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem({
            ...decision,
            pk: templateKeys.template(decision.template),
            sk: templateKeys.decision(decision.at, decision.id),
            [TTL_ATTRIBUTE]: epochSeconds(decision.at) + HISTORY_RETENTION_DAYS * 86_400,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async listDecisions(name: string): Promise<TriggerDecision[]> {
    return (await this.queryPrefix(name, templateKeys.decisionPrefix)).map((item) => {
      const { pk: _pk, sk: _sk, [TTL_ATTRIBUTE]: _ttl, ...decision } = unmarshall(item);
      return decision as TriggerDecision;
    });
  }

  /**
   * The head as stored, its secret not opened: putting a new version and deleting work without the
   * key, so a template whose key was lost can be put again (with its secret) or deleted.
   */
  private async headItem(name: string): Promise<Item | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.headKey(name), ConsistentRead: true }));
    return Item;
  }

  private async latestVersion(name: string): Promise<number | undefined> {
    const head = await this.headItem(name);
    return head ? Number(head['latestVersion']?.N ?? 0) : undefined;
  }

  private async sealTriggers(triggers: TemplateTriggers): Promise<StoredTriggers> {
    if (!this.cipher || !triggers.webhook) return triggers;
    const { secret, ...webhook } = triggers.webhook;
    return { ...triggers, webhook: { ...webhook, sealedSecret: await this.cipher.seal(secret) } };
  }

  /** A wrong key, or a sealed secret and no cipher, is a SealedSecretError: never a template without its secret. */
  private async openTemplate(item: Item): Promise<TemplateRecordWithSecret> {
    const row = unmarshall(item);
    const stored = (row['triggers'] ?? {}) as StoredTriggers;
    const { webhook, ...triggers } = stored;
    if (!webhook || !('sealedSecret' in webhook)) return templateFromRow(row, stored as TemplateTriggers);
    if (!this.cipher) throw new SealedSecretError(`template ${String(row['name'])}: its webhook secret is sealed and this store has no cipher to open it`);
    const { sealedSecret, ...auth } = webhook;
    return templateFromRow(row, { ...triggers, webhook: { ...auth, secret: await this.cipher.open(sealedSecret) } });
  }

  private headKey(name: string): Item {
    return toItem({ pk: templateKeys.template(name), sk: templateKeys.head });
  }

  private async ifCondition(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async queryPrefix(name: string, prefix: string): Promise<Item[]> {
    return queryAll(this.client, {
      TableName: this.tableName,
      ConsistentRead: true,
      KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
      ExpressionAttributeValues: toItem({ ':pk': templateKeys.template(name), ...(prefix ? { ':prefix': prefix } : {}) }),
    });
  }
}

function toItem(value: Record<string, unknown>): Item {
  return marshall(value, { removeUndefinedValues: true, convertClassInstanceToMap: false });
}

/** The triggers as the head item holds them: the webhook secret in plain text (before sealing) or sealed. */
type StoredTriggers = Omit<TemplateTriggers, 'webhook'> & { readonly webhook?: WebhookAuth | (Omit<WebhookAuth, 'secret'> & { readonly sealedSecret: string }) };

/** The head with its webhook's scheme and header only: a plain-text secret is left out as a sealed one is. */
function headFromItem(item: Item): TemplateRecord {
  const row = unmarshall(item);
  const { webhook, ...triggers } = (row['triggers'] ?? {}) as StoredTriggers;
  if (!webhook) return templateFromRow(row, triggers);
  return templateFromRow(row, { ...triggers, webhook: { kind: webhook.kind, ...(webhook.header !== undefined ? { header: webhook.header } : {}) } });
}

function templateFromRow<T extends ListedTriggers>(row: Record<string, unknown>, triggers: T): TemplateRecord & { readonly triggers: T } {
  return {
    name: String(row['name']),
    latestVersion: Number(row['latestVersion']),
    policy: row['policy'] === 'drop' ? 'drop' : 'queue',
    debounceSeconds: Number(row['debounceSeconds'] ?? 0),
    triggers,
    createdAt: String(row['createdAt']),
    updatedAt: String(row['updatedAt']),
    ...(typeof row['lastSuccessfulJobId'] === 'string' ? { lastSuccessfulJobId: row['lastSuccessfulJobId'] } : {}),
    ...(typeof row['runningJobId'] === 'string' ? { runningJobId: row['runningJobId'] } : {}),
    ...(typeof row['runningSince'] === 'string' ? { runningSince: row['runningSince'] } : {}),
    ...(row['queued'] ? { queued: row['queued'] as QueuedTrigger } : {}),
  };
}

function versionFromItem(item: Item): TemplateVersion {
  const row = unmarshall(item);
  return { name: String(row['name']), version: Number(row['version']), spec: JSON.parse(String(row['spec'])) as TuningSpec, createdAt: String(row['createdAt']) };
}
