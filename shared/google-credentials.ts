import type { ExternalAccountClientOptions, GoogleAuth } from 'google-auth-library';
import { createRequire } from 'node:module';
import * as z from 'zod';
import { CLOUD_PLATFORM_SCOPE } from './adapters/mlengine/mlengine-client';
import { ConfigError } from './config';
import { zodIssues } from './domain/spec';

// google-auth-library is loaded only where Google credentials are configured.
const requireLazily = createRequire(import.meta.url);

export const GOOGLE_CREDENTIALS_VARIABLE = 'TUNEWIRE_GOOGLE_CREDENTIALS';

// A Workload Identity Federation configuration holds no secret: where to exchange a token and
// which external identity to prove. Other fields the library knows (universe_domain,
// service_account_impersonation, workforce_pool_user_project…) pass through untouched.
const externalAccountSchema = z.looseObject({
  type: z.literal('external_account'),
  audience: z.string().min(1),
  subject_token_type: z.string().min(1),
  token_url: z.url(),
  service_account_impersonation_url: z.url().optional(),
  credential_source: z.looseObject({}),
});

/** A parsed `external_account` credential configuration (Workload Identity Federation). */
export type ExternalAccountConfig = z.infer<typeof externalAccountSchema>;

/**
 * The Workload Identity Federation configuration in `TUNEWIRE_GOOGLE_CREDENTIALS`, or undefined
 * when the variable is unset (Application Default Credentials then apply). A service account key
 * is refused: the stack must hold no long-lived Google secret.
 *
 * @example
 *   const config = googleCredentialsFrom({ TUNEWIRE_GOOGLE_CREDENTIALS: '{"type":"external_account",…}' });
 */
export function googleCredentialsFrom(env: Readonly<Record<string, string | undefined>>): ExternalAccountConfig | undefined {
  const text = env[GOOGLE_CREDENTIALS_VARIABLE];
  if (text === undefined || text.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('environment', [{ path: GOOGLE_CREDENTIALS_VARIABLE, message: `is not JSON: ${(error as Error).message}` }], { cause: error });
  }
  if (typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'service_account') {
    throw new ConfigError('environment', [
      { path: `${GOOGLE_CREDENTIALS_VARIABLE}.type`, message: 'is a service account key, a long-lived key; use Workload Identity Federation (an external_account configuration)' },
    ]);
  }
  const parsed = externalAccountSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError('environment', zodIssues(parsed.error, GOOGLE_CREDENTIALS_VARIABLE), { cause: parsed.error });
  return Object.freeze(parsed.data);
}

/** A GoogleAuth for a parsed configuration, cloud-platform scope; nothing is fetched until the first call. */
export function googleAuthFor(config: ExternalAccountConfig): GoogleAuth {
  const library = requireLazily('google-auth-library') as typeof import('google-auth-library');
  // the schema checked the fields the exchange needs; the library reads the rest itself
  return new library.GoogleAuth({ credentials: config as ExternalAccountClientOptions, scopes: [CLOUD_PLATFORM_SCOPE] });
}

/**
 * Google credentials from `TUNEWIRE_GOOGLE_CREDENTIALS` (Workload Identity Federation, e.g. from
 * the Lambda role through an AWS-sourced pool provider), or undefined for Application Default
 * Credentials.
 *
 * @example
 *   const auth = googleAuthFrom(process.env);   // GoogleAuth | undefined
 *   new MlEngineClient(auth ? { auth } : {});
 */
export function googleAuthFrom(env: Readonly<Record<string, string | undefined>>): GoogleAuth | undefined {
  const config = googleCredentialsFrom(env);
  return config ? googleAuthFor(config) : undefined;
}
