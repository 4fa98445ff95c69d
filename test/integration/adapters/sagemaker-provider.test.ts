import { CreateModelPackageGroupCommand, ListTagsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sageMakerTrainingJobEvent, sageMakerTuningJobEvent } from '../../../shared/adapters/sagemaker/sagemaker-events';
import { SageMakerModelRegistry, clientToken } from '../../../shared/adapters/sagemaker/sagemaker-model-registry';
import { SageMakerProvider } from '../../../shared/adapters/sagemaker/sagemaker-provider';
import { buildCreateTuningJobRequest } from '../../../shared/adapters/sagemaker/sagemaker-request';
import { ProviderError, SpecValidationError } from '../../../shared/domain/errors';
import { eventBridgeEnvelopeSchema } from '../../../shared/edge/envelopes';
import type { ProviderJobRef } from '../../../shared/domain/job';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';
import { FakeSageMaker, TRAINING_JOB_STATE_CHANGE, type FakeSageMakerEvent, type SageMakerJobStatus } from '../../support/fake-sagemaker';

const LIST = 'ListTrainingJobsForHyperParameterTuningJob';
const JOB_ID = 'churn-xgb-4k2m9q7w1z';

function sageMakerSpec(overrides: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name: 'churn-xgb',
    provider: 'sagemaker',
    objective: { metric: 'validation:auc', goal: 'maximize' },
    parameters: [
      { name: 'eta', type: 'double', min: 0.01, max: 0.5, scale: 'log' },
      { name: 'max_depth', type: 'integer', min: 3, max: 10 },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
    ],
    strategy: 'bayesian',
    budget: { maxTrials: 20, parallelTrials: 2 },
    measurementSelection: 'last',
    staticHyperparameters: { num_round: '200' },
    trial: {
      image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      metricDefinitions: [{ name: 'validation:auc', regex: 'validation-auc:([0-9.]+)' }],
      roleArn: 'arn:aws:iam::123456789012:role/tunewire-training',
      inputs: [{ channel: 'train', s3Uri: 's3://tunewire-data/churn/train/' }],
      output: { s3Uri: 's3://tunewire-models/churn/' },
      resources: { instanceType: 'ml.m5.xlarge' },
    },
    promotion: { model: 'churn', approval: 'auto' },
    labels: { team: 'growth' },
    ...overrides,
  });
}

/** Reads trials the way the fan-out use case does: until the cursor stops moving. */
async function syncAll(provider: SageMakerProvider, ref: ProviderJobRef, cursor: string | undefined, spec: TuningSpec) {
  const trials: Trial[] = [];
  for (let calls = 0; calls < 10_000; calls++) {
    const page = await provider.listTrials(ref, cursor, spec);
    trials.push(...page.trials);
    if (page.cursor === undefined || page.cursor === cursor) return { trials, cursor: page.cursor };
    cursor = page.cursor;
  }
  throw new Error('the cursor never settled');
}

const ids = (trials: readonly Trial[]) => trials.map((t) => t.trialId).sort();

describe('SageMakerProvider', () => {
  const fake = new FakeSageMaker();
  const spec = sageMakerSpec();
  const clients: SageMakerClient[] = [];

  const clientWith = (maxAttempts = 1, endpoint = fake.endpoint) => {
    const client = new SageMakerClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts });
    clients.push(client);
    return client;
  };
  const providerWith = (options: { maxAttempts?: number; pageSize?: number } = {}) =>
    new SageMakerProvider({ client: clientWith(options.maxAttempts), ...(options.pageSize ? { pageSize: options.pageSize } : {}) });

  const createJob = async (provider: SageMakerProvider, jobId = JOB_ID, jobSpec = spec) =>
    provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec: jobSpec });

  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  describe('create', () => {
    it('sends the request the mapping builds, tagged with the job id, and keeps the ARN', async () => {
      const provider = providerWith();
      const name = provider.providerJobName(JOB_ID);

      const { ref, adopted } = await createJob(provider);

      const [sent] = fake.requestsOf('CreateHyperParameterTuningJob');
      expect(sent).toEqual(JSON.parse(JSON.stringify(buildCreateTuningJobRequest(spec, { jobId: JOB_ID, providerJobName: name }))));
      expect(sent?.Tags).toContainEqual({ Key: 'tunewire:job-id', Value: JOB_ID });
      expect(fake.requests[0]).toMatchObject({ target: 'SageMaker.CreateHyperParameterTuningJob', contentType: 'application/x-amz-json-1.1' });
      expect(adopted).toBe(false);
      expect(ref).toEqual({ provider: 'sagemaker', providerJobName: name, providerJobId: fake.tuningJob(name).arn });
      expect(ref.providerJobId).toMatch(/^arn:aws:sagemaker:us-east-1:\d{12}:hyper-parameter-tuning-job\//);
    });

    it('adopts the job a previous attempt created under the same name', async () => {
      const provider = providerWith();
      const first = await createJob(provider);

      const second = await createJob(provider);

      expect(second).toEqual({ ref: first.ref, adopted: true });
      expect(fake.calls.CreateHyperParameterTuningJob).toBe(2);
      expect(fake.tuningJob(first.ref.providerJobName).trainingJobNames).toEqual([]);
    });

    it('refuses a job of the same name created for another tunewire job, without retrying', async () => {
      const provider = providerWith();
      const name = provider.providerJobName(JOB_ID);
      const { Tags: _tags, ...theirs } = buildCreateTuningJobRequest(spec, { jobId: 'someone-else', providerJobName: name });
      fake.seedTuningJob({ ...theirs, HyperParameterTuningJobName: name }, [{ Key: 'tunewire:job-id', Value: 'someone-else' }]);

      const error = await createJob(provider).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'PROVIDER.NAME_TAKEN', retryable: false });
      expect((error as Error).message).toContain(name);
    });

    it('refuses a job of the same name that carries no tunewire tag', async () => {
      const provider = providerWith();
      const name = provider.providerJobName(JOB_ID);
      const { Tags: _tags, ...request } = buildCreateTuningJobRequest(spec, { jobId: JOB_ID, providerJobName: name });
      fake.seedTuningJob({ ...request, HyperParameterTuningJobName: name });

      await expect(createJob(provider)).rejects.toMatchObject({ code: 'PROVIDER.NAME_TAKEN', retryable: false });
    });

    it('refuses a spec SageMaker would refuse, naming the field, before sending anything', async () => {
      const provider = providerWith();
      const bad = sageMakerSpec({ measurementSelection: 'best' });

      expect(() => provider.validate(bad)).toThrow(SpecValidationError);
      const error = await createJob(provider, JOB_ID, bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SpecValidationError);
      expect((error as SpecValidationError).issues.map((i) => i.path)).toContain('measurementSelection');
      expect(fake.requests).toEqual([]);
    });

    it('names the job deterministically and renders without sending', () => {
      const provider = providerWith();
      expect(provider.providerJobName(JOB_ID)).toBe(provider.providerJobName(JOB_ID));
      expect(provider.render(spec, { jobId: JOB_ID, providerJobName: 'x' })).toMatchObject({ HyperParameterTuningJobName: 'x' });
      expect(provider.name).toBe('sagemaker');
      expect(provider.eventsNeedConfirmation).toBe(true);
    });
  });

  describe('describe', () => {
    const cases: [SageMakerJobStatus, string][] = [
      ['InProgress', 'running'],
      ['Stopping', 'stopping'],
      ['Completed', 'succeeded'],
      ['Failed', 'failed'],
      ['Stopped', 'stopped'],
    ];
    it.each(cases)('maps %s to %s', async (word, status) => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      fake.setStatus(ref.providerJobName, word, word === 'Failed' ? 'ResourceLimitExceeded: no ml.m5.xlarge capacity' : undefined);

      const observation = await provider.describe(ref);

      expect(observation).toMatchObject({ status, providerStatus: word });
      expect(Date.parse(observation.observedAt)).not.toBeNaN();
      if (word === 'Failed') expect(observation.failureReason).toBe('ResourceLimitExceeded: no ml.m5.xlarge capacity');
    });

    it('reports trial counts and the best training job', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = ref.providerJobName;
      fake.addTrainingJob(name, { status: 'Completed', objective: 0.81 });
      const best = fake.addTrainingJob(name, { status: 'Completed', objective: 0.93 });
      fake.addTrainingJob(name, { status: 'Failed' });
      fake.addTrainingJob(name);

      const observation = await provider.describe(ref);

      expect(observation.trialCounts).toEqual({ succeeded: 2, failed: 1, running: 1, stopped: 0 });
      expect(observation.providerBestTrialId).toBe(best);
    });

    it('says a job SageMaker does not know was not found, and not to retry', async () => {
      const provider = providerWith();
      await expect(provider.describe({ provider: 'sagemaker', providerJobName: 'nobody-here' })).rejects.toMatchObject({
        code: 'PROVIDER.JOB_NOT_FOUND',
        retryable: false,
      });
    });
  });

  describe('listTrials', () => {
    it('reads only what is new or changed since the cursor', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = ref.providerJobName;
      const done1 = fake.addTrainingJob(name, { status: 'Completed', objective: 0.8 });
      const running = fake.addTrainingJob(name);
      const done2 = fake.addTrainingJob(name, { status: 'Completed', objective: 0.85 });

      const first = await syncAll(provider, ref, undefined, spec);
      expect(ids(first.trials)).toEqual([done1, done2, running].sort());
      expect(first.trials.find((t) => t.trialId === done1)).toMatchObject({ status: 'succeeded', objectiveValue: 0.8, objectiveStatus: 'succeeded' });

      // Nothing changed: one List call, no trials, the same cursor.
      const before = fake.calls[LIST] ?? 0;
      const idle = await provider.listTrials(ref, first.cursor, spec);
      expect(idle).toEqual({ trials: [], cursor: first.cursor, complete: true });
      expect((fake.calls[LIST] ?? 0) - before).toBe(1);

      fake.setTrainingJobStatus(running, 'Completed', { objective: 0.9 });
      const fresh = fake.addTrainingJob(name);
      const failed = fake.addTrainingJob(name, { status: 'Failed', failureReason: 'AlgorithmError: out of memory' });

      const second = await syncAll(provider, ref, first.cursor, spec);
      expect(ids(second.trials)).toEqual([failed, fresh, running].sort());
      expect(second.trials.find((t) => t.trialId === running)).toMatchObject({ status: 'succeeded', objectiveValue: 0.9 });
      expect(second.trials.find((t) => t.trialId === failed)).toMatchObject({ status: 'failed', failureReason: 'AlgorithmError: out of memory' });

      // The still-running trial is re-read, but not returned while it does not change.
      const third = await syncAll(provider, ref, second.cursor, spec);
      expect(third).toEqual({ trials: [], cursor: second.cursor });
    });

    it('lists 10,000 trials exactly once in at most 101 List calls, then only news', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      for (let i = 0; i < 10_000; i++) fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: (i % 997) / 1000 });

      const full = await syncAll(provider, ref, undefined, spec);

      expect(fake.calls[LIST]).toBeLessThanOrEqual(101);
      expect(full.trials).toHaveLength(10_000);
      expect(new Set(full.trials.map((t) => t.trialId)).size).toBe(10_000);
      expect(fake.requestsOf(LIST).every((r) => r.SortBy === 'CreationTime' && r.SortOrder === 'Descending' && r.MaxResults === 100)).toBe(true);
      expect(full.cursor?.length ?? 0).toBeLessThan(1_000);

      const newest = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.99 });
      const before = fake.calls[LIST] ?? 0;
      const next = await syncAll(provider, ref, full.cursor, spec);
      expect(ids(next.trials)).toEqual([newest]);
      expect((fake.calls[LIST] ?? 0) - before).toBe(2);
    });

    it('keeps re-reading from the oldest unfinished trial across pages, and loses nothing', async () => {
      const provider = providerWith({ pageSize: 5 });
      const { ref } = await createJob(provider);
      const name = ref.providerJobName;
      const all: string[] = [];
      for (let i = 0; i < 23; i++) all.push(fake.addTrainingJob(name, i === 2 || i === 17 ? {} : { status: 'Completed', objective: i / 100 }));
      const [straggler, late] = [all[2] as string, all[17] as string];

      const first = await syncAll(provider, ref, undefined, spec);
      expect(ids(first.trials)).toEqual([...all].sort());

      fake.setTrainingJobStatus(late, 'Stopped', { objective: 0.5 });
      const added = [fake.addTrainingJob(name, { status: 'Completed', objective: 0.7 }), fake.addTrainingJob(name)];
      const second = await syncAll(provider, ref, first.cursor, spec);
      expect(ids(second.trials)).toEqual([late, ...added].sort());

      fake.setTrainingJobStatus(straggler, 'Completed', { objective: 0.95 });
      fake.setTrainingJobStatus(added[1] as string, 'Completed', { objective: 0.6 });
      const third = await syncAll(provider, ref, second.cursor, spec);
      expect(ids(third.trials)).toEqual([straggler, added[1] as string].sort());

      // Everything settled: the watermark moved to the newest trial, a re-read costs one call.
      const before = fake.calls[LIST] ?? 0;
      expect(await provider.listTrials(ref, third.cursor, spec)).toEqual({ trials: [], cursor: third.cursor, complete: true });
      expect((fake.calls[LIST] ?? 0) - before).toBe(1);
    });

    it('finds trials created while a scan is between pages', async () => {
      const provider = providerWith({ pageSize: 3 });
      const { ref } = await createJob(provider);
      const name = ref.providerJobName;
      const early = Array.from({ length: 7 }, (_, i) => fake.addTrainingJob(name, { status: 'Completed', objective: i / 10 }));

      const page1 = await provider.listTrials(ref, undefined, spec);
      const during = fake.addTrainingJob(name, { status: 'Completed', objective: 0.42 });
      const rest = await syncAll(provider, ref, page1.cursor, spec);
      const later = await syncAll(provider, ref, rest.cursor, spec);

      const seen = [...page1.trials, ...rest.trials, ...later.trials].map((t) => t.trialId);
      expect([...new Set(seen)].sort()).toEqual([...early, during].sort());
    });

    it('tells trials created in the same millisecond apart', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = ref.providerJobName;
      const at = new Date('2025-03-01T12:00:00.000Z');
      const twins = [fake.addTrainingJob(name, { status: 'Completed', objective: 0.1, creationTime: at }), fake.addTrainingJob(name, { status: 'Completed', objective: 0.2, creationTime: at })];

      const first = await syncAll(provider, ref, undefined, spec);
      expect(ids(first.trials)).toEqual([...twins].sort());

      const third = fake.addTrainingJob(name, { status: 'Completed', objective: 0.3, creationTime: at });
      const second = await syncAll(provider, ref, first.cursor, spec);
      expect(ids(second.trials)).toEqual([third]);
    });

    it('starts a scan over when SageMaker refuses its stored NextToken', async () => {
      const provider = providerWith({ pageSize: 2 });
      const { ref } = await createJob(provider);
      const all = Array.from({ length: 5 }, (_, i) => fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: i / 10 }));
      const page1 = await provider.listTrials(ref, undefined, spec);
      expect(JSON.parse(page1.cursor ?? '{}')).toHaveProperty('s.t');

      fake.fail(LIST, { type: 'ValidationException', message: 'The pagination token has expired.', status: 400 });
      const rest = await syncAll(provider, ref, page1.cursor, spec);

      expect([...new Set([...page1.trials, ...rest.trials].map((t) => t.trialId))].sort()).toEqual([...all].sort());
    });

    it('refuses a cursor it did not write', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      await expect(provider.listTrials(ref, 'page-7', spec)).rejects.toMatchObject({ code: 'PROVIDER.BAD_CURSOR', retryable: false });
      await expect(provider.listTrials(ref, '{"v":2}', spec)).rejects.toMatchObject({ code: 'PROVIDER.BAD_CURSOR' });
    });
  });

  describe('bestTrial', () => {
    it('is the completed training job SageMaker names best, mapped like a listed trial', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = ref.providerJobName;
      fake.addTrainingJob(name, { status: 'Completed', objective: 0.81 });
      const best = fake.addTrainingJob(name, { status: 'Completed', objective: 0.93 });
      // a stopped job reports its metric, but SageMaker's best is among completed ones
      fake.addTrainingJob(name, { status: 'Stopped', objective: 0.97 });
      fake.addTrainingJob(name, { status: 'Failed' });
      fake.addTrainingJob(name);

      const trial = await provider.bestTrial(ref, spec);

      const { trials } = await syncAll(provider, ref, undefined, spec);
      expect(trial).toEqual(trials.find((t) => t.trialId === best));
      expect(trial).toMatchObject({ trialId: best, status: 'succeeded', objectiveValue: 0.93, objectiveStatus: 'succeeded', metrics: { 'validation:auc': 0.93 } });
      expect((await provider.describe(ref)).providerBestTrialId).toBe(best);
    });

    it('is the lowest objective when the objective is minimized', async () => {
      const provider = providerWith();
      const minimize = sageMakerSpec({ objective: { metric: 'validation:auc', goal: 'minimize' } });
      const { ref } = await createJob(provider, JOB_ID, minimize);
      const lowest = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.12 });
      fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.3 });

      expect((await provider.bestTrial(ref, minimize))?.trialId).toBe(lowest);
      expect(fake.requestsOf('CreateHyperParameterTuningJob')[0]).toMatchObject({ HyperParameterTuningJobConfig: { HyperParameterTuningJobObjective: { Type: 'Minimize' } } });
    });

    it('is undefined while SageMaker names none', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      expect(await provider.bestTrial(ref, spec)).toBeUndefined();

      fake.addTrainingJob(ref.providerJobName, { status: 'Failed' });
      fake.addTrainingJob(ref.providerJobName);
      expect(await provider.bestTrial(ref, spec)).toBeUndefined();
    });

    it('goes by the objective SageMaker lists, not the metric an event carried', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const name = ref.providerJobName;
      const revised = fake.addTrainingJob(name, { status: 'Completed', objective: 0.95, listedObjective: 0.7 });
      const best = fake.addTrainingJob(name, { status: 'Completed', objective: 0.9 });

      const event = fake.events.find((e) => e.detail['TrainingJobName'] === revised) ?? expect.unreachable();
      expect(sageMakerTrainingJobEvent(eventBridgeEnvelopeSchema.parse(event)).trial?.objectiveValue).toBe(0.95);
      expect(await provider.bestTrial(ref, spec)).toMatchObject({ trialId: best, objectiveValue: 0.9 });

      fake.setListedObjective(revised, undefined);
      expect(await provider.bestTrial(ref, spec)).toMatchObject({ trialId: revised, objectiveValue: 0.95 });
    });

    it('says a job SageMaker does not know was not found', async () => {
      const provider = providerWith();
      await expect(provider.bestTrial({ provider: 'sagemaker', providerJobName: 'nobody-here' }, spec)).rejects.toMatchObject({
        code: 'PROVIDER.JOB_NOT_FOUND',
        retryable: false,
      });
    });
  });

  describe('stop', () => {
    it('stops a running job; SageMaker finishes stopping it on its own', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const trial = fake.addTrainingJob(ref.providerJobName);

      await provider.stop(ref);
      expect((await provider.describe(ref)).status).toBe('stopping');

      fake.advance();
      expect((await provider.describe(ref)).status).toBe('stopped');
      const { trials } = await syncAll(provider, ref, undefined, spec);
      expect(trials.find((t) => t.trialId === trial)?.status).toBe('stopped');
    });

    it('leaves a job that is already stopping, stopped or completed as it is', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      await provider.stop(ref);
      await expect(provider.stop(ref)).resolves.toBeUndefined();
      fake.advance();
      await expect(provider.stop(ref)).resolves.toBeUndefined();

      const other = await createJob(provider, 'churn-xgb-other00001');
      fake.setStatus(other.ref.providerJobName, 'Completed');
      await expect(provider.stop(other.ref)).resolves.toBeUndefined();
    });

    it('says a job SageMaker does not know was not found', async () => {
      const provider = providerWith();
      await expect(provider.stop({ provider: 'sagemaker', providerJobName: 'nobody-here' })).rejects.toMatchObject({ code: 'PROVIDER.JOB_NOT_FOUND', retryable: false });
    });
  });

  describe('the fake SageMaker', () => {
    it('announces status changes and finished training jobs as events tunewire parses', async () => {
      const provider = providerWith();
      const heard: string[] = [];
      const off = fake.onEvent((event) => void heard.push(`${event['detail-type']}`));
      const { ref } = await createJob(provider);
      const trial = fake.addTrainingJob(ref.providerJobName);
      fake.setTrainingJobStatus(trial, 'Completed', { objective: 0.9 });
      fake.setStatus(ref.providerJobName, 'Completed');
      off();

      const [started, finishedTrial, finishedJob] = fake.events.map((event) => eventBridgeEnvelopeSchema.parse(event));
      expect(heard).toEqual(['SageMaker HyperParameter Tuning Job State Change', 'SageMaker Training Job State Change', 'SageMaker HyperParameter Tuning Job State Change']);
      expect(sageMakerTuningJobEvent(started ?? expect.unreachable())).toMatchObject({ providerJobName: ref.providerJobName, claimed: { status: 'running' } });
      expect(sageMakerTrainingJobEvent(finishedTrial ?? expect.unreachable())).toMatchObject({
        providerJobName: ref.providerJobName,
        trial: { trialId: trial, status: 'succeeded', objectiveValue: 0.9, artifactUri: `s3://tunewire-models/churn/${trial}/output/model.tar.gz` },
      });
      expect(sageMakerTuningJobEvent(finishedJob ?? expect.unreachable())).toMatchObject({ claimed: { status: 'succeeded', providerBestTrialId: trial, trialCounts: { succeeded: 1 } } });
    });

    describe('emits Training Job State Change events in the shapes the documents allow', () => {
      const finishOne = async (provider: SageMakerProvider) => {
        const { ref } = await createJob(provider);
        const trial = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.9 });
        const event: FakeSageMakerEvent = fake.events.find((e) => e['detail-type'] === TRAINING_JOB_STATE_CHANGE) ?? expect.unreachable();
        return { ref, trial, event, parsed: sageMakerTrainingJobEvent(eventBridgeEnvelopeSchema.parse(event)) };
      };

      it('full by default: TuningJobArn, FinalMetricDataList, and the tuning job tags', async () => {
        const { ref, event, parsed } = await finishOne(providerWith());
        expect(event.detail).toMatchObject({ TuningJobArn: ref.providerJobId, Tags: { team: 'growth', 'tunewire:job-id': JOB_ID } });
        expect(event.detail['FinalMetricDataList']).toEqual([{ MetricName: 'validation:auc', Value: 0.9, Timestamp: expect.stringMatching(/^\d+$/) }]);
        expect(parsed).toMatchObject({ providerJobName: ref.providerJobName, jobId: JOB_ID, trial: { objectiveValue: 0.9, objectiveStatus: 'succeeded' } });
      });

      it('without-metrics: TuningJobArn and tags, no FinalMetricDataList, so the objective is unknown', async () => {
        fake.trainingJobEvents('without-metrics');
        const { ref, event, parsed } = await finishOne(providerWith());
        expect(event.detail).toMatchObject({ TuningJobArn: ref.providerJobId, Tags: { 'tunewire:job-id': JOB_ID } });
        expect(event.detail).not.toHaveProperty('FinalMetricDataList');
        expect(parsed.providerJobName).toBe(ref.providerJobName);
        expect(parsed.trial).toMatchObject({ status: 'succeeded' });
        expect(parsed.trial?.objectiveValue).toBeUndefined();
        expect(parsed.trial?.objectiveStatus).toBeUndefined();
      });

      it('documented: neither TuningJobArn nor FinalMetricDataList, only the tags SageMaker propagates', async () => {
        fake.trainingJobEvents('documented');
        const { ref, trial, event, parsed } = await finishOne(providerWith());
        expect(event.detail).not.toHaveProperty('TuningJobArn');
        expect(event.detail).not.toHaveProperty('FinalMetricDataList');
        expect(event.detail).toMatchObject({ TrainingJobName: trial, TrainingJobStatus: 'Completed', Tags: { 'tunewire:job-id': JOB_ID }, SecondaryStatusTransitions: [] });
        expect(parsed).toMatchObject({ jobId: JOB_ID, providerJobName: ref.providerJobName, trial: { trialId: trial, status: 'succeeded' } });
        expect(parsed.trial?.objectiveStatus).toBeUndefined();
        // the listing still knows the objective
        const { trials } = await syncAll(providerWith(), ref, undefined, spec);
        expect(trials.find((t) => t.trialId === trial)?.objectiveValue).toBe(0.9);
      });

      it('from the constructor too, and back to it on reset', () => {
        const documented = new FakeSageMaker({ trainingJobEvents: 'documented' });
        const request = buildCreateTuningJobRequest(spec, { jobId: JOB_ID, providerJobName: JOB_ID });
        const { Tags, ...rest } = request;
        documented.seedTuningJob({ ...(JSON.parse(JSON.stringify(rest)) as Record<string, unknown>), HyperParameterTuningJobName: JOB_ID }, Tags?.map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })));
        documented.addTrainingJob(JOB_ID, { status: 'Completed', objective: 0.5 });
        expect(documented.events.at(-1)?.detail).not.toHaveProperty('TuningJobArn');

        fake.trainingJobEvents('documented');
        fake.reset();
        const seeded = fake.seedTuningJob({ ...(JSON.parse(JSON.stringify(rest)) as Record<string, unknown>), HyperParameterTuningJobName: JOB_ID });
        fake.addTrainingJob(JOB_ID, { status: 'Completed', objective: 0.5 });
        expect(fake.events.at(-1)?.detail).toMatchObject({ TuningJobArn: seeded, Tags: {} });
      });
    });

    it('tags a training job with its tuning job tags, as ListTags reads them', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider);
      const trial = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.9 });
      const arn = String(fake.events.find((e) => e.detail['TrainingJobName'] === trial)?.detail['TrainingJobArn']);

      const { Tags } = await clientWith().send(new ListTagsCommand({ ResourceArn: arn }));

      expect(Tags).toContainEqual({ Key: 'tunewire:job-id', Value: JOB_ID });
      expect(Tags).toEqual(fake.tuningJob(ref.providerJobName).tags);
    });

    it('walks created jobs through their life on autopilot', async () => {
      const provider = providerWith();
      const { ref } = await createJob(provider, JOB_ID, sageMakerSpec({ budget: { maxTrials: 3, parallelTrials: 1 } }));
      const options = { trialEveryMs: 60_000, objective: (i: number) => 0.5 + i / 10 };
      for (let step = 0; step < 4; step++) fake.autopilotStep(options);

      const observation = await provider.describe(ref);
      const { trials } = await syncAll(provider, ref, undefined, spec);
      expect(observation).toMatchObject({ status: 'succeeded', trialCounts: { succeeded: 3 } });
      expect(trials.map((t) => t.objectiveValue).sort()).toEqual([0.5, 0.6, 0.7]);
      expect(trials.every((t) => Number(t.hyperparameters.max_depth) >= 3 && ['gbtree', 'dart'].includes(t.hyperparameters.booster ?? ''))).toBe(true);
    });
  });

  describe('errors', () => {
    it('absorbs 30% throttling in the client retry strategy, losing nothing', async () => {
      const provider = providerWith({ maxAttempts: 10 });
      fake.throttle({ rate: 0.3, seed: 42 });
      const { ref } = await createJob(provider);
      fake.throttle({ rate: 0 });
      const trials = Array.from({ length: 1_000 }, (_, i) => fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: i / 1000 }));
      fake.throttle({ rate: 0.3, seed: 42 });

      const observation = await provider.describe(ref);
      const listed = await syncAll(provider, ref, undefined, spec);
      await provider.stop(ref);

      const throttled = Object.values(fake.throttled).reduce((a, b) => a + b, 0);
      expect(throttled).toBeGreaterThan(0);
      expect(observation.trialCounts?.succeeded).toBe(1_000);
      expect(ids(listed.trials)).toEqual([...trials].sort());
      expect(fake.tuningJob(ref.providerJobName).status).toBe('Stopping');
    }, 60_000);

    it('marks throttling that outlasts the retries, and 5xx, as retryable', async () => {
      const provider = providerWith({ maxAttempts: 1 });
      const { ref } = await createJob(provider);

      fake.throttle({ rate: 1 });
      await expect(provider.describe(ref)).rejects.toMatchObject({ code: 'PROVIDER.THROTTLED', retryable: true });
      fake.throttle({ rate: 0 });

      fake.fail('DescribeHyperParameterTuningJob', { status: 500, type: 'InternalFailure' });
      await expect(provider.describe(ref)).rejects.toMatchObject({ code: 'PROVIDER.UNAVAILABLE', retryable: true });
    });

    it('marks a refused request as final', async () => {
      const provider = providerWith();
      fake.fail('CreateHyperParameterTuningJob', { status: 400, type: 'ResourceLimitExceeded', message: 'quota of 100 concurrent tuning jobs reached' });
      await expect(createJob(provider)).rejects.toMatchObject({ code: 'PROVIDER.LIMIT_EXCEEDED', retryable: false });
    });

    it('marks an unreachable SageMaker as retryable', async () => {
      const provider = new SageMakerProvider({ client: clientWith(1, 'http://127.0.0.1:9') });
      await expect(provider.describe({ provider: 'sagemaker', providerJobName: 'any' })).rejects.toMatchObject({ code: 'PROVIDER.UNREACHABLE', retryable: true });
    });
  });
});

describe('SageMakerModelRegistry', () => {
  const fake = new FakeSageMaker();
  const spec = sageMakerSpec();
  let client: SageMakerClient;
  let ref: ProviderJobRef;

  const trialOf = (trialId: string, objectiveValue: number): Trial => ({ trialId, status: 'succeeded', hyperparameters: {}, objectiveValue, objectiveStatus: 'succeeded', stoppedEarly: false });

  beforeAll(async () => {
    await fake.start();
    client = new SageMakerClient({ endpoint: fake.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 });
  });
  afterAll(async () => {
    client.destroy();
    await fake.stop();
  });
  beforeEach(async () => {
    fake.reset();
    ({ ref } = await new SageMakerProvider({ client }).create({ jobId: JOB_ID, providerJobName: JOB_ID, spec }));
  });

  it('creates the group once and a package with the artifact, the image and the approval', async () => {
    const registry = new SageMakerModelRegistry({ client });
    const first = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.91 });
    const second = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.93 });

    const v1 = await registry.registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: trialOf(first, 0.91), spec });
    const v2 = await new SageMakerModelRegistry({ client }).registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: trialOf(second, 0.93), spec });

    expect(v1.version).toMatch(/:model-package\/churn\/1$/);
    expect(v2.version).toMatch(/:model-package\/churn\/2$/);
    expect(fake.calls.CreateModelPackageGroup).toBe(1);
    const [request] = fake.requestsOf('CreateModelPackage');
    expect(request).toEqual({
      ModelPackageGroupName: 'churn',
      ModelPackageDescription: expect.stringContaining(first),
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: {
        Containers: [{ Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1', ModelDataUrl: `s3://tunewire-models/churn/${first}/output/model.tar.gz` }],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
      },
      CustomerMetadataProperties: { tunewireJobId: JOB_ID, trialId: first, objectiveMetric: 'validation:auc', objectiveGoal: 'maximize', objectiveValue: '0.91' },
      ClientToken: clientToken(JOB_ID, first),
    });
  });

  it('asks for manual approval when the spec does', async () => {
    const registry = new SageMakerModelRegistry({ client });
    const trial = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.9 });
    const manual = sageMakerSpec({ promotion: { model: 'churn', approval: 'manual' } });

    await registry.registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: trialOf(trial, 0.9), spec: manual });

    expect(fake.requestsOf('CreateModelPackage')[0]?.ModelApprovalStatus).toBe('PendingManualApproval');
  });

  it('returns the same package when a promotion is retried', async () => {
    const trial = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.9 });
    const input = { model: 'churn', jobId: JOB_ID, ref, trial: trialOf(trial, 0.9), spec };

    const first = await new SageMakerModelRegistry({ client }).registerVersion(input);
    const retried = await new SageMakerModelRegistry({ client }).registerVersion(input);

    expect(retried).toEqual(first);
    const tokens = fake.requestsOf('CreateModelPackage').map((r) => r.ClientToken);
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(1);
    expect(String(tokens[0])).toMatch(/^[a-zA-Z0-9-]{1,36}$/);
  });

  it('uses a group someone else created', async () => {
    await client.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'churn' }));
    const trial = fake.addTrainingJob(ref.providerJobName, { status: 'Completed', objective: 0.9 });

    const { version } = await new SageMakerModelRegistry({ client }).registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: trialOf(trial, 0.9), spec });

    expect(version).toMatch(/churn\/1$/);
    expect(fake.calls.CreateModelPackageGroup).toBe(1);
  });

  it('says which training job it cannot find', async () => {
    const registry = new SageMakerModelRegistry({ client });
    await expect(registry.registerVersion({ model: 'churn', jobId: JOB_ID, ref, trial: trialOf('missing-001-abcdef12', 0.9), spec })).rejects.toMatchObject({
      code: 'PROVIDER.TRIAL_NOT_FOUND',
      retryable: false,
    });
  });
});
