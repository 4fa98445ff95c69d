import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { ensureTable } from '../../shared/adapters/dynamodb/table';

/** A client for the DynamoDB Local that the global set-up started. */
export function localDynamoClient(): DynamoDBClient {
  return new DynamoDBClient({ endpoint: inject('dynamoEndpoint'), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** A ledger on a table of its own, so test files do not see each other's items. */
export async function freshLedger(prefix = 'test'): Promise<{ ledger: DynamoDbLedger; client: DynamoDBClient; tableName: string; itemCount: () => Promise<number> }> {
  const client = localDynamoClient();
  const tableName = `${prefix}-${randomUUID()}`;
  await ensureTable(client, tableName);
  const itemCount = async () => {
    let count = 0;
    let start: Record<string, never> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ...(start ? { ExclusiveStartKey: start } : {}) }));
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
    return count;
  };
  return { ledger: new DynamoDbLedger({ client, tableName }), client, tableName, itemCount };
}
