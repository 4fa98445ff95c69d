import { handleTrialFanOutEvent } from '../../shared/edge/handlers';
import { cloudDependencies, observed, reportHandled } from '../runtime';

/** Trial events from providers, and our own Tuning Job Status Changed: store and announce trials. */
export const handler = observed(
  'trial-fan-out',
  async (event) => handleTrialFanOutEvent(await cloudDependencies(), event),
  reportHandled((o) => ({ TrialsStored: o.counts?.trialsStored ?? 0 })),
);
