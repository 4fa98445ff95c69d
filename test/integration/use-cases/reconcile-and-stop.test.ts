import { beforeEach, describe, expect, it } from 'vitest';
import { JobNotFoundError } from '../../../shared/domain/errors';
import { parseSpec } from '../../../shared/domain/spec';
import { systemClock } from '../../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import { fanOutTrials } from '../../../shared/use-cases/fan-out-trials';
import { reconcileJob } from '../../../shared/use-cases/reconcile-job';
import { stopJob } from '../../../shared/use-cases/stop-job';
import { submitJob } from '../../../shared/use-cases/submit-job';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { freshLedger } from '../../support/dynamodb';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

const spec = parseSpec({
  name: 'churn-xgb',
  provider: 'sagemaker',
  objective: { metric: 'validation:auc', goal: 'maximize' },
  parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
  budget: { maxTrials: 4 },
  trial: {},
});

describe('reconcile, stop and event-carried trials', () => {
  let deps: Dependencies;
  let ledger: DynamoDbLedger;
  let bus: RecordingBus;
  let provider: ScriptedProvider;

  beforeEach(async () => {
    ({ ledger } = await freshLedger('reconcile'));
    bus = new RecordingBus();
    // SageMaker's rule: events are hints and describe is the truth
    provider = new ScriptedProvider('sagemaker', true);
    deps = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ sagemaker: { provider, registry: new RecordingRegistry() } }) };
  });

  it('repairs a job whose events were all lost, once', async () => {
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'lost' });
    provider.putTrial(job.providerJobName, { trialId: 'tj-1', status: 'succeeded', hyperparameters: { eta: '0.1' }, stoppedEarly: false, objectiveValue: 0.91 });
    provider.setObservation(job.providerJobName, { status: 'succeeded', providerStatus: 'Completed', observedAt: '2026-11-23T10:00:00.000Z' });

    const first = await reconcileJob(deps, job);
    const again = await reconcileJob(deps, (await ledger.getJob(job.jobId)) ?? job);

    expect(first.outcome).toBe('applied');
    expect(again.outcome).toBe('duplicate');
    expect(provider.calls.describe).toBe(2);
    expect((await ledger.getJob(job.jobId))?.status).toBe('succeeded');
    expect(bus.ofKind('job.finished').map((e) => e.detail.bestTrial?.trialId)).toEqual(['tj-1']);
  });

  it('stores a trial the event carries without asking the provider', async () => {
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'carried' });
    const outcome = await fanOutTrials(deps, {
      provider: 'sagemaker',
      providerJobName: job.providerJobName,
      eventId: 'e1',
      source: 'aws.sagemaker',
      trial: { trialId: 'tj-7', status: 'succeeded', hyperparameters: { eta: '0.2' }, stoppedEarly: false, metrics: { 'validation:auc': 0.93, 'train:auc': 0.99 } },
    });
    expect(outcome.outcome).toBe('applied');
    expect(provider.calls.listTrials).toBe(0);
    const [stored] = await ledger.listTrials(job.jobId);
    expect(stored).toMatchObject({ trialId: 'tj-7', objectiveValue: 0.93, announced: true });
    expect((await ledger.getJob(job.jobId))?.bestTrial?.trialId).toBe('tj-7');
  });

  it('asks the provider to stop a running job, and does nothing for a finished one', async () => {
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'stop' });
    expect((await stopJob(deps, job.jobId)).requested).toBe(true);
    expect(provider.calls.stop).toBe(1);

    provider.setObservation(job.providerJobName, { status: 'stopped', providerStatus: 'Stopped', observedAt: '2026-11-23T10:00:00.000Z' });
    await reconcileJob(deps, job);
    expect((await stopJob(deps, job.jobId)).requested).toBe(false);
    expect(provider.calls.stop).toBe(1);
    await expect(stopJob(deps, 'no-such-job')).rejects.toBeInstanceOf(JobNotFoundError);
  });
});
