import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Goal } from '../../shared/domain/spec';
import { selectBestTrial, type Trial } from '../../shared/domain/trial';
import type { EventBridgeEnvelope } from '../../shared/edge/envelopes';
import { handleStatusChangeEvent, handleTrialFanOutEvent } from '../../shared/edge/handlers';
import { systemClock } from '../../shared/ports/clock';
import type { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { ProviderCatalog, type Dependencies } from '../../shared/use-cases/dependencies';
import { submitJob } from '../../shared/use-cases/submit-job';
import { deriveJobId } from '../../shared/domain/job';
import { freshLedger } from '../support/dynamodb';
import { ChangeLogProvider, CrashInjector, InjectedCrash, localJobEnvelope, localTrialEnvelope, propertySpec, SinkBus, trialOf } from '../support/property-harness';
import { RecordingRegistry } from '../support/scripted-provider';

/**
 * Invariants 3 and 5 under crashes: a function instance dies before, or just after, each external
 * call it makes (provider, ledger, bus) in turn; the transport then retries the same input. Whatever
 * the crash point: one provider job, every trial stored and announced, the job finished once.
 */
const SEED = 777_2026;

interface Plan {
  readonly goal: Goal;
  readonly objectives: readonly number[];
}

type Input = { readonly kind: 'submit' } | { readonly kind: 'status' | 'trial'; readonly envelope: EventBridgeEnvelope; readonly reveal?: Trial };

function inputsFor(jobName: string, plan: Plan): Input[] {
  const inputs: Input[] = [{ kind: 'submit' }, { kind: 'status', envelope: localJobEnvelope(jobName, 'RUNNING', 1) }];
  let seq = 1;
  plan.objectives.forEach((objective, i) => {
    const s = ++seq;
    const trial = trialOf(`t${i}`, 'succeeded', objective, new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString());
    inputs.push({ kind: 'trial', envelope: localTrialEnvelope(jobName, trial.trialId, 'COMPLETED', s), reveal: trial });
  });
  inputs.push({ kind: 'status', envelope: localJobEnvelope(jobName, 'COMPLETED', ++seq) });
  return inputs;
}

interface Outcome {
  readonly provider: ChangeLogProvider;
  readonly bus: SinkBus;
  readonly injector: CrashInjector;
  readonly jobId: string;
  readonly retries: number;
}

/** Runs every input in order; an input that crashes is retried once, as the transport would. */
async function runWithCrash(ledger: DynamoDbLedger, key: string, plan: Plan, crashAt: number, mode: 'before' | 'after'): Promise<Outcome> {
  const provider = new ChangeLogProvider();
  const bus = new SinkBus();
  const injector = new CrashInjector();
  injector.crashAt = crashAt;
  injector.mode = mode;
  const deps: Dependencies = {
    ledger: injector.wrap('ledger', ledger),
    bus: injector.wrap('bus', bus),
    clock: systemClock,
    providers: new ProviderCatalog({ local: { provider: injector.wrap('provider', provider), registry: new RecordingRegistry() } }),
  };
  const spec = propertySpec('crash', plan.goal);
  const jobId = deriveJobId(spec.name, key);
  let retries = 0;
  for (const input of inputsFor(jobId, plan)) {
    if (input.kind !== 'submit' && input.reveal) provider.changeTrial(jobId, input.reveal);
    const once = async () => {
      if (input.kind === 'submit') await submitJob(deps, { spec, idempotencyKey: key });
      else if (input.kind === 'status') await handleStatusChangeEvent(deps, input.envelope);
      else await handleTrialFanOutEvent(deps, input.envelope);
    };
    try {
      await once();
    } catch (error) {
      if (!(error instanceof InjectedCrash)) throw error;
      retries++;
      await once();
    }
  }
  return { provider, bus, injector, jobId, retries };
}

describe('crash and retry (property, DynamoDB Local)', () => {
  it('a crash before or after each external call, then a retry, leaves no duplicate job and no lost trial', async () => {
    console.log(`crash property: fast-check seed ${SEED}`);
    const { ledger } = await freshLedger('prop-crash');
    let round = 0;
    const plan = fc.record({
      goal: fc.constantFrom<Goal>('maximize', 'minimize'),
      objectives: fc.array(fc.integer({ min: 0, max: 20 }).map((n) => n / 20), { minLength: 2, maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        // a dry run counts the external calls; then each one in turn is a crash point
        const dry = await runWithCrash(ledger, `dry-${round++}`, p, 0, 'before');
        const calls = dry.injector.count;
        const points = Array.from({ length: calls }, (_, i) => i + 1).flatMap((n) => (['before', 'after'] as const).map((mode) => ({ n, mode })));
        const failures: string[] = [];
        const started = performance.now();
        for (let i = 0; i < points.length; i += 4) {
          await Promise.all(
            points.slice(i, i + 4).map(async ({ n, mode }) => {
              const label = `crash ${mode} call #${n} (${dry.injector.log[n - 1]})`;
              try {
                const run = await runWithCrash(ledger, `crash-${round}-${n}-${mode}`, p, n, mode);
                const job = await ledger.getJob(run.jobId);
                const trials = await ledger.listTrials(run.jobId);
                const problems = [
                  run.retries !== 1 ? `${run.retries} retries` : '',
                  run.provider.created !== 1 ? `${run.provider.created} provider jobs` : '',
                  job?.status !== 'succeeded' || job.announcedStatus !== 'succeeded' ? `job ${job?.status}/${job?.announcedStatus}` : '',
                  trials.length !== p.objectives.length || !trials.every((t) => t.announced) ? `trials ${JSON.stringify(trials.map((t) => [t.trialId, t.announced]))}` : '',
                  run.bus.distinctIds('trial.finished').size !== p.objectives.length ? `${run.bus.distinctIds('trial.finished').size} trial announcements` : '',
                  run.bus.distinctIds('job.finished').size !== 1 ? `${run.bus.distinctIds('job.finished').size} job.finished` : '',
                  job?.bestTrial?.trialId !== selectBestTrial(run.provider.trialsOf(run.jobId), p.goal)?.trialId ? `best ${job?.bestTrial?.trialId}` : '',
                ].filter(Boolean);
                if (problems.length) failures.push(`${label}: ${problems.join('; ')}`);
              } catch (error) {
                failures.push(`${label}: threw ${String(error)}`);
              }
            }),
          );
        }
        round++;
        console.log(`  ${p.objectives.length} trial(s): ${calls} external calls, ${points.length} crash points in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        expect(failures).toEqual([]);
      }),
      { seed: SEED, numRuns: 2, endOnFailure: true },
    );
  }, 150_000);
});
