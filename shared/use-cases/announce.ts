import { randomUUID } from 'node:crypto';
import { nextJobAnnouncement, trialFinishedEvent, type EventLinks } from '../domain/events';
import type { JobRecord } from '../domain/job';
import type { Trial } from '../domain/trial';
import { ANNOUNCEMENT_LEASE_MS, type AnnouncementClaimRequest, type AnnouncementMarks } from '../ports/ledger';
import type { Dependencies } from './dependencies';

/** The use cases' dependencies, with the API base URL events link to (TUNEWIRE_API_URL; optional). */
export type AnnouncingDependencies = Dependencies & EventLinks;

/** What one claimed publish came to: published by this call, or left to another / already out. */
export type AnnounceOutcome = 'published' | 'held' | 'done';

/** Who is asking: the delivery's own id (its retry resumes its claim at once), else a one-off. */
export function holderOf(eventId: string | undefined): string {
  return eventId ?? `call:${randomUUID()}`;
}

/**
 * Publishes events under a ledger claim, so that of all the handlers that want to publish them
 * one does (see `Ledger.claimAnnouncement`).
 *
 * 1. Claim; a live claim of another handler, or a published one, means nothing to do.
 * 2. Publish the claim's events: ours, or those an abandoned claim stored (the same bytes).
 * 3. Complete: the claim is done and its marks (trial announced, job sequence) are written.
 *    A publish or completion that fails releases the claim (best effort) before the error goes on.
 */
export async function publishClaimed(
  deps: Dependencies,
  request: Omit<AnnouncementClaimRequest, 'at' | 'staleBefore'> & {
    /** Take over another handler's claim however fresh: the last chance to announce (the job's end). A repeat is byte-identical. */
    readonly takeOver?: boolean;
  },
): Promise<AnnounceOutcome> {
  const now = deps.clock.now();
  const { takeOver, ...claim } = request;
  const result = await deps.ledger.claimAnnouncement({
    ...claim,
    at: now.toISOString(),
    staleBefore: takeOver ? now.toISOString() : new Date(now.getTime() - ANNOUNCEMENT_LEASE_MS).toISOString(),
  });
  if (result.kind !== 'won') return result.kind;
  try {
    await deps.bus.publish(result.claim.events);
    await deps.ledger.completeAnnouncement(result.claim);
  } catch (error) {
    // the delivery's retry (or any other handler) must not wait out the lease for it
    await deps.ledger.releaseAnnouncement(result.claim).catch(() => undefined);
    throw error;
  }
  return 'published';
}

/** Announces a finished trial once in effect: Tuning Trial Finished under a claim on its event id. */
export async function announceTrial(deps: AnnouncingDependencies, job: JobRecord, trial: Trial, holder: string, options: { readonly takeOver?: boolean } = {}): Promise<boolean> {
  const event = trialFinishedEvent(job, trial, deps);
  const request = { jobId: job.jobId, key: event.id, sequence: 1, events: [event], marks: { trialId: trial.trialId }, holder, ...(options.takeOver ? { takeOver: true } : {}) };
  return (await publishClaimed(deps, request)) === 'published';
}

/** How many job announcements one call may make (submitted, a change, a terminal change, finished, and races). */
const MAX_JOB_STEPS = 12;

/**
 * Publishes the job's announcements the ledger has not yet marked, one at a time and in order:
 * Tuning Job Submitted, then a status change from the last announced status to the current one,
 * then Tuning Job Finished (see `nextJobAnnouncement`). Each is claimed on the job's one
 * announcement chain, which takes step n only after step n-1 is out, so no consumer hears of a
 * status before the job's submission, nor of the finish before the terminal status. A live claim
 * of another handler leaves the rest to it.
 *
 * `beforeFinish` runs before Tuning Job Finished is built (the final trial sync) and returns the
 * job's best trial; without it, the announcements stop short of Tuning Job Finished.
 */
export async function announceJob(
  deps: AnnouncingDependencies,
  start: JobRecord,
  options: { readonly holder: string; readonly adopted?: boolean; readonly beforeFinish?: (job: JobRecord) => Promise<Trial | undefined> },
): Promise<void> {
  let job = start;
  for (let step = 0; step < MAX_JOB_STEPS; step++) {
    let next = nextJobAnnouncement(job, deps, { ...(options.adopted !== undefined ? { adopted: options.adopted } : {}) });
    if (!next) return;
    if (next.event.kind === 'job.finished') {
      if (!options.beforeFinish) return;
      const bestTrial = await options.beforeFinish(job);
      job = (await deps.ledger.getJob(job.jobId)) ?? job;
      next = nextJobAnnouncement(job, deps, bestTrial ? { bestTrial } : {});
      if (!next) return;
    }
    const marks: AnnouncementMarks = { announcedSequence: next.sequence, announcedEventId: next.event.id, ...(next.completes ? { announcedStatus: next.completes } : {}) };
    const outcome = await publishClaimed(deps, { jobId: job.jobId, key: 'job', sequence: next.sequence, events: [next.event], marks, holder: options.holder });
    if (outcome === 'held') return;
    job = (await deps.ledger.getJob(job.jobId)) ?? job;
  }
}
