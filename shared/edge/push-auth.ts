import { OAuth2Client, type TokenPayload } from 'google-auth-library';
import { ConfigError } from '../config';
import { TunewireError, type FieldIssue } from '../domain/errors';

/** The issuers Google signs Pub/Sub push tokens as. */
export const GOOGLE_ISSUERS: readonly string[] = ['accounts.google.com', 'https://accounts.google.com'];

/** The one line a process with push authentication switched off logs (and `tunewire dev` shows). */
export const PUSH_AUTH_OFF_NOTICE = 'push authentication is off (TUNEWIRE_PUSH_AUTH=off): Pub/Sub pushes are accepted without a token; never set this on a deployment';

/** A Pub/Sub push that may not be handled. Retrying the same push cannot help. */
export abstract class PushAuthError extends TunewireError {
  readonly retryable = false;
}

/**
 * No token, or one that proves nothing: not a bearer token, bad signature, expired, another
 * audience or issuer. Answer 401 with `WWW-Authenticate` (RFC 6750).
 */
export class PushUnauthenticatedError extends PushAuthError {
  readonly code = 'PUSH.UNAUTHENTICATED';

  constructor(
    message: string,
    /** `missing`: the push carried no credentials; `invalid`: it carried a token that failed. */
    readonly reason: 'missing' | 'invalid',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A valid Google token, but not for the push service account (or its email is unverified). Answer 403. */
export class PushForbiddenError extends PushAuthError {
  readonly code = 'PUSH.FORBIDDEN';
}

/** Google's certificates could not be fetched: nothing is known about the token yet. Answer 5xx so Pub/Sub redelivers. */
export class PushCertificatesUnavailableError extends TunewireError {
  readonly code = 'PUSH.CERTIFICATES_UNAVAILABLE';
  readonly retryable = true;
}

/** How a push entry authenticates its callers: decided once at cold start, frozen. */
export type PushAuthConfig =
  | {
      readonly mode: 'verify';
      /** The subscription's `--push-auth-token-audience` (by default the push endpoint's URL). */
      readonly audience: string;
      /** The subscription's `--push-auth-service-account`: the token's verified email must be it. */
      readonly serviceAccountEmail: string;
    }
  | { readonly mode: 'off' };

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Reads push authentication from the environment. On unless `TUNEWIRE_PUSH_AUTH=off`; when on,
 * `TUNEWIRE_PUSH_AUDIENCE` and `TUNEWIRE_PUSH_SERVICE_ACCOUNT` are both required, as an audience
 * alone accepts any Google-signed token for it. Throws ConfigError naming every variable at fault.
 *
 * @example
 *   const auth = loadPushAuthConfig(process.env); // at cold start: a misconfigured function never serves
 *   // { mode: 'verify', audience: 'https://status-change-…run.app', serviceAccountEmail: 'tunewire-push@p.iam.gserviceaccount.com' }
 */
export function loadPushAuthConfig(env: Readonly<Record<string, string | undefined>>): PushAuthConfig {
  const switchValue = env.TUNEWIRE_PUSH_AUTH?.trim();
  const audience = env.TUNEWIRE_PUSH_AUDIENCE?.trim() || undefined;
  const account = env.TUNEWIRE_PUSH_SERVICE_ACCOUNT?.trim() || undefined;
  const issues: FieldIssue[] = [];
  if (switchValue !== undefined && switchValue !== '' && switchValue !== 'on' && switchValue !== 'off') {
    issues.push({ path: 'TUNEWIRE_PUSH_AUTH', message: `must be "on" or "off" (is "${switchValue}")` });
  } else if (switchValue === 'off') {
    // Both set and switched off is ambiguous: an operator reading the variables would think pushes are checked.
    if (audience) issues.push({ path: 'TUNEWIRE_PUSH_AUDIENCE', message: 'must not be set when TUNEWIRE_PUSH_AUTH is off (remove it, or remove TUNEWIRE_PUSH_AUTH=off)' });
    if (account) issues.push({ path: 'TUNEWIRE_PUSH_SERVICE_ACCOUNT', message: 'must not be set when TUNEWIRE_PUSH_AUTH is off (remove it, or remove TUNEWIRE_PUSH_AUTH=off)' });
  } else {
    const hint = 'push authentication is on unless TUNEWIRE_PUSH_AUTH=off (local stacks only)';
    if (!audience) issues.push({ path: 'TUNEWIRE_PUSH_AUDIENCE', message: `is required: the push subscription's --push-auth-token-audience; ${hint}` });
    if (!account) issues.push({ path: 'TUNEWIRE_PUSH_SERVICE_ACCOUNT', message: `is required: the push subscription's --push-auth-service-account; ${hint}` });
    else if (!EMAIL.test(account)) issues.push({ path: 'TUNEWIRE_PUSH_SERVICE_ACCOUNT', message: `must be a service account email (is "${account}")` });
  }
  if (issues.length) throw new ConfigError('push authentication', issues);
  if (switchValue === 'off') return Object.freeze({ mode: 'off' as const });
  return Object.freeze({ mode: 'verify' as const, audience: audience as string, serviceAccountEmail: account as string });
}

export interface PushTokenOptions {
  readonly audience: string;
  readonly serviceAccountEmail: string;
  /** Build one per cold start and pass it in: it caches Google's certificates between calls. */
  readonly client?: OAuth2Client;
}

let defaultClient: OAuth2Client | undefined;

/**
 * Checks the `Authorization: Bearer <JWT>` of a Pub/Sub push as Google documents it, with
 * google-auth-library's `verifyIdToken`: signature against Google's certificates, expiry, issuer,
 * audience; then `email_verified` and `email` = the push service account. Resolves when the push
 * may be handled. Throws PushUnauthenticatedError (401), PushForbiddenError (403), or
 * PushCertificatesUnavailableError (retryable) when Google's certificates cannot be fetched.
 *
 * @example
 *   await verifyPushToken(request.headers.authorization, { audience, serviceAccountEmail, client });
 */
export async function verifyPushToken(authorization: string | undefined, options: PushTokenOptions): Promise<void> {
  const token = bearerToken(authorization);
  const client = options.client ?? (defaultClient ??= new OAuth2Client());
  try {
    // verifyIdToken fetches these too (then from this cache); asked first so an outage of Google's
    // certificate endpoint is told apart from a bad token without reading error messages.
    await client.getFederatedSignonCertsAsync();
  } catch (error) {
    throw new PushCertificatesUnavailableError("Google's token certificates could not be fetched", { cause: error });
  }
  let payload: TokenPayload | undefined;
  try {
    payload = (await client.verifyIdToken({ idToken: token, audience: options.audience })).getPayload();
  } catch (error) {
    // The library's messages repeat the whole token; name the reason only.
    const reason = error instanceof Error ? error.message.split(':')[0] : 'verification failed';
    throw new PushUnauthenticatedError(`push token rejected: ${reason}`, 'invalid', { cause: error });
  }
  if (!payload) throw new PushUnauthenticatedError('push token has no payload', 'invalid');
  // verifyIdToken checks the client's issuers, which a caller-built client may have changed.
  if (!GOOGLE_ISSUERS.includes(payload.iss)) throw new PushUnauthenticatedError(`push token issuer ${payload.iss} is not Google`, 'invalid');
  if (payload.email !== options.serviceAccountEmail) {
    throw new PushForbiddenError(`push token is for ${payload.email ?? 'no email'}, not ${options.serviceAccountEmail}`);
  }
  if (payload.email_verified !== true) throw new PushForbiddenError(`push token email ${payload.email} is not verified`);
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization?.trim()) throw new PushUnauthenticatedError('push has no Authorization header', 'missing');
  const match = /^Bearer[ \t]+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) throw new PushUnauthenticatedError('push Authorization header is not "Bearer <token>"', 'invalid');
  return match[1];
}
