import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTemplateStore } from '../../../shared/adapters/dynamodb/dynamodb-template-store';
import type { InboundClaim } from '../../../shared/ports/templates';
import { freshLedger } from '../../support/dynamodb';

const T0 = '2026-11-25T08:00:00.000Z';
const after = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const LEASE = 60;
const RETAIN = 3600;
const RESULT = { outcome: 'applied', jobId: 'churn-xgb-1a2b', decision: 'submitted' as const, detail: 'version 1 submitted as job churn-xgb-1a2b' };

describe('DynamoDbTemplateStore inbound deliveries against DynamoDB Local', () => {
  let store: DynamoDbTemplateStore;
  let putRaw: (item: Record<string, unknown>) => Promise<unknown>;
  const claim = (owner: string, at: string, key = 'msg_1') => store.claimInboundDelivery('churn', key, { owner, at, leaseSeconds: LEASE, retainSeconds: RETAIN });

  beforeEach(async () => {
    const fresh = await freshLedger('template-store-inbound');
    store = new DynamoDbTemplateStore({ client: fresh.client, tableName: fresh.tableName });
    putRaw = (item) => fresh.client.send(new PutItemCommand({ TableName: fresh.tableName, Item: marshall(item) }));
  });

  it('claims a new delivery, and tells a second claimer it is in progress while the lease lasts', async () => {
    expect(await claim('a', T0)).toEqual({ kind: 'claimed', firstAt: T0, attempt: 1 });
    expect(await claim('b', after(30))).toEqual({ kind: 'in-progress', leaseUntil: after(LEASE) });
  });

  it('answers every later claim with the result the holder completed', async () => {
    await claim('a', T0);
    expect(await store.completeInboundDelivery('churn', 'msg_1', { owner: 'a', at: after(1), result: RESULT })).toBe(true);
    expect(await claim('b', after(2))).toEqual({ kind: 'done', firstAt: T0, result: RESULT });
    // the lease is over and long gone, the result stays until the retention ends
    expect(await claim('c', after(RETAIN - 1))).toEqual({ kind: 'done', firstAt: T0, result: RESULT });
  });

  it('lets a retry take over at once after the holder released it, keeping firstAt', async () => {
    await claim('a', T0);
    expect(await store.releaseInboundDelivery('churn', 'msg_1', { owner: 'a', at: after(2) })).toBe(true);
    expect(await claim('b', after(3))).toEqual({ kind: 'claimed', firstAt: T0, attempt: 2 });
  });

  it('lets a retry take over a crashed holder once its lease runs out; the old holder can then neither complete nor release', async () => {
    await claim('a', T0);
    expect((await claim('b', after(LEASE - 1))).kind).toBe('in-progress');
    expect(await claim('b', after(LEASE))).toEqual({ kind: 'claimed', firstAt: T0, attempt: 2 });
    expect(await store.completeInboundDelivery('churn', 'msg_1', { owner: 'a', at: after(LEASE + 1), result: { outcome: 'applied' } })).toBe(false);
    expect(await store.releaseInboundDelivery('churn', 'msg_1', { owner: 'a', at: after(LEASE + 1) })).toBe(false);
    expect(await store.completeInboundDelivery('churn', 'msg_1', { owner: 'b', at: after(LEASE + 2), result: RESULT })).toBe(true);
    expect(await claim('c', after(LEASE + 3))).toEqual({ kind: 'done', firstAt: T0, result: RESULT });
  });

  it('gives one of 12 concurrent claims of a new delivery the claim', async () => {
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => claim(`h${i}`, T0)));
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'in-progress')).toHaveLength(11);
  });

  it('gives one of 12 concurrent retries of an expired claim the takeover', async () => {
    await claim('a', T0);
    const claims: InboundClaim[] = await Promise.all(Array.from({ length: 12 }, (_, i) => claim(`r${i}`, after(LEASE + 5))));
    expect(claims.filter((c) => c.kind === 'claimed')).toEqual([{ kind: 'claimed', firstAt: T0, attempt: 2 }]);
    expect(claims.filter((c) => c.kind === 'in-progress')).toHaveLength(11);
  });

  it('treats a record past its retention as a new delivery, even before DynamoDB deletes it', async () => {
    await claim('a', T0);
    await store.completeInboundDelivery('churn', 'msg_1', { owner: 'a', at: after(1), result: RESULT });
    expect(await claim('b', after(RETAIN))).toEqual({ kind: 'claimed', firstAt: after(RETAIN), attempt: 1 });
  });

  it('takes over a replay marker written before leases, triggering as of its receivedAt', async () => {
    await putRaw({ pk: 'TPL#churn', sk: 'HOOK#msg_old', receivedAt: T0, expiresAt: Math.floor(Date.parse(T0) / 1000) + 600 });
    expect(await claim('b', after(5), 'msg_old')).toEqual({ kind: 'claimed', firstAt: T0, attempt: 1 });
    expect((await claim('c', after(6), 'msg_old')).kind).toBe('in-progress');
  });

  it('keeps deliveries of different templates and keys apart', async () => {
    await claim('a', T0);
    expect((await claim('b', T0, 'msg_2')).kind).toBe('claimed');
    expect((await store.claimInboundDelivery('other', 'msg_1', { owner: 'c', at: T0, leaseSeconds: LEASE, retainSeconds: RETAIN })).kind).toBe('claimed');
  });
});
