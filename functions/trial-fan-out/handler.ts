import { handleTrialFanOutEvent } from '../../shared/edge/handlers';
import { cloudDependencies, logOutcome } from '../runtime';

/** Trial events from providers, and our own Tuning Job Status Changed: store and announce trials. */
export async function handler(event: unknown) {
  const outcome = await handleTrialFanOutEvent(await cloudDependencies(), event);
  logOutcome('trial-fan-out', outcome);
  return outcome;
}
