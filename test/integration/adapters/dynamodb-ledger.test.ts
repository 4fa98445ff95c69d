import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { BY_ACTIVE_INDEX, ensureTable, keys, TTL_ATTRIBUTE } from '../../../shared/adapters/dynamodb/table';
import { ValidationError } from '../../../shared/domain/errors';
import type { JobObservation, JobRecord } from '../../../shared/domain/job';
import { parseSpec, type Goal } from '../../../shared/domain/spec';
import { mergeTrial, selectBestTrial, type MergedTrial, type Trial, type TrialObservation } from '../../../shared/domain/trial';
import type { ArrivalRecord, Champion, NewJob, PromotionRecord } from '../../../shared/ports/ledger';
import { listed } from '../../support/fixtures';

function dynamoClient(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

const client = dynamoClient();
const tableName = `ledger-${randomUUID()}`;
const ledger = new DynamoDbLedger({ client, tableName });

beforeAll(async () => {
  await ensureTable(client, tableName);
}, 60_000);

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  client.destroy();
});

const spec = (goal: Goal = 'maximize') =>
  parseSpec({
    name: 'churn-xgb',
    provider: 'local',
    objective: { metric: 'validation:auc', goal },
    parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
    strategy: 'random',
    budget: { maxTrials: 4, parallelTrials: 2 },
    trial: { command: ['python', 'train.py'] },
    promotion: { model: 'churn', minImprovement: 0.01 },
  });

let counter = 0;
function newJob(overrides: Partial<NewJob> = {}): NewJob {
  const jobId = `job-${randomUUID().slice(0, 8)}`;
  return {
    jobId,
    name: 'churn-xgb',
    provider: 'local',
    spec: spec(),
    providerJobName: `tw-${jobId}`,
    createdAt: new Date(Date.UTC(2026, 10, 23, 10, 0, counter++)).toISOString(),
    ...overrides,
  };
}

async function submittedJob(overrides: Partial<NewJob> = {}): Promise<JobRecord> {
  const { job } = await ledger.createJob(newJob(overrides));
  return ledger.markSubmitted(job.jobId, `arn:local:${job.jobId}`, job.createdAt);
}

const observation = (status: JobObservation['status'], providerStatus: string, observedAt = new Date().toISOString()): JobObservation => ({
  status,
  providerStatus,
  observedAt,
});

const arrival = (eventId: string, outcome: ArrivalRecord['outcome'] = 'applied'): ArrivalRecord => ({
  eventId,
  receivedAt: '2026-11-23T10:00:00.000Z',
  source: 'tunewire.local',
  claimedStatus: 'RUNNING',
  outcome,
});

const trial = (trialId: string, status: Trial['status'], objectiveValue?: number, extra: Partial<Trial> = {}): Trial => ({
  trialId,
  status,
  hyperparameters: { eta: '0.1', max_depth: '6' },
  stoppedEarly: false,
  ...(objectiveValue !== undefined ? { objectiveValue } : {}),
  ...extra,
});

describe('ensureTable', () => {
  it('creates the table once when several callers race, with its indexes and TTL', async () => {
    const name = `ledger-race-${randomUUID()}`;
    await Promise.all([ensureTable(client, name), ensureTable(client, name), ensureTable(client, name)]);
    await ensureTable(client, name);

    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['byActive', 'byProviderJob']);
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    expect(TimeToLiveDescription).toMatchObject({ AttributeName: TTL_ATTRIBUTE, TimeToLiveStatus: 'ENABLED' });
    await client.send(new DeleteTableCommand({ TableName: name }));
  }, 60_000);
});

describe('DynamoDbLedger', () => {
  describe('jobs', () => {
    it('creates a job once: a second create returns the stored job and overwrites nothing', async () => {
      const input = newJob({ trigger: 'cli' });
      const first = await ledger.createJob(input);
      await ledger.markSubmitted(input.jobId, 'arn:first', input.createdAt);

      const second = await ledger.createJob({ ...input, createdAt: '2030-01-01T00:00:00.000Z', trigger: 'http' });

      expect(first.created).toBe(true);
      expect(first.job).toMatchObject({ status: 'submitting', version: 1, trigger: 'cli' });
      expect(second.created).toBe(false);
      expect(second.job).toMatchObject({ status: 'pending', version: 2, createdAt: input.createdAt, trigger: 'cli', providerJobId: 'arn:first' });
      expect(await ledger.getJob(input.jobId)).toEqual(second.job);
    });

    it('reads back the job it wrote, spec included, and finds it by the provider job name', async () => {
      const input = newJob();
      const { job } = await ledger.createJob(input);

      expect(await ledger.getJob(input.jobId)).toEqual(job);
      expect(job.spec).toEqual(input.spec);
      expect(await ledger.findJobByProviderJob('local', input.providerJobName)).toEqual(job);
      expect(await ledger.findJobByProviderJob('sagemaker', input.providerJobName)).toBeUndefined();
      expect(await ledger.getJob('job-missing')).toBeUndefined();
    });

    it('marks a job submitted once; a retried mark returns the stored job unchanged', async () => {
      const { job } = await ledger.createJob(newJob());

      const submitted = await ledger.markSubmitted(job.jobId, 'arn:1', '2026-11-23T11:00:00.000Z');
      const again = await ledger.markSubmitted(job.jobId, 'arn:2', '2026-11-23T12:00:00.000Z');

      expect(submitted).toMatchObject({ status: 'pending', version: 2, providerJobId: 'arn:1', updatedAt: '2026-11-23T11:00:00.000Z' });
      expect(again).toEqual(submitted);
    });

    it('applies an event once: the same event id again is a duplicate, and both arrivals are in the history', async () => {
      const job = await submittedJob();
      const event = arrival('evt-1');

      const first = await ledger.transitionJob({ job, observation: observation('running', 'InProgress'), arrival: event });
      const second = await ledger.transitionJob({ job, observation: observation('running', 'InProgress'), arrival: event });

      expect(first.kind).toBe('applied');
      expect(first.job).toMatchObject({ status: 'running', providerStatus: 'InProgress', version: job.version + 1 });
      expect(await ledger.getJob(job.jobId)).toEqual(first.job);
      expect(second).toEqual({ kind: 'duplicate', job: first.job });
      // Same event id, same millisecond: two history entries all the same.
      const history = await ledger.listHistory(job.jobId);
      expect(history.map((h) => [h.eventId, h.outcome]).sort()).toEqual([
        ['evt-1', 'applied'],
        ['evt-1', 'duplicate'],
      ]);
    });

    it('applies one of ten concurrent deliveries of an event; the other nine are duplicates', async () => {
      const job = await submittedJob();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => ledger.transitionJob({ job, observation: observation('running', 'InProgress'), arrival: arrival('evt-burst') })),
      );

      expect(results.filter((r) => r.kind === 'applied')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'duplicate')).toHaveLength(9);
      expect((await ledger.getJob(job.jobId))?.version).toBe(job.version + 1);
      expect(await ledger.listHistory(job.jobId)).toHaveLength(10);
    });

    it('returns a conflict with the stored job when the version read is stale', async () => {
      const job = await submittedJob();
      const applied = await ledger.transitionJob({ job, observation: observation('running', 'InProgress'), arrival: arrival('evt-a') });

      const stale = await ledger.transitionJob({ job, observation: observation('stopping', 'Stopping'), arrival: arrival('evt-b') });

      expect(stale).toEqual({ kind: 'conflict', job: applied.job });
      expect((await ledger.getJob(job.jobId))?.status).toBe('running');
      // The cancelled transaction wrote neither the marker nor the history entry: evt-b can still apply.
      expect((await ledger.listHistory(job.jobId)).map((h) => h.eventId)).toEqual(['evt-a']);
      const retried = await ledger.transitionJob({ job: applied.job, observation: observation('stopping', 'Stopping'), arrival: arrival('evt-b') });
      expect(retried.kind).toBe('applied');
    });

    it('keeps a job in listActiveJobs until its finish is announced', async () => {
      const job = await submittedJob({ provider: 'vertex' });
      const running = await ledger.transitionJob({ job, observation: observation('running', 'JOB_STATE_RUNNING'), arrival: arrival('evt-r') });

      expect((await ledger.listActiveJobs('vertex')).map((j) => j.jobId)).toContain(job.jobId);
      expect((await ledger.listActiveJobs()).map((j) => j.jobId)).toContain(job.jobId);
      expect((await ledger.listActiveJobs('sagemaker')).map((j) => j.jobId)).not.toContain(job.jobId);

      const finished = await ledger.transitionJob({
        job: running.job,
        observation: { ...observation('failed', 'JOB_STATE_FAILED'), failureReason: 'OOM', trialCounts: { succeeded: 3, failed: 1 }, flags: ['x'] },
        arrival: arrival('evt-f'),
      });
      expect(finished.job).toMatchObject({ status: 'failed', failureReason: 'OOM', trialCounts: { succeeded: 3, failed: 1 }, flags: ['x'] });
      expect(await ledger.getJob(job.jobId)).toEqual(finished.job);
      // failed, but nobody has heard: the reconciler must still find it, to announce the finish
      expect((await ledger.listActiveJobs('vertex')).map((j) => j.jobId)).toContain(job.jobId);

      const at = new Date().toISOString();
      const claim = await ledger.claimAnnouncement({ jobId: job.jobId, key: 'job', sequence: 1, events: [], marks: { announcedSequence: 1, announcedStatus: 'failed' }, holder: 'h', at, staleBefore: at });
      expect(claim.kind).toBe('won');
      if (claim.kind === 'won') expect(await ledger.completeAnnouncement(claim.claim)).toBe(true);
      expect((await ledger.listActiveJobs('vertex')).map((j) => j.jobId)).not.toContain(job.jobId);
      expect((await ledger.listActiveJobs()).map((j) => j.jobId)).not.toContain(job.jobId);
      const meta = await client.send(new GetItemCommand({ TableName: tableName, Key: marshall({ pk: keys.job(job.jobId), sk: keys.meta }) }));
      expect(meta.Item?.[BY_ACTIVE_INDEX.partitionKey]).toBeUndefined();
    });

    it('records an arrival that changes nothing, and a redelivery of it as a duplicate', async () => {
      const job = await submittedJob();

      expect(await ledger.recordArrival(job.jobId, arrival('evt-old', 'stale'))).toBe('recorded');
      expect(await ledger.recordArrival(job.jobId, arrival('evt-old', 'stale'))).toBe('duplicate');

      expect((await ledger.listHistory(job.jobId)).map((h) => h.outcome).sort()).toEqual(['duplicate', 'stale']);
      expect(await ledger.getJob(job.jobId)).toEqual(job);
    });

    it('writes HIST and SEEN items with a TTL about 90 days ahead', async () => {
      const job = await submittedJob();
      await ledger.recordArrival(job.jobId, arrival('evt-ttl', 'ignored'));

      const { Items = [] } = await client.send(
        new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: marshall({ ':pk': keys.job(job.jobId) }) }),
      );
      const expiries = Items.map((i) => unmarshall(i)).filter((i) => /^(HIST|SEEN)#/.test(String(i['sk'])));
      expect(expiries).toHaveLength(2);
      const ninetyDays = Date.now() / 1000 + 90 * 86_400;
      for (const item of expiries) expect(Math.abs(Number(item[TTL_ATTRIBUTE]) - ninetyDays)).toBeLessThan(60);
    });

    it('marks a status announced only while the job still has it', async () => {
      const job = await submittedJob();
      const running = await ledger.transitionJob({ job, observation: observation('running', 'InProgress'), arrival: arrival('evt-1') });

      // `pending` is marked by Tuning Job Submitted's announcement claim, not by markSubmitted; a late mark for it changes nothing
      await ledger.markAnnounced(job.jobId, 'pending');
      expect((await ledger.getJob(job.jobId))?.announcedStatus).toBeUndefined();
      await ledger.markAnnounced(job.jobId, 'running');
      expect(await ledger.getJob(job.jobId)).toEqual({ ...running.job, announcedStatus: 'running' });
    });

    it('lists jobs newest first', async () => {
      const older = await ledger.createJob(newJob({ createdAt: '2099-01-01T00:00:00.000Z' }));
      const newer = await ledger.createJob(newJob({ createdAt: '2099-01-02T00:00:00.000Z' }));

      expect((await ledger.listJobs({ limit: 2 })).jobs.map((j) => j.jobId)).toEqual([newer.job.jobId, older.job.jobId]);
      const { jobs: all, next } = await ledger.listJobs();
      expect(next).toBeUndefined();
      expect(all.length).toBeGreaterThan(2);
      expect(all.map((j) => j.createdAt)).toEqual([...all.map((j) => j.createdAt)].sort().reverse());
    });

    it('pages through jobs newest first with a cursor, and a job created meanwhile shifts no page', async () => {
      const name = `paged-${randomUUID().slice(0, 8)}`;
      const at = (day: number) => `2098-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
      // two share a createdAt: the job id breaks the tie, so no page repeats or skips one
      const created = await Promise.all([1, 2, 3, 3, 4].map((day) => ledger.createJob(newJob({ name, createdAt: at(day) }))));
      const expected = created.map((c) => c.job).sort((a, b) => (a.createdAt === b.createdAt ? (a.jobId < b.jobId ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1)).map((j) => j.jobId);

      const first = await ledger.listJobs({ nameContains: name, limit: 2 });
      await ledger.createJob(newJob({ name, createdAt: at(9) }));
      const second = await ledger.listJobs({ nameContains: name, limit: 2, cursor: first.next as string });
      const third = await ledger.listJobs({ nameContains: name, limit: 2, cursor: second.next as string });

      expect(first.jobs.map((j) => j.jobId)).toEqual(expected.slice(0, 2));
      expect(second.jobs.map((j) => j.jobId)).toEqual(expected.slice(2, 4));
      expect(third.jobs.map((j) => j.jobId)).toEqual(expected.slice(4));
      expect(third.next).toBeUndefined();
    });

    it('filters jobs by status, provider and a substring of the name, together', async () => {
      const tag = randomUUID().slice(0, 8);
      const failedLocal = await ledger.createJob(newJob({ name: `filter-${tag}-a` }));
      await ledger.markSubmitFailed(failedLocal.job.jobId, 'refused', failedLocal.job.createdAt);
      const failedSageMaker = await ledger.createJob(newJob({ name: `filter-${tag}-b`, provider: 'sagemaker' }));
      await ledger.markSubmitFailed(failedSageMaker.job.jobId, 'refused', failedSageMaker.job.createdAt);
      const submitting = await ledger.createJob(newJob({ name: `filter-${tag}-c` }));
      await ledger.createJob(newJob({ name: 'someone-else' }));

      const ids = async (query: Parameters<typeof ledger.listJobs>[0]) => (await ledger.listJobs(query)).jobs.map((j) => j.jobId).sort();

      expect(await ids({ nameContains: tag })).toEqual([failedLocal.job.jobId, failedSageMaker.job.jobId, submitting.job.jobId].sort());
      expect(await ids({ nameContains: tag, status: 'failed' })).toEqual([failedLocal.job.jobId, failedSageMaker.job.jobId].sort());
      expect(await ids({ nameContains: tag, status: 'failed', provider: 'sagemaker' })).toEqual([failedSageMaker.job.jobId]);
      expect(await ids({ nameContains: `${tag}-c`, status: 'failed' })).toEqual([]);
    });

    it('refuses a cursor it did not make, naming cursor, before reading anything', async () => {
      const forged = Buffer.from(JSON.stringify({ pk: 'JOB#x', sk: 'META' })).toString('base64url');
      await expect(ledger.listJobs({ cursor: forged })).rejects.toThrow(ValidationError);
      await expect(ledger.listJobs({ cursor: 'not a cursor' })).rejects.toMatchObject({ issues: [{ path: 'cursor' }] });
    });
  });

  describe('trials', () => {
    it('creates, advances, and never moves a trial back; announced survives an older view', async () => {
      const job = await submittedJob();

      const created = await ledger.putTrial(job.jobId, listed(trial('t1', 'running')));
      const advanced = await ledger.putTrial(job.jobId, listed(trial('t1', 'succeeded', 0.91, { endedAt: '2026-11-23T10:05:00.000Z', metrics: { loss: 0.2 } })));
      await ledger.markTrialAnnounced(job.jobId, 't1');
      const late = await ledger.putTrial(job.jobId, listed(trial('t1', 'running')));
      const repeat = await ledger.putTrial(job.jobId, listed(trial('t1', 'succeeded', 0.91)));

      expect(created).toEqual({ kind: 'created', stored: { ...trial('t1', 'running'), announced: false } });
      expect(advanced.kind).toBe('advanced');
      expect(advanced.stored).toMatchObject({ status: 'succeeded', objectiveValue: 0.91, announced: false });
      const stored = { ...advanced.stored, announced: true };
      expect(late).toEqual({ kind: 'unchanged', stored });
      expect(repeat).toEqual({ kind: 'unchanged', stored });
      expect(await ledger.listTrials(job.jobId)).toEqual([stored]);
    });

    it('stores a trial once when fifty writers race', async () => {
      const job = await submittedJob();
      const results = await Promise.all(Array.from({ length: 50 }, () => ledger.putTrial(job.jobId, listed(trial('t-race', 'succeeded', 0.5)))));

      expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'unchanged')).toHaveLength(49);
      expect(await ledger.listTrials(job.jobId)).toHaveLength(1);
    });

    it('merges what an observation adds at the same status: a Vertex STOPPING sighting, then the listing’s objective', async () => {
      const job = await submittedJob();
      await ledger.putTrial(job.jobId, listed(trial('t1', 'running'), '2026-11-23T10:00:00.000Z'));
      const stopping = await ledger.putTrial(job.jobId, listed(trial('t1', 'running', undefined, { stoppedEarly: true }), '2026-11-23T10:01:00.000Z'));
      const finished = await ledger.putTrial(job.jobId, listed(trial('t1', 'succeeded', 0.7, { objectiveStatus: 'succeeded' }), '2026-11-23T10:02:00.000Z'));

      expect(stopping.kind).toBe('advanced');
      expect(finished.stored).toMatchObject({ status: 'succeeded', stoppedEarly: true, objectiveValue: 0.7 });
      expect(await ledger.listTrials(job.jobId)).toEqual([finished.stored]);
    });

    it('lands every one of many concurrent observations of a trial, in any order, as the pure merge does', async () => {
      const job = await submittedJob();
      const observations: TrialObservation[] = [
        { trial: trial('t1', 'running'), source: 'provider', observedAt: '2026-11-23T10:00:00.000Z' },
        { trial: trial('t1', 'succeeded', 0.99, { hyperparameters: { num_round: '200' }, artifactUri: 's3://m/t1' }), source: 'event', observedAt: '2026-11-23T10:09:00.000Z' },
        { trial: trial('t1', 'succeeded', 0.93, { objectiveStatus: 'succeeded', endedAt: '2026-11-23T10:05:00.000Z' }), source: 'provider', observedAt: '2026-11-23T10:06:00.000Z' },
        { trial: trial('t1', 'running', undefined, { stoppedEarly: true, failureReason: 'none' }), source: 'provider', observedAt: '2026-11-23T10:03:00.000Z' },
      ];
      let expected: MergedTrial | undefined;
      for (const o of observations) expected = mergeTrial(expected, o);

      await Promise.all(Array.from({ length: 24 }, (_, i) => ledger.putTrial(job.jobId, observations[(i * 5) % observations.length] as TrialObservation)));
      await ledger.markTrialAnnounced(job.jobId, 't1');
      await Promise.all(observations.map((o) => ledger.putTrial(job.jobId, { ...o, observedAt: '2026-11-23T09:00:00.000Z' })));

      expect(await ledger.listTrials(job.jobId)).toEqual([{ ...expected?.trial, announced: true }]);
    });

    it('claims one trial listing per interval', async () => {
      const job = await submittedJob();
      expect(await ledger.claimTrialListing(job.jobId, '2026-11-23T10:00:00.000Z', '2026-11-23T09:50:00.000Z')).toBe(true);
      expect(await ledger.claimTrialListing(job.jobId, '2026-11-23T10:05:00.000Z', '2026-11-23T09:55:00.000Z')).toBe(false);
      expect(await ledger.claimTrialListing(job.jobId, '2026-11-23T10:10:00.000Z', '2026-11-23T10:00:00.000Z')).toBe(true);
      expect(await ledger.claimTrialListing('no-such-job', '2026-11-23T10:10:00.000Z', '2026-11-23T10:00:00.000Z')).toBe(false);
    });

    it('breaks a tie for best as selectBestTrial does, whatever order the tied trials are offered in', async () => {
      const tied = [
        trial('t-b', 'succeeded', 0.9, { endedAt: '2026-11-23T10:05:00.000Z' }),
        trial('t-a', 'succeeded', 0.9, { endedAt: '2026-11-23T10:05:00.000Z' }),
        trial('t-c', 'succeeded', 0.9, { endedAt: '2026-11-23T10:01:00.000Z' }),
      ];
      for (const order of [tied, [...tied].reverse(), [tied[1], tied[2], tied[0]]] as Trial[][]) {
        const job = await submittedJob();
        for (const t of order) await ledger.offerBestTrial(job.jobId, t, 'maximize');
        expect((await ledger.getJob(job.jobId))?.bestTrial?.trialId).toBe(selectBestTrial(tied, 'maximize')?.trialId);
      }
    });

    it('refreshes the best trial with its corrected value, and sets it outright', async () => {
      const job = await submittedJob();
      await ledger.offerBestTrial(job.jobId, trial('t1', 'succeeded', 0.99), 'maximize');
      expect(await ledger.offerBestTrial(job.jobId, trial('t1', 'succeeded', 0.93), 'maximize')).toBe(true);
      expect((await ledger.getJob(job.jobId))?.bestTrial?.objectiveValue).toBe(0.93);
      await ledger.setBestTrial(job.jobId, trial('t2', 'succeeded', 0.95));
      expect((await ledger.getJob(job.jobId))?.bestTrial?.trialId).toBe('t2');
      expect(await ledger.offerBestTrial(job.jobId, trial('t3', 'succeeded', 0.94), 'maximize')).toBe(false);
    });

    it('moves the trial cursor only from where it was read', async () => {
      const job = await submittedJob();

      expect(await ledger.advanceTrialCursor(job.jobId, undefined, 'p1')).toBe(true);
      expect(await ledger.advanceTrialCursor(job.jobId, undefined, 'p1-again')).toBe(false);
      expect(await ledger.advanceTrialCursor(job.jobId, 'p0', 'p2')).toBe(false);
      expect(await ledger.advanceTrialCursor(job.jobId, 'p1', 'p2')).toBe(true);
      expect((await ledger.getJob(job.jobId))?.trialCursor).toBe('p2');
    });

    it.each([
      { goal: 'maximize' as const, values: [0.8, 0.9, 0.85, 0.9], best: 0.9, winner: 't1' },
      { goal: 'minimize' as const, values: [0.8, 0.9, 0.5, 0.5], best: 0.5, winner: 't2' },
    ])('keeps the better trial as best when the goal is to $goal', async ({ goal, values, best, winner }) => {
      const job = await submittedJob();
      const accepted: boolean[] = [];
      for (const [i, value] of values.entries()) accepted.push(await ledger.offerBestTrial(job.jobId, trial(`t${i}`, 'succeeded', value), goal));

      expect(await ledger.offerBestTrial(job.jobId, trial('t-none', 'succeeded'), goal)).toBe(false);
      expect(await ledger.offerBestTrial(job.jobId, trial('t-nan', 'succeeded', Number.NaN), goal)).toBe(false);
      expect(accepted[0]).toBe(true);
      expect(accepted[3]).toBe(false); // a tie with the same end goes to the smaller id, stored first here
      expect((await ledger.getJob(job.jobId))?.bestTrial).toEqual(trial(winner, 'succeeded', best));
    });

    it('reads all trials and all history past the 1 MB page limit', async () => {
      const pagingClient = dynamoClient();
      let queries = 0;
      pagingClient.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'QueryCommand') queries++;
          return next(args);
        },
        { step: 'initialize', name: 'countQueries' },
      );
      const pagingLedger = new DynamoDbLedger({ client: pagingClient, tableName });
      const job = await submittedJob();
      const payload = 'x'.repeat(5_000); // 300 trials: 1.5 MB
      const trials = Array.from({ length: 300 }, (_, i) => trial(`t${String(i).padStart(3, '0')}`, 'succeeded', i, { hyperparameters: { payload, i: String(i) } }));
      for (let i = 0; i < trials.length; i += 50) await Promise.all(trials.slice(i, i + 50).map((t) => ledger.putTrial(job.jobId, listed(t))));
      const source = 'y'.repeat(16_000); // 80 arrivals: 1.3 MB
      const arrivals = Array.from({ length: 80 }, (_, i) => ({ ...arrival(`evt-${i}`, 'ignored'), source: `${source}-${i}` }));
      for (let i = 0; i < arrivals.length; i += 40) await Promise.all(arrivals.slice(i, i + 40).map((a) => ledger.recordArrival(job.jobId, a)));

      const all = await pagingLedger.listTrials(job.jobId);
      const trialQueries = queries;
      const history = await pagingLedger.listHistory(job.jobId);

      expect(all).toHaveLength(300);
      expect(all.map((t) => t.trialId)).toEqual(trials.map((t) => t.trialId));
      expect(trialQueries).toBeGreaterThan(1); // one query page holds at most 1 MB
      expect(history).toHaveLength(80);
      expect(queries - trialQueries).toBeGreaterThan(1);
      pagingClient.destroy();
    }, 20_000);
  });

  describe('champions', () => {
    const candidate = (jobId: string, objectiveValue: number): Omit<Champion, 'revision'> => ({
      model: 'churn',
      jobId,
      trialId: 't1',
      objectiveValue,
      goal: 'maximize',
      version: `${jobId}/t1`,
      promotedAt: '2026-11-23T10:00:00.000Z',
    });
    const record = (model: string, jobId: string, decidedAt: string, objectiveValue?: number): PromotionRecord => ({
      model,
      jobId,
      decidedAt,
      decision: 'promoted',
      reason: 'test',
      trialId: 't1',
      ...(objectiveValue !== undefined ? { objectiveValue } : {}),
    });

    it('promotes only over the champion it read', async () => {
      const model = `churn-${randomUUID().slice(0, 8)}`;
      const first = await ledger.promoteChampion({ candidate: { ...candidate('job-a', 0.9), model }, expected: undefined, record: record(model, 'job-a', '2026-11-23T10:00:00.000Z', 0.9) });
      if (first.kind !== 'promoted') throw new Error('first promotion should win');
      const noneExpected = await ledger.promoteChampion({ candidate: { ...candidate('job-x', 0.99), model }, expected: undefined, record: record(model, 'job-x', '2026-11-23T10:01:00.000Z') });
      const second = await ledger.promoteChampion({ candidate: { ...candidate('job-b', 0.95), model }, expected: first.champion, record: record(model, 'job-b', '2026-11-23T10:02:00.000Z', 0.95) });
      const stale = await ledger.promoteChampion({ candidate: { ...candidate('job-c', 0.97), model }, expected: first.champion, record: record(model, 'job-c', '2026-11-23T10:03:00.000Z') });

      expect(first.champion).toMatchObject({ jobId: 'job-a', revision: 1 });
      expect(noneExpected).toEqual({ kind: 'conflict', current: first.champion });
      expect(second).toMatchObject({ kind: 'promoted', champion: { jobId: 'job-b', revision: 2 } });
      expect(stale).toEqual({ kind: 'conflict', current: { ...candidate('job-b', 0.95), model, revision: 2 } });
      expect(await ledger.getChampion(model)).toMatchObject({ jobId: 'job-b', objectiveValue: 0.95, revision: 2 });
      // A lost promotion writes no PROMO item: it was part of the cancelled transaction.
      expect((await ledger.listPromotions(model)).map((p) => p.jobId)).toEqual(['job-a', 'job-b']);
    });

    it('lets exactly one of two concurrent promotions from the same champion win', async () => {
      const model = `churn-${randomUUID().slice(0, 8)}`;
      const base = await ledger.promoteChampion({ candidate: { ...candidate('job-0', 0.8), model }, expected: undefined, record: record(model, 'job-0', '2026-11-23T09:00:00.000Z') });
      if (base.kind !== 'promoted') throw new Error('base promotion should win');

      const results = await Promise.all(
        ['job-1', 'job-2'].map((jobId, i) =>
          ledger.promoteChampion({ candidate: { ...candidate(jobId, 0.9 + i / 100), model }, expected: base.champion, record: record(model, jobId, `2026-11-23T10:0${i}:00.000Z`) }),
        ),
      );

      const winners = results.filter((r) => r.kind === 'promoted');
      expect(winners).toHaveLength(1);
      const champion = await ledger.getChampion(model);
      expect(champion?.revision).toBe(2);
      expect(winners[0]).toEqual({ kind: 'promoted', champion });
      expect(await ledger.getChampion('no-such-model')).toBeUndefined();
    });

    it('records one decision per job and model, however often the job is decided again', async () => {
      const model = `churn-${randomUUID().slice(0, 8)}`;
      const skipped = (decidedAt: string) => ({ model, jobId: 'job-3', decidedAt, decision: 'skipped' as const, reason: 'does not beat the champion' });
      expect(await ledger.recordPromotion(skipped('2026-11-23T12:00:00.000Z'))).toBe('recorded');
      expect(await ledger.recordPromotion(skipped('2026-11-23T12:05:00.000Z'))).toBe('duplicate');
      await ledger.promoteChampion({ candidate: { ...candidate('job-4', 0.9), model }, expected: undefined, record: record(model, 'job-4', '2026-11-23T12:10:00.000Z') });
      expect(await ledger.recordPromotion({ ...skipped('2026-11-23T12:15:00.000Z'), jobId: 'job-4' })).toBe('duplicate');

      expect((await ledger.listPromotions(model)).map((p) => [p.jobId, p.decision])).toEqual([
        ['job-3', 'skipped'],
        ['job-4', 'promoted'],
      ]);
    });

    it('records skipped decisions and lists them in decision order', async () => {
      const model = `churn-${randomUUID().slice(0, 8)}`;
      await ledger.recordPromotion({ model, jobId: 'job-2', decidedAt: '2026-11-23T11:00:00.000Z', decision: 'skipped', reason: 'job ended failed' });
      await ledger.recordPromotion({ ...record(model, 'job-1', '2026-11-23T10:00:00.000Z', 0.7), decision: 'skipped', reason: 'below threshold' });

      expect(await ledger.listPromotions(model)).toEqual([
        { ...record(model, 'job-1', '2026-11-23T10:00:00.000Z', 0.7), decision: 'skipped', reason: 'below threshold' },
        { model, jobId: 'job-2', decidedAt: '2026-11-23T11:00:00.000Z', decision: 'skipped', reason: 'job ended failed' },
      ]);
    });
  });
});
