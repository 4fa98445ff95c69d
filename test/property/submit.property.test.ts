import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../shared/use-cases/dependencies';
import { submitJob } from '../../shared/use-cases/submit-job';
import { freshLedger } from '../support/dynamodb';
import { ChangeLogProvider, mulberry32, propertySpec, SinkBus } from '../support/property-harness';
import { RecordingRegistry } from '../support/scripted-provider';

/**
 * Invariant 5 under races: 2-10 identical submits (same spec, same idempotency key) started at
 * random moments, against a provider whose create takes a random time, make one provider job.
 */
const SEED = 5_052_026;

describe('submit (property, DynamoDB Local)', () => {
  it('2-10 parallel identical submits make one provider job and one ledger job', async () => {
    console.log(`submit property: fast-check seed ${SEED}`);
    const { ledger } = await freshLedger('prop-submit');
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 10 }), fc.integer(), async (n, timingSeed) => {
        const random = mulberry32(timingSeed);
        const provider = new ChangeLogProvider();
        provider.createLatency = () => new Promise((r) => setTimeout(r, Math.floor(random() * 15)));
        const bus = new SinkBus();
        const deps: Dependencies = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ local: { provider, registry: new RecordingRegistry() } }) };
        const key = `same-${round++}`;
        const spec = propertySpec('submit-race');
        const results = await Promise.all(
          Array.from({ length: n }, async () => {
            await new Promise((r) => setTimeout(r, Math.floor(random() * 20)));
            return submitJob(deps, { spec, idempotencyKey: key });
          }),
        );
        expect(provider.created).toBe(1);
        expect(provider.jobCount).toBe(1);
        expect(new Set(results.map((r) => r.job.jobId)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const stored = await ledger.getJob(results[0]?.job.jobId as string);
        expect(stored).toMatchObject({ status: 'pending', providerJobId: `arn:test:${stored?.providerJobName}` });
        expect(bus.distinctIds('job.submitted').size).toBe(1);
      }),
      { seed: SEED, numRuns: 25, endOnFailure: true },
    );
  }, 60_000);
});
