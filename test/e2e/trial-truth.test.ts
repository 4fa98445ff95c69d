import { v1 } from '@google-cloud/aiplatform';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBus } from '../../shared/adapters/bus/local-bus';
import { loadBusRules } from '../../shared/adapters/bus/serverless-rules';
import type { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { VertexModelRegistry } from '../../shared/adapters/vertex/vertex-model-registry';
import { VertexProvider } from '../../shared/adapters/vertex/vertex-provider';
import { readSpec } from '../../shared/cli/main';
import type { TuningSpec } from '../../shared/domain/spec';
import { coreTargets } from '../../shared/edge/handlers';
import { systemClock } from '../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../shared/use-cases/dependencies';
import { reconcileJob } from '../../shared/use-cases/reconcile-job';
import { submitJob } from '../../shared/use-cases/submit-job';
import { freshLedger } from '../support/dynamodb';
import { FakeVertex } from '../support/fake-vertex';

const ROOT = join(import.meta.dirname, '..', '..');
const example = readSpec(join(ROOT, 'examples', 'vertex-tabular', 'spec.yaml'));

/**
 * The Vertex cases from submit to promotion, on the production path: the real Vertex
 * client against the fake (driven step by step, no timers), the reconciler's describe-and-sync as
 * the only reader (what `submit --wait` and the scheduled reconciler do), our events routed by
 * serverless.yml through the local bus to trial-fan-out and promote-best, DynamoDB Local.
 */
describe('Vertex trial truth, submit to promotion', () => {
  let fake: FakeVertex;
  let ledger: DynamoDbLedger;
  let bus: LocalBus;
  let deps: Dependencies;

  beforeEach(async () => {
    fake = await FakeVertex.start();
    ({ ledger } = await freshLedger('vertex-truth'));
    const scope = { project: 'tunewire-demo', location: 'us-central1' };
    const provider = new VertexProvider({ jobClient: new v1.JobServiceClient(fake.clientOptions()), ...scope, checkCredentials: false });
    const registry = new VertexModelRegistry({ modelClient: new v1.ModelServiceClient(fake.clientOptions()), ...scope });
    let ready: Dependencies | undefined;
    bus = new LocalBus({
      rules: loadBusRules(join(ROOT, 'serverless.yml')),
      targets: { ...coreTargets(() => ready as Dependencies), notify: async () => undefined, trigger: async () => undefined },
    });
    ready = deps = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ vertex: { provider, registry } }) };
  });

  afterEach(async () => {
    await fake.stop();
  });

  async function submitted(spec: TuningSpec, key: string) {
    const { job } = await submitJob(deps, { spec, idempotencyKey: key });
    const [name] = fake.jobNames().filter((n) => fake.job(n)?.labels?.['tunewire-job-id'] === job.jobId);
    if (!name) throw new Error('the fake has no job for the submit');
    fake.setState(name, 'JOB_STATE_RUNNING');
    return { job, name };
  }

  /** One pass of the reconciler (as `submit --wait` runs it every poll), then the bus drained. */
  async function read(jobId: string): Promise<void> {
    const job = await ledger.getJob(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    await reconcileJob(deps, job);
    await bus.drain();
  }

  const promotedTrial = () =>
    bus.published.filter((e) => e['detail-type'] === 'Model Promoted').map((e) => (e.detail as { trial: { trialId: string; objectiveValue: number } }).trial);

  it('remembers an early stop seen as STOPPING, and promotes the right trial once', async () => {
    const { job, name } = await submitted({ ...example, earlyStopping: 'auto', measurementSelection: 'last' }, 'stopping');
    fake.addTrial(name, { parameters: { learning_rate: 0.1 }, measurements: [{ metrics: { auc: 0.9 }, stepCount: 1 }] });
    fake.addTrial(name, { parameters: { learning_rate: 0.2 }, measurements: [{ metrics: { auc: 0.7 }, stepCount: 1 }] });
    await read(job.jobId);
    fake.updateTrial(name, '1', { state: 'STOPPING' });
    await read(job.jobId);
    fake.completeTrial(name, '1', { finalMeasurement: { metrics: { auc: 0.91 }, stepCount: 2 } });
    fake.completeTrial(name, '2', { finalMeasurement: { metrics: { auc: 0.72 }, stepCount: 3 } });
    fake.setState(name, 'JOB_STATE_SUCCEEDED');
    await read(job.jobId);
    await read(job.jobId);

    const trials = Object.fromEntries((await ledger.listTrials(job.jobId)).map((t) => [t.trialId, t]));
    expect(trials['1']).toMatchObject({ status: 'succeeded', stoppedEarly: true, objectiveValue: 0.91 });
    expect(trials['2']).toMatchObject({ status: 'succeeded', stoppedEarly: false, objectiveValue: 0.72 });
    expect(promotedTrial()).toEqual([expect.objectContaining({ trialId: '1', objectiveValue: 0.91, stoppedEarly: true })]);
    const announced = bus.published.filter((e) => e['detail-type'] === 'Tuning Trial Finished').map((e) => (e.detail as { trial: { trialId: string; stoppedEarly: boolean } }).trial);
    expect(announced.map((t) => [t.trialId, t.stoppedEarly]).sort()).toEqual([
      ['1', true],
      ['2', false],
    ]);
  });

  it('under LAST, a final measurement without the metric is no objective: that trial never wins', async () => {
    const { job, name } = await submitted({ ...example, measurementSelection: 'last' }, 'last');
    // Trial 1 reported 0.99 on the way, but its final measurement carries no auc.
    fake.addTrial(name, { parameters: { learning_rate: 0.1 }, measurements: [{ metrics: { auc: 0.99 }, stepCount: 1 }] });
    fake.addTrial(name, { parameters: { learning_rate: 0.2 }, measurements: [{ metrics: { auc: 0.8 }, stepCount: 1 }] });
    await read(job.jobId);
    fake.completeTrial(name, '1', { finalMeasurement: { metrics: { loss: 0.3 }, stepCount: 5 } });
    fake.completeTrial(name, '2', { finalMeasurement: { metrics: { auc: 0.84 }, stepCount: 5 } });
    fake.setState(name, 'JOB_STATE_SUCCEEDED');
    await read(job.jobId);
    await read(job.jobId);

    const trials = Object.fromEntries((await ledger.listTrials(job.jobId)).map((t) => [t.trialId, t]));
    expect(trials['1']).toMatchObject({ status: 'succeeded', objectiveStatus: 'failed' });
    expect(trials['1']?.objectiveValue).toBeUndefined();
    expect(trials['2']).toMatchObject({ objectiveValue: 0.84, objectiveStatus: 'succeeded' });
    expect(promotedTrial()).toEqual([expect.objectContaining({ trialId: '2', objectiveValue: 0.84 })]);
    expect(fake.modelNames()).toHaveLength(1);
  });
});
