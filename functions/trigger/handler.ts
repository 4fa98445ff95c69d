import { handleTriggerEvent } from '../../shared/edge/trigger-events';
import { logOutcome } from '../runtime';
import { templateDependencies } from '../template-runtime';

/** S3 Object Created, Dataset Ready, Pub/Sub data messages, and Tuning Job Finished (frees the template's slot). */
export async function handler(event: unknown) {
  const { results: _results, ...outcome } = await handleTriggerEvent(await templateDependencies(), event);
  logOutcome('trigger', outcome);
  return outcome;
}
