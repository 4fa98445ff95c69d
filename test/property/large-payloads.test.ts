import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { BusPublishError } from '../../shared/adapters/bus/bus-errors';
import { ENTRY_TOO_LARGE, EventBridgeBus, PUT_EVENTS_MAX_BYTES, putEventsEntrySize, toPutEventsEntries } from '../../shared/adapters/bus/eventbridge-bus';
import { SpecValidationError, TunewireError } from '../../shared/domain/errors';
import { parseSpec } from '../../shared/domain/spec';
import { LedgerItemTooLargeError } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { eventIds, makeEvent } from '../../shared/domain/events';
import { handleTrialFanOutEvent } from '../../shared/edge/handlers';
import { systemClock } from '../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../shared/use-cases/dependencies';
import { submitJob } from '../../shared/use-cases/submit-job';
import { freshLedger } from '../support/dynamodb';
import { ChangeLogProvider, localTrialEnvelope, propertySpec, trialOf } from '../support/property-harness';
import { RecordingRegistry } from '../support/scripted-provider';
import { listed } from '../support/fixtures';

/**
 * Payloads near the transports' limits: 256 KB per EventBridge entry, 400 KB per DynamoDB item.
 * An event too large for EventBridge carries its trials by reference (the claim-check); an item
 * too large for DynamoDB is a typed, non-retryable error; a spec too large is refused at the edge.
 */

/** An EventBridge client that accepts every entry (no network), counting what it was sent. */
function acceptingClient(sent: number[]): EventBridgeClient {
  return {
    send: async (command: PutEventsCommand) => {
      const entries = command.input.Entries ?? [];
      sent.push(entries.length);
      return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
    },
  } as unknown as EventBridgeClient;
}

/** Hyperparameters whose JSON is about `bytes` long. */
function bigHyperparameters(bytes: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; bytes > 0; i++) {
    const chunk = Math.min(bytes, 1000);
    out[`p${i}`] = 'x'.repeat(chunk);
    bytes -= chunk + 10;
  }
  return out;
}

const trialFinished = (hyperBytes: number) =>
  makeEvent(
    'trial.finished',
    eventIds.trialFinished('job-1', 't1'),
    'job-1',
    { jobId: 'job-1', name: 'big', provider: 'local', providerJobName: 'job-1', trial: trialOf('t1', 'succeeded', 0.9, undefined, bigHyperparameters(hyperBytes)) },
    new Date(0),
  );

describe('large payloads', () => {
  it('EventBridgeBus sends an oversize Tuning Trial Finished by claim-check, and refuses what cannot be slimmed, naming it', async () => {
    const sent: number[] = [];
    const bus = new EventBridgeBus({ client: acceptingClient(sent), eventBusName: 'b', sleep: async () => undefined });
    const under = trialFinished(PUT_EVENTS_MAX_BYTES - 70_000);
    const over = trialFinished(PUT_EVENTS_MAX_BYTES + 2_000);
    const [underEntry] = toPutEventsEntries([under], { eventBusName: 'b' });
    const [overEntry] = toPutEventsEntries([over], { eventBusName: 'b' });
    expect(JSON.parse(underEntry?.Detail ?? '{}')).not.toHaveProperty('claimCheck');
    expect(putEventsEntrySize(overEntry as never)).toBeLessThan(PUT_EVENTS_MAX_BYTES);
    expect(JSON.parse(overEntry?.Detail ?? '{}')).toMatchObject({ claimCheck: { trials: '/jobs/job-1/trials' }, trial: { trialId: 't1', hyperparameters: {}, objectiveValue: 0.9 } });

    await bus.publish([under, over]);
    expect(sent).toEqual([2]);

    const unslimmable = makeEvent('model.promotion_skipped', 'job-1:promotion:m', 'job-1', { jobId: 'job-1', name: 'big', provider: 'local', model: 'm', reason: 'x'.repeat(PUT_EVENTS_MAX_BYTES) }, new Date(0));
    const error = await bus.publish([unslimmable]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusPublishError);
    expect((error as BusPublishError).failures).toEqual([expect.objectContaining({ eventId: unslimmable.id, code: ENTRY_TOO_LARGE, retryable: false })]);
    expect(sent).toEqual([2]); // never sent
  });

  it('announces a trial too large for an event by claim-check; the whole trial stays in the ledger', async () => {
    const { ledger } = await freshLedger('prop-large');
    const sent: number[] = [];
    const provider = new ChangeLogProvider();
    const bus = new EventBridgeBus({ client: acceptingClient(sent), eventBusName: 'b', sleep: async () => undefined });
    const deps: Dependencies = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ local: { provider, registry: new RecordingRegistry() } }) };
    const { job } = await submitJob(deps, { spec: propertySpec('big-trial'), idempotencyKey: 'big' });
    // ~300 KB of hyperparameters: fits a DynamoDB item (400 KB), not an EventBridge entry (256 KB)
    const hyperparameters = bigHyperparameters(300_000);
    provider.changeTrial(job.providerJobName, trialOf('t1', 'succeeded', 0.9, undefined, hyperparameters));

    const outcome = await handleTrialFanOutEvent(deps, localTrialEnvelope(job.providerJobName, 't1', 'COMPLETED', 2));
    expect(outcome.outcome).toBe('applied');
    const [stored] = await ledger.listTrials(job.jobId);
    expect(stored).toMatchObject({ trialId: 't1', announced: true, hyperparameters });
  });

  it('DynamoDbLedger stores a trial near 400 KB and refuses one above it with a typed, non-retryable error', async () => {
    const { ledger } = await freshLedger('prop-large');
    await ledger.createJob({ jobId: 'j1', name: 'big', provider: 'local', spec: propertySpec('big'), providerJobName: 'j1', createdAt: new Date(0).toISOString() });

    const near = await ledger.putTrial('j1', listed(trialOf('near', 'succeeded', 0.5, undefined, bigHyperparameters(390_000))));
    expect(near.kind).toBe('created');

    const error = await ledger.putTrial('j1', listed(trialOf('over', 'succeeded', 0.5, undefined, bigHyperparameters(420_000)))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerItemTooLargeError);
    expect((error as TunewireError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/400 KB/);
  });

  it('refuses a spec over 300 KB at the edge, before anything is written; the ledger refuses a larger item with a typed error', async () => {
    const spec = { ...propertySpec('huge-spec'), staticHyperparameters: bigHyperparameters(420_000) };
    expect(() => parseSpec(spec)).toThrow(SpecValidationError);
    expect(() => parseSpec(spec)).toThrow(/at most 300 KB/);

    const { ledger, itemCount } = await freshLedger('prop-large');
    const error = await ledger
      .createJob({ jobId: 'j2', name: 'huge', provider: 'local', spec, providerJobName: 'j2', createdAt: new Date(0).toISOString() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerItemTooLargeError);
    expect(await itemCount()).toBe(0);
  });
});
