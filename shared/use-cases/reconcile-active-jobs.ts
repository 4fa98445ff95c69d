import type { ProviderName } from '../domain/spec';
import type { Dependencies } from './dependencies';
import type { EventOutcome } from './provider-events';
import { reconcileJob } from './reconcile-job';
import { failureOf, forEachBounded, withBackoff, type SweepFailure, type SweepOptions } from './sweep';

export interface ReconcileResult {
  readonly checked: number;
  /** Jobs whose ledger entry the provider's answer changed: the events that were lost. */
  readonly repaired: number;
  readonly outcomes: Readonly<Partial<Record<EventOutcome, number>>>;
  readonly failures: readonly SweepFailure[];
}

/**
 * The reconciler: repair whatever events were lost, within one period.
 *
 * 1. List the jobs the ledger holds as active, for each provider configured here.
 * 2. Describe each at its provider, a few at a time, backing off on throttling.
 * 3. Feed what was seen through status-change and trial fan-out (`reconcileJob`): a job whose
 *    events all arrived is a duplicate and changes nothing; one whose events were lost is repaired.
 * 4. Count failures and go on, so one bad job does not hide the others.
 */
export async function reconcileActiveJobs(
  deps: Dependencies,
  options: SweepOptions & { readonly providers?: readonly ProviderName[] } = {},
): Promise<ReconcileResult> {
  const providers = (options.providers ?? deps.providers.names()).filter((p) => deps.providers.has(p));
  const jobs = (await Promise.all(providers.map((p) => deps.ledger.listActiveJobs(p)))).flat();
  const outcomes: Partial<Record<EventOutcome, number>> = {};
  const failures: SweepFailure[] = [];
  await forEachBounded(jobs, options.concurrency ?? 4, async (job) => {
    try {
      const { outcome } = await withBackoff(() => reconcileJob(deps, job, 'reconciler'), options);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } catch (error) {
      failures.push(failureOf(job.jobId, error));
    }
  });
  return { checked: jobs.length, repaired: outcomes.applied ?? 0, outcomes, failures };
}
