import { createHash, randomBytes } from 'node:crypto';
import type { ProviderName, TuningSpec } from './spec';
import type { JobStatus, TrialStatus } from './status';
import type { Trial } from './trial';

/** How tunewire finds a job at its provider. */
export interface ProviderJobRef {
  readonly provider: ProviderName;
  /** The name we chose, derived from the job id, so a retried create finds the same job. */
  readonly providerJobName: string;
  /** The provider's own id once known: a SageMaker ARN, a Vertex resource name. */
  readonly providerJobId?: string;
}

/** What a provider says about a job at one moment, already in our vocabulary. */
export interface JobObservation {
  readonly status: JobStatus;
  /** The provider's own status word, kept for people reading the ledger. */
  readonly providerStatus: string;
  readonly observedAt: string;
  readonly failureReason?: string;
  /** Why a finished job ended, when the provider says: `target objective reached after 3 trial(s)`. */
  readonly endReason?: string;
  readonly trialCounts?: Readonly<Partial<Record<TrialStatus, number>>>;
  /** Extra facts a provider reports, e.g. `partially_succeeded` or objective-status counters. */
  readonly flags?: readonly string[];
  readonly providerBestTrialId?: string;
}

export interface JobRecord {
  readonly jobId: string;
  readonly name: string;
  readonly provider: ProviderName;
  readonly spec: TuningSpec;
  readonly status: JobStatus;
  /** Optimistic-concurrency counter of status writes; cursor, best trial and announcement have their own conditions. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly providerJobName: string;
  readonly providerJobId?: string;
  readonly providerStatus?: string;
  readonly failureReason?: string;
  /** Why the job ended (target reached, budget used, too many failures, stopped by hand). */
  readonly endReason?: string;
  readonly trialCounts?: Readonly<Partial<Record<TrialStatus, number>>>;
  readonly flags?: readonly string[];
  /** Time of the provider observation the status came from; orders same-rank changes. */
  readonly lastObservedAt?: string;
  /** The last status whose events were all published; differs from `status` while they go out. */
  readonly announcedStatus?: JobStatus;
  /** The per-job sequence number of the last job announcement published (see `nextJobAnnouncement`). */
  readonly announcedSequence?: number;
  /** The id of the last job announcement published. */
  readonly announcedEventId?: string;
  /** When the provider accepted the job (the time of Tuning Job Submitted). */
  readonly submittedAt?: string;
  /** The provider already had the job when it was submitted (a retried or crashed submit adopted it). */
  readonly adopted?: boolean;
  /** The provider's paging position for incremental trial reads. */
  readonly trialCursor?: string;
  readonly bestTrial?: Trial;
  readonly trigger?: string;
}

/**
 * Whether an observation tells the ledger anything new: another status, another provider status,
 * or other trial counts. Trial counts the provider did not report are not a difference.
 */
export function observationDiffers(job: Pick<JobRecord, 'status' | 'providerStatus' | 'trialCounts'>, observation: JobObservation): boolean {
  if (job.status !== observation.status || job.providerStatus !== observation.providerStatus) return true;
  if (!observation.trialCounts) return false;
  const known = job.trialCounts ?? {};
  const seen = observation.trialCounts;
  const statuses = new Set([...Object.keys(known), ...Object.keys(seen)] as (keyof typeof seen)[]);
  return [...statuses].some((s) => (known[s] ?? 0) !== (seen[s] ?? 0));
}

export function refOf(job: Pick<JobRecord, 'provider' | 'providerJobName' | 'providerJobId'>): ProviderJobRef {
  return { provider: job.provider, providerJobName: job.providerJobName, ...(job.providerJobId ? { providerJobId: job.providerJobId } : {}) };
}

const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += ID_ALPHABET[(bytes[i % bytes.length] ?? 0) % 32];
  return out;
}

/**
 * A job id: the spec name (cut to 18) and 10 characters that come from the idempotency key when
 * one is given, so a retried submit with the same key is the same job. At most 29 characters,
 * lowercase: it fits every provider's job-name rules as it is (SageMaker's 32).
 */
export function deriveJobId(specName: string, idempotencyKey?: string): string {
  const stem = specName.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 18).replace(/-+$/, '');
  const entropy = idempotencyKey ? createHash('sha256').update(`${specName}\n${idempotencyKey}`).digest() : randomBytes(10);
  return `${stem}-${base32(entropy, 10)}`;
}
