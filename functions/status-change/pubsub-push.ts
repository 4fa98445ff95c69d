import { OAuth2Client } from 'google-auth-library';
import { handleStatusChangeEvent } from '../../shared/edge/handlers';
import { PushAuthError, verifyPushToken } from '../../shared/edge/push-auth';
import { cloudDependencies, logOutcome } from '../runtime';

/** The parts of a Cloud Functions (Functions Framework) HTTP request and response used here. */
interface PushRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}
interface PushResponse {
  status(code: number): PushResponse;
  json(body: unknown): void;
}

// Read once at cold start. With an audience set, every push must carry Google's OIDC token for it.
const audience = process.env.TUNEWIRE_PUSH_AUDIENCE;
const serviceAccountEmail = process.env.TUNEWIRE_PUSH_SERVICE_ACCOUNT;
const oauth = audience ? new OAuth2Client() : undefined;

/**
 * status-change behind a Pub/Sub push subscription (the Google watcher's topic and the Logging
 * sink's). A 2xx acknowledges the message; anything else makes Pub/Sub deliver it again, so only
 * retryable failures answer 5xx.
 */
export async function pubsubPush(req: PushRequest, res: PushResponse): Promise<void> {
  try {
    if (audience) {
      const header = req.headers['authorization'];
      await verifyPushToken(Array.isArray(header) ? header[0] : header, {
        audience,
        ...(serviceAccountEmail ? { serviceAccountEmail } : {}),
        ...(oauth ? { client: oauth } : {}),
      });
    }
    const outcome = await handleStatusChangeEvent(await cloudDependencies(), req.body);
    logOutcome('status-change', outcome);
    res.status(outcome.outcome === 'rejected' ? 202 : 200).json(outcome);
  } catch (error) {
    if (error instanceof PushAuthError) {
      res.status(403).json({ error: { code: error.code, message: error.message } });
      return;
    }
    throw error;
  }
}
