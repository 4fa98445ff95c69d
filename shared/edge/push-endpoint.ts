import { OAuth2Client } from 'google-auth-library';
import type { HandledEvent } from '../use-cases/provider-events';
import { PUSH_AUTH_OFF_NOTICE, PushForbiddenError, PushUnauthenticatedError, verifyPushToken, type PushAuthConfig } from './push-auth';

/** The parts of a Cloud Functions (Functions Framework, Express) HTTP request used here. */
export interface PushRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

/** The parts of the Express response used here. */
export interface PushResponse {
  status(code: number): PushResponse;
  set(field: string, value: string): PushResponse;
  json(body: unknown): void;
}

export interface PushEndpointOptions {
  /** From loadPushAuthConfig, at cold start. */
  readonly auth: PushAuthConfig;
  /** The use case behind the endpoint, with its dependencies. */
  readonly handle: (body: unknown) => Promise<HandledEvent>;
  /** Built here once when not given; tests point one at their own certificates. */
  readonly client?: OAuth2Client;
  /** Where the "push authentication is off" line goes; a JSON line on stderr by default. */
  readonly warn?: (line: string) => void;
}

const REALM = 'Bearer realm="tunewire push"';

/**
 * A Pub/Sub push endpoint: checks the push's OIDC token (unless authentication is switched off),
 * then hands the body to the use case. A 2xx acknowledges the message; anything else makes Pub/Sub
 * deliver it again, so only retryable failures and refused pushes answer otherwise:
 *
 * - no token, or one that fails verification: 401 with `WWW-Authenticate` (RFC 6750);
 * - a valid Google token from another (or an unverified) service account: 403;
 * - a use case rejection (bad body): 202, so it is not redelivered; a thrown error is rethrown (500).
 *
 * @example
 *   export const pubsubPush = createPushEndpoint({ auth: loadPushAuthConfig(process.env), handle: (body) => handleStatusChangeEvent(deps, body) });
 */
export function createPushEndpoint(options: PushEndpointOptions): (req: PushRequest, res: PushResponse) => Promise<void> {
  const { auth, handle } = options;
  const client = auth.mode === 'verify' ? (options.client ?? new OAuth2Client()) : undefined;
  if (auth.mode === 'off') (options.warn ?? warnLine)(PUSH_AUTH_OFF_NOTICE);

  return async (req, res) => {
    if (auth.mode === 'verify') {
      const header = req.headers['authorization'];
      try {
        await verifyPushToken(Array.isArray(header) ? header[0] : header, { audience: auth.audience, serviceAccountEmail: auth.serviceAccountEmail, ...(client ? { client } : {}) });
      } catch (error) {
        if (error instanceof PushUnauthenticatedError) {
          res.status(401).set('WWW-Authenticate', error.reason === 'missing' ? REALM : `${REALM}, error="invalid_token"`);
          res.json({ error: { code: error.code, message: error.message } });
          return;
        }
        if (error instanceof PushForbiddenError) {
          res.status(403).json({ error: { code: error.code, message: error.message } });
          return;
        }
        throw error;
      }
    }
    const outcome = await handle(req.body);
    res.status(outcome.outcome === 'rejected' ? 202 : 200).json(outcome);
  };
}

function warnLine(line: string): void {
  console.warn(JSON.stringify({ level: 'warn', message: line }));
}
