import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CancellationReason,
  type DynamoDBClient,
  type Put,
  type QueryCommandInput,
  type ScanCommandInput,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyError, JobNotFoundError, TunewireError } from '../../domain/errors';
import type { JobObservation, JobRecord } from '../../domain/job';
import { PROVIDERS, type Goal, type ProviderName, type TuningSpec } from '../../domain/spec';
import { isTerminalJobStatus, JOB_STATUSES, TRIAL_STATUSES, trialStatusRank, type JobStatus, type TrialStatus } from '../../domain/status';
import { mergeTrial, sameTrial, type MergedTrial, type Trial, type TrialObservation, type TrialStamps } from '../../domain/trial';
import { systemClock, type Clock } from '../../ports/clock';
import type { AnyTunewireEvent } from '../../domain/events';
import type {
  AnnouncementClaim,
  AnnouncementClaimRequest,
  AnnouncementMarks,
  ArrivalOutcome,
  ArrivalRecord,
  ClaimResult,
  Champion,
  JobPage,
  JobQuery,
  Ledger,
  NewJob,
  PromoteResult,
  PromotionRecord,
  StoredTrial,
  TransitionResult,
  TrialWriteResult,
} from '../../ports/ledger';
import { decodeJobCursor, encodeJobCursor, type JobCursor } from './job-cursor';
import { queryAll, scanAll } from './paging';
import { BY_ACTIVE_INDEX, BY_PROVIDER_JOB_INDEX, HISTORY_RETENTION_DAYS, keys, TTL_ATTRIBUTE } from './table';

type Item = Record<string, AttributeValue>;
type Row = Readonly<Record<string, unknown>>;

/** A stored item lacks a field the ledger always writes, or holds the wrong type: someone else wrote it. */
export class LedgerItemCorruptError extends TunewireError {
  readonly code = 'LEDGER.ITEM_CORRUPT';
  readonly retryable = false;
  constructor(readonly key: string, readonly field: string, problem: string) {
    super(`ledger item ${key}: ${field} ${problem}`);
  }
}

/** DynamoDB refused an item over its 400 KB limit: writing it again cannot succeed. */
export class LedgerItemTooLargeError extends TunewireError {
  readonly code = 'LEDGER.ITEM_TOO_LARGE';
  readonly retryable = false;
}

export class TrialNotFoundError extends TunewireError {
  readonly code = 'TRIAL.NOT_FOUND';
  readonly retryable = false;
  constructor(readonly jobId: string, readonly trialId: string) {
    super(`trial ${trialId} of job ${jobId} was not found`);
  }
}

export interface DynamoDbLedgerOptions {
  /** Built once in the composition root; its retry strategy handles throttling. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly clock?: Clock;
}

/** Attempts for a write that only collided with another in-flight transaction (not retried by the SDK). */
const CONFLICT_ATTEMPTS = 6;
/** Merges of one trial that may lose the race to other writers before giving up (each loss is progress elsewhere). */
const MERGE_ATTEMPTS = 20;
const CONDITION_FAILED = 'ConditionalCheckFailed';
/** Cancellation codes that mean "try the same transaction again", as opposed to "a condition said no". */
const TRANSIENT_CANCELLATIONS: ReadonlySet<string> = new Set(['None', 'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/**
 * The Ledger on one DynamoDB table (layout in ./table.ts). Every write is conditional; where two
 * items must change together (a status change and its dedupe marker, a champion and its history),
 * they are written in one transaction. A failed condition becomes a result carrying the stored
 * item, never an exception.
 *
 * Only status changes (transitionJob, markSubmitted) move the job's `version`; the cursor, the best
 * trial and `announcedStatus` each have their own condition, so trial fan-out never makes a status
 * change lose its race.
 *
 * @example
 *   const ledger = new DynamoDbLedger({ client: new DynamoDBClient({}), tableName: config.tableName });
 *   const { job } = await ledger.createJob(newJob);
 */
/** The claim time of a released announcement claim: older than any lease. */
const RELEASED_CLAIM_AT = new Date(0).toISOString();

export class DynamoDbLedger implements Ledger {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoDbLedgerOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  // ---- jobs -------------------------------------------------------------------------------------

  async createJob(input: NewJob): Promise<{ readonly created: boolean; readonly job: JobRecord }> {
    const job: JobRecord = {
      jobId: input.jobId,
      name: input.name,
      provider: input.provider,
      spec: input.spec,
      status: 'submitting',
      version: 1,
      createdAt: input.createdAt,
      updatedAt: input.createdAt,
      providerJobName: input.providerJobName,
      ...(input.trigger !== undefined ? { trigger: input.trigger } : {}),
    };
    // Timeline: submit #1 writes META -> crashes or times out -> submit #2 (same idempotency key,
    // same job id) must find #1's item and adopt it, not overwrite its status or version.
    const jobIsNew = 'attribute_not_exists(pk)';
    try {
      await this.withConflictRetry(() =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem(metaAttributes(job)),
            ConditionExpression: jobIsNew,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { created: true, job };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const stored = error.Item ? jobFromItem(error.Item) : await this.getJob(input.jobId);
      if (!stored) throw error;
      return { created: false, job: stored };
    }
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: toItem({ pk: keys.job(jobId), sk: keys.meta }), ConsistentRead: true }),
    );
    return Item ? jobFromItem(Item) : undefined;
  }

  async findJobByProviderJob(provider: ProviderName, providerJobName: string): Promise<JobRecord | undefined> {
    const x = new Expression();
    const rows = await this.queryAll({
      IndexName: BY_PROVIDER_JOB_INDEX.name,
      KeyConditionExpression: `${x.name(BY_PROVIDER_JOB_INDEX.partitionKey)} = ${x.value('pjob', keys.providerJob(provider, providerJobName))}`,
      ProjectionExpression: x.name('jobId'),
      ...x.attributes(),
    });
    const jobId = rows[0]?.['jobId'];
    // The index is eventually consistent; the table read is not, and the version must be current.
    return typeof jobId === 'string' ? this.getJob(jobId) : undefined;
  }

  async listActiveJobs(provider?: ProviderName): Promise<JobRecord[]> {
    const providers = provider ? [provider] : PROVIDERS;
    const perProvider = await Promise.all(
      providers.map((p) => {
        const x = new Expression();
        return this.queryAll({
          IndexName: BY_ACTIVE_INDEX.name,
          KeyConditionExpression: `${x.name(BY_ACTIVE_INDEX.partitionKey)} = ${x.value('active', keys.active(p))}`,
          ...x.attributes(),
        });
      }),
    );
    // Running jobs, and finished ones whose finish is not announced yet (a lost announcement); the
    // index lags the table a little, so a job announced a moment ago may still be listed.
    return perProvider
      .flat()
      .map(jobFromRow)
      .filter((job) => !isTerminalJobStatus(job.status) || job.announcedStatus !== job.status);
  }

  /**
   * A scan of the whole table keeping the META items that pass the filters, sorted here; the page
   * starts after the cursor's position in that order, so jobs created while paging never shift a
   * page. Fine while the table is small (the CLI and GET /jobs list jobs); a `byCreated` index
   * would make it a query once that stops being true.
   */
  async listJobs(query: JobQuery = {}): Promise<JobPage> {
    // read first: a cursor we did not make is refused before any read
    const after = query.cursor === undefined ? undefined : decodeJobCursor(query.cursor);
    const x = new Expression();
    const filters = [
      `${x.name('sk')} = ${x.value('meta', keys.meta)}`,
      ...(query.status ? [`${x.name('status')} = ${x.value('status', query.status)}`] : []),
      ...(query.provider ? [`${x.name('provider')} = ${x.value('provider', query.provider)}`] : []),
      ...(query.nameContains ? [`contains(${x.name('name')}, ${x.value('name', query.nameContains)})`] : []),
    ];
    const rows = await this.scanAll({ FilterExpression: filters.join(' AND '), ...x.attributes() });
    const newestFirst = (a: JobCursor, b: JobCursor) => (a.createdAt === b.createdAt ? compare(b.jobId, a.jobId) : compare(b.createdAt, a.createdAt));
    const sorted = rows.map(jobFromRow).sort(newestFirst);
    const rest = after ? sorted.filter((job) => newestFirst(after, job) < 0) : sorted;
    if (query.limit === undefined || rest.length <= query.limit) return { jobs: rest };
    const jobs = rest.slice(0, Math.max(0, query.limit));
    const last = jobs.at(-1);
    return last ? { jobs, next: encodeJobCursor(last) } : { jobs };
  }

  async markSubmitted(jobId: string, providerJobId: string | undefined, at: string, adopted = false): Promise<JobRecord> {
    // Timeline: createJob wrote META in `submitting` -> the provider job was created -> here it
    // becomes `pending`. A retried submit, or a provider event that moved the job on meanwhile,
    // finds it past `submitting`: the stored job is returned unchanged. `pending` is announced by
    // Tuning Job Submitted (the announcement claim marks it), not here.
    const x = new Expression();
    const update = x.set({ status: 'pending', providerJobId, submittedAt: at, adopted, updatedAt: at, [BY_ACTIVE_INDEX.sortKey]: at }, [
      `${x.name('version')} = ${x.name('version')} + ${x.value('one', 1)}`,
    ]);
    return this.updateWhileSubmitting(jobId, x, update);
  }

  async markSubmitFailed(jobId: string, reason: string, at: string): Promise<JobRecord> {
    // Timeline: createJob wrote META in `submitting` -> the provider refused the create (no
    // credentials, a rejected request) -> here the job becomes `failed`, leaving byActive so the
    // reconciler never describes a job the provider does not have. A retry, or an event, that
    // moved the job on meanwhile finds it past `submitting`: the stored job is returned unchanged.
    const x = new Expression();
    const update = x.set(
      { status: 'failed', failureReason: reason, endReason: 'the provider refused the create', updatedAt: at },
      [`${x.name('version')} = ${x.name('version')} + ${x.value('one', 1)}`],
      [BY_ACTIVE_INDEX.partitionKey, BY_ACTIVE_INDEX.sortKey],
    );
    return this.updateWhileSubmitting(jobId, x, update);
  }

  /** Applies `update` to the job's META if it is still `submitting`; either way returns the job as stored. */
  private async updateWhileSubmitting(jobId: string, x: Expression, update: string): Promise<JobRecord> {
    const jobExists = 'attribute_exists(pk)';
    const stillSubmitting = `${x.name('status')} = ${x.value('submitting', 'submitting')}`;
    try {
      const { Attributes } = await this.withConflictRetry(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.metaKey(jobId),
            UpdateExpression: update,
            ConditionExpression: `${jobExists} AND ${stillSubmitting}`,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ...x.attributes(),
          }),
        ),
      );
      if (!Attributes) throw new JobNotFoundError(jobId);
      return jobFromItem(Attributes);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!error.Item) throw new JobNotFoundError(jobId);
      return jobFromItem(error.Item);
    }
  }


  async transitionJob(input: { readonly job: JobRecord; readonly observation: JobObservation; readonly arrival: ArrivalRecord }): Promise<TransitionResult> {
    const { job, observation, arrival } = input;
    const now = this.clock.now().toISOString();
    const next: JobRecord = {
      ...job,
      status: observation.status,
      providerStatus: observation.providerStatus,
      lastObservedAt: observation.observedAt,
      updatedAt: now,
      version: job.version + 1,
      ...(observation.failureReason !== undefined ? { failureReason: observation.failureReason } : {}),
      ...(observation.endReason !== undefined ? { endReason: observation.endReason } : {}),
      ...(observation.trialCounts !== undefined ? { trialCounts: observation.trialCounts } : {}),
      ...(observation.flags !== undefined ? { flags: observation.flags } : {}),
    };
    const terminal = isTerminalJobStatus(next.status);

    // Timeline: provider event E arrives -> status-change reads the job at version v and judges E
    // -> writes here. Meanwhile E may be delivered again (its SEEN marker exists: a duplicate) or
    // another event may have moved the job (version is no longer v: a conflict, judge again).
    // Marker, status and history change together or not at all.
    const eventIsNew = 'attribute_not_exists(pk)';
    const meta = new Expression();
    const jobExists = 'attribute_exists(pk)';
    const versionIsTheOneRead = `${meta.name('version')} = ${meta.value('expected', job.version)}`;
    const update = meta.set(
      {
        status: next.status,
        providerStatus: next.providerStatus,
        failureReason: observation.failureReason,
        endReason: observation.endReason,
        trialCounts: observation.trialCounts,
        flags: observation.flags,
        lastObservedAt: next.lastObservedAt,
        updatedAt: now,
        version: next.version,
        // Sparse index: a job stays in byActive until its finish is announced (completeAnnouncement),
        // so the reconciler comes back for a terminal status whose announcement was lost.
        [BY_ACTIVE_INDEX.partitionKey]: keys.active(job.provider),
        [BY_ACTIVE_INDEX.sortKey]: now,
      },
      [],
      [],
    );

    const reasons = await this.transact([
      { Put: { TableName: this.tableName, Item: toItem(this.seenAttributes(job.jobId, arrival)), ConditionExpression: eventIsNew } },
      {
        Update: {
          TableName: this.tableName,
          Key: this.metaKey(job.jobId),
          UpdateExpression: update,
          ConditionExpression: `${jobExists} AND ${versionIsTheOneRead}`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...meta.attributes(),
        },
      },
      { Put: this.historyPut(job.jobId, arrival) },
    ]);
    if (!reasons) return { kind: 'applied', job: next };

    const [seenReason, metaReason] = reasons;
    const stored = metaReason?.Item ? jobFromItem(metaReason.Item) : undefined;
    if (seenReason?.Code === CONDITION_FAILED) {
      await this.putHistory(job.jobId, { ...arrival, outcome: 'duplicate' });
      const current = stored ?? (await this.getJob(job.jobId));
      if (!current) throw new JobNotFoundError(job.jobId);
      return { kind: 'duplicate', job: current };
    }
    if (metaReason?.Code === CONDITION_FAILED) {
      if (!stored) throw new JobNotFoundError(job.jobId);
      return { kind: 'conflict', job: stored };
    }
    throw new Error(`transitionJob ${job.jobId}: unexpected cancellation ${describeReasons(reasons)}`);
  }

  async recordArrival(jobId: string, arrival: ArrivalRecord): Promise<'recorded' | 'duplicate'> {
    // Timeline: event E arrives and changes nothing (stale, same, ignored) -> its marker and history
    // entry are written together; a redelivery of E finds the marker and is recorded as a duplicate.
    const eventIsNew = 'attribute_not_exists(pk)';
    const reasons = await this.transact([
      { Put: { TableName: this.tableName, Item: toItem(this.seenAttributes(jobId, arrival)), ConditionExpression: eventIsNew } },
      { Put: this.historyPut(jobId, arrival) },
    ]);
    if (!reasons) return 'recorded';
    if (reasons[0]?.Code === CONDITION_FAILED) {
      await this.putHistory(jobId, { ...arrival, outcome: 'duplicate' });
      return 'duplicate';
    }
    throw new Error(`recordArrival ${jobId}: unexpected cancellation ${describeReasons(reasons)}`);
  }

  async markAnnounced(jobId: string, status: JobStatus): Promise<void> {
    // Timeline: a status is written -> its events are published -> marked here. If the job moved on
    // in between, the newer status is announced by whoever moved it; this mark is then moot.
    const x = new Expression();
    const jobExists = 'attribute_exists(pk)';
    const statusUnchanged = `${x.name('status')} = ${x.value('status', status)}`;
    await this.ignoringFailedCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.metaKey(jobId),
          UpdateExpression: x.set({ announcedStatus: status }),
          ConditionExpression: `${jobExists} AND ${statusUnchanged}`,
          ...x.attributes(),
        }),
      ),
    );
  }

  async claimAnnouncement(request: AnnouncementClaimRequest): Promise<ClaimResult> {
    const key = { pk: keys.job(request.jobId), sk: announceKey(request.key) };
    const claim: AnnouncementClaim = {
      jobId: request.jobId,
      key: request.key,
      sequence: request.sequence,
      events: request.events,
      marks: request.marks,
      holder: request.holder,
      claimedAt: request.at,
      resumed: false,
    };
    // Timeline: handlers A and B want to publish the same announcement (B a duplicate delivery, a
    // concurrent fan-out, a listing) -> the first Put wins and publishes; the other finds the claim
    // and publishes nothing. A crashes between claim and complete -> after the lease, or at once
    // for A's own retry (same holder), the next asker resumes the claim and publishes its stored
    // events, byte for byte. A job's announcements are one chain: step n may be claimed only once
    // step n-1 is done, so they go out in order.
    const x = new Expression();
    const nothingClaimed = 'attribute_not_exists(pk)';
    const previousStepDone = `(${x.name('done')} = ${x.value('true', true)} AND ${x.name('sequence')} = ${x.value('previous', request.sequence - 1)})`;
    let stored: StoredClaim;
    try {
      await this.withConflictRetry(() =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...key, entity: 'announcement', ...claimAttributes(claim), done: false }),
            ConditionExpression: `${nothingClaimed} OR ${previousStepDone}`,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ...x.attributes(),
          }),
        ),
      );
      return { kind: 'won', claim };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || !error.Item) throw error;
      stored = storedClaimFromRow(fromItem(error.Item), request.jobId);
    }
    if (stored.done) return stored.claim.sequence >= request.sequence ? { kind: 'done' } : { kind: 'held' };
    const abandoned = stored.claim.claimedAt <= request.staleBefore;
    if (!abandoned && stored.claim.holder !== request.holder) return { kind: 'held' };

    const y = new Expression();
    const stillTheClaimRead = `${y.name('done')} = ${y.value('false', false)} AND ${y.name('claimedAt')} = ${y.value('claimedAt', stored.claim.claimedAt)} AND ${y.name('holder')} = ${y.value('holder', stored.claim.holder)}`;
    const resumed = await this.ignoringFailedCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem(key),
          UpdateExpression: y.set({ claimedAt: request.at, holder: request.holder }),
          ConditionExpression: stillTheClaimRead,
          ...y.attributes(),
        }),
      ),
    );
    if (!resumed) return { kind: 'held' };
    return { kind: 'won', claim: { ...stored.claim, holder: request.holder, claimedAt: request.at, resumed: true } };
  }

  async releaseAnnouncement(claim: AnnouncementClaim): Promise<void> {
    // A claim dated at the epoch is abandoned for every asker: the next one resumes it, stored events and all.
    const x = new Expression();
    const claimIsOurs = `${x.name('done')} = ${x.value('false', false)} AND ${x.name('holder')} = ${x.value('holder', claim.holder)} AND ${x.name('claimedAt')} = ${x.value('claimedAt', claim.claimedAt)}`;
    await this.ignoringFailedCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem({ pk: keys.job(claim.jobId), sk: announceKey(claim.key) }),
          UpdateExpression: x.set({ claimedAt: RELEASED_CLAIM_AT }),
          ConditionExpression: claimIsOurs,
          ...x.attributes(),
        }),
      ),
    );
  }

  async completeAnnouncement(claim: AnnouncementClaim): Promise<boolean> {
    // Timeline: the claim's events are published -> the claim is marked done and the marks (trial
    // announced, the job's announced sequence and status) are written in one transaction, on the
    // condition that the claim is still ours: one resumed after our lease ran out is theirs to finish.
    const x = new Expression();
    const claimIsOurs = `${x.name('done')} = ${x.value('false', false)} AND ${x.name('holder')} = ${x.value('holder', claim.holder)} AND ${x.name('claimedAt')} = ${x.value('claimedAt', claim.claimedAt)}`;
    const items: TransactWriteItem[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: toItem({ pk: keys.job(claim.jobId), sk: announceKey(claim.key) }),
          UpdateExpression: x.set({ done: true, publishedAt: this.clock.now().toISOString() }),
          ConditionExpression: claimIsOurs,
          ...x.attributes(),
        },
      },
    ];
    const { trialId, ...jobMarks } = claim.marks;
    if (trialId !== undefined) {
      const t = new Expression();
      items.push({
        Update: {
          TableName: this.tableName,
          Key: toItem({ pk: keys.job(claim.jobId), sk: keys.trial(trialId) }),
          // `rev` moves too: a merge that read the item before this write must not put it back.
          UpdateExpression: `${t.set({ announced: true })} ADD ${t.name('rev')} ${t.value('one', 1)}`,
          ConditionExpression: 'attribute_exists(pk)',
          ...t.attributes(),
        },
      });
    }
    if (Object.values(jobMarks).some((v) => v !== undefined)) {
      const j = new Expression();
      // Tuning Job Finished is out: the job leaves byActive, and the reconciler stops describing it.
      const finished = jobMarks.announcedStatus !== undefined && isTerminalJobStatus(jobMarks.announcedStatus);
      items.push({
        Update: {
          TableName: this.tableName,
          Key: this.metaKey(claim.jobId),
          UpdateExpression: j.set(jobMarks, [], finished ? [BY_ACTIVE_INDEX.partitionKey, BY_ACTIVE_INDEX.sortKey] : []),
          ConditionExpression: 'attribute_exists(pk)',
          ...j.attributes(),
        },
      });
    }
    const reasons = await this.transact(items);
    if (!reasons) return true;
    if (reasons[0]?.Code === CONDITION_FAILED) return false;
    if (trialId !== undefined && reasons[1]?.Code === CONDITION_FAILED) throw new TrialNotFoundError(claim.jobId, trialId);
    throw new JobNotFoundError(claim.jobId);
  }

  async listHistory(jobId: string): Promise<ArrivalRecord[]> {
    return (await this.queryPrefix(keys.job(jobId), keys.historyPrefix)).map(arrivalFromRow);
  }

  // ---- trials -----------------------------------------------------------------------------------

  async putTrial(jobId: string, observation: TrialObservation): Promise<TrialWriteResult> {
    const key = { pk: keys.job(jobId), sk: keys.trial(observation.trial.trialId) };
    // Timeline: events and listings of one trial arrive in any order, repeated, from concurrent
    // fan-outs. Each writer merges its observation into the item it last saw and writes on the
    // condition that the item is still that one (`rev`); a writer that lost the race gets the
    // newer item back from the failed condition and merges into that. The first write needs no
    // read: it only creates. `announced` is carried over as stored.
    let current: StoredMerge | undefined;
    for (let attempt = 1; ; attempt++) {
      const merged = mergeTrial(current?.merged, observation);
      if (current && sameTrial(merged.trial, current.merged.trial) && sameStamps(merged.stamps, current.merged.stamps)) {
        return { kind: 'unchanged', stored: { ...current.merged.trial, announced: current.announced } };
      }
      const x = new Expression();
      const condition = current === undefined ? 'attribute_not_exists(pk)' : current.rev === undefined ? `attribute_not_exists(${x.name('rev')})` : `${x.name('rev')} = ${x.value('rev', current.rev)}`;
      const announced = current?.announced ?? false;
      try {
        await this.withConflictRetry(() =>
          this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: toItem({
                ...key,
                entity: 'trial',
                jobId,
                ...cleanTrial(merged.trial),
                announced,
                stamps: merged.stamps,
                rank: trialStatusRank(merged.trial.status),
                rev: (current?.rev ?? 0) + 1,
                storedAt: this.clock.now().toISOString(),
              }),
              ConditionExpression: condition,
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              ...x.attributes(),
            }),
          ),
        );
        return { kind: current ? 'advanced' : 'created', stored: { ...cleanTrial(merged.trial), announced } };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || !error.Item) throw error;
        if (attempt >= MERGE_ATTEMPTS) throw new ConcurrencyError(`trial ${observation.trial.trialId} of job ${jobId}: still racing after ${attempt} merges`, { cause: error });
        current = storedMergeFromRow(fromItem(error.Item));
      }
    }
  }

  async markTrialAnnounced(jobId: string, trialId: string): Promise<void> {
    const x = new Expression();
    const trialExists = 'attribute_exists(pk)';
    try {
      await this.withConflictRetry(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: toItem({ pk: keys.job(jobId), sk: keys.trial(trialId) }),
            // `rev` moves too: a merge that read the item before this write must not put it back.
            UpdateExpression: `${x.set({ announced: true })} ADD ${x.name('rev')} ${x.value('one', 1)}`,
            ConditionExpression: trialExists,
            ...x.attributes(),
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new TrialNotFoundError(jobId, trialId);
      throw error;
    }
  }

  async listTrials(jobId: string): Promise<StoredTrial[]> {
    return (await this.queryPrefix(keys.job(jobId), keys.trialPrefix)).map(storedTrialFromRow);
  }

  async claimTrialListing(jobId: string, at: string, since: string): Promise<boolean> {
    // Timeline: trial events without their objective arrive one by one; the first after `since`
    // claims the listing (and lists), the others find the claim and leave their trials to it or
    // to the next claim. A claimer that crashes before listing costs only delay: the job's final
    // sync lists every trial.
    const x = new Expression();
    const listedAt = x.name('trialsListedAt');
    return this.ignoringFailedCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.metaKey(jobId),
          UpdateExpression: x.set({ trialsListedAt: at }),
          ConditionExpression: `attribute_exists(pk) AND (attribute_not_exists(${listedAt}) OR ${listedAt} <= ${x.value('since', since)})`,
          ...x.attributes(),
        }),
      ),
    );
  }

  async advanceTrialCursor(jobId: string, from: string | undefined, to: string): Promise<boolean> {
    // Timeline: fan-out A and B both read the cursor at `from` -> both read the next page -> the
    // first to write moves it to `to`; the second finds it moved and reports false.
    const x = new Expression();
    const jobExists = 'attribute_exists(pk)';
    const cursorIsWhereWeReadIt =
      from === undefined ? `attribute_not_exists(${x.name('trialCursor')})` : `${x.name('trialCursor')} = ${x.value('from', from)}`;
    return this.ignoringFailedCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.metaKey(jobId),
          UpdateExpression: x.set({ trialCursor: to }),
          ConditionExpression: `${jobExists} AND ${cursorIsWhereWeReadIt}`,
          ...x.attributes(),
        }),
      ),
    );
  }

  async offerBestTrial(jobId: string, trial: Trial, goal: Goal): Promise<boolean> {
    const value = trial.objectiveValue;
    if (value === undefined || !Number.isFinite(value)) return false;
    // Timeline: several fan-outs each offer their page's best, in any order; the stored best only
    // improves for the goal, and ties go as `selectBestTrial` breaks them (ended first, then the
    // smaller id), so the stored best does not depend on arrival order. The best trial itself is
    // always refreshed with its merged view, which a provider's listing may have corrected.
    const x = new Expression();
    const [objective, endedAt, id] = [x.name('bestObjective'), x.name('bestEndedAt'), x.name('bestTrialId')];
    const [v, e, t] = [x.value('value', value), x.value('endedAt', trial.endedAt ?? ''), x.value('trialId', trial.trialId)];
    const jobExists = 'attribute_exists(pk)';
    const noBestYet = `attribute_not_exists(${objective})`;
    const better = `${objective} ${goal === 'maximize' ? '<' : '>'} ${v}`;
    const tieWonByEarlierEnd = `(${objective} = ${v} AND ${endedAt} > ${e})`;
    const tieWonBySmallerId = `(${objective} = ${v} AND ${endedAt} = ${e} AND ${id} > ${t})`;
    const sameTrialRefreshed = `${id} = ${t}`;
    return this.ignoringFailedCondition(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.metaKey(jobId),
          UpdateExpression: x.set(bestAttributes(trial)),
          ConditionExpression: `${jobExists} AND (${noBestYet} OR ${better} OR ${tieWonByEarlierEnd} OR ${tieWonBySmallerId} OR ${sameTrialRefreshed})`,
          ...x.attributes(),
        }),
      ),
    );
  }

  async setBestTrial(jobId: string, trial: Trial | undefined): Promise<void> {
    const x = new Expression();
    const update = trial ? x.set(bestAttributes(trial)) : x.set({}, [], ['bestTrial', 'bestObjective', 'bestEndedAt', 'bestTrialId']);
    await this.withConflictRetry(() =>
      this.client.send(
        new UpdateItemCommand({ TableName: this.tableName, Key: this.metaKey(jobId), UpdateExpression: update, ConditionExpression: 'attribute_exists(pk)', ...x.attributes() }),
      ),
    );
  }

  // ---- champions --------------------------------------------------------------------------------

  async getChampion(model: string): Promise<Champion | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: toItem({ pk: keys.model(model), sk: keys.champion }), ConsistentRead: true }),
    );
    return Item ? championFromRow(fromItem(Item)) : undefined;
  }

  async promoteChampion(input: {
    readonly candidate: Omit<Champion, 'revision'>;
    readonly expected: Champion | undefined;
    readonly record: PromotionRecord;
  }): Promise<PromoteResult> {
    const { candidate, expected, record } = input;
    const champion: Champion = {
      model: candidate.model,
      jobId: candidate.jobId,
      trialId: candidate.trialId,
      objectiveValue: candidate.objectiveValue,
      goal: candidate.goal,
      version: candidate.version,
      promotedAt: candidate.promotedAt,
      revision: (expected?.revision ?? 0) + 1,
    };
    // Timeline: promote-best reads the champion (revision r, or none) -> decides -> registers a model
    // version -> writes here. If another promotion landed in between, the champion is no longer the
    // one decided against: the write fails rather than replace a model that may be better.
    const x = new Expression();
    const noChampionYet = 'attribute_not_exists(pk)';
    const championIsTheOneRead = (read: Champion) => `${x.name('revision')} = ${x.value('expected', read.revision)}`;
    const reasons = await this.transact([
      {
        Put: {
          TableName: this.tableName,
          Item: toItem({ pk: keys.model(champion.model), sk: keys.champion, entity: 'champion', ...champion }),
          ConditionExpression: expected === undefined ? noChampionYet : championIsTheOneRead(expected),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.attributes(),
        },
      },
      { Put: { TableName: this.tableName, Item: toItem(promotionAttributes(record)) } },
      { Put: { TableName: this.tableName, Item: toItem(decidedAttributes(record)) } },
    ]);
    if (!reasons) return { kind: 'promoted', champion };
    const [championReason] = reasons;
    if (championReason?.Code === CONDITION_FAILED) {
      return { kind: 'conflict', current: championReason.Item ? championFromRow(fromItem(championReason.Item)) : undefined };
    }
    throw new Error(`promoteChampion ${champion.model}: unexpected cancellation ${describeReasons(reasons)}`);
  }

  async recordPromotion(record: PromotionRecord): Promise<'recorded' | 'duplicate'> {
    // Timeline: a Tuning Job Finished delivered again decides again, at another time; the job's
    // DECIDED marker, written with its first decision, keeps the history to one record per job.
    const reasons = await this.transact([
      { Put: { TableName: this.tableName, Item: toItem(decidedAttributes(record)), ConditionExpression: 'attribute_not_exists(pk)' } },
      { Put: { TableName: this.tableName, Item: toItem(promotionAttributes(record)) } },
    ]);
    if (!reasons) return 'recorded';
    if (reasons[0]?.Code === CONDITION_FAILED) return 'duplicate';
    throw new Error(`recordPromotion ${record.model}: unexpected cancellation ${describeReasons(reasons)}`);
  }

  async listPromotions(model: string): Promise<PromotionRecord[]> {
    return (await this.queryPrefix(keys.model(model), keys.promotionPrefix)).map(promotionFromRow);
  }

  // ---- plumbing ---------------------------------------------------------------------------------

  private metaKey(jobId: string): Item {
    return toItem({ pk: keys.job(jobId), sk: keys.meta });
  }

  private expiresAt(): number {
    return Math.floor(this.clock.now().getTime() / 1000) + HISTORY_RETENTION_DAYS * 86_400;
  }

  private seenAttributes(jobId: string, arrival: ArrivalRecord): Record<string, unknown> {
    return {
      pk: keys.job(jobId),
      sk: keys.seen(arrival.eventId),
      entity: 'seen',
      eventId: arrival.eventId,
      firstReceivedAt: arrival.receivedAt,
      [TTL_ATTRIBUTE]: this.expiresAt(),
    };
  }

  /** Every arrival gets its own item: the random part keeps two deliveries in one millisecond apart. */
  private historyPut(jobId: string, arrival: ArrivalRecord): Put {
    const item = {
      pk: keys.job(jobId),
      sk: keys.history(arrival.receivedAt, arrival.eventId, randomBytes(6).toString('hex')),
      entity: 'history',
      eventId: arrival.eventId,
      receivedAt: arrival.receivedAt,
      source: arrival.source,
      claimedStatus: arrival.claimedStatus,
      outcome: arrival.outcome,
      detail: arrival.detail,
      [TTL_ATTRIBUTE]: this.expiresAt(),
    };
    return { TableName: this.tableName, Item: toItem(item) };
  }

  private async putHistory(jobId: string, arrival: ArrivalRecord): Promise<void> {
    await this.withConflictRetry(() => this.client.send(new PutItemCommand(this.historyPut(jobId, arrival))));
  }

  /**
   * Runs a transaction. Resolves undefined when it committed, or the cancellation reasons (one per
   * item, in order) when a condition failed. A cancellation caused only by other in-flight
   * transactions is tried again after a short random pause; the SDK does not retry those.
   */
  private async transact(items: TransactWriteItem[]): Promise<readonly CancellationReason[] | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return undefined;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons.some((r) => r.Code === CONDITION_FAILED)) return reasons;
        const transient = reasons.length > 0 && reasons.every((r) => TRANSIENT_CANCELLATIONS.has(r.Code ?? ''));
        if (!transient) throw error;
        if (attempt >= CONFLICT_ATTEMPTS) throw new ConcurrencyError(`transaction still conflicting after ${attempt} attempts`, { cause: error });
        await backoff(attempt);
      }
    }
  }

  /** A single-item write that hit an item inside another transaction; the SDK does not retry those. */
  private async withConflictRetry<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (isItemTooLarge(error)) throw new LedgerItemTooLargeError(`a ledger item is over DynamoDB's 400 KB limit: ${(error as Error).message}`, { cause: error });
        if (!(error instanceof TransactionConflictException)) throw error;
        if (attempt >= CONFLICT_ATTEMPTS) throw new ConcurrencyError(`write still conflicting after ${attempt} attempts`, { cause: error });
        await backoff(attempt);
      }
    }
  }

  /** True when the write happened, false when its condition said no. */
  private async ignoringFailedCondition(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.withConflictRetry(write);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async queryPrefix(pk: string, prefix: string): Promise<Row[]> {
    const x = new Expression();
    return this.queryAll({
      KeyConditionExpression: `${x.name('pk')} = ${x.value('pk', pk)} AND begins_with(${x.name('sk')}, ${x.value('prefix', prefix)})`,
      ConsistentRead: true,
      ...x.attributes(),
    });
  }

  /** Follows LastEvaluatedKey: a query returns at most 1 MB per page. */
  private async queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Row[]> {
    return (await queryAll(this.client, { ...input, TableName: this.tableName })).map(fromItem);
  }

  private async scanAll(input: Omit<ScanCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Row[]> {
    return (await scanAll(this.client, { ...input, TableName: this.tableName })).map(fromItem);
  }
}

// ---- expressions --------------------------------------------------------------------------------

/** Collects `#name` and `:value` placeholders, so reserved words (status, name) are never a problem. */
class Expression {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};

  name(attribute: string): string {
    this.names[`#${attribute}`] = attribute;
    return `#${attribute}`;
  }

  value(label: string, value: unknown): string {
    this.values[`:${label}`] = value;
    return `:${label}`;
  }

  /** `SET #a = :a, ...` for the defined values (undefined ones are left as stored), then `REMOVE`. */
  set(values: Readonly<Record<string, unknown>>, extra: readonly string[] = [], remove: readonly string[] = []): string {
    const assignments = Object.entries(values)
      .filter(([, v]) => v !== undefined)
      .map(([attribute, v]) => `${this.name(attribute)} = ${this.value(`set_${attribute}`, v)}`);
    const set = [...assignments, ...extra];
    const parts = [set.length ? `SET ${set.join(', ')}` : '', remove.length ? `REMOVE ${remove.map((a) => this.name(a)).join(', ')}` : ''];
    return parts.filter(Boolean).join(' ');
  }

  attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item } {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: { ...this.names } } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: toItem(this.values) } : {}),
    };
  }
}

// ---- items <-> records --------------------------------------------------------------------------

function toItem(attributes: Readonly<Record<string, unknown>>): Item {
  return marshall(attributes, { removeUndefinedValues: true });
}

/** Numbers come back as plain numbers, also large ones (an objective may be 1e30). */
function fromItem(item: Item): Row {
  return unmarshall(item, { wrapNumbers: (value: string) => Number(value) }) as Row;
}

function metaAttributes(job: JobRecord): Record<string, unknown> {
  const active = !isTerminalJobStatus(job.status);
  return {
    pk: keys.job(job.jobId),
    sk: keys.meta,
    entity: 'job',
    ...job,
    spec: JSON.stringify(job.spec),
    ...(job.bestTrial ? bestAttributes(job.bestTrial) : {}),
    [BY_PROVIDER_JOB_INDEX.partitionKey]: keys.providerJob(job.provider, job.providerJobName),
    [BY_PROVIDER_JOB_INDEX.sortKey]: keys.providerJobSort(job.jobId),
    ...(active ? { [BY_ACTIVE_INDEX.partitionKey]: keys.active(job.provider), [BY_ACTIVE_INDEX.sortKey]: job.updatedAt } : {}),
  };
}

/**
 * Only the Trial's own fields (a StoredTrial's `announced` stays out of a job's best trial).
 * DynamoDB has no NaN or Infinity: a non-finite objective or metric is left out, which reads back
 * as "no value" (such a trial could never be best anyway).
 */
function cleanTrial(trial: Trial): Trial {
  const finite = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n : undefined);
  const metrics = trial.metrics && Object.fromEntries(Object.entries(trial.metrics).filter(([, v]) => Number.isFinite(v)));
  return defined<Trial>({
    trialId: trial.trialId,
    status: trial.status,
    hyperparameters: { ...trial.hyperparameters },
    objectiveValue: finite(trial.objectiveValue),
    objectiveStatus: trial.objectiveStatus,
    startedAt: trial.startedAt,
    endedAt: trial.endedAt,
    stoppedEarly: trial.stoppedEarly,
    failureReason: trial.failureReason,
    artifactUri: trial.artifactUri,
    definitionName: trial.definitionName,
    metrics,
  });
}

/** The job's best trial and the attributes its conditional replacement compares (see offerBestTrial). */
function bestAttributes(trial: Trial): Record<string, unknown> {
  const clean = cleanTrial(trial);
  return { bestTrial: clean, bestObjective: clean.objectiveValue, bestEndedAt: clean.endedAt ?? '', bestTrialId: clean.trialId };
}

/** The marker that the job's decision for the model is recorded (see recordPromotion). */
function decidedAttributes(record: PromotionRecord): Record<string, unknown> {
  return { pk: keys.model(record.model), sk: keys.decided(record.jobId), entity: 'decided', jobId: record.jobId, decision: record.decision, decidedAt: record.decidedAt };
}

function promotionAttributes(record: PromotionRecord): Record<string, unknown> {
  return {
    pk: keys.model(record.model),
    sk: keys.promotion(record.decidedAt, record.jobId),
    entity: 'promotion',
    model: record.model,
    jobId: record.jobId,
    decidedAt: record.decidedAt,
    decision: record.decision,
    reason: record.reason,
    trialId: record.trialId,
    objectiveValue: record.objectiveValue !== undefined && Number.isFinite(record.objectiveValue) ? record.objectiveValue : undefined,
  };
}

function jobFromItem(item: Item): JobRecord {
  return jobFromRow(fromItem(item));
}

function jobFromRow(row: Row): JobRecord {
  const r = new Reader(row);
  const bestTrial = row['bestTrial'];
  return defined<JobRecord>({
    jobId: r.string('jobId'),
    name: r.string('name'),
    provider: r.oneOf('provider', PROVIDERS),
    spec: r.json('spec') as TuningSpec,
    status: r.oneOf('status', JOB_STATUSES),
    version: r.number('version'),
    createdAt: r.string('createdAt'),
    updatedAt: r.string('updatedAt'),
    providerJobName: r.string('providerJobName'),
    providerJobId: r.optionalString('providerJobId'),
    providerStatus: r.optionalString('providerStatus'),
    failureReason: r.optionalString('failureReason'),
    endReason: r.optionalString('endReason'),
    trialCounts: r.optionalNumberRecord('trialCounts') as Partial<Record<TrialStatus, number>> | undefined,
    flags: r.optionalStringList('flags'),
    lastObservedAt: r.optionalString('lastObservedAt'),
    announcedStatus: row['announcedStatus'] === undefined ? undefined : r.oneOf('announcedStatus', JOB_STATUSES),
    announcedSequence: r.optionalNumber('announcedSequence'),
    announcedEventId: r.optionalString('announcedEventId'),
    submittedAt: r.optionalString('submittedAt'),
    adopted: row['adopted'] === undefined ? undefined : r.boolean('adopted'),
    trialCursor: r.optionalString('trialCursor'),
    bestTrial: bestTrial === undefined ? undefined : trialFromRow(r.record('bestTrial'), `${r.key}.bestTrial`),
    trigger: r.optionalString('trigger'),
  });
}

function trialFromRow(row: Row, key?: string): Trial {
  const r = new Reader(row, key);
  return defined<Trial>({
    trialId: r.string('trialId'),
    status: r.oneOf('status', TRIAL_STATUSES),
    hyperparameters: r.stringRecord('hyperparameters'),
    objectiveValue: r.optionalNumber('objectiveValue'),
    objectiveStatus: row['objectiveStatus'] === undefined ? undefined : r.oneOf('objectiveStatus', ['pending', 'succeeded', 'failed'] as const),
    startedAt: r.optionalString('startedAt'),
    endedAt: r.optionalString('endedAt'),
    stoppedEarly: r.boolean('stoppedEarly'),
    failureReason: r.optionalString('failureReason'),
    artifactUri: r.optionalString('artifactUri'),
    definitionName: r.optionalString('definitionName'),
    metrics: r.optionalNumberRecord('metrics'),
  });
}

function storedTrialFromRow(row: Row): StoredTrial {
  return { ...trialFromRow(row), announced: new Reader(row).boolean('announced') };
}

/** A trial item as the merge reads it: the trial, its stamps, and the revision to write against. */
interface StoredMerge {
  readonly merged: MergedTrial;
  readonly announced: boolean;
  readonly rev: number | undefined;
}

function storedMergeFromRow(row: Row): StoredMerge {
  const r = new Reader(row);
  // Items written before trials were merged have no stamps: their values count as the oldest events'.
  const stamps = row['stamps'] === undefined ? {} : r.stringRecord('stamps');
  const rev = row['rev'] === undefined ? undefined : r.optionalNumber('rev');
  return { merged: { trial: trialFromRow(row), stamps }, announced: r.boolean('announced'), rev };
}

function sameStamps(a: TrialStamps, b: TrialStamps): boolean {
  const keysOf = (r: TrialStamps) => Object.keys(r).sort().join('\n');
  return keysOf(a) === keysOf(b) && Object.keys(a).every((k) => a[k] === b[k]);
}

/** The sort key of an announcement claim (one item per claim key, under the job). */
function announceKey(key: string): string {
  return `ANNOUNCE#${key}`;
}

function claimAttributes(claim: AnnouncementClaim): Record<string, unknown> {
  return {
    key: claim.key,
    sequence: claim.sequence,
    // a string: the exact bytes are what a resumed claim publishes again
    events: JSON.stringify(claim.events),
    marks: { ...claim.marks },
    holder: claim.holder,
    claimedAt: claim.claimedAt,
  };
}

interface StoredClaim {
  readonly claim: AnnouncementClaim;
  readonly done: boolean;
}

function storedClaimFromRow(row: Row, jobId: string): StoredClaim {
  const r = new Reader(row);
  const marks = r.record('marks') as AnnouncementMarks;
  return {
    claim: {
      jobId,
      key: r.string('key'),
      sequence: r.number('sequence'),
      events: r.json('events') as AnyTunewireEvent[],
      marks,
      holder: r.string('holder'),
      claimedAt: r.string('claimedAt'),
      resumed: false,
    },
    done: r.boolean('done'),
  };
}

const OUTCOMES: readonly ArrivalOutcome[] = ['applied', 'duplicate', 'stale', 'ignored'];

function arrivalFromRow(row: Row): ArrivalRecord {
  const r = new Reader(row);
  return defined<ArrivalRecord>({
    eventId: r.string('eventId'),
    receivedAt: r.string('receivedAt'),
    source: r.string('source'),
    claimedStatus: r.optionalString('claimedStatus'),
    outcome: r.oneOf('outcome', OUTCOMES),
    detail: r.optionalString('detail'),
  });
}

function championFromRow(row: Row): Champion {
  const r = new Reader(row);
  return {
    model: r.string('model'),
    jobId: r.string('jobId'),
    trialId: r.string('trialId'),
    objectiveValue: r.number('objectiveValue'),
    goal: r.oneOf('goal', ['maximize', 'minimize'] as const),
    version: r.string('version'),
    promotedAt: r.string('promotedAt'),
    revision: r.number('revision'),
  };
}

function promotionFromRow(row: Row): PromotionRecord {
  const r = new Reader(row);
  return defined<PromotionRecord>({
    model: r.string('model'),
    jobId: r.string('jobId'),
    decidedAt: r.string('decidedAt'),
    decision: r.oneOf('decision', ['promoted', 'skipped'] as const),
    reason: r.string('reason'),
    trialId: r.optionalString('trialId'),
    objectiveValue: r.optionalNumber('objectiveValue'),
  });
}

/** Typed reads of an unmarshalled item; a wrong or missing field names the item and the field. */
class Reader {
  readonly key: string;

  constructor(
    private readonly row: Row,
    key?: string,
  ) {
    this.key = key ?? `${String(row['pk'])}/${String(row['sk'])}`;
  }

  private fail(field: string, problem: string): never {
    throw new LedgerItemCorruptError(this.key, field, problem);
  }

  string(field: string): string {
    const v = this.row[field];
    return typeof v === 'string' ? v : this.fail(field, 'is not a string');
  }

  optionalString(field: string): string | undefined {
    return this.row[field] === undefined ? undefined : this.string(field);
  }

  number(field: string): number {
    const v = this.row[field];
    return typeof v === 'number' ? v : this.fail(field, 'is not a number');
  }

  optionalNumber(field: string): number | undefined {
    return this.row[field] === undefined ? undefined : this.number(field);
  }

  boolean(field: string): boolean {
    const v = this.row[field];
    return typeof v === 'boolean' ? v : this.fail(field, 'is not a boolean');
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.string(field);
    return (allowed as readonly string[]).includes(v) ? (v as T) : this.fail(field, `is "${v}", not one of ${allowed.join(', ')}`);
  }

  record(field: string): Row {
    const v = this.row[field];
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Row) : this.fail(field, 'is not a map');
  }

  stringRecord(field: string): Record<string, string> {
    const map = this.record(field);
    for (const [k, v] of Object.entries(map)) if (typeof v !== 'string') this.fail(`${field}.${k}`, 'is not a string');
    return map as Record<string, string>;
  }

  optionalNumberRecord(field: string): Record<string, number> | undefined {
    if (this.row[field] === undefined) return undefined;
    const map = this.record(field);
    for (const [k, v] of Object.entries(map)) if (typeof v !== 'number') this.fail(`${field}.${k}`, 'is not a number');
    return map as Record<string, number>;
  }

  optionalStringList(field: string): string[] | undefined {
    const v = this.row[field];
    if (v === undefined) return undefined;
    return Array.isArray(v) && v.every((e) => typeof e === 'string') ? (v as string[]) : this.fail(field, 'is not a list of strings');
  }

  json(field: string): unknown {
    const text = this.string(field);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return this.fail(field, 'is not valid JSON');
    }
  }
}

/** The record without its undefined fields, so what is read back equals what was written. */
function defined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describeReasons(reasons: readonly CancellationReason[]): string {
  return `[${reasons.map((r) => r.Code ?? '?').join(', ')}]`;
}

async function backoff(attempt: number): Promise<void> {
  await sleep(Math.random() * 10 * 2 ** attempt);
}

/** DynamoDB's answer to an item over 400 KB (a ValidationException, alone or inside a transaction). */
function isItemTooLarge(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /item size/i.test(error.message);
}
