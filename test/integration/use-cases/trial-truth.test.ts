import { beforeEach, describe, expect, it } from 'vitest';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';
import type { Clock } from '../../../shared/ports/clock';
import { applyStatusChange } from '../../../shared/use-cases/apply-status-change';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import { fanOutTrials, TRIAL_SETTLE_INTERVAL_MS } from '../../../shared/use-cases/fan-out-trials';
import { promoteBest } from '../../../shared/use-cases/promote-best';
import { submitJob } from '../../../shared/use-cases/submit-job';
import { freshLedger } from '../../support/dynamodb';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

const spec: TuningSpec = parseSpec({
  name: 'churn-xgb',
  provider: 'sagemaker',
  objective: { metric: 'validation:auc', goal: 'maximize' },
  parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
  strategy: 'random',
  budget: { maxTrials: 5, parallelTrials: 2 },
  trial: {},
  promotion: { model: 'churn', minImprovement: 0 },
});

/** A clock the test moves by hand: nothing here waits for real time. */
class ManualClock implements Clock {
  constructor(private ms = Date.UTC(2026, 10, 23, 10, 0)) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const VALUES = [0.88, 0.93, 0.7, 0.8, 0.85];
const listedTrial = (i: number, value = VALUES[i] as number): Trial => ({
  trialId: `churn-xgb-00${i + 1}-5f1c2a9e`,
  status: 'succeeded',
  hyperparameters: { eta: String(0.1 * (i + 1)) },
  objectiveValue: value,
  objectiveStatus: 'succeeded',
  metrics: { 'validation:auc': value },
  endedAt: new Date(Date.UTC(2026, 10, 23, 10, i + 1)).toISOString(),
  stoppedEarly: false,
});
/** What AWS's documented Training Job State Change event tells of a trial: no metrics at all. */
const metricless = (t: Trial): Trial => ({ trialId: t.trialId, status: t.status, hyperparameters: { ...t.hyperparameters, num_round: '200' }, stoppedEarly: false, ...(t.endedAt ? { endedAt: t.endedAt } : {}) });

describe('trial truth: events without metrics, the provider’s listing and its own best', () => {
  let deps: Dependencies;
  let ledger: DynamoDbLedger;
  let bus: RecordingBus;
  let provider: ScriptedProvider;
  let registry: RecordingRegistry;
  let clock: ManualClock;

  beforeEach(async () => {
    ({ ledger } = await freshLedger('trial-truth'));
    bus = new RecordingBus();
    provider = new ScriptedProvider('sagemaker', true);
    registry = new RecordingRegistry();
    clock = new ManualClock();
    deps = { ledger, bus, clock, providers: new ProviderCatalog({ sagemaker: { provider, registry } }) };
  });

  async function runningJob(key: string) {
    const { job } = await submitJob(deps, { spec, idempotencyKey: key });
    return job;
  }

  function trialEvent(job: { providerJobName: string }, trial: Trial, id: string) {
    return { provider: 'sagemaker' as const, providerJobName: job.providerJobName, eventId: id, source: 'aws.sagemaker', observedAt: clock.now().toISOString(), trial };
  }

  async function finish(job: { providerJobName: string }) {
    provider.setObservation(job.providerJobName, { status: 'succeeded', providerStatus: 'Completed', observedAt: clock.now().toISOString() });
    return applyStatusChange(deps, { provider: 'sagemaker', providerJobName: job.providerJobName, eventId: `done-${job.providerJobName}`, source: 'aws.sagemaker' });
  }

  it('promotes the provider’s winner of a five-trial job whose events carried no metrics, with each objective right', async () => {
    const job = await runningJob('five');
    const listingsAfter: number[] = [];
    for (let i = 0; i < 5; i++) {
      provider.putTrial(job.providerJobName, listedTrial(i));
      await fanOutTrials(deps, trialEvent(job, metricless(listedTrial(i)), `evt-${i}`));
      listingsAfter.push(provider.calls.listTrials);
      clock.advance(60_000);
    }
    // The first event claimed a listing; the other four waited for the next (none within the interval).
    expect(listingsAfter[0]).toBeGreaterThan(0);
    expect(new Set(listingsAfter).size).toBe(1);
    expect(bus.ofKind('trial.finished')).toHaveLength(1);

    provider.namedBest.set(job.providerJobName, listedTrial(1));
    await finish(job);
    const promoted = await promoteBest(deps, { jobId: job.jobId });

    const trials = await ledger.listTrials(job.jobId);
    expect(Object.fromEntries(trials.map((t) => [t.trialId, t.objectiveValue]))).toEqual(Object.fromEntries(VALUES.map((v, i) => [listedTrial(i).trialId, v])));
    expect(trials.every((t) => t.hyperparameters['num_round'] === '200' && t.objectiveStatus === 'succeeded')).toBe(true);
    const announced = bus.ofKind('trial.finished');
    expect(announced).toHaveLength(5);
    expect(announced.every((e) => typeof e.detail.trial.objectiveValue === 'number')).toBe(true);
    expect(promoted.decision).toMatchObject({ kind: 'promote', trial: { trialId: listedTrial(1).trialId, objectiveValue: 0.93 } });
    expect(registry.versions).toHaveLength(1);
    expect((await ledger.getJob(job.jobId))?.bestTrial?.trialId).toBe(listedTrial(1).trialId);
  });

  it('settles waiting trials with one listing once the interval has passed', async () => {
    const job = await runningJob('interval');
    provider.putTrial(job.providerJobName, listedTrial(0));
    await fanOutTrials(deps, trialEvent(job, metricless(listedTrial(0)), 'a'));
    const firstListing = provider.calls.listTrials;
    provider.putTrial(job.providerJobName, listedTrial(1));
    const waiting = await fanOutTrials(deps, trialEvent(job, metricless(listedTrial(1)), 'b'));
    expect(waiting.detail).toContain('1 waiting');
    expect(provider.calls.listTrials).toBe(firstListing);
    clock.advance(TRIAL_SETTLE_INTERVAL_MS);
    provider.putTrial(job.providerJobName, listedTrial(2));
    await fanOutTrials(deps, trialEvent(job, metricless(listedTrial(2)), 'c'));

    expect(provider.calls.listTrials).toBeGreaterThan(firstListing);
    expect(bus.ofKind('trial.finished').map((e) => [e.detail.trial.trialId, e.detail.trial.objectiveValue])).toEqual([0, 1, 2].map((i) => [listedTrial(i).trialId, VALUES[i]]));
  });

  it('announces an event that carries the objective at once, without a provider call', async () => {
    const job = await runningJob('carried');
    await fanOutTrials(deps, trialEvent(job, listedTrial(3), 'x'));
    expect(provider.calls.listTrials).toBe(0);
    expect(bus.ofKind('trial.finished')[0]?.detail.trial.objectiveValue).toBe(0.8);
  });

  it('lets the final listing correct a value an event claimed, so the ledger agrees with the provider', async () => {
    const job = await runningJob('corrected');
    // An event claimed 0.99 for trial 1; the provider lists 0.88 for it, 0.93 for trial 2, and names trial 2.
    await fanOutTrials(deps, trialEvent(job, { ...listedTrial(0), objectiveValue: 0.99, metrics: { 'validation:auc': 0.99 } }, 'e0'));
    expect((await ledger.getJob(job.jobId))?.bestTrial?.objectiveValue).toBe(0.99);
    provider.putTrial(job.providerJobName, listedTrial(0));
    provider.putTrial(job.providerJobName, listedTrial(1));
    provider.namedBest.set(job.providerJobName, listedTrial(1));
    await finish(job);

    expect((await ledger.getJob(job.jobId))?.bestTrial).toMatchObject({ trialId: listedTrial(1).trialId, objectiveValue: 0.93 });
    const promoted = await promoteBest(deps, { jobId: job.jobId });

    expect(promoted.decision).toMatchObject({ kind: 'promote', trial: { trialId: listedTrial(1).trialId, objectiveValue: 0.93 } });
    expect((await ledger.listTrials(job.jobId)).find((t) => t.trialId === listedTrial(0).trialId)?.objectiveValue).toBe(0.88);
    expect((await ledger.listHistory(job.jobId)).some((h) => h.source === 'promote-best')).toBe(false);
  });

  it('follows the provider when its named best still disagrees, and records why in the job’s history', async () => {
    const job = await runningJob('follow');
    provider.putTrial(job.providerJobName, listedTrial(0, 0.95));
    provider.putTrial(job.providerJobName, listedTrial(1, 0.93));
    await finish(job);
    provider.namedBest.set(job.providerJobName, listedTrial(1, 0.93));

    const promoted = await promoteBest(deps, { jobId: job.jobId });

    expect(promoted.decision).toMatchObject({ kind: 'promote', trial: { trialId: listedTrial(1).trialId, objectiveValue: 0.93 } });
    const why = (await ledger.listHistory(job.jobId)).find((h) => h.source === 'promote-best');
    expect(why?.detail).toBe(
      `sagemaker names trial ${listedTrial(1).trialId} (0.93) as the best; the ledger's best was trial ${listedTrial(0).trialId} (0.95); promoting the provider's`,
    );
    expect((await ledger.getJob(job.jobId))?.bestTrial?.trialId).toBe(listedTrial(1).trialId);
  });

  it('writes a skipped decision once when Tuning Job Finished arrives again', async () => {
    const job = await runningJob('skip-once');
    provider.putTrial(job.providerJobName, listedTrial(2));
    await finish(job);
    await ledger.promoteChampion({
      candidate: { model: 'churn', jobId: 'older-job', trialId: 't', objectiveValue: 0.99, goal: 'maximize', version: 'churn/v1', promotedAt: clock.now().toISOString() },
      expected: undefined,
      record: { model: 'churn', jobId: 'older-job', decidedAt: clock.now().toISOString(), decision: 'promoted', reason: 'first champion' },
    });

    const first = await promoteBest(deps, { jobId: job.jobId });
    clock.advance(60_000);
    const again = await promoteBest(deps, { jobId: job.jobId });

    expect([first.outcome, again.outcome]).toEqual(['applied', 'duplicate']);
    expect((await ledger.listPromotions('churn')).filter((p) => p.jobId === job.jobId)).toHaveLength(1);
  });

  it('agrees without a note when the re-read settles the difference', async () => {
    const job = await runningJob('settle');
    // The ledger heard 0.90 for trial 2 from an event; the provider's own reading of it is 0.97.
    provider.putTrial(job.providerJobName, listedTrial(0, 0.95));
    await fanOutTrials(deps, trialEvent(job, { ...listedTrial(1, 0.9) }, 'e1'));
    await finish(job);
    provider.namedBest.set(job.providerJobName, listedTrial(1, 0.97));

    const promoted = await promoteBest(deps, { jobId: job.jobId });

    expect(promoted.decision).toMatchObject({ kind: 'promote', trial: { trialId: listedTrial(1).trialId, objectiveValue: 0.97 } });
    expect((await ledger.listHistory(job.jobId)).some((h) => h.source === 'promote-best')).toBe(false);
  });
});
