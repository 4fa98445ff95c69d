import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MlEngineAlreadyExistsError,
  MlEngineApiError,
  MlEngineClient,
  MlEngineEtagMismatchError,
  MlEngineNotFoundError,
} from '../../../shared/adapters/mlengine/mlengine-client';
import { MlEngineProvider } from '../../../shared/adapters/mlengine/mlengine-provider';
import { buildMlEngineJob, type MlEngineHyperparameterOutput, type MlEngineJobState } from '../../../shared/adapters/mlengine/mlengine-request';
import { isRetryable, ProviderError, SpecValidationError } from '../../../shared/domain/errors';
import type { ProviderJobRef } from '../../../shared/domain/job';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import type { JobStatus } from '../../../shared/domain/status';
import { FakeMlEngine } from '../../support/fake-mlengine';

const PROJECT = 'tunewire-demo';
const fake = new FakeMlEngine({ now: () => new Date('2025-03-01T10:00:00.000Z') });
let client: MlEngineClient;
let provider: MlEngineProvider;

beforeAll(async () => {
  await fake.start();
  // The project's real client, over HTTP, with no credentials (the fake needs none).
  client = new MlEngineClient({ baseUrl: fake.baseUrl, auth: 'none' });
  provider = new MlEngineProvider({ client, project: PROJECT, clock: { now: () => new Date('2025-03-01T12:00:00.000Z') } });
});
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

function spec(overrides: Record<string, unknown> = {}, trial: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name: 'census',
    provider: 'mlengine',
    objective: { metric: 'accuracy', goal: 'maximize' },
    parameters: [
      { name: 'first-layer-size', type: 'integer', min: 50, max: 500 },
      { name: 'num-layers', type: 'discrete', values: [1, 2, 3] },
    ],
    strategy: 'random',
    budget: { maxTrials: 4, parallelTrials: 2 },
    earlyStopping: 'auto',
    measurementSelection: 'last',
    staticHyperparameters: { 'train-steps': '1000' },
    trial: {
      region: 'us-central1',
      scaleTier: 'BASIC',
      packageUris: ['gs://tunewire-demo-ml/census/trainer-0.1.tar.gz'],
      pythonModule: 'trainer.task',
      jobDir: 'gs://tunewire-demo-ml/census/jobs',
      ...trial,
    },
    labels: { team: 'growth' },
    ...overrides,
  });
}

let counter = 0;
async function created(s: TuningSpec = spec()): Promise<{ jobId: string; ref: ProviderJobRef; name: string }> {
  const jobId = `census-${String(++counter).padStart(10, '0')}`;
  const { ref, adopted } = await provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec: s });
  expect(adopted).toBe(false);
  return { jobId, ref, name: ref.providerJobId as string };
}

describe('MlEngineProvider against the fake ML Engine', () => {
  describe('create', () => {
    it('sends exactly the mapped body to projects/<project>/jobs', async () => {
      const s = spec();
      const { jobId, ref } = await created(s);
      const [call, ...rest] = fake.calls();
      expect(rest).toEqual([]);
      expect(call?.method).toBe('POST');
      expect(call?.path).toBe(`/projects/${PROJECT}/jobs`);
      expect(call?.body).toStrictEqual(buildMlEngineJob(s, { jobId, providerJobName: provider.providerJobName(jobId) }));
      expect(call?.authorization).toBeUndefined();
      expect(ref).toEqual({ provider: 'mlengine', providerJobName: provider.providerJobName(jobId), providerJobId: `projects/${PROJECT}/jobs/${provider.providerJobName(jobId)}` });
    });

    it('runs in trial.project when the spec names one', async () => {
      const { ref } = await created(spec({}, { project: 'other-project' }));
      expect(fake.calls()[0]?.path).toBe('/projects/other-project/jobs');
      expect(ref.providerJobId).toMatch(/^projects\/other-project\/jobs\//);
    });

    it('adopts the job when created twice (a retried submit)', async () => {
      const s = spec();
      const { jobId, ref } = await created(s);
      const again = await provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec: s });
      expect(again).toEqual({ ref, adopted: true });
      expect(fake.calls().map((c) => `${c.method} ${c.status}`)).toEqual(['POST 200', 'POST 409', 'GET 200']);
    });

    it('refuses to adopt a job that another tunewire job owns', async () => {
      const s = spec();
      const { jobId, name } = await created(s);
      await client.patch(name, { labels: { 'tunewire-job-id': 'someone-else' } });
      const attempt = provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec: s });
      await expect(attempt).rejects.toMatchObject({ code: 'PROVIDER.NAME_TAKEN', retryable: false });
    });

    it('refuses a bad spec without a single call', async () => {
      const bad = spec({ strategy: 'hyperband', parameters: [{ name: 'k', type: 'discrete', values: [3, 1] }] });
      await expect(provider.create({ jobId: 'census-bad', providerJobName: 'census_bad', spec: bad })).rejects.toThrow(SpecValidationError);
      expect(fake.calls()).toEqual([]);
    });

    it('maps ALREADY_EXISTS to a typed, non-retryable error at the client', async () => {
      const s = spec();
      const body = buildMlEngineJob(s, { jobId: 'census-dup', providerJobName: 'census_dup' });
      await client.create(PROJECT, body);
      const error = await client.create(PROJECT, body).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MlEngineAlreadyExistsError);
      expect(error).toMatchObject({ httpStatus: 409, rpcStatus: 'ALREADY_EXISTS', retryable: false });
    });
  });

  describe('describe', () => {
    const cases: [MlEngineJobState, JobStatus][] = [
      ['QUEUED', 'pending'],
      ['PREPARING', 'pending'],
      ['RUNNING', 'running'],
      ['CANCELLING', 'stopping'],
      ['CANCELLED', 'stopped'],
      ['SUCCEEDED', 'succeeded'],
      ['FAILED', 'failed'],
    ];
    it.each(cases)('maps %s to %s', async (state, status) => {
      const { ref, name } = await created();
      fake.setState(name, state, state === 'FAILED' ? 'The replica master 0 exited with a non-zero status of 1.' : undefined);
      const observation = await provider.describe(ref);
      expect(observation.status).toBe(status);
      expect(observation.providerStatus).toBe(state);
      expect(observation.observedAt).toBe('2025-03-01T10:00:00.000Z');
      if (state === 'FAILED') expect(observation.failureReason).toBe('The replica master 0 exited with a non-zero status of 1.');
    });

    it('reports a missing job as not found, not retryable', async () => {
      const error = await provider.describe({ provider: 'mlengine', providerJobName: 'nope', providerJobId: `projects/${PROJECT}/jobs/nope` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MlEngineNotFoundError);
      expect(isRetryable(error)).toBe(false);
    });

    it('finds a job by the default project when the ref has no resource name', async () => {
      const { ref } = await created();
      await expect(provider.describe({ provider: 'mlengine', providerJobName: ref.providerJobName })).resolves.toMatchObject({ status: 'pending' });
    });
  });

  describe('listTrials', () => {
    it('returns finished trials incrementally, once each', async () => {
      const s = spec();
      const { ref, name } = await created(s);
      fake.setState(name, 'RUNNING');
      expect(await provider.listTrials(ref, undefined, s)).toEqual({ trials: [], cursor: undefined, complete: true });

      fake.addTrial(name, { trialId: '2', hyperparameters: { 'first-layer-size': '120', 'num-layers': '2' }, finalMetric: { trainingStep: '1000', objectiveValue: 0.84 } });
      fake.addTrial(name, { trialId: '1', hyperparameters: { 'first-layer-size': '300', 'num-layers': '1' }, finalMetric: { trainingStep: '1000', objectiveValue: 0.81 } });
      const first = await provider.listTrials(ref, undefined, s);
      expect(first.trials.map((t) => t.trialId)).toEqual(['1', '2']);
      expect(first.trials[1]).toStrictEqual({
        trialId: '2',
        status: 'succeeded',
        hyperparameters: { 'first-layer-size': '120', 'num-layers': '2' },
        objectiveValue: 0.84,
        objectiveStatus: 'succeeded',
        stoppedEarly: false,
        artifactUri: 'gs://tunewire-demo-ml/census/jobs/2',
        metrics: { accuracy: 0.84 },
      });
      expect(first.cursor).toBe('t1:1-2');

      const none = await provider.listTrials(ref, first.cursor, s);
      expect(none).toEqual({ trials: [], cursor: first.cursor, complete: true });

      fake.addTrial(name, { trialId: '3', hyperparameters: { 'first-layer-size': '64', 'num-layers': '3' }, finalMetric: { objectiveValue: 0.79 } });
      fake.addTrial(name, { trialId: '4', state: 'RUNNING', hyperparameters: { 'first-layer-size': '99', 'num-layers': '3' } });
      const second = await provider.listTrials(ref, first.cursor, s);
      expect(second.trials.map((t) => t.trialId)).toEqual(['3']);
      expect(second.cursor).toBe('t1:1-3');

      // A running trial waits until it has finished.
      fake.addTrial(name, { trialId: '4', state: 'FAILED', hyperparameters: { 'first-layer-size': '99', 'num-layers': '3' } });
      const third = await provider.listTrials(ref, second.cursor, s);
      expect(third.trials).toMatchObject([{ trialId: '4', status: 'failed', objectiveStatus: 'failed' }]);
      expect(third.cursor).toBe('t1:1-4');
    });

    it('maps early-stopped trials as stopped early', async () => {
      const s = spec();
      const { ref, name } = await created(s);
      fake.addTrial(name, { trialId: '1', hyperparameters: { 'first-layer-size': '50', 'num-layers': '1' }, finalMetric: { trainingStep: '200', objectiveValue: 0.61 }, isTrialStoppedEarly: true });
      const { trials } = await provider.listTrials(ref, undefined, s);
      expect(trials).toMatchObject([{ trialId: '1', status: 'stopped', stoppedEarly: true, objectiveValue: 0.61 }]);
    });

    it('follows a job the fake runs to the end', async () => {
      const s = spec();
      const { ref, name } = await created(s);
      for (let i = 0; i < 8; i++) fake.advance(name);
      expect((await provider.describe(ref)).status).toBe('succeeded');
      const { trials } = await provider.listTrials(ref, undefined, s);
      expect(trials.map((t) => t.trialId)).toEqual(['1', '2', '3', '4']);
      // earlyStopping auto: the fake stops every fourth trial early.
      expect(trials.map((t) => t.stoppedEarly)).toEqual([false, false, false, true]);
      expect(trials.every((t) => t.objectiveValue !== undefined)).toBe(true);
      const observation = await provider.describe(ref);
      expect(observation.trialCounts).toEqual({ succeeded: 3, stopped: 1 });
      expect(observation.providerBestTrialId).toBeDefined();
    });
  });

  describe('bestTrial', () => {
    const trial = (trialId: string, objectiveValue: number | undefined, extra: Partial<MlEngineHyperparameterOutput> = {}): MlEngineHyperparameterOutput => ({
      trialId,
      hyperparameters: { 'first-layer-size': String(50 * Number(trialId)), 'num-layers': '2' },
      ...(objectiveValue !== undefined ? { finalMetric: { trainingStep: '1000', objectiveValue } } : {}),
      ...extra,
    });

    it('names the best final metric for the job goal, mapped as listTrials maps it', async () => {
      const s = spec();
      const { ref, name } = await created(s);
      fake.setState(name, 'RUNNING');
      fake.addTrial(name, trial('1', 0.81));
      fake.addTrial(name, trial('2', 0.86, { isTrialStoppedEarly: true }));
      fake.addTrial(name, trial('3', 0.99, { state: 'FAILED' }));
      fake.addTrial(name, trial('4', 0.97, { state: 'RUNNING' }));
      fake.addTrial(name, trial('5', undefined, { allMetrics: [{ trainingStep: '10', objectiveValue: 0.98 }] }));

      const best = await provider.bestTrial(ref, s);

      const { trials } = await provider.listTrials(ref, undefined, s);
      expect(best).toStrictEqual(trials.find((t) => t.trialId === '2'));
      expect(best).toMatchObject({ status: 'stopped', stoppedEarly: true, objectiveValue: 0.86, artifactUri: 'gs://tunewire-demo-ml/census/jobs/2' });
      expect((await provider.describe(ref)).providerBestTrialId).toBe('2');
    });

    it('judges by the job goal when it minimizes', async () => {
      const s = spec({ objective: { metric: 'loss', goal: 'minimize' } });
      const { ref, name } = await created(s);
      fake.addTrial(name, trial('1', 0.3));
      fake.addTrial(name, trial('2', 0.2));
      fake.addTrial(name, trial('3', 0.4));
      expect((await provider.bestTrial(ref, s))?.trialId).toBe('2');
      expect((await provider.describe(ref)).providerBestTrialId).toBe('2');
    });

    it('gives a tie to the trial the service lists first, whatever order it lists them in', async () => {
      const s = spec();
      const { ref, name } = await created(s);
      fake.addTrial(name, trial('7', 0.9));
      fake.addTrial(name, trial('3', 0.9));
      fake.addTrial(name, trial('5', 0.8));

      expect((await provider.bestTrial(ref, s))?.trialId).toBe('7');
      expect((await provider.describe(ref)).providerBestTrialId).toBe('7');

      fake.setTrialOrder('id');
      expect((await provider.bestTrial(ref, s))?.trialId).toBe('3');
      expect((await provider.describe(ref)).providerBestTrialId).toBe('3');

      // listTrials does not depend on the order
      expect((await provider.listTrials(ref, undefined, s)).trials.map((t) => t.trialId)).toEqual(['3', '5', '7']);
    });

    it('names none while no finished trial has a final metric', async () => {
      const s = spec();
      const { ref, name } = await created(s);
      expect(await provider.bestTrial(ref, s)).toBeUndefined();
      fake.addTrial(name, trial('1', undefined));
      fake.addTrial(name, trial('2', 0.9, { state: 'FAILED' }));
      expect(await provider.bestTrial(ref, s)).toBeUndefined();
      expect((await provider.describe(ref)).providerBestTrialId).toBeUndefined();
    });
  });

  describe('stop', () => {
    it('cancels a running job, which then moves through stopping to stopped', async () => {
      const { ref, name } = await created();
      fake.setState(name, 'RUNNING');
      await provider.stop(ref);
      expect(fake.calls('POST').map((c) => c.path)).toContain(`/${name}:cancel`);
      expect((await provider.describe(ref)).status).toBe('stopping');
      fake.advance(name);
      expect(await provider.describe(ref)).toMatchObject({ status: 'stopped', providerStatus: 'CANCELLED' });
    });

    it('leaves a finished or cancelling job alone', async () => {
      const { ref, name } = await created();
      fake.setState(name, 'SUCCEEDED');
      await expect(provider.stop(ref)).resolves.toBeUndefined();
      fake.setState(name, 'CANCELLING');
      await expect(provider.stop(ref)).resolves.toBeUndefined();
      expect(fake.calls('POST').filter((c) => c.path.endsWith(':cancel'))).toEqual([]);
    });

    it('gets FAILED_PRECONDITION from the client for a finished job', async () => {
      const { name } = await created();
      fake.setState(name, 'FAILED');
      await expect(client.cancel(name)).rejects.toMatchObject({ code: 'PROVIDER.FAILED_PRECONDITION', retryable: false });
    });
  });

  describe('MlEngineClient', () => {
    it('replaces labels with the etag it read', async () => {
      const { name } = await created();
      const job = await client.get(name);
      const patched = await client.patch(name, { labels: { ...job.labels, champion: 'yes' } }, job.etag);
      expect(patched.labels).toEqual({ team: 'growth', 'tunewire-job-id': job.labels?.['tunewire-job-id'], champion: 'yes' });
      expect(patched.etag).not.toBe(job.etag);
      const call = fake.calls('PATCH')[0];
      expect(call?.query).toEqual({ updateMask: 'labels,etag' });
      expect(call?.body).toEqual({ labels: patched.labels, etag: job.etag });
    });

    it('refuses a patch with a stale etag as an etag mismatch', async () => {
      const { name } = await created();
      const job = await client.get(name);
      fake.setState(name, 'RUNNING'); // the job changed since it was read
      const error = await client.patch(name, { labels: { team: 'other' } }, job.etag).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MlEngineEtagMismatchError);
      expect(error).toMatchObject({ code: 'PROVIDER.ETAG_MISMATCH', httpStatus: 409, rpcStatus: 'ABORTED', retryable: false });
      expect((await client.get(name)).labels?.['team']).toBe('growth');
    });

    it('turns 429 into a retryable error', async () => {
      const { ref } = await created();
      fake.throttle(1);
      const error = await provider.describe(ref).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MlEngineApiError);
      expect(error).toMatchObject({ code: 'PROVIDER.THROTTLED', httpStatus: 429, retryable: true });
      await expect(provider.describe(ref)).resolves.toMatchObject({ status: 'pending' });
    });

    it('turns 503 into a retryable error', async () => {
      fake.failNext(1, 503, 'UNAVAILABLE');
      await expect(client.get(`projects/${PROJECT}/jobs/x`)).rejects.toMatchObject({ code: 'PROVIDER.UNAVAILABLE', retryable: true });
    });

    it('turns an unreachable endpoint into a retryable error', async () => {
      const dead = new MlEngineClient({ baseUrl: 'http://127.0.0.1:9/v1', auth: 'none', timeoutMs: 2000 });
      const error = await dead.get(`projects/${PROJECT}/jobs/x`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'PROVIDER.UNREACHABLE', retryable: true });
    });

    it('lists with a filter and pages with nextPageToken', async () => {
      const names: string[] = [];
      for (let i = 0; i < 5; i++) names.push((await created()).name);
      fake.setState(names[1] as string, 'RUNNING');
      fake.setState(names[3] as string, 'RUNNING');

      const running = await client.list(PROJECT, { filter: 'state=RUNNING' });
      expect(running.jobs.map((j) => `projects/${PROJECT}/jobs/${j.jobId}`).sort()).toEqual([names[1], names[3]].sort());

      const mine = await client.list(PROJECT, { filter: 'labels.team=growth AND state:RUNNING', pageSize: 1 });
      expect(mine.jobs).toHaveLength(1);
      expect(mine.nextPageToken).toBeDefined();
      const rest = await client.list(PROJECT, { filter: 'labels.team=growth AND state:RUNNING', pageSize: 1, pageToken: mine.nextPageToken as string });
      expect(rest.jobs).toHaveLength(1);
      expect(rest.nextPageToken).toBeUndefined();

      const all: string[] = [];
      for await (const job of client.listAll(PROJECT, { pageSize: 2 })) all.push(job.jobId);
      expect(all).toHaveLength(5);
      expect(fake.calls('GET').filter((c) => c.query['pageSize'] === '2')).toHaveLength(3);

      await expect(client.list(PROJECT, { filter: 'labels.team=nobody' })).resolves.toEqual({ jobs: [] });
    });

    it('reads trials in whatever order the fake lists them', async () => {
      const { name } = await created();
      for (const [trialId, objectiveValue] of [['2', 0.7], ['10', 0.9], ['1', undefined], ['3', 0.8]] as const) {
        fake.addTrial(name, { trialId, ...(objectiveValue !== undefined ? { finalMetric: { objectiveValue } } : {}) });
      }
      const order = async () => ((await client.get(name)).trainingOutput?.trials ?? []).map((t) => t.trialId);

      expect(await order()).toEqual(['2', '10', '1', '3']);
      fake.setTrialOrder('id');
      expect(await order()).toEqual(['1', '2', '3', '10']);
      fake.setTrialOrder('objective');
      expect(await order()).toEqual(['10', '3', '2', '1']);
      expect((await client.list(PROJECT)).jobs[0]?.trainingOutput?.trials?.map((t) => t.trialId)).toEqual(['10', '3', '2', '1']);
      fake.reset();
      expect(() => fake.setTrialOrder('random' as never)).toThrow();
    });

    it('sends the credentials of a google-auth-library client', async () => {
      const auth = new OAuth2Client();
      auth.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
      const authed = new MlEngineClient({ baseUrl: fake.baseUrl, auth });
      await authed.get(`projects/${PROJECT}/jobs/x`).catch(() => undefined);
      expect(fake.calls()[0]?.authorization).toBe('Bearer test-token');
    });
  });
});
