import { ProviderError } from '../domain/errors';
import { refOf, type JobObservation, type JobRecord } from '../domain/job';
import { toWatcherMessage, type GoogleProviderName, type WatcherMessage } from '../edge/google-events';
import type { Dependencies } from './dependencies';

export interface WatchOptions {
  /** Describes in flight at once; the providers' read quotas are per minute, so keep it small. */
  readonly concurrency?: number;
  /** Tries per job for a retryable ProviderError (throttling, 5xx), the first included. */
  readonly attempts?: number;
  /** First backoff; doubled each retry, with jitter. */
  readonly backoffMs?: number;
}

export interface WatchFailure {
  readonly jobId: string;
  readonly code: string;
  readonly message: string;
}

export interface WatchResult {
  readonly checked: number;
  readonly changed: number;
  readonly failed: number;
  /** What failed, for the handler's log; the sweep went on past each. */
  readonly failures: readonly WatchFailure[];
}

const WATCHED: readonly GoogleProviderName[] = ['vertex', 'mlengine'];

/**
 * Watch the Google jobs, which push no state of their own, and publish what changed.
 *
 * 1. List the active jobs of each Google provider configured here (Vertex AI, ML Engine).
 * 2. Get each from its provider, a few at a time, backing off on throttling and server errors.
 * 3. Publish a watcher message for each job whose status, provider status or trial counts differ
 *    from the ledger; `status-change` applies it (the ledger is not written here).
 * 4. Count a job that fails and go on: one bad job must not hide the others' changes.
 */
export async function watchGoogleJobs(deps: Dependencies, publish: (message: WatcherMessage) => Promise<void>, options: WatchOptions = {}): Promise<WatchResult> {
  const providers = WATCHED.filter((p) => deps.providers.has(p));
  const jobs = (await Promise.all(providers.map((p) => deps.ledger.listActiveJobs(p)))).flat();

  let changed = 0;
  const failures: WatchFailure[] = [];
  await forEachBounded(jobs, options.concurrency ?? 4, async (job) => {
    try {
      const { provider } = deps.providers.get(job.provider);
      const observation = await withBackoff(() => provider.describe(refOf(job)), options);
      if (!differs(job, observation)) return;
      await publish(toWatcherMessage(job, observation));
      changed++;
    } catch (error) {
      failures.push({
        jobId: job.jobId,
        code: error instanceof ProviderError ? error.code : error instanceof Error ? error.name : 'UnknownError',
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
  return { checked: jobs.length, changed, failed: failures.length, failures };
}

/** A difference worth a message. Trial counts the provider did not report are not a difference. */
export function differs(job: JobRecord, observation: JobObservation): boolean {
  if (job.status !== observation.status || job.providerStatus !== observation.providerStatus) return true;
  if (!observation.trialCounts) return false;
  const known = job.trialCounts ?? {};
  const seen = observation.trialCounts;
  const statuses = new Set([...Object.keys(known), ...Object.keys(seen)] as (keyof typeof seen)[]);
  return [...statuses].some((s) => (known[s] ?? 0) !== (seen[s] ?? 0));
}

async function withBackoff<T>(work: () => Promise<T>, options: WatchOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const base = options.backoffMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ProviderError && error.retryable) || attempt >= attempts) throw error;
      const delay = base * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
    }
  }
}

/** Runs `work` over `items` with at most `limit` in flight; `work` handles its own errors. */
async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}
