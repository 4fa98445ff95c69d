import { handlePromoteEvent } from '../../shared/edge/handlers';
import { cloudDependencies, observed, reportHandled } from '../runtime';

/** Tuning Job Finished: promote the best trial if it beats the champion. */
export const handler = observed(
  'promote-best',
  async (event) => handlePromoteEvent(await cloudDependencies(), event),
  reportHandled((o) => ({ Promotions: o.counts?.promotions ?? 0 })),
);
