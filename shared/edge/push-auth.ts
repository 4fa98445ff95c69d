import { OAuth2Client, type Certificates, type TokenPayload } from 'google-auth-library';
import { TunewireError } from '../domain/errors';

/** The issuers Google signs Pub/Sub push tokens as. */
export const GOOGLE_ISSUERS: readonly string[] = ['accounts.google.com', 'https://accounts.google.com'];

/** A Pub/Sub push whose OIDC token is missing or does not prove who sent it. Retrying cannot help. */
export class PushAuthError extends TunewireError {
  readonly code = 'PUSH.UNAUTHORIZED';
  readonly retryable = false;
}

export interface PushAuthOptions {
  /** The `--push-auth-token-audience` of the subscription (by default the push endpoint's URL). */
  readonly audience: string;
  /** The `--push-auth-service-account`; when set, the token's verified email must be it. */
  readonly serviceAccountEmail?: string;
  /** Build one per cold start and pass it in: it caches Google's certificates between calls. */
  readonly client?: OAuth2Client;
  /** Verify against these certificates (key id → PEM) instead of fetching Google's; for tests. */
  readonly certs?: Certificates;
}

let defaultClient: OAuth2Client | undefined;

/**
 * Checks the `Authorization: Bearer <JWT>` of a Pub/Sub push with google-auth-library: signature
 * (Google's certificates), expiry, issuer, audience, and optionally the sending service account.
 * Resolves when the push may be handled; throws PushAuthError otherwise (answer 401/403; Pub/Sub
 * retries and, in the end, dead-letters).
 *
 * @example
 *   await verifyPushToken(request.headers.authorization, { audience: config.pushAudience, serviceAccountEmail: config.pushServiceAccount, client });
 */
export async function verifyPushToken(authorization: string | undefined, options: PushAuthOptions): Promise<void> {
  const token = bearerToken(authorization);
  const client = options.client ?? (defaultClient ??= new OAuth2Client());
  let payload: TokenPayload | undefined;
  try {
    const ticket = options.certs
      ? await client.verifySignedJwtWithCertsAsync(token, options.certs, options.audience, [...GOOGLE_ISSUERS])
      : await client.verifyIdToken({ idToken: token, audience: options.audience });
    payload = ticket.getPayload();
  } catch (error) {
    // The library's messages repeat the whole token; name the reason only.
    const reason = error instanceof Error ? error.message.split(':')[0] : 'verification failed';
    throw new PushAuthError(`push token rejected: ${reason}`, { cause: error });
  }
  if (!payload) throw new PushAuthError('push token has no payload');
  // verifyIdToken checks the client's issuers, which a caller-built client may have changed.
  if (!GOOGLE_ISSUERS.includes(payload.iss)) throw new PushAuthError(`push token issuer ${payload.iss} is not Google`);
  if (options.serviceAccountEmail !== undefined) {
    if (payload.email !== options.serviceAccountEmail) {
      throw new PushAuthError(`push token is for ${payload.email ?? 'no email'}, not ${options.serviceAccountEmail}`);
    }
    if (payload.email_verified !== true) throw new PushAuthError(`push token email ${payload.email} is not verified`);
  }
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw new PushAuthError('push has no Authorization header');
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) throw new PushAuthError('push Authorization header is not "Bearer <token>"');
  return match[1];
}
