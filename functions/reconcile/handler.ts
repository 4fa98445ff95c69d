import { reconcileActiveJobs } from '../../shared/use-cases/reconcile-active-jobs';
import { cloudDependencies } from '../runtime';

/** Scheduled: describe every active job and repair what lost events left behind. */
export async function handler() {
  const result = await reconcileActiveJobs(await cloudDependencies());
  console.log(JSON.stringify({ level: result.failures.length ? 'warn' : 'info', function: 'reconcile', ...result }));
  return result;
}
