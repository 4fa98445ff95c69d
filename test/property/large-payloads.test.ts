import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { BusPublishError } from '../../shared/adapters/bus/bus-errors';
import { ENTRY_TOO_LARGE, EventBridgeBus, PUT_EVENTS_MAX_BYTES, putEventsEntrySize, toPutEventsEntries } from '../../shared/adapters/bus/eventbridge-bus';
import { TunewireError } from '../../shared/domain/errors';
import { eventIds, makeEvent } from '../../shared/domain/events';
import { handleTrialFanOutEvent } from '../../shared/edge/handlers';
import { systemClock } from '../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../shared/use-cases/dependencies';
import { submitJob } from '../../shared/use-cases/submit-job';
import { freshLedger } from '../support/dynamodb';
import { ChangeLogProvider, localTrialEnvelope, propertySpec, trialOf } from '../support/property-harness';
import { RecordingRegistry } from '../support/scripted-provider';

/**
 * Payloads near the transports' limits: 256 KB per EventBridge entry, 400 KB per DynamoDB item.
 * tunewire has no claim-check and no split: these tests pin down what happens instead.
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
  it('EventBridgeBus sends a Tuning Trial Finished just under 256 KB and refuses one just over, naming it', async () => {
    const sent: number[] = [];
    const bus = new EventBridgeBus({ client: acceptingClient(sent), eventBusName: 'b', sleep: async () => undefined });
    const under = trialFinished(PUT_EVENTS_MAX_BYTES - 2_000);
    const over = trialFinished(PUT_EVENTS_MAX_BYTES + 2_000);
    const size = (e: typeof under) => putEventsEntrySize(toPutEventsEntries([e], { eventBusName: 'b' })[0] as never);
    expect(size(under)).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
    expect(size(over)).toBeGreaterThan(PUT_EVENTS_MAX_BYTES);

    await bus.publish([under]);
    expect(sent).toEqual([1]);

    const error = await bus.publish([over]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusPublishError);
    expect((error as BusPublishError).failures).toEqual([expect.objectContaining({ eventId: over.id, code: ENTRY_TOO_LARGE, retryable: false })]);
    expect((error as BusPublishError).retryable).toBe(false);
    expect(sent).toEqual([1]); // never sent
  });

  it('GAP: a trial whose hyperparameters push its Tuning Trial Finished over 256 KB is stored but never announced (no claim-check)', async () => {
    const { ledger } = await freshLedger('prop-large');
    const sent: number[] = [];
    const provider = new ChangeLogProvider();
    const bus = new EventBridgeBus({ client: acceptingClient(sent), eventBusName: 'b', sleep: async () => undefined });
    const deps: Dependencies = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ local: { provider, registry: new RecordingRegistry() } }) };
    const { job } = await submitJob(deps, { spec: propertySpec('big-trial'), idempotencyKey: 'big' });
    // ~300 KB of hyperparameters: fits a DynamoDB item (400 KB), not an EventBridge entry (256 KB)
    provider.changeTrial(job.providerJobName, trialOf('t1', 'succeeded', 0.9, undefined, bigHyperparameters(300_000)));
    const envelope = localTrialEnvelope(job.providerJobName, 't1', 'COMPLETED', 2);

    const outcome = await handleTrialFanOutEvent(deps, envelope).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(BusPublishError);
    expect((outcome as BusPublishError).retryable).toBe(false); // the transport dead-letters it at once
    const [stored] = await ledger.listTrials(job.jobId);
    expect(stored).toMatchObject({ trialId: 't1', announced: false });
    // every redelivery fails the same way: the trial is stored and never announced
    await expect(handleTrialFanOutEvent(deps, envelope)).rejects.toBeInstanceOf(BusPublishError);
    expect((await ledger.listTrials(job.jobId))[0]?.announced).toBe(false);
  });

  it('GAP: DynamoDbLedger stores a trial near 400 KB but fails with the raw SDK ValidationException above it', async () => {
    const { ledger } = await freshLedger('prop-large');
    await ledger.createJob({ jobId: 'j1', name: 'big', provider: 'local', spec: propertySpec('big'), providerJobName: 'j1', createdAt: new Date(0).toISOString() });

    const near = await ledger.putTrial('j1', trialOf('near', 'succeeded', 0.5, undefined, bigHyperparameters(390_000)));
    expect(near.kind).toBe('created');

    const error = await ledger.putTrial('j1', trialOf('over', 'succeeded', 0.5, undefined, bigHyperparameters(420_000))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TunewireError); // no typed error: not marked retryable=false
    expect((error as Error).name).toBe('ValidationException');
    expect((error as Error).message).toMatch(/size/i);
    console.log(`ledger item over 400 KB: ${(error as Error).name}: ${(error as Error).message}`);
  });

  it('GAP: a spec near 400 KB is refused by createJob with the raw SDK ValidationException', async () => {
    const { ledger } = await freshLedger('prop-large');
    const spec = propertySpec('huge-spec', 'maximize', { staticHyperparameters: bigHyperparameters(420_000) });
    const error = await ledger
      .createJob({ jobId: 'j2', name: 'huge', provider: 'local', spec, providerJobName: 'j2', createdAt: new Date(0).toISOString() })
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('ValidationException');
    expect(error).not.toBeInstanceOf(TunewireError);
    console.log(`spec over 400 KB: ${(error as Error).name}: ${(error as Error).message}`);
  });
});
