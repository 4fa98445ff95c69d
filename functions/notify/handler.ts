import { handleNotifyEvent, handleRetryBatch, isRetryBatch } from '../../shared/edge/notify-events';
import { cloudDependencies, logOutcome } from '../runtime';

/**
 * Two sources: every tunewire event from the bus (the first attempt to each receiver), and the retry
 * queue (one due attempt per message; partial batch failures go back to the queue).
 */
export async function handler(event: unknown) {
  const { webhooks } = await cloudDependencies();
  if (isRetryBatch(event)) {
    const result = await handleRetryBatch(webhooks, event);
    for (const o of result.outcomes) logOutcome('notify', { outcome: o.outcome, ...('detail' in o && o.detail ? { detail: o.detail } : {}) });
    return { batchItemFailures: result.batchItemFailures };
  }
  const outcome = await handleNotifyEvent(webhooks, event);
  logOutcome('notify', outcome);
  return outcome;
}
