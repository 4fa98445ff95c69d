import { handleTriggerEvent } from '../../shared/edge/trigger-events';
import { cloudDependencies, logOutcome } from '../runtime';

/** S3 Object Created, Dataset Ready, Pub/Sub data messages, and Tuning Job Finished (frees the template's slot). */
export async function handler(event: unknown) {
  const { results: _results, ...outcome } = await handleTriggerEvent(await cloudDependencies(), event);
  logOutcome('trigger', outcome);
  return outcome;
}
