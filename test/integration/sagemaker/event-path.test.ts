import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBus } from '../../../shared/adapters/bus/local-bus';
import { loadBusRules } from '../../../shared/adapters/bus/serverless-rules';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { SageMakerModelRegistry } from '../../../shared/adapters/sagemaker/sagemaker-model-registry';
import { SageMakerProvider } from '../../../shared/adapters/sagemaker/sagemaker-provider';
import { detailTypeOf } from '../../../shared/domain/events';
import type { JobRecord } from '../../../shared/domain/job';
import { coreTargets } from '../../../shared/edge/handlers';
import type { EventBridgeEnvelope } from '../../../shared/edge/envelopes';
import { readSpec } from '../../../shared/cli/main';
import { systemClock } from '../../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import { stopJob } from '../../../shared/use-cases/stop-job';
import { submitJob } from '../../../shared/use-cases/submit-job';
import { freshLedger } from '../../support/dynamodb';
import { FakeSageMaker, type FakeSageMakerEvent } from '../../support/fake-sagemaker';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const spec = readSpec(join(ROOT, 'examples', 'sagemaker-xgboost', 'spec.yaml'));

/**
 * SageMaker's whole path on the embedded stack: the real SDK client against the wire-level fake,
 * whose EventBridge events go into the local bus, which routes them by serverless.yml to the
 * production handlers, against DynamoDB Local.
 */
describe('SageMaker through events', () => {
  let fake: FakeSageMaker;
  let ledger: DynamoDbLedger;
  let bus: LocalBus;
  let deps: Dependencies;
  let provider: SageMakerProvider;
  const seen: FakeSageMakerEvent[] = [];

  beforeEach(async () => {
    fake = await new FakeSageMaker().start();
    ({ ledger } = await freshLedger('sagemaker-path'));
    const client = new SageMakerClient({ endpoint: fake.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 10 });
    provider = new SageMakerProvider({ client });
    let ready: Dependencies | undefined;
    const use = () => ready as Dependencies;
    bus = new LocalBus({
      rules: loadBusRules(join(ROOT, 'serverless.yml')),
      targets: {
        ...coreTargets(use),
        // serverless.yml routes our events to these too; not under test here
        notify: async () => undefined,
        trigger: async () => undefined,
      },
    });
    ready = deps = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ sagemaker: { provider, registry: new SageMakerModelRegistry({ client }) } }) };
    seen.length = 0;
    fake.onEvent((event) => {
      seen.push(event);
      bus.inject(event as unknown as EventBridgeEnvelope);
    });
  });

  afterEach(async () => {
    await fake.stop();
  });

  async function settled(jobId: string): Promise<JobRecord> {
    for (let i = 0; i < 200; i++) {
      await fake.drainEvents();
      await bus.drain();
      const job = await ledger.getJob(jobId);
      if (job?.status === 'succeeded' && job.announcedStatus === 'succeeded' && (await ledger.getChampion('churn-xgb'))) return job;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${jobId} did not settle`);
  }

  const published = (detailType: string) => bus.published.filter((e) => e.source === 'tunewire' && e['detail-type'] === detailType);

  it('runs a job from submit to a model package, driven by SageMaker events alone', async () => {
    fake.autopilot({ trialEveryMs: 20, trials: 5, objective: (i) => 0.8 + i / 100 });
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'full' });
    const done = await settled(job.jobId);

    expect(done.providerStatus).toBe('Completed');
    const trials = await ledger.listTrials(job.jobId);
    expect(trials).toHaveLength(5);
    expect(trials.every((t) => t.announced && t.status === 'succeeded')).toBe(true);
    expect(done.bestTrial?.objectiveValue).toBeCloseTo(0.84);

    const [packageRequest] = fake.requestsOf('CreateModelPackage') as Array<Record<string, unknown>>;
    expect(packageRequest).toMatchObject({ ModelPackageGroupName: 'churn-xgb', ModelApprovalStatus: 'PendingManualApproval' });
    const [promoted] = published(detailTypeOf('model.promoted'));
    expect(promoted?.detail).toMatchObject({ model: 'churn-xgb', version: expect.stringMatching(/^arn:aws:sagemaker:.*model-package\/churn-xgb\/1$/) });
  });

  it.each(['documented', 'without-metrics'] as const)(
    'promotes the provider’s winner when training-job events come as AWS documents them (%s: no metrics)',
    async (shape) => {
      fake.trainingJobEvents(shape);
      const values = [0.88, 0.93, 0.7, 0.8, 0.85];
      fake.autopilot({ trialEveryMs: 20, trials: 5, objective: (i) => values[i] as number });
      const { job } = await submitJob(deps, { spec, idempotencyKey: `documented-${shape}` });
      const done = await settled(job.jobId);

      const trials = await ledger.listTrials(job.jobId);
      expect(trials.map((t) => t.objectiveValue).sort()).toEqual([...values].sort());
      expect(trials.every((t) => t.objectiveStatus === 'succeeded' && t.announced && t.artifactUri?.startsWith('s3://'))).toBe(true);
      const winner = trials.find((t) => t.objectiveValue === 0.93);
      expect(done.bestTrial?.trialId).toBe(winner?.trialId);
      // Announcements are at least once (a repeat keeps its id); each trial's carries its objective.
      const announced = new Map(published(detailTypeOf('trial.finished')).map((e) => [e.id, (e.detail as { trial: { objectiveValue?: number } }).trial.objectiveValue]));
      expect([...announced.values()].sort()).toEqual([...values].sort());
      expect(published(detailTypeOf('trial.finished')).every((e) => typeof (e.detail as { trial: { objectiveValue?: number } }).trial.objectiveValue === 'number')).toBe(true);
      const [promoted] = published(detailTypeOf('model.promoted'));
      expect(promoted?.detail).toMatchObject({ trial: { trialId: winner?.trialId, objectiveValue: 0.93 } });
      const models = (fake.requestsOf('CreateModelPackage') as Array<{ InferenceSpecification?: { Containers?: Array<{ ModelDataUrl?: string }> } }>).map(
        (r) => r.InferenceSpecification?.Containers?.[0]?.ModelDataUrl,
      );
      expect(new Set(models)).toEqual(new Set([winner?.artifactUri]));
      expect(fake.modelPackageArns('churn-xgb')).toHaveLength(1);
    },
  );

  it('changes nothing when every event arrives again, twice, in reverse order', async () => {
    fake.autopilot({ trialEveryMs: 20, trials: 4 });
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'repeat' });
    await settled(job.jobId);
    const before = { job: await ledger.getJob(job.jobId), trials: await ledger.listTrials(job.jobId), champion: await ledger.getChampion('churn-xgb') };
    const ids = new Set(bus.published.filter((e) => e.source === 'tunewire').map((e) => e.id));
    // Our own events may go out twice in the first pass (at least once); a second promote-best
    // then repeats CreateModelPackage with the same ClientToken, which makes no second version.
    const registrations = fake.requestsOf('CreateModelPackage').length;

    for (const event of [...seen, ...seen].reverse()) bus.inject(event as unknown as EventBridgeEnvelope);
    await bus.drain();

    expect(await ledger.getJob(job.jobId)).toEqual(before.job);
    expect(await ledger.listTrials(job.jobId)).toEqual(before.trials);
    expect(await ledger.getChampion('churn-xgb')).toEqual(before.champion);
    expect(new Set(bus.published.filter((e) => e.source === 'tunewire').map((e) => e.id))).toEqual(ids);
    expect(fake.requestsOf('CreateModelPackage')).toHaveLength(registrations);
    expect(fake.modelPackageArns('churn-xgb')).toHaveLength(1);
    const history = await ledger.listHistory(job.jobId);
    expect(history.filter((h) => h.outcome === 'duplicate').length).toBeGreaterThan(0);
  });

  it('loses nothing when 30% of SageMaker calls are throttled (the SDK retries)', async () => {
    fake.throttle({ rate: 0.3, seed: 7 });
    fake.autopilot({ trialEveryMs: 20, trials: 6 });
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'throttled' });
    await settled(job.jobId);
    expect(await ledger.listTrials(job.jobId)).toHaveLength(6);
    expect(Object.values(fake.throttled).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('makes one tuning job when a submit crashes after create and is retried', async () => {
    const create = provider.create.bind(provider);
    let crashes = 1;
    provider.create = async (request) => {
      const result = await create(request);
      if (crashes-- > 0) throw new Error('crashed after CreateHyperParameterTuningJob');
      return result;
    };
    await expect(submitJob(deps, { spec, idempotencyKey: 'crash' })).rejects.toThrow('crashed');
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'crash' });
    // the job's first InProgress event may already have moved it on
    expect(['pending', 'running']).toContain(job.status);
    expect(fake.requestsOf('CreateHyperParameterTuningJob')).toHaveLength(2);
    expect(fake.tuningJob(job.providerJobName).status).toBeDefined();
    expect(fake.calls['CreateHyperParameterTuningJob']).toBe(2);
  });

  it('stops a job: StopHyperParameterTuningJob, then stopping and stopped from its events', async () => {
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'stop' });
    fake.addTrainingJob(job.providerJobName, { status: 'InProgress' });
    await fake.drainEvents();
    await bus.drain();

    await stopJob(deps, job.jobId);
    await fake.drainEvents();
    await bus.drain();
    expect((await ledger.getJob(job.jobId))?.status).toBe('stopping');

    fake.advance();
    await fake.drainEvents();
    await bus.drain();
    expect(fake.requestsOf('StopHyperParameterTuningJob')).toEqual([{ HyperParameterTuningJobName: job.providerJobName }]);
    expect((await ledger.getJob(job.jobId))?.status).toBe('stopped');
    expect(published(detailTypeOf('job.finished')).map((e) => e.detail['status'])).toEqual(['stopped']);
  });

  it('fans out 1,000 trials with at most trials/100 + 3 list calls', async () => {
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'wide' });
    await fake.drainEvents();
    await bus.drain();
    const listsBefore = fake.calls['ListTrainingJobsForHyperParameterTuningJob'] ?? 0;
    for (let i = 0; i < 1000; i++) fake.addTrainingJob(job.providerJobName, { status: 'Completed', objective: i / 1000 });
    fake.setStatus(job.providerJobName, 'Completed');
    await settled(job.jobId);
    const lists = (fake.calls['ListTrainingJobsForHyperParameterTuningJob'] ?? 0) - listsBefore;
    expect(await ledger.listTrials(job.jobId)).toHaveLength(1000);
    console.log(`1,000 trials fanned out with ${lists} List calls`);
    expect(lists).toBeLessThanOrEqual(1000 / 100 + 3);
  }, 120_000);
});
