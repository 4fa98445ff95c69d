import { handleStatusChangeEvent } from '../../shared/edge/handlers';
import { cloudDependencies, logOutcome } from '../runtime';

/** Provider job status events: EventBridge (SageMaker, the local engine) and Pub/Sub push. */
export async function handler(event: unknown) {
  const outcome = await handleStatusChangeEvent(await cloudDependencies(), event);
  logOutcome('status-change', outcome);
  return outcome;
}
