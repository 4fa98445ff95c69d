import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { ensureTable } from '../../shared/adapters/dynamodb/table';
import { isRetryable, ProviderError } from '../../shared/domain/errors';
import type { EventBridgeEnvelope } from '../../shared/edge/envelopes';
import { handleStatusChangeEvent, handleTrialFanOutEvent } from '../../shared/edge/handlers';
import { systemClock } from '../../shared/ports/clock';
import type { TuningProvider } from '../../shared/ports/provider';
import { ProviderCatalog, type Dependencies } from '../../shared/use-cases/dependencies';
import { submitJob } from '../../shared/use-cases/submit-job';
import { reconcileActiveJobs } from '../../shared/use-cases/reconcile-active-jobs';
import { ChangeLogProvider, localJobEnvelope, localTrialEnvelope, mulberry32, propertySpec, routeOf, SinkBus, trialOf } from '../support/property-harness';
import { RecordingRegistry } from '../support/scripted-provider';

/**
 * Throttling loses nothing, with attempts per call bounded. Who retries what:
 * - DynamoDB: the SDK's standard retry, with the attempts the product configures (composition.ts
 *   builds the DynamoDBClient without maxAttempts: the SDK default, 3). Throttling is injected as
 *   ProvisionedThroughputExceededException inside the SDK's retry loop (a deserialize-step
 *   middleware), so the SDK sees it as DynamoDB's own answer. Only the backoff is shortened.
 * - Provider: for SageMaker the SDK retries too (provider-bindings.ts: maxAttempts from settings);
 *   here a wrapper stands for that layer: each call tries up to 3 times, each try throttled at the
 *   rate, then gives up with a retryable ProviderError.
 * - Above both: the transport retries a failed delivery (Lambda async: 3 attempts), then dead-letters.
 */
const SEED = 31_337;
const SDK_ATTEMPTS = 3;
const TRANSPORT_ATTEMPTS = 3;
/** Reconciler runs after the events: each lists the jobs still active and repairs them. */
const RECONCILER_PASSES = 5;
const JOBS = 2;
const TRIALS = 12;

interface Attempts {
  calls: number;
  throttled: number;
  maxAttempts: number;
  gaveUp: number;
}
const noAttempts = (): Attempts => ({ calls: 0, throttled: 0, maxAttempts: 0, gaveUp: 0 });

function throttledDynamo(rate: number, random: () => number, attempts: Attempts): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    retryStrategy: new ConfiguredRetryStrategy(SDK_ATTEMPTS, () => 2),
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      if (rate > 0 && random() < rate) {
        attempts.throttled++;
        throw new ProvisionedThroughputExceededException({ message: 'injected: throughput exceeded', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    },
    { step: 'deserialize', name: 'injectThrottling', priority: 'high' },
  );
  client.middlewareStack.add(
    (next) => async (args) => {
      attempts.calls++;
      try {
        const out = await next(args);
        const n = (out.output as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
        attempts.maxAttempts = Math.max(attempts.maxAttempts, n);
        return out;
      } catch (error) {
        const n = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
        attempts.maxAttempts = Math.max(attempts.maxAttempts, n);
        if (error instanceof ProvisionedThroughputExceededException) attempts.gaveUp++;
        throw error;
      }
    },
    { step: 'initialize', name: 'countAttempts' },
  );
  return client;
}

/** The provider behind a bounded, SDK-like retry whose tries are throttled at `rate`. */
function throttledProvider(inner: ChangeLogProvider, rate: number, random: () => number, attempts: Attempts): TuningProvider {
  const retried =
    <A extends unknown[], R>(op: string, call: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      attempts.calls++;
      for (let attempt = 1; ; attempt++) {
        attempts.maxAttempts = Math.max(attempts.maxAttempts, attempt);
        if (rate === 0 || random() >= rate) return call(...args);
        attempts.throttled++;
        if (attempt >= SDK_ATTEMPTS) {
          attempts.gaveUp++;
          throw new ProviderError('local', op, 'ThrottlingException (injected)', { retryable: true, code: 'PROVIDER.THROTTLED' });
        }
      }
    };
  return {
    name: inner.name,
    eventsNeedConfirmation: inner.eventsNeedConfirmation,
    validate: () => inner.validate(),
    render: (spec, job) => inner.render(spec, job),
    providerJobName: (jobId) => inner.providerJobName(jobId),
    create: retried('create', (r: Parameters<TuningProvider['create']>[0]) => inner.create(r)),
    describe: retried('describe', (r: Parameters<TuningProvider['describe']>[0]) => inner.describe(r)),
    listTrials: retried('listTrials', (r: Parameters<TuningProvider['listTrials']>[0], c: string | undefined) => inner.listTrials(r, c)),
    stop: retried('stop', () => inner.stop()),
  };
}

describe('throttling (property, DynamoDB Local)', () => {
  const cases = (['provider', 'dynamodb'] as const).flatMap((target) => [0.1, 0.3, 0.5].map((rate) => ({ target, rate })));
  it.each(cases)('loses nothing with $target throttled at $rate, attempts per call bounded', async ({ target, rate }) => {
    const seed = SEED + Math.round(rate * 100) + (target === 'dynamodb' ? 1000 : 0);
    console.log(`throttling property (${target} ${rate}): fast-check seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.array(fc.integer({ min: 0, max: 100 }), { minLength: TRIALS, maxLength: TRIALS }), async (rngSeed, values) => {
        const random = mulberry32(rngSeed);
        const dynamoAttempts = noAttempts();
        const providerAttempts = noAttempts();
        const tableName = `prop-throttle-${randomUUID()}`;
        await ensureTable(throttledDynamo(0, random, noAttempts()), tableName);
        const ledger = new DynamoDbLedger({ client: throttledDynamo(target === 'dynamodb' ? rate : 0, random, dynamoAttempts), tableName });
        const inner = new ChangeLogProvider();
        const provider = throttledProvider(inner, target === 'provider' ? rate : 0, random, providerAttempts);
        const own: EventBridgeEnvelope[] = [];
        const bus = new SinkBus((e) => own.push(e));
        const deps: Dependencies = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ local: { provider, registry: new RecordingRegistry() } }) };
        const deadLetters: string[] = [];

        const deliver = async <T>(label: string, work: () => Promise<T>): Promise<T | undefined> => {
          for (let attempt = 1; ; attempt++) {
            try {
              return await work();
            } catch (error) {
              if (attempt < TRANSPORT_ATTEMPTS && isRetryable(error)) continue;
              deadLetters.push(`${label}: ${String(error)}`);
              return undefined;
            }
          }
        };
        const route = async (envelope: EventBridgeEnvelope): Promise<void> => {
          for (const fn of routeOf(envelope)) {
            if (fn === 'status-change') await deliver(`status-change ${envelope.id}`, () => handleStatusChangeEvent(deps, envelope));
            if (fn === 'trial-fan-out') await deliver(`trial-fan-out ${envelope.id}`, () => handleTrialFanOutEvent(deps, envelope));
          }
          while (own.length) await route(own.shift() as EventBridgeEnvelope);
        };

        const jobIds: string[] = [];
        for (let j = 0; j < JOBS; j++) {
          const result = await deliver(`submit ${j}`, () => submitJob(deps, { spec: propertySpec(`throttle-${j}`), idempotencyKey: `k${j}` }));
          if (result) jobIds.push(result.job.jobId);
        }
        for (const jobId of jobIds) {
          let seq = 0;
          await route(localJobEnvelope(jobId, 'RUNNING', ++seq));
          for (let i = 0; i < TRIALS; i++) {
            const s = ++seq;
            inner.changeTrial(jobId, trialOf(`t${i}`, 'succeeded', (values[i] ?? 0) / 100, new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString()));
            await route(localTrialEnvelope(jobId, `t${i}`, 'COMPLETED', s));
          }
          await route(localJobEnvelope(jobId, 'COMPLETED', ++seq));
        }
        // What every dead-lettered delivery left undone, the reconciler repairs, as it does every few
        // minutes in a deployment: a finished job stays active until its finish is announced. Its
        // passes are throttled like everything else, so it may take more than one.
        const reader = new DynamoDbLedger({ client: throttledDynamo(0, random, noAttempts()), tableName });
        let passes = 0;
        for (; passes < RECONCILER_PASSES && (await reader.listActiveJobs()).length > 0; passes++) {
          await deliver(`reconcile pass ${passes + 1}`, () => reconcileActiveJobs(deps));
          while (own.length) await route(own.shift() as EventBridgeEnvelope);
        }

        const summary = (a: Attempts) => `${a.calls} calls, ${a.throttled} throttled tries, max ${a.maxAttempts} attempts/call, ${a.gaveUp} calls gave up`;
        console.log(`  dynamodb: ${summary(dynamoAttempts)}; provider: ${summary(providerAttempts)}; ${deadLetters.length} dead letters; ${passes} reconciler pass(es)`);
        for (const d of deadLetters.slice(0, 5)) console.log(`    dead letter: ${d.split('\n')[0]}`);
        expect(dynamoAttempts.maxAttempts).toBeLessThanOrEqual(SDK_ATTEMPTS);
        expect(providerAttempts.maxAttempts).toBeLessThanOrEqual(SDK_ATTEMPTS);
        expect(jobIds).toHaveLength(JOBS);
        expect(inner.created).toBe(JOBS);
        for (const jobId of jobIds) {
          const job = await reader.getJob(jobId);
          const trials = await reader.listTrials(jobId);
          expect({ jobId, status: job?.status, announced: job?.announcedStatus, stored: trials.length, unannounced: trials.filter((t) => !t.announced).length }).toEqual({
            jobId,
            status: 'succeeded',
            announced: 'succeeded',
            stored: TRIALS,
            unannounced: 0,
          });
        }
        expect(bus.distinctIds('trial.finished').size).toBe(JOBS * TRIALS);
        // A dead-lettered delivery is an alarm, not a loss, when a later delivery repaired its work
        // (the ledger checks above). At 50% DynamoDB throttling with the SDK's default 3 attempts,
        // about 1 call in 8 exhausts them, and a delivery can exhaust the transport's 3 as well.
        if (deadLetters.length) console.log(`  ${deadLetters.length} dead letter(s), nothing lost`);
      }),
      { seed, numRuns: 1, endOnFailure: true },
    );
  }, 60_000);
});
