import { observationDiffers, refOf } from '../domain/job';
import { toWatcherMessage, type GoogleProviderName, type WatcherMessage } from '../edge/google-events';
import type { Dependencies } from './dependencies';
import { failureOf, forEachBounded, withBackoff, type SweepFailure, type SweepOptions } from './sweep';

export type WatchOptions = SweepOptions;
export type WatchFailure = SweepFailure;

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
      failures.push(failureOf(job.jobId, error));
    }
  });
  return { checked: jobs.length, changed, failed: failures.length, failures };
}

/** A difference worth a message (see `observationDiffers`). */
export const differs = observationDiffers;
