import { handlePromoteEvent } from '../../shared/edge/handlers';
import { cloudDependencies, logOutcome } from '../runtime';

/** Tuning Job Finished: promote the best trial if it beats the champion. */
export async function handler(event: unknown) {
  const outcome = await handlePromoteEvent(await cloudDependencies(), event);
  logOutcome('promote-best', outcome);
  return outcome;
}
