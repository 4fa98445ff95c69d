import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { SageMakerModelRegistry } from '../../../shared/adapters/sagemaker/sagemaker-model-registry';
import { SageMakerProvider } from '../../../shared/adapters/sagemaker/sagemaker-provider';
import { readSpec } from '../../../shared/cli/main';
import { systemClock } from '../../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import { reconcileActiveJobs } from '../../../shared/use-cases/reconcile-active-jobs';
import { submitJob } from '../../../shared/use-cases/submit-job';
import { freshLedger } from '../../support/dynamodb';
import { FakeSageMaker } from '../../support/fake-sagemaker';
import { RecordingBus } from '../../support/recording-bus';

const spec = readSpec(join(import.meta.dirname, '..', '..', '..', 'examples', 'sagemaker-xgboost', 'spec.yaml'));

describe('the reconciler', () => {
  let fake: FakeSageMaker;
  let ledger: DynamoDbLedger;
  let bus: RecordingBus;
  let deps: Dependencies;

  beforeEach(async () => {
    // No onEvent listener: every event SageMaker sends is lost.
    fake = await new FakeSageMaker().start();
    ({ ledger } = await freshLedger('reconciler'));
    bus = new RecordingBus();
    const client = new SageMakerClient({ endpoint: fake.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 6 });
    deps = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ sagemaker: { provider: new SageMakerProvider({ client }), registry: new SageMakerModelRegistry({ client }) } }) };
  });

  afterEach(async () => {
    await fake.stop();
  });

  it('repairs a job whose events were all dropped, in one period, and then changes nothing', async () => {
    const { job } = await submitJob(deps, { spec, idempotencyKey: 'dropped' });
    for (const objective of [0.8, 0.81, 0.82]) fake.addTrainingJob(job.providerJobName, { status: 'Completed', objective });
    fake.setStatus(job.providerJobName, 'Completed');
    expect((await ledger.getJob(job.jobId))?.status).toBe('pending');

    const first = await reconcileActiveJobs(deps);
    expect(first).toMatchObject({ checked: 1, repaired: 1, failures: [] });
    const repaired = await ledger.getJob(job.jobId);
    expect(repaired?.status).toBe('succeeded');
    expect(await ledger.listTrials(job.jobId)).toHaveLength(3);
    expect(bus.ofKind('job.finished').map((e) => e.detail.bestTrial?.objectiveValue)).toEqual([0.82]);

    const second = await reconcileActiveJobs(deps);
    expect(second.checked).toBe(0);
    expect(await ledger.getJob(job.jobId)).toEqual(repaired);
  });

  it('keeps a running job current and goes on past a job that fails to describe', async () => {
    const { job: running } = await submitJob(deps, { spec, idempotencyKey: 'running' });
    const { job: broken } = await submitJob(deps, { spec, idempotencyKey: 'broken' });
    // which of the two meets the failure depends on the order of the sweep
    for (const job of [running, broken]) fake.addTrainingJob(job.providerJobName, { status: 'Completed', objective: 0.9 });
    fake.fail('DescribeHyperParameterTuningJob', { times: 1, type: 'ResourceNotFound', message: 'gone', status: 400 });

    const result = await reconcileActiveJobs(deps, { backoffMs: 1 });
    expect(result.checked).toBe(2);
    expect(result.failures).toHaveLength(1);
    const jobs = [await ledger.getJob(running.jobId), await ledger.getJob(broken.jobId)];
    expect(jobs.filter((j) => j?.status === 'running')).toHaveLength(1);
    expect((await ledger.listTrials(running.jobId)).length + (await ledger.listTrials(broken.jobId)).length).toBe(1);
  });
});
