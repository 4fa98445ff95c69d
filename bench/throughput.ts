import { PutItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { handleStatusChangeEvent, handleTrialFanOutEvent } from '../shared/edge/handlers';
import { submitJob } from '../shared/use-cases/submit-job';
import { countingDynamoClient, freshLedger, nullBus, sageMakerWorld, spec, type SageMakerWorld } from './stack';
import { pool } from './stats';
import type { FakeSageMakerEvent } from '../test/support/fake-sagemaker';

export interface ThroughputRow {
  readonly handler: 'status-change' | 'trial-fan-out';
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly ledgerRequestsPerEvent: number;
  readonly providerCallsPerEvent: number;
  readonly itemsWritten: number;
  /** Raw PutItem of the same final items, same concurrency. */
  readonly floorMs: number;
  readonly handlerMs: number;
}

/** Handler invocations in flight in the one process. */
export const IN_FLIGHT = 8;
const JOBS = 60;
const TRIAL_EVENTS = 1_000;

/**
 * Events per second through one handler body in one process, against DynamoDB Local, with the
 * real SageMaker SDK client against the fake (status-change confirms with Describe, as in
 * production) and our events published nowhere (the handler's own cost only). The floor: the
 * items the run left in its table, written again with plain PutItem into an empty table.
 */
export async function measureThroughput(endpoint: string): Promise<ThroughputRow[]> {
  return [await statusChange(endpoint), await trialFanOut(endpoint)];
}

async function statusChange(endpoint: string): Promise<ThroughputRow> {
  return withWorld(endpoint, 'status-change', async (world) => {
    const jobs: string[] = [];
    await pool(
      Array.from({ length: JOBS }, (_, i) => i),
      IN_FLIGHT,
      async (i) => jobs.push((await submitJob(world.deps, { spec, idempotencyKey: `throughput-${i}-${Date.now()}` })).job.providerJobName),
    );
    // wave 1: the InProgress each create emitted (pending -> running); wave 2: Completed (-> succeeded)
    const inProgress = tuningEvents(world.fake.events);
    return [
      inProgress,
      () => {
        const before = world.fake.events.length;
        for (const name of jobs) world.fake.setStatus(name, 'Completed');
        return tuningEvents(world.fake.events.slice(before));
      },
    ];
  }, handleStatusChangeEvent);
}

async function trialFanOut(endpoint: string): Promise<ThroughputRow> {
  return withWorld(endpoint, 'trial-fan-out', async (world) => {
    const { job } = await submitJob(world.deps, { spec, idempotencyKey: `throughput-trials-${Date.now()}` });
    const before = world.fake.events.length;
    for (let i = 0; i < TRIAL_EVENTS; i++) world.fake.addTrainingJob(job.providerJobName, { status: 'Completed', objective: 0.5 + (i % 400) / 1000 });
    return [world.fake.events.slice(before)];
  }, handleTrialFanOutEvent);
}

type Wave = readonly FakeSageMakerEvent[] | (() => readonly FakeSageMakerEvent[]);

async function withWorld(
  endpoint: string,
  handler: ThroughputRow['handler'],
  prepare: (world: SageMakerWorld) => Promise<readonly Wave[]>,
  handle: (deps: SageMakerWorld['deps'], raw: unknown) => Promise<unknown>,
): Promise<ThroughputRow> {
  const { client, counter } = countingDynamoClient(endpoint);
  const { ledger, tableName } = await freshLedger(client, handler);
  const world = await sageMakerWorld(ledger, { bus: nullBus });
  try {
    const waves = await prepare(world);
    counter.reset();
    const callsBefore = Object.values(world.fake.calls).reduce((a, b) => a + b, 0);
    let events = 0;
    let handlerMs = 0;
    for (const wave of waves) {
      const list = typeof wave === 'function' ? wave() : wave;
      const started = performance.now();
      await pool(list, IN_FLIGHT, (event) => handle(world.deps, event));
      handlerMs += performance.now() - started;
      events += list.length;
    }
    const providerCalls = Object.values(world.fake.calls).reduce((a, b) => a + b, 0) - callsBefore;
    const ledgerRequests = counter.total;
    const { ms: floorMs, items } = await floor(client, endpoint, tableName, handler);
    return { handler, events, eventsPerSecond: (events / handlerMs) * 1000, ledgerRequestsPerEvent: ledgerRequests / events, providerCallsPerEvent: providerCalls / events, itemsWritten: items, floorMs, handlerMs };
  } finally {
    await world.stop();
    client.destroy();
  }
}

function tuningEvents(events: readonly FakeSageMakerEvent[]): FakeSageMakerEvent[] {
  return events.filter((e) => e['detail-type'] === 'SageMaker HyperParameter Tuning Job State Change');
}

/** Every item of `tableName`, put again one by one into a fresh table: the raw write time of the same items. */
async function floor(client: DynamoDBClient, endpoint: string, tableName: string, prefix: string): Promise<{ ms: number; items: number }> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const raw = countingDynamoClient(endpoint).client;
  const { tableName: target } = await freshLedger(raw, `${prefix}-floor`);
  const started = performance.now();
  await pool(items, IN_FLIGHT, (item) => raw.send(new PutItemCommand({ TableName: target, Item: item })));
  const ms = performance.now() - started;
  raw.destroy();
  return { ms, items: items.length };
}
