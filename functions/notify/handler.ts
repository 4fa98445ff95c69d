import { handleNotifyEvent } from '../../shared/edge/notify-events';
import { cloudDependencies, logOutcome } from '../runtime';

/** Any tunewire event: signed webhooks to its subscribers (retries and dead letters inside). */
export async function handler(event: unknown) {
  const outcome = await handleNotifyEvent((await cloudDependencies()).webhooks, event);
  logOutcome('notify', outcome);
  return outcome;
}
