import { v1 } from '@google-cloud/aiplatform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VertexModelRegistry, TRIAL_ID_LABEL, defaultServingImage, vertexModelId } from '../../../shared/adapters/vertex/vertex-model-registry';
import { VertexProvider } from '../../../shared/adapters/vertex/vertex-provider';
import { buildHyperparameterTuningJob, toApiJson } from '../../../shared/adapters/vertex/vertex-request';
import { JOB_ID_LABEL } from '../../../shared/adapters/vertex/vertex-spec';
import { ProviderError, SpecValidationError } from '../../../shared/domain/errors';
import type { ProviderJobRef } from '../../../shared/domain/job';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import { selectBestTrial, type Trial } from '../../../shared/domain/trial';
import { FakeVertex, asReceived, type VertexJobState } from '../../support/fake-vertex';

const PROJECT = 'tunewire-demo';
const LOCATION = 'us-central1';
const PARENT = `projects/${PROJECT}/locations/${LOCATION}`;
const JOB_ID = 'churn-vertex-4k2m9q7w1z';

function vertexSpec(overrides: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name: 'churn-vertex',
    provider: 'vertex',
    objective: { metric: 'auc', goal: 'maximize' },
    parameters: [
      { name: 'eta', type: 'double', min: 0.01, max: 0.5, scale: 'log' },
      { name: 'max_depth', type: 'integer', min: 3, max: 10 },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
    ],
    strategy: 'random',
    budget: { maxTrials: 6, parallelTrials: 2, maxFailedTrials: 2 },
    earlyStopping: 'auto',
    staticHyperparameters: { num_round: '200' },
    trial: {
      project: PROJECT,
      location: LOCATION,
      workerPoolSpecs: [{ machineType: 'n1-standard-4', container: { imageUri: 'us-docker.pkg.dev/tunewire-demo/train/churn:1.4.0', args: ['--epochs=20'] } }],
      baseOutputDirectory: 'gs://tunewire-demo-artifacts/churn',
      timeoutSeconds: 3600,
    },
    promotion: { model: 'churn' },
    labels: { team: 'growth' },
    ...overrides,
  });
}

/** Reads trials the way the fan-out use case does: until the cursor stops moving. */
async function syncAll(provider: VertexProvider, ref: ProviderJobRef, cursor: string | undefined, spec: TuningSpec) {
  const trials: Trial[] = [];
  let calls = 0;
  for (; calls < 1000; calls++) {
    const page = await provider.listTrials(ref, cursor, spec);
    trials.push(...page.trials);
    if (page.cursor === undefined || page.cursor === cursor) return { trials, cursor: page.cursor, calls: calls + 1 };
    cursor = page.cursor;
  }
  throw new Error('the cursor never settled');
}

const ids = (trials: readonly Trial[]) => trials.map((t) => t.trialId);

describe('VertexProvider', () => {
  let fake: FakeVertex;
  let jobClient: v1.JobServiceClient;
  const spec = vertexSpec();

  const providerWith = (options: { pageSize?: number; location?: string } = {}) =>
    new VertexProvider({ jobClient, project: PROJECT, location: options.location ?? LOCATION, checkCredentials: false, ...(options.pageSize ? { pageSize: options.pageSize } : {}) });
  const createJob = (provider: VertexProvider, jobId = JOB_ID, jobSpec = spec) =>
    provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec: jobSpec });
  const jobNameOf = (ref: ProviderJobRef) => ref.providerJobId as string;

  beforeAll(async () => {
    fake = await FakeVertex.start();
    jobClient = new v1.JobServiceClient(fake.clientOptions());
  });
  afterAll(async () => {
    await jobClient?.close();
    await fake?.stop();
  });
  beforeEach(() => fake.reset());

  describe('create', () => {
    it('sends exactly the mapped job to the spec project and location, labelled with the job id', async () => {
      const provider = providerWith();
      const { ref, adopted } = await createJob(provider);

      expect(adopted).toBe(false);
      expect(ref).toEqual({ provider: 'vertex', providerJobName: JOB_ID, providerJobId: expect.stringMatching(new RegExp(`^${PARENT}/hyperparameterTuningJobs/\\d+$`)) });
      const expected = buildHyperparameterTuningJob(spec, { jobId: JOB_ID, providerJobName: JOB_ID });
      expect(fake.requestsOf('CreateHyperparameterTuningJob')).toEqual([{ parent: PARENT, hyperparameterTuningJob: asReceived('HyperparameterTuningJob', expected) }]);
      // The lookup that makes create idempotent went first, by label.
      expect(fake.requests.map((r) => r.method)).toEqual(['ListHyperparameterTuningJobs', 'CreateHyperparameterTuningJob']);
      expect(fake.requestsOf('ListHyperparameterTuningJobs')[0]).toMatchObject({ parent: PARENT, filter: `labels.${JOB_ID_LABEL}="${JOB_ID}"` });
      expect(fake.job(jobNameOf(ref))?.labels).toEqual({ team: 'growth', [JOB_ID_LABEL]: JOB_ID });
    });

    it('adopts the job an earlier attempt created, found by its label', async () => {
      const provider = providerWith();
      const first = await createJob(provider);
      // Another job of the same spec, another tunewire job id: never adopted by mistake.
      await createJob(provider, 'churn-vertex-zzzzzzzzzz');
      const second = await createJob(provider);

      expect(second).toEqual({ ref: first.ref, adopted: true });
      expect(fake.calls.CreateHyperparameterTuningJob).toBe(2);
      expect(fake.jobNames()).toHaveLength(2);
    });

    it('refuses a bad spec before any call, naming the fields', async () => {
      const provider = providerWith();
      const bad = vertexSpec({
        strategy: 'grid',
        labels: { Team: 'growth' },
        trial: { project: PROJECT, location: 'europe-west4', workerPoolSpecs: [{ container: { imageUri: 'x' } }], baseOutputDirectory: 'gs://tunewire-demo-artifacts/churn' },
      });

      const error = await createJob(provider, JOB_ID, bad).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(SpecValidationError);
      const paths = (error as SpecValidationError).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['parameters[0].type', 'labels.Team', 'trial.workerPoolSpecs[0].machineType', 'trial.location']));
      expect(fake.totalCalls()).toBe(0);
    });

    it('renders the job in the REST form', () => {
      const rendered = providerWith().render(spec, { jobId: JOB_ID, providerJobName: JOB_ID });
      expect(rendered).toEqual(toApiJson(buildHyperparameterTuningJob(spec, { jobId: JOB_ID, providerJobName: JOB_ID })));
      expect(rendered).toMatchObject({ displayName: `churn-vertex (${JOB_ID})`, trialJobSpec: { scheduling: { timeout: '3600s' } } });
    });
  });

  describe('describe', () => {
    it.each<[VertexJobState, string, string[] | undefined]>([
      ['JOB_STATE_PENDING', 'pending', undefined],
      ['JOB_STATE_RUNNING', 'running', undefined],
      ['JOB_STATE_PAUSED', 'paused', undefined],
      ['JOB_STATE_PARTIALLY_SUCCEEDED', 'succeeded', ['partially_succeeded']],
      ['JOB_STATE_EXPIRED', 'failed', ['expired']],
      ['JOB_STATE_CANCELLED', 'stopped', undefined],
    ])('maps %s to %s', async (state, status, flags) => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      if (state !== 'JOB_STATE_PENDING') fake.setState(jobNameOf(ref), state);

      const observation = await provider.describe(ref);

      expect(observation).toMatchObject({ status, providerStatus: state });
      expect(observation.flags).toEqual(flags);
      expect(Date.parse(observation.observedAt)).not.toBeNaN();
    });

    it('carries the failure reason and trial counts', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      fake.addTrial(name, { state: 'SUCCEEDED', parameters: { eta: 0.1 }, finalMeasurement: { metrics: { auc: 0.8 } } });
      fake.addTrial(name, { state: 'INFEASIBLE', infeasibleReason: 'trainer crashed' });
      fake.addTrial(name, { state: 'ACTIVE' });
      fake.setState(name, 'JOB_STATE_FAILED', { code: 13, message: 'too many failed trials' });

      expect(await provider.describe(ref)).toMatchObject({
        status: 'failed',
        failureReason: 'too many failed trials',
        trialCounts: { succeeded: 1, infeasible: 1, running: 1 },
      });
    });

    it('finds a job by its label when the ref has no resource name yet', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      fake.setState(jobNameOf(ref), 'JOB_STATE_RUNNING');

      expect(await provider.describe({ provider: 'vertex', providerJobName: JOB_ID })).toMatchObject({ status: 'running' });
    });

    it('says clearly that a job is gone (NOT_FOUND is not retryable)', async () => {
      const missing = `${PARENT}/hyperparameterTuningJobs/42`;
      const error = await providerWith()
        .describe({ provider: 'vertex', providerJobName: JOB_ID, providerJobId: missing })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'PROVIDER.JOB_NOT_FOUND', retryable: false });
      expect((error as Error).message).toContain(missing);
    });
  });

  describe('listTrials', () => {
    it('returns new and changed trials only, and infeasible trials never win', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      fake.setState(name, 'JOB_STATE_RUNNING');
      fake.addTrial(name, { state: 'SUCCEEDED', parameters: { eta: 0.05, max_depth: 4, booster: 'gbtree' }, finalMeasurement: { metrics: { auc: 0.81 } } });
      fake.addTrial(name, { state: 'ACTIVE', parameters: { eta: 0.2, max_depth: 7, booster: 'dart' } });

      const first = await syncAll(provider, ref, undefined, spec);
      expect(ids(first.trials)).toEqual(['1', '2']);
      expect(first.trials.map((t) => t.status)).toEqual(['succeeded', 'running']);
      expect(first.trials[0]).toMatchObject({
        hyperparameters: { eta: '0.05', max_depth: '4', booster: 'gbtree' },
        objectiveValue: 0.81,
        artifactUri: 'gs://tunewire-demo-artifacts/churn/1/model/',
      });
      expect(first.calls).toBe(2);

      // Nothing new: one Get, the same cursor back.
      const quiet = await provider.listTrials(ref, first.cursor, spec);
      expect(quiet).toEqual({ trials: [], cursor: first.cursor, complete: true });

      // Trial 2 finishes in place; trial 3 reports a better value than anyone but is INFEASIBLE.
      fake.updateTrial(name, '2', { state: 'SUCCEEDED', finalMeasurement: { metrics: { auc: 0.86 } } });
      fake.addTrial(name, { state: 'INFEASIBLE', parameters: { eta: 0.4, max_depth: 10, booster: 'dart' }, finalMeasurement: { metrics: { auc: 0.99 } }, infeasibleReason: 'NaN loss' });
      fake.addTrial(name, { state: 'ACTIVE', parameters: { eta: 0.01, max_depth: 3, booster: 'gbtree' } });

      const second = await syncAll(provider, ref, first.cursor, spec);
      expect(ids(second.trials)).toEqual(['2', '3', '4']);
      expect(second.trials.find((t) => t.trialId === '3')).toMatchObject({ status: 'infeasible', failureReason: 'NaN loss' });
      const all = [first.trials[0] as Trial, ...second.trials];
      expect(selectBestTrial(all, 'maximize')?.trialId).toBe('2');

      // The settled prefix (1, 2, 3) is behind the cursor; only trial 4 is still watched.
      const cursor = JSON.parse(second.cursor as string) as { n: number; a: string; o: Record<string, string> };
      expect(cursor).toMatchObject({ n: 3, a: '3' });
      expect(Object.keys(cursor.o)).toEqual(['4']);
    });

    it('pages by pageSize and continues where the page was cut', async () => {
      const provider = providerWith({ pageSize: 2 });
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      for (let i = 0; i < 5; i++) fake.addTrial(name, { state: 'SUCCEEDED', parameters: { eta: 0.1 + i / 100 }, finalMeasurement: { metrics: { auc: 0.7 + i / 100 } } });

      const page1 = await provider.listTrials(ref, undefined, spec);
      expect(ids(page1.trials)).toEqual(['1', '2']);
      const rest = await syncAll(provider, ref, page1.cursor, spec);
      expect(ids(rest.trials)).toEqual(['3', '4', '5']);
      expect(JSON.parse(rest.cursor as string)).toEqual({ v: 1, n: 5, a: '5' });
    });

    it('reads everything again, never skipping, when the trials are not where the cursor left them', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      fake.addTrial(jobNameOf(ref), { id: '7', state: 'SUCCEEDED', finalMeasurement: { metrics: { auc: 0.5 } } });
      const stale = JSON.stringify({ v: 1, n: 1, a: '1' });

      const page = await provider.listTrials(ref, stale, spec);

      expect(ids(page.trials)).toEqual(['7']);
      expect(JSON.parse(page.cursor as string)).toEqual({ v: 1, n: 1, a: '7' });
    });

    it('refuses a cursor it did not write', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      await expect(provider.listTrials(ref, 'NextToken=abc', spec)).rejects.toMatchObject({ code: 'PROVIDER.BAD_CURSOR', retryable: false });
    });

    it('returns a trial the service stops early as STOPPING, stopped early, then as it ends', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      fake.setState(name, 'JOB_STATE_RUNNING');
      const id = fake.addTrial(name, { state: 'ACTIVE', parameters: { eta: 0.3 }, measurements: [{ metrics: { auc: 0.6 }, stepCount: 100 }] });

      const active = await syncAll(provider, ref, undefined, spec);
      expect(active.trials).toMatchObject([{ trialId: id, status: 'running', stoppedEarly: false }]);
      expect(active.trials[0]?.endedAt).toBeUndefined();

      fake.updateTrial(name, id, { state: 'STOPPING' });
      const stopping = await syncAll(provider, ref, active.cursor, spec);
      expect(stopping.trials).toMatchObject([{ trialId: id, status: 'running', objectiveStatus: 'pending', stoppedEarly: true }]);
      expect(stopping.trials[0]?.endedAt).toBeUndefined();

      fake.completeTrial(name, id);
      const ended = await syncAll(provider, ref, stopping.cursor, spec);
      // Each read says what Vertex says now; the ledger's merge keeps the early stop seen before.
      expect(ended.trials).toMatchObject([{ trialId: id, status: 'succeeded', objectiveValue: 0.6, objectiveStatus: 'succeeded', stoppedEarly: false }]);
      expect(ended.trials[0]?.endedAt).toEqual(expect.any(String));
      expect(await provider.listTrials(ref, ended.cursor, spec)).toEqual({ trials: [], cursor: ended.cursor, complete: true });
    });

    it('follows a job the autopilot runs to the end', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const stopPilot = fake.autopilot({ trialEveryMs: 5, trials: 4, infeasibleEvery: 3 });
      try {
        await expect.poll(async () => (await provider.describe(ref)).status, { timeout: 5000, interval: 20 }).toBe('succeeded');
      } finally {
        stopPilot();
      }
      const { trials } = await syncAll(provider, ref, undefined, spec);
      expect(trials.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'infeasible', 'succeeded']);
      expect(trials.filter((t) => t.status === 'succeeded').every((t) => typeof t.objectiveValue === 'number')).toBe(true);
    });
  });

  describe('bestTrial', () => {
    // end times after the trials' start times (the fake's clock), seconds apart
    const at = (seconds: number) => new Date(Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000);

    it('never names a trial whose final measurement lacks the metric under LAST, nor an infeasible or running one', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      fake.setState(name, 'JOB_STATE_RUNNING');
      fake.addTrial(name, { state: 'SUCCEEDED', parameters: { eta: 0.1 }, finalMeasurement: { metrics: { auc: 0.8 } } });
      fake.addTrial(name, { state: 'SUCCEEDED', parameters: { eta: 0.2 }, measurements: [{ metrics: { auc: 0.95 }, stepCount: 10 }], finalMeasurement: { metrics: { loss: 0.1 }, stepCount: 20 } });
      fake.addTrial(name, { state: 'INFEASIBLE', parameters: { eta: 0.3 }, infeasibleReason: 'NaN loss' });
      fake.addTrial(name, { state: 'ACTIVE', parameters: { eta: 0.4 }, measurements: [{ metrics: { auc: 0.99 }, stepCount: 10 }] });

      const best = await provider.bestTrial(ref, spec);

      const listed = (await syncAll(provider, ref, undefined, spec)).trials;
      expect(best).toEqual(listed.find((t) => t.trialId === '1'));
      expect(listed.find((t) => t.trialId === '2')).toMatchObject({ status: 'succeeded', objectiveStatus: 'failed' });
      expect(listed.find((t) => t.trialId === '3')).toMatchObject({ status: 'infeasible', failureReason: 'NaN loss' });
      expect((await provider.describe(ref)).providerBestTrialId).toBe('1');
      expect(fake.requestsOf('GetHyperparameterTuningJob')[0]).toEqual({ name });
    });

    it('judges by the best measurement under BEST', async () => {
      const best = vertexSpec({ measurementSelection: 'best' });
      const provider = providerWith();
      const { ref } = await createJob(provider, JOB_ID, best);
      const name = jobNameOf(ref);
      fake.addTrial(name, { state: 'SUCCEEDED', measurements: [{ metrics: { auc: 0.95 }, stepCount: 10 }], finalMeasurement: { metrics: { auc: 0.85 }, stepCount: 20 } });
      fake.addTrial(name, { state: 'SUCCEEDED', finalMeasurement: { metrics: { auc: 0.9 }, stepCount: 20 } });

      expect(await provider.bestTrial(ref, best)).toMatchObject({ trialId: '1', objectiveValue: 0.95, artifactUri: 'gs://tunewire-demo-artifacts/churn/1/model/' });
      expect((await provider.describe(ref)).providerBestTrialId).toBe('1');
      // The same trials judged under LAST: the final measurements decide.
      expect(await provider.bestTrial(ref, spec)).toMatchObject({ trialId: '2', objectiveValue: 0.9 });
    });

    it('gives a tie to the trial that ended first, then to the smaller id', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      for (let i = 0; i < 4; i++) fake.addTrial(name, { state: 'ACTIVE', parameters: { eta: 0.1 + i / 10 } });
      fake.completeTrial(name, '1', { finalMeasurement: { metrics: { auc: 0.9 } }, endTime: at(30) });
      fake.completeTrial(name, '2', { finalMeasurement: { metrics: { auc: 0.9 } }, endTime: at(20) });
      fake.completeTrial(name, '3', { finalMeasurement: { metrics: { auc: 0.7 } }, endTime: at(10) });

      expect((await provider.bestTrial(ref, spec))?.trialId).toBe('2');
      expect((await provider.describe(ref)).providerBestTrialId).toBe('2');

      fake.completeTrial(name, '4', { finalMeasurement: { metrics: { auc: 0.9 } }, endTime: at(20) });
      expect((await provider.bestTrial(ref, spec))?.trialId).toBe('2');
      expect((await provider.describe(ref)).providerBestTrialId).toBe('2');
    });

    it('names none while no trial is eligible', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      expect(await provider.bestTrial(ref, spec)).toBeUndefined();
      fake.addTrial(name, { state: 'INFEASIBLE', infeasibleReason: 'trainer crashed' });
      fake.addTrial(name, { state: 'STOPPING', measurements: [{ metrics: { auc: 0.9 } }] });
      expect(await provider.bestTrial(ref, spec)).toBeUndefined();
      expect((await provider.describe(ref)).providerBestTrialId).toBeUndefined();
    });
  });

  describe('stop', () => {
    it('cancels: CANCELLING, then CANCELLED once the service gets to it', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = jobNameOf(ref);
      fake.setState(name, 'JOB_STATE_RUNNING');
      fake.addTrial(name, { state: 'ACTIVE', measurements: [{ metrics: { auc: 0.7 }, stepCount: 10 }] });

      await provider.stop(ref);
      expect(await provider.describe(ref)).toMatchObject({ status: 'stopping', providerStatus: 'JOB_STATE_CANCELLING' });
      expect(fake.requestsOf('CancelHyperparameterTuningJob')).toEqual([{ name }]);

      fake.advance();
      expect(await provider.describe(ref)).toMatchObject({ status: 'stopped', providerStatus: 'JOB_STATE_CANCELLED' });
      // Stopping again, or a finished job, is fine.
      await provider.stop(ref);
      fake.setState(name, 'JOB_STATE_SUCCEEDED');
      await expect(provider.stop(ref)).resolves.toBeUndefined();
    });

    it('says clearly that the job to stop is gone', async () => {
      await expect(providerWith().stop({ provider: 'vertex', providerJobName: JOB_ID, providerJobId: `${PARENT}/hyperparameterTuningJobs/9` })).rejects.toMatchObject({
        code: 'PROVIDER.JOB_NOT_FOUND',
        retryable: false,
      });
    });
  });

  describe('list and delete', () => {
    it('lists with the documented filter syntax and deletes a finished job', async () => {
      const provider = providerWith();
      const { ref: first } = await createJob(provider);
      const { ref: second } = await createJob(provider, 'churn-vertex-yyyyyyyyyy');
      fake.setState(jobNameOf(first), 'JOB_STATE_SUCCEEDED');

      const running = await provider.listJobs({ project: PROJECT, location: LOCATION, filter: 'state="JOB_STATE_PENDING" AND labels.team="growth"' });
      expect(running.map((j) => j.name)).toEqual([jobNameOf(second)]);
      expect(fake.requestsOf('ListHyperparameterTuningJobs').at(-1)).toMatchObject({ parent: PARENT, filter: 'state="JOB_STATE_PENDING" AND labels.team="growth"' });

      await provider.deleteJob(first);
      expect(fake.requestsOf('DeleteHyperparameterTuningJob')).toEqual([{ name: jobNameOf(first) }]);
      expect((await provider.listJobs({ project: PROJECT, location: LOCATION })).map((j) => j.name)).toEqual([jobNameOf(second)]);
      await expect(provider.deleteJob(first)).rejects.toMatchObject({ code: 'PROVIDER.JOB_NOT_FOUND' });
    });
  });

  describe('throttling', () => {
    it('surfaces RESOURCE_EXHAUSTED as a retryable ProviderError: gax does not retry these methods', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      fake.throttle({ rate: 1, methods: ['GetHyperparameterTuningJob'] });

      const error = await provider.describe(ref).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'PROVIDER.THROTTLED', retryable: true });
      // One call: the client's shipped retry config gives these methods no retry codes.
      expect(fake.calls.GetHyperparameterTuningJob).toBe(1);
    });

    it('a throttled create is retried whole by the caller and still makes one job', async () => {
      const provider = providerWith();
      fake.throttle({ rate: 0.5, methods: ['CreateHyperparameterTuningJob'] });

      await expect(createJob(provider)).rejects.toMatchObject({ code: 'PROVIDER.THROTTLED', retryable: true });
      const retried = await createJob(provider);
      const again = await createJob(provider);

      expect(retried.adopted).toBe(false);
      expect(again).toEqual({ ref: retried.ref, adopted: true });
      expect(fake.jobNames()).toHaveLength(1);
    });
  });
});

describe('FakeVertex', () => {
  let fake: FakeVertex;
  let jobClient: v1.JobServiceClient;
  const job = buildHyperparameterTuningJob(vertexSpec(), { jobId: JOB_ID, providerJobName: JOB_ID });

  beforeAll(async () => {
    fake = await FakeVertex.start();
    jobClient = new v1.JobServiceClient(fake.clientOptions());
  });
  afterAll(async () => {
    await jobClient?.close();
    await fake?.stop();
  });

  it('lists by display name, state and labels, page by page, without trials', async () => {
    const names: string[] = [];
    for (const displayName of ['a', 'b', 'a']) {
      const [created] = await jobClient.createHyperparameterTuningJob({ parent: PARENT, hyperparameterTuningJob: { ...job, displayName } });
      names.push(created.name as string);
    }
    const [first, second, third] = names as [string, string, string];
    fake.setState(first, 'JOB_STATE_RUNNING');
    fake.setState(third, 'JOB_STATE_RUNNING');
    fake.addTrial(third, { state: 'ACTIVE' });

    const filter = `display_name="a" AND state="JOB_STATE_RUNNING" AND labels.${JOB_ID_LABEL}="${JOB_ID}"`;
    const [page1, next, response] = await jobClient.listHyperparameterTuningJobs({ parent: PARENT, filter, pageSize: 1 }, { autoPaginate: false });
    expect(page1.map((j) => j.name)).toEqual([first]);
    expect(response?.nextPageToken).toBeTruthy();
    const [page2, last] = await jobClient.listHyperparameterTuningJobs(next ?? {}, { autoPaginate: false });
    expect(page2.map((j) => j.name)).toEqual([third]);
    expect(page2[0]?.trials).toEqual([]);
    expect(last).toBeNull();

    const [others] = await jobClient.listHyperparameterTuningJobs({ parent: PARENT, filter: 'display_name!="a"' }, { autoPaginate: false });
    expect(others.map((j) => j.name)).toEqual([second]);
    await expect(jobClient.listHyperparameterTuningJobs({ parent: PARENT, filter: 'display_name="a" OR state="x"' })).rejects.toMatchObject({ code: 3 });
  });

  it('completes a trial as the service selects its final measurement, or INFEASIBLE without one', async () => {
    const create = async (measurementSelectionType: 'LAST_MEASUREMENT' | 'BEST_MEASUREMENT') =>
      (await jobClient.createHyperparameterTuningJob({ parent: PARENT, hyperparameterTuningJob: { ...job, studySpec: { ...job.studySpec, measurementSelectionType } } }))[0].name as string;
    const measurements = [
      { metrics: { auc: 0.7 }, stepCount: 1 },
      { metrics: { auc: 0.9 }, stepCount: 2 },
      { metrics: { auc: 0.8 }, stepCount: 3 },
    ];
    const finalAuc = (name: string, id: string) => fake.job(name)?.trials?.find((t) => t.id === id)?.finalMeasurement?.metrics?.[0]?.value;

    const last = await create('LAST_MEASUREMENT');
    const best = await create('BEST_MEASUREMENT');
    for (const name of [last, best]) fake.addTrial(name, { state: 'ACTIVE', measurements });
    fake.completeTrial(last, '1');
    fake.completeTrial(best, '1');
    expect(finalAuc(last, '1')).toBe(0.8);
    expect(finalAuc(best, '1')).toBe(0.9);

    const bare = fake.addTrial(last, { state: 'ACTIVE' });
    const [read] = await jobClient.getHyperparameterTuningJob({ name: last });
    expect(read.trials?.find((t) => t.id === bare)).toMatchObject({ state: 'ACTIVE', endTime: null });
    fake.completeTrial(last, bare);
    const [after] = await jobClient.getHyperparameterTuningJob({ name: last });
    expect(after.trials?.find((t) => t.id === bare)).toMatchObject({ state: 'INFEASIBLE', finalMeasurement: null, infeasibleReason: expect.any(String), endTime: { seconds: expect.any(String) } });
  });

  it('autopilots early stops (STOPPING for a tick) and final measurements without the metric', async () => {
    const [created] = await jobClient.createHyperparameterTuningJob({ parent: PARENT, hyperparameterTuningJob: job });
    const name = created.name as string;
    const options = { trials: 3, stoppingEvery: 2, finalWithoutObjectiveEvery: 3 };
    const states = () => (fake.job(name)?.trials ?? []).map((t) => t.state);

    fake.autopilotTick(options); // PENDING → RUNNING
    fake.autopilotTick(options); // trial 1 ACTIVE
    fake.autopilotTick(options); // 1 SUCCEEDED, 2 ACTIVE
    fake.autopilotTick(options); // 2 STOPPING, 3 ACTIVE
    expect(states()).toEqual(['SUCCEEDED', 'STOPPING', 'ACTIVE']);
    const [between] = await jobClient.getHyperparameterTuningJob({ name });
    expect(between.trials?.[1]).toMatchObject({ state: 'STOPPING', endTime: null, finalMeasurement: null });

    fake.autopilotTick(options); // 2 SUCCEEDED, 3 SUCCEEDED without the metric in its final measurement; the job ends
    expect(states()).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const trials = fake.job(name)?.trials ?? [];
    expect(trials[1]?.finalMeasurement).toEqual(trials[1]?.measurements?.[0]);
    expect(trials[2]?.finalMeasurement?.metrics).toEqual([]);
    expect(trials[2]?.measurements?.[0]?.metrics?.[0]?.metricId).toBe('auc');
    expect(fake.job(name)?.state).toBe('JOB_STATE_SUCCEEDED');
  });

  it('deletes a finished job with an operation that is done at once, and refuses a running one', async () => {
    const [created] = await jobClient.createHyperparameterTuningJob({ parent: PARENT, hyperparameterTuningJob: job });
    const name = created.name as string;
    await expect(jobClient.deleteHyperparameterTuningJob({ name })).rejects.toMatchObject({ code: 9 });

    fake.setState(name, 'JOB_STATE_SUCCEEDED');
    const [operation] = await jobClient.deleteHyperparameterTuningJob({ name });
    expect(operation.done).toBe(true);
    await operation.promise();
    await expect(jobClient.getHyperparameterTuningJob({ name })).rejects.toMatchObject({ code: 5 });
  });
});

describe('VertexModelRegistry', () => {
  let fake: FakeVertex;
  let modelClient: v1.ModelServiceClient;
  const spec = vertexSpec();
  const trial = (id: string, auc: number): Trial => ({
    trialId: id,
    status: 'succeeded',
    hyperparameters: { eta: '0.1' },
    objectiveValue: auc,
    objectiveStatus: 'succeeded',
    stoppedEarly: false,
    artifactUri: `gs://tunewire-demo-artifacts/churn/${id}/model/`,
  });
  const ref: ProviderJobRef = { provider: 'vertex', providerJobName: JOB_ID, providerJobId: `${PARENT}/hyperparameterTuningJobs/1` };
  const modelName = `${PARENT}/models/churn`;

  beforeAll(async () => {
    fake = await FakeVertex.start();
    modelClient = new v1.ModelServiceClient(fake.clientOptions());
  });
  afterAll(async () => {
    await modelClient?.close();
    await fake?.stop();
  });
  beforeEach(() => fake.reset());

  it('makes the model on the first promotion, a new version with parentModel on the next, and moves the alias', async () => {
    const registry = new VertexModelRegistry({ modelClient });

    const first = await registry.registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: trial('3', 0.84), spec });
    expect(first).toEqual({ version: `${modelName}@1` });
    const [upload1] = fake.requestsOf('UploadModel');
    expect(upload1).toEqual({
      parent: PARENT,
      modelId: 'churn',
      model: asReceived('Model', {
        displayName: 'churn',
        versionDescription: `tunewire job ${JOB_ID}, trial 3: auc = 0.84 (maximize)`,
        artifactUri: 'gs://tunewire-demo-artifacts/churn/3/model/',
        containerSpec: { imageUri: defaultServingImage(LOCATION) },
        labels: { [JOB_ID_LABEL]: JOB_ID, [TRIAL_ID_LABEL]: '3' },
        versionAliases: ['champion'],
      }),
    });

    const second = await registry.registerVersion({ model: 'churn', jobId: 'churn-vertex-nextjob001', ref, trial: trial('5', 0.9), spec });
    expect(second).toEqual({ version: `${modelName}@2` });
    expect(fake.requestsOf('UploadModel')[1]).toMatchObject({ parent: PARENT, parentModel: modelName, model: { labels: { [TRIAL_ID_LABEL]: '5' } } });
    expect(fake.requestsOf('MergeVersionAliases').at(-1)).toEqual({ name: `${modelName}@2`, versionAliases: ['champion'] });

    const versions = fake.modelVersions(modelName);
    expect(versions.map((v) => [v.versionId, v.versionAliases])).toEqual([
      ['1', ['default']],
      ['2', ['champion']],
    ]);
  });

  it('is idempotent for a retried promotion of the same trial', async () => {
    const registry = new VertexModelRegistry({ modelClient });
    await registry.registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: trial('3', 0.84), spec });
    const input = { model: 'churn', jobId: 'churn-vertex-nextjob001', ref, trial: trial('5', 0.9), spec };

    const once = await registry.registerVersion(input);
    const twice = await registry.registerVersion(input);

    expect(twice).toEqual(once);
    expect(fake.calls.UploadModel).toBe(2);
    expect(fake.modelVersions(modelName)).toHaveLength(2);
    // A retry after a crash between upload and alias move puts the alias where it belongs.
    await modelClient.mergeVersionAliases({ name: `${modelName}@1`, versionAliases: ['champion'] });
    expect(await registry.registerVersion(input)).toEqual(once);
    expect(fake.modelVersions(modelName).find((v) => v.versionId === '2')?.versionAliases).toEqual(['champion']);
  });

  it('waits for an upload that is not done at once', async () => {
    fake.setOperationPolls(2);
    const registry = new VertexModelRegistry({ modelClient, alias: 'production', servingImage: 'us-docker.pkg.dev/tunewire-demo/serve/churn:1' });

    const { version } = await registry.registerVersion({ model: '2024-Churn', jobId: JOB_ID, ref, trial: trial('1', 0.7), spec });

    expect(version).toBe(`${PARENT}/models/${vertexModelId('2024-Churn')}@1`);
    expect(fake.calls.GetOperation).toBe(3);
    expect(fake.modelVersions(`${PARENT}/models/m2024-churn`)[0]).toMatchObject({
      versionAliases: ['default', 'production'],
      containerSpec: { imageUri: 'us-docker.pkg.dev/tunewire-demo/serve/churn:1' },
    });
  });

  it('refuses a trial without an artifact before any call', async () => {
    const registry = new VertexModelRegistry({ modelClient });
    const { artifactUri: _none, ...bare } = trial('2', 0.8);

    await expect(registry.registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: bare, spec })).rejects.toMatchObject({ code: 'PROVIDER.NO_ARTIFACT', retryable: false });
    expect(fake.totalCalls()).toBe(0);
  });

  it('surfaces throttling as retryable, and the retry still makes one version', async () => {
    const registry = new VertexModelRegistry({ modelClient });
    fake.throttle({ rate: 1, methods: ['MergeVersionAliases'] });
    const input = { model: 'churn', jobId: JOB_ID, ref, trial: trial('3', 0.84), spec };

    await expect(registry.registerVersion(input)).rejects.toMatchObject({ code: 'PROVIDER.THROTTLED', retryable: true });
    fake.throttle({ rate: 0 });
    expect(await registry.registerVersion(input)).toEqual({ version: `${modelName}@1` });
    expect(fake.calls.UploadModel).toBe(1);
  });
});
