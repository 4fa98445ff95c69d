import type { AnyTunewireEvent } from '../domain/events';
import type { JobObservation, JobRecord } from '../domain/job';
import type { ProviderName, Goal } from '../domain/spec';
import type { JobStatus } from '../domain/status';
import type { Trial, TrialObservation } from '../domain/trial';

/** What happened to one arriving provider event. */
export type ArrivalOutcome = 'applied' | 'duplicate' | 'stale' | 'ignored';

export interface ArrivalRecord {
  /** The provider event's own id (EventBridge `id`, Pub/Sub messageId, or a reconciler-made id). */
  readonly eventId: string;
  readonly receivedAt: string;
  readonly source: string;
  readonly claimedStatus?: string;
  readonly outcome: ArrivalOutcome;
  /** Why, where it is not plain from the outcome (e.g. promote-best following the provider's best). */
  readonly detail?: string;
}

export type TransitionResult =
  | { readonly kind: 'applied'; readonly job: JobRecord }
  | { readonly kind: 'duplicate'; readonly job: JobRecord }
  /** Another writer changed the job first; re-read and judge again. */
  | { readonly kind: 'conflict'; readonly job: JobRecord };

export type TrialWriteResult =
  /** `stored` is the item as it now stands (with `announced`); `advanced`: the merge changed it. */
  | { readonly kind: 'created' | 'advanced' | 'unchanged'; readonly stored: StoredTrial };

export interface StoredTrial extends Trial {
  readonly announced: boolean;
}

export interface Champion {
  readonly model: string;
  readonly jobId: string;
  readonly trialId: string;
  readonly objectiveValue: number;
  readonly goal: Goal;
  readonly version: string;
  readonly promotedAt: string;
  /** Optimistic-concurrency counter of the champion item. */
  readonly revision: number;
}

export interface PromotionRecord {
  readonly model: string;
  readonly jobId: string;
  readonly decidedAt: string;
  readonly decision: 'promoted' | 'skipped';
  readonly reason: string;
  readonly trialId?: string;
  readonly objectiveValue?: number;
}

export type PromoteResult =
  | { readonly kind: 'promoted'; readonly champion: Champion }
  /** The champion changed since it was read (or is better); re-read and decide again. */
  | { readonly kind: 'conflict'; readonly current: Champion | undefined };

/**
 * How long a claim to publish an announcement holds. A claim older than this was abandoned (its
 * holder crashed between claim and publish) and the next handler that wants it takes it over.
 */
export const ANNOUNCEMENT_LEASE_MS = 30_000;

/** What publishing an announcement marks in the ledger once it is out. */
export interface AnnouncementMarks {
  /** The trial whose `trial.finished` this is: marked `announced`. */
  readonly trialId?: string;
  /** Job announcements: the job's announced sequence and event id, and the status they complete. */
  readonly announcedSequence?: number;
  readonly announcedEventId?: string;
  readonly announcedStatus?: JobStatus;
}

export interface AnnouncementClaimRequest {
  readonly jobId: string;
  /** What is claimed: `job` for the job's own announcements (one at a time, in order), else the event id. */
  readonly key: string;
  /** The step within the key: the job's announcement sequence; 1 for a one-off announcement. */
  readonly sequence: number;
  /** The events to publish, stored with the claim so whoever finishes an abandoned claim publishes the same bytes. */
  readonly events: readonly AnyTunewireEvent[];
  readonly marks: AnnouncementMarks;
  /** Who asks: a delivery retried after a crash (same holder) resumes its own claim at once. */
  readonly holder: string;
  readonly at: string;
  /** Claims made at or before this time are abandoned and may be taken over. */
  readonly staleBefore: string;
}

/** A won claim: publish `events` (the stored ones, when an abandoned claim was resumed), then complete it. */
export interface AnnouncementClaim {
  readonly jobId: string;
  readonly key: string;
  readonly sequence: number;
  readonly events: readonly AnyTunewireEvent[];
  readonly marks: AnnouncementMarks;
  readonly holder: string;
  readonly claimedAt: string;
  /** True when this is an abandoned claim taken over: its step may not be the one asked for. */
  readonly resumed: boolean;
}

export type ClaimResult =
  | { readonly kind: 'won'; readonly claim: AnnouncementClaim }
  /** Another handler holds a live claim on it: it publishes, this one does not. */
  | { readonly kind: 'held' }
  /** Published already (this step, or a later one of the job's). */
  | { readonly kind: 'done' };

export interface NewJob {
  readonly jobId: string;
  readonly name: string;
  readonly provider: ProviderName;
  readonly spec: JobRecord['spec'];
  readonly providerJobName: string;
  readonly createdAt: string;
  readonly trigger?: string;
}

/** Which jobs `listJobs` returns; every filter is optional and they combine with AND. */
export interface JobQuery {
  readonly status?: JobStatus;
  readonly provider?: ProviderName;
  /** A substring of the job's name (case-sensitive). */
  readonly nameContains?: string;
  /** At most this many jobs in the page; all of them when absent. */
  readonly limit?: number;
  /** Opaque: the `next` of the page before, for the same filters. */
  readonly cursor?: string;
}

export interface JobPage {
  readonly jobs: readonly JobRecord[];
  /** Present when more jobs match: pass it back as `cursor`. */
  readonly next?: string;
}

/**
 * The job ledger: one DynamoDB table (see the design notes). Every write is conditional, so two
 * functions racing on the same job cannot lose or reverse each other's work.
 *
 * @example
 *   const { created, job } = await ledger.createJob(newJob);
 *   const result = await ledger.transitionJob({ job, observation, arrival });
 */
export interface Ledger {
  /** Creates the job in `submitting` unless it exists; returns the stored job either way. */
  createJob(job: NewJob): Promise<{ readonly created: boolean; readonly job: JobRecord }>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  findJobByProviderJob(provider: ProviderName, providerJobName: string): Promise<JobRecord | undefined>;
  /** Jobs not yet terminal (a sparse index), for the reconciler. */
  listActiveJobs(provider?: ProviderName): Promise<JobRecord[]>;
  /**
   * Jobs newest first (by `createdAt`, then job id), filtered, a page at a time: pass `next` back as
   * `cursor` for the page after. A cursor this ledger did not make is a ValidationError naming `cursor`.
   *
   * @example
   *   const first = await ledger.listJobs({ status: 'failed', limit: 20 });
   *   const second = first.next ? await ledger.listJobs({ status: 'failed', limit: 20, cursor: first.next }) : undefined;
   */
  listJobs(query?: JobQuery): Promise<JobPage>;

  /** submitting -> pending with the provider's id; conditional on the job still submitting. */
  markSubmitted(jobId: string, providerJobId: string | undefined, at: string, adopted?: boolean): Promise<JobRecord>;
  /**
   * submitting -> failed with the reason, for a create the provider refused outright (no job
   * exists there); conditional on the job still submitting. Returns the job as it now stands.
   */
  markSubmitFailed(jobId: string, reason: string, at: string): Promise<JobRecord>;

  /**
   * Applies an observation in one transaction: the META update (conditional on the version read),
   * the event's SEEN marker (conditional on absence) and its HIST entry.
   */
  transitionJob(input: { readonly job: JobRecord; readonly observation: JobObservation; readonly arrival: ArrivalRecord }): Promise<TransitionResult>;
  /**
   * Records an arrival that changes no status (stale, same, ignored). Returns `duplicate` when the
   * event id was seen before (the arrival is still written to history as a duplicate).
   */
  recordArrival(jobId: string, arrival: ArrivalRecord): Promise<'recorded' | 'duplicate'>;
  /** Marks the job's current status as announced (conditional on it still being `status`). */
  markAnnounced(jobId: string, status: JobStatus): Promise<void>;
  listHistory(jobId: string): Promise<ArrivalRecord[]>;

  /**
   * Claims the right to publish one announcement: a conditional write exactly one caller wins.
   * Publish the claim's events, then `completeAnnouncement`. A claim not completed within
   * `ANNOUNCEMENT_LEASE_MS` (or asked again by its own holder) is taken over, with its stored events.
   *
   * @example
   *   const result = await ledger.claimAnnouncement({ jobId, key: eventId, sequence: 1, events: [event], marks: { trialId }, holder, at, staleBefore });
   *   if (result.kind === 'won') { await bus.publish(result.claim.events); await ledger.completeAnnouncement(result.claim); }
   */
  claimAnnouncement(request: AnnouncementClaimRequest): Promise<ClaimResult>;
  /** Marks a claim published and writes its marks, together; false when the claim was taken over meanwhile. */
  completeAnnouncement(claim: AnnouncementClaim): Promise<boolean>;
  /**
   * Gives up a claim whose publish (or completion) failed, so the next asker takes it over at once
   * with its stored events instead of waiting out the lease. Nothing happens when the claim is no
   * longer ours; never throws for that.
   */
  releaseAnnouncement(claim: AnnouncementClaim): Promise<void>;

  /**
   * Merges an observation of a trial into the stored trial (`mergeTrial`): status only moves
   * forward and nothing known is lost; the write is conditional on the item read, so concurrent
   * observations all land. `unchanged` when the observation added nothing.
   */
  putTrial(jobId: string, observation: TrialObservation): Promise<TrialWriteResult>;
  markTrialAnnounced(jobId: string, trialId: string): Promise<void>;
  listTrials(jobId: string): Promise<StoredTrial[]>;
  /**
   * Claims the job's next trial listing at `at`, unless one was claimed after `since`: of the
   * fan-outs that want to list at once, one does, and the rest leave their trials to it.
   */
  claimTrialListing(jobId: string, at: string, since: string): Promise<boolean>;
  /** Moves the trial cursor from `from` to `to`; false when someone else moved it first. */
  advanceTrialCursor(jobId: string, from: string | undefined, to: string): Promise<boolean>;
  /**
   * Replaces the job's best trial when `trial` beats it for the goal under `selectBestTrial`'s tie
   * rule, or is the same trial seen anew (conditional).
   */
  offerBestTrial(jobId: string, trial: Trial, goal: Goal): Promise<boolean>;
  /** Sets the job's best trial outright: the verdict after all trials are in, or the provider's own. */
  setBestTrial(jobId: string, trial: Trial | undefined): Promise<void>;

  getChampion(model: string): Promise<Champion | undefined>;
  /**
   * Makes the candidate champion, conditional on the champion being `expected` (by revision; none
   * means no champion yet). Writes the PROMO history item in the same transaction.
   */
  promoteChampion(input: { readonly candidate: Omit<Champion, 'revision'>; readonly expected: Champion | undefined; readonly record: PromotionRecord }): Promise<PromoteResult>;
  /** Records a decision that changed no champion, once per job and model: `duplicate` when one is recorded. */
  recordPromotion(record: PromotionRecord): Promise<'recorded' | 'duplicate'>;
  listPromotions(model: string): Promise<PromotionRecord[]>;
}
