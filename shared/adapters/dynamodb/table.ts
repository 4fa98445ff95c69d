import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { TunewireError } from '../../domain/errors';
import type { ProviderName } from '../../domain/spec';

/**
 * The ledger's single table. serverless.yml (resources.LedgerTable) mirrors this definition; keep
 * the two the same.
 *
 *   pk              sk                                   what
 *   JOB#<id>        META                                 the job (gsi1 always, gsi2 while not terminal)
 *   JOB#<id>        TRIAL#<trial id>                     one trial
 *   JOB#<id>        HIST#<receivedAt>#<event id>#<rand>  one arrival of a provider event (TTL)
 *   JOB#<id>        SEEN#<event id>                      dedupe marker of a provider event (TTL)
 *   MODEL#<name>    CHAMPION                             the model's champion
 *   MODEL#<name>    PROMO#<decidedAt>#<job id>           one promotion decision
 *   MODEL#<name>    DECIDED#<job id>                     marks that job's decision as recorded
 */
export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';

/** Provider job -> job id: incoming provider events name the provider's job, not ours. */
export const BY_PROVIDER_JOB_INDEX = { name: 'byProviderJob', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' } as const;

/** Sparse: only jobs that are not terminal carry gsi2pk, so the reconciler reads just those. */
export const BY_ACTIVE_INDEX = { name: 'byActive', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' } as const;

/** Epoch seconds; DynamoDB deletes HIST and SEEN items some time after it passes. */
export const TTL_ATTRIBUTE = 'expiresAt';
export const HISTORY_RETENTION_DAYS = 90;

/** Key and index values, in one place so the ledger and any tooling build them the same way. */
export const keys = {
  job: (jobId: string) => `JOB#${jobId}`,
  meta: 'META',
  trial: (trialId: string) => `TRIAL#${trialId}`,
  trialPrefix: 'TRIAL#',
  history: (receivedAt: string, eventId: string, suffix: string) => `HIST#${receivedAt}#${eventId}#${suffix}`,
  historyPrefix: 'HIST#',
  seen: (eventId: string) => `SEEN#${eventId}`,
  model: (model: string) => `MODEL#${model}`,
  champion: 'CHAMPION',
  promotion: (decidedAt: string, jobId: string) => `PROMO#${decidedAt}#${jobId}`,
  promotionPrefix: 'PROMO#',
  decided: (jobId: string) => `DECIDED#${jobId}`,
  providerJob: (provider: ProviderName, providerJobName: string) => `PJOB#${provider}#${providerJobName}`,
  providerJobSort: (jobId: string) => `JOB#${jobId}`,
  active: (provider: ProviderName) => `ACTIVE#${provider}`,
} as const;

/** The CreateTable input for the ledger (on-demand capacity; TTL is set separately, see ensureTable). */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const index = (spec: typeof BY_PROVIDER_JOB_INDEX | typeof BY_ACTIVE_INDEX) => ({
    IndexName: spec.name,
    KeySchema: [
      { AttributeName: spec.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: spec.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      PARTITION_KEY,
      SORT_KEY,
      BY_PROVIDER_JOB_INDEX.partitionKey,
      BY_PROVIDER_JOB_INDEX.sortKey,
      BY_ACTIVE_INDEX.partitionKey,
      BY_ACTIVE_INDEX.sortKey,
    ].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: SORT_KEY, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [index(BY_PROVIDER_JOB_INDEX), index(BY_ACTIVE_INDEX)],
  };
}

/** The table exists under the name but is not the ledger's shape; nothing was changed. */
export class LedgerTableMismatchError extends TunewireError {
  readonly code = 'LEDGER.TABLE_MISMATCH';
  readonly retryable = false;
  constructor(readonly tableName: string, readonly problems: readonly string[]) {
    super(`table ${tableName} is not a tunewire ledger table: ${problems.join('; ')}`);
  }
}

/** The table did not become ACTIVE in time. Trying again later may succeed. */
export class LedgerTableNotReadyError extends TunewireError {
  readonly code = 'LEDGER.TABLE_NOT_READY';
  readonly retryable = true;
  constructor(readonly tableName: string, readonly waitedMs: number) {
    super(`table ${tableName} was not ACTIVE after ${waitedMs} ms`);
  }
}

/**
 * Creates the ledger table unless it exists, waits until it and its indexes are ACTIVE, and turns
 * TTL on. Safe to call on every start and from several processes at once (the loser of a create
 * race sees ResourceInUseException and just waits).
 *
 * @example
 *   await ensureTable(new DynamoDBClient({ endpoint }), 'tunewire-dev');
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  if ((await describe(client, tableName)) === undefined) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
    } catch (error) {
      // Someone else created it between our describe and our create: theirs is as good as ours.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  const table = await waitForActive(client, tableName, timeoutMs);
  const problems = shapeProblems(table);
  if (problems.length) throw new LedgerTableMismatchError(tableName, problems);
  await enableTimeToLive(client, tableName);
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function waitForActive(client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<TableDescription> {
  const started = Date.now();
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const table = await describe(client, tableName);
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return table;
    if (Date.now() - started > timeoutMs) throw new LedgerTableNotReadyError(tableName, Date.now() - started);
    await sleep(delay);
  }
}

function shapeProblems(table: TableDescription): string[] {
  const expected = tableDefinition(table.TableName ?? '');
  const schema = (k: { AttributeName?: string; KeyType?: string }[] | undefined) => JSON.stringify((k ?? []).map((e) => [e.AttributeName, e.KeyType]));
  const problems: string[] = [];
  if (schema(table.KeySchema) !== schema(expected.KeySchema)) problems.push(`key schema is ${schema(table.KeySchema)}, expected ${schema(expected.KeySchema)}`);
  for (const want of expected.GlobalSecondaryIndexes ?? []) {
    const have = table.GlobalSecondaryIndexes?.find((i) => i.IndexName === want.IndexName);
    if (!have) problems.push(`index ${want.IndexName} is missing`);
    else if (schema(have.KeySchema) !== schema(want.KeySchema)) problems.push(`index ${want.IndexName} has key schema ${schema(have.KeySchema)}`);
  }
  return problems;
}

async function enableTimeToLive(client: DynamoDBClient, tableName: string): Promise<void> {
  const current = async () => (await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }))).TimeToLiveDescription;
  const isOurs = (ttl: Awaited<ReturnType<typeof current>>) =>
    (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') && ttl.AttributeName === TTL_ATTRIBUTE;

  const before = await current();
  if (isOurs(before)) return;
  if (before?.TimeToLiveStatus === 'ENABLED' || before?.TimeToLiveStatus === 'ENABLING') {
    throw new LedgerTableMismatchError(tableName, [`TTL is on attribute ${before.AttributeName}, expected ${TTL_ATTRIBUTE}`]);
  }
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } }));
  } catch (error) {
    // A concurrent ensureTable enabled it first: DynamoDB refuses a second enable with a plain
    // ValidationException (no class of its own), so look at the table rather than at the error.
    if (isOurs(await current())) return;
    throw error;
  }
}
