import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { ProviderError } from '../../../shared/domain/errors';
import type { JobRecord } from '../../../shared/domain/job';
import { parseSpec, type ProviderName } from '../../../shared/domain/spec';
import { WATCHER_DETAIL_TYPE, WATCHER_SOURCE, googleWatcherJobEvent, type WatcherMessage } from '../../../shared/edge/google-events';
import { handleStatusChangeEvent, registerProviderEventParsers } from '../../../shared/edge/handlers';
import { systemClock } from '../../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import { reconcileJob } from '../../../shared/use-cases/reconcile-job';
import { submitJob } from '../../../shared/use-cases/submit-job';
import { watchGoogleJobs } from '../../../shared/use-cases/watch-google-jobs';
import { freshLedger } from '../../support/dynamodb';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

const specFor = (provider: ProviderName, name: string) =>
  parseSpec({
    name,
    provider,
    objective: { metric: 'accuracy', goal: 'maximize' },
    parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
    budget: { maxTrials: 8, parallelTrials: 2 },
    trial: {},
  });

const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute)).toISOString();

/** A push body as the subscription delivers a published message. */
function pushOf(message: WatcherMessage, messageId: string) {
  return { message: { data: message.data.toString('base64'), attributes: message.attributes, messageId }, subscription: 'projects/p/subscriptions/status-change' };
}

describe('watchGoogleJobs (DynamoDB Local)', () => {
  let deps: Dependencies;
  let ledger: DynamoDbLedger;
  let bus: RecordingBus;
  let vertex: ScriptedProvider;
  let mlengine: ScriptedProvider;
  let local: ScriptedProvider;
  let published: WatcherMessage[];
  const publish = async (message: WatcherMessage) => void published.push(message);
  const fast = { backoffMs: 1 };

  beforeAll(() => {
    registerProviderEventParsers({ job: [{ source: WATCHER_SOURCE, detailType: WATCHER_DETAIL_TYPE, parse: googleWatcherJobEvent }] });
  });

  beforeEach(async () => {
    ({ ledger } = await freshLedger('watch'));
    bus = new RecordingBus();
    vertex = new ScriptedProvider('vertex', true);
    mlengine = new ScriptedProvider('mlengine', true);
    local = new ScriptedProvider('local');
    const registry = new RecordingRegistry();
    deps = {
      ledger,
      bus,
      clock: systemClock,
      providers: new ProviderCatalog({ vertex: { provider: vertex, registry }, mlengine: { provider: mlengine, registry }, local: { provider: local, registry } }),
    };
    published = [];
  });

  async function submitted(provider: ProviderName, key: string): Promise<JobRecord> {
    return (await submitJob(deps, { spec: specFor(provider, `${provider}-job`), idempotencyKey: key })).job;
  }

  /** A job the ledger already knows as the provider reports it: nothing to publish. */
  async function inSync(provider: ScriptedProvider, key: string): Promise<JobRecord> {
    const job = await submitted(provider.name, key);
    provider.setObservation(job.providerJobName, { status: 'running', providerStatus: 'RUNNING', observedAt: at(1), trialCounts: { running: 2 } });
    await reconcileJob(deps, job);
    return job;
  }

  const publishedJobIds = () => published.map((m) => m.attributes['jobId']).sort();

  it('publishes exactly the jobs whose provider state differs from the ledger', async () => {
    const quiet = await inSync(vertex, 'quiet');
    const started = await submitted('vertex', 'started');
    vertex.setObservation(started.providerJobName, { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: at(2) });
    const progressed = await inSync(mlengine, 'progressed');
    mlengine.setObservation(progressed.providerJobName, { status: 'running', providerStatus: 'RUNNING', observedAt: at(3), trialCounts: { running: 2, succeeded: 1 } });
    const finished = await inSync(mlengine, 'finished');
    mlengine.setObservation(finished.providerJobName, { status: 'succeeded', providerStatus: 'SUCCEEDED', observedAt: at(4), trialCounts: { succeeded: 8 } });
    const localJob = await submitted('local', 'local');
    local.setObservation(localJob.providerJobName, { status: 'running', providerStatus: 'RUNNING', observedAt: at(5) });
    const describesBefore = local.calls.describe;

    const result = await watchGoogleJobs(deps, publish, fast);

    expect(result).toEqual({ checked: 4, changed: 3, failed: 0, failures: [] });
    expect(publishedJobIds()).toEqual([started.jobId, progressed.jobId, finished.jobId].sort());
    expect(publishedJobIds()).not.toContain(quiet.jobId);
    expect(local.calls.describe).toBe(describesBefore);
  });

  it('publishes nothing on the next sweep once status-change has applied what it published', async () => {
    const job = await submitted('vertex', 'applied');
    vertex.setObservation(job.providerJobName, { status: 'succeeded', providerStatus: 'JOB_STATE_SUCCEEDED', observedAt: at(9), trialCounts: { succeeded: 8 } });

    await watchGoogleJobs(deps, publish, fast);
    const [message] = published;
    if (!message) throw new Error('nothing was published');
    const describes = vertex.calls.describe;
    const outcome = await handleStatusChangeEvent(deps, pushOf(message, 'm-1'));

    expect(outcome).toMatchObject({ outcome: 'applied', jobId: job.jobId, detail: 'pending -> succeeded' });
    // the watcher's claim was read from the provider: status-change does not get the job again
    expect(vertex.calls.describe).toBe(describes);
    expect((await ledger.getJob(job.jobId))?.trialCounts).toEqual({ succeeded: 8 });
    published = [];
    expect(await watchGoogleJobs(deps, publish, fast)).toMatchObject({ checked: 0, changed: 0 });
  });

  it('goes on past a job whose provider fails, and counts it', async () => {
    const broken = await submitted('vertex', 'broken');
    vertex.failDescribe(broken.providerJobName, new ProviderError('vertex', 'getHyperparameterTuningJob', 'permission denied', { retryable: false, code: 'PROVIDER.DENIED' }));
    const healthy = await submitted('mlengine', 'healthy');
    mlengine.setObservation(healthy.providerJobName, { status: 'running', providerStatus: 'RUNNING', observedAt: at(6) });
    const alsoHealthy = await submitted('vertex', 'also-healthy');
    vertex.setObservation(alsoHealthy.providerJobName, { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: at(7) });

    const result = await watchGoogleJobs(deps, publish, fast);

    expect(result).toMatchObject({ checked: 3, changed: 2, failed: 1 });
    expect(result.failures).toEqual([{ jobId: broken.jobId, code: 'PROVIDER.DENIED', message: expect.stringContaining('permission denied') }]);
    expect(publishedJobIds()).toEqual([healthy.jobId, alsoHealthy.jobId].sort());
  });

  it('retries a throttled describe with backoff, and gives up after the attempts allowed', async () => {
    const throttled = () => new ProviderError('vertex', 'getHyperparameterTuningJob', 'RESOURCE_EXHAUSTED', { retryable: true, code: 'PROVIDER.THROTTLED' });
    const recovers = await submitted('vertex', 'recovers');
    vertex.setObservation(recovers.providerJobName, { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: at(8) });
    vertex.failDescribe(recovers.providerJobName, throttled(), throttled());
    const exhausted = await submitted('vertex', 'exhausted');
    vertex.failDescribe(exhausted.providerJobName, throttled(), throttled(), throttled());

    const result = await watchGoogleJobs(deps, publish, { ...fast, attempts: 3 });

    expect(result).toMatchObject({ checked: 2, changed: 1, failed: 1 });
    expect(result.failures.map((f) => [f.jobId, f.code])).toEqual([[exhausted.jobId, 'PROVIDER.THROTTLED']]);
    expect(publishedJobIds()).toEqual([recovers.jobId]);
    expect(vertex.calls.describe).toBe(6);
  });

  it('counts a failed publish as a failure of that job only', async () => {
    const first = await submitted('vertex', 'first');
    const second = await submitted('vertex', 'second');
    for (const job of [first, second]) vertex.setObservation(job.providerJobName, { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: at(10) });

    const result = await watchGoogleJobs(deps, async (message) => {
      if (message.attributes['jobId'] === first.jobId) throw new Error('topic unavailable');
      published.push(message);
    });

    expect(result).toMatchObject({ checked: 2, changed: 1, failed: 1 });
    expect(publishedJobIds()).toEqual([second.jobId]);
  });

  it('watches only the Google providers configured here', async () => {
    const job = await submitted('vertex', 'unwatched');
    vertex.setObservation(job.providerJobName, { status: 'running', providerStatus: 'JOB_STATE_RUNNING', observedAt: at(11) });
    const onlyMlEngine = { ...deps, providers: new ProviderCatalog({ mlengine: { provider: mlengine, registry: new RecordingRegistry() } }) };

    expect(await watchGoogleJobs(onlyMlEngine, publish, fast)).toMatchObject({ checked: 0, changed: 0, failed: 0 });
  });
});
