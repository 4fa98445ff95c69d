import { handleStatusChangeEvent } from '../../shared/edge/handlers';
import { cloudDependencies, observed, reportHandled } from '../runtime';

/** Provider job status events: EventBridge (SageMaker, the local engine) and Pub/Sub push. */
export const handler = observed('status-change', async (event) => handleStatusChangeEvent(await cloudDependencies(), event), reportHandled());
