import { handleStatusChangeEvent } from '../../shared/edge/handlers';
import { loadPushAuthConfig } from '../../shared/edge/push-auth';
import { createPushEndpoint } from '../../shared/edge/push-endpoint';
import { cloudDependencies, logOutcome } from '../runtime';

// Read at cold start: without TUNEWIRE_PUSH_AUDIENCE and TUNEWIRE_PUSH_SERVICE_ACCOUNT (or an
// explicit TUNEWIRE_PUSH_AUTH=off) the function fails to start, naming the variable, and serves nothing.
const auth = loadPushAuthConfig(process.env);

/**
 * status-change behind a Pub/Sub push subscription (the Google watcher's topic and the Logging
 * sink's). Every push must carry Google's OIDC token for the configured audience and service account.
 */
export const pubsubPush = createPushEndpoint({
  auth,
  handle: async (body) => {
    const outcome = await handleStatusChangeEvent(await cloudDependencies(), body);
    logOutcome('status-change', outcome);
    return outcome;
  },
});
