import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/config';
import {
  loadPushAuthConfig,
  PushCertificatesUnavailableError,
  PushForbiddenError,
  PushUnauthenticatedError,
  verifyPushToken,
  type PushTokenOptions,
} from '../../../shared/edge/push-auth';
import { FakeGoogleCerts, PUSH_AUDIENCE, PUSH_SENDER } from '../../support/google-id-tokens';

function configIssues(env: Record<string, string>): Array<{ path: string; message: string }> {
  try {
    loadPushAuthConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map(({ path, message }) => ({ path, message }));
  }
  return expect.unreachable('loadPushAuthConfig accepted the environment');
}

describe('loadPushAuthConfig', () => {
  it('reads the audience and the push service account, frozen', () => {
    const auth = loadPushAuthConfig({ TUNEWIRE_PUSH_AUDIENCE: PUSH_AUDIENCE, TUNEWIRE_PUSH_SERVICE_ACCOUNT: PUSH_SENDER });
    expect(auth).toEqual({ mode: 'verify', audience: PUSH_AUDIENCE, serviceAccountEmail: PUSH_SENDER });
    expect(Object.isFrozen(auth)).toBe(true);
  });

  it('accepts TUNEWIRE_PUSH_AUTH=on spelled out', () => {
    expect(loadPushAuthConfig({ TUNEWIRE_PUSH_AUTH: 'on', TUNEWIRE_PUSH_AUDIENCE: PUSH_AUDIENCE, TUNEWIRE_PUSH_SERVICE_ACCOUNT: PUSH_SENDER }).mode).toBe('verify');
  });

  it('refuses an unconfigured deployment, naming both variables and the off switch', () => {
    const issues = configIssues({});
    expect(issues.map((i) => i.path)).toEqual(['TUNEWIRE_PUSH_AUDIENCE', 'TUNEWIRE_PUSH_SERVICE_ACCOUNT']);
    expect(issues[0]?.message).toMatch(/--push-auth-token-audience.*TUNEWIRE_PUSH_AUTH=off/);
    expect(issues[1]?.message).toMatch(/--push-auth-service-account/);
  });

  it('refuses an audience without the push service account', () => {
    expect(configIssues({ TUNEWIRE_PUSH_AUDIENCE: PUSH_AUDIENCE }).map((i) => i.path)).toEqual(['TUNEWIRE_PUSH_SERVICE_ACCOUNT']);
  });

  it('refuses the push service account without an audience', () => {
    expect(configIssues({ TUNEWIRE_PUSH_SERVICE_ACCOUNT: PUSH_SENDER }).map((i) => i.path)).toEqual(['TUNEWIRE_PUSH_AUDIENCE']);
  });

  it('counts blank values as missing', () => {
    expect(configIssues({ TUNEWIRE_PUSH_AUDIENCE: '  ', TUNEWIRE_PUSH_SERVICE_ACCOUNT: PUSH_SENDER }).map((i) => i.path)).toEqual(['TUNEWIRE_PUSH_AUDIENCE']);
  });

  it('refuses a push service account that is not an email', () => {
    expect(configIssues({ TUNEWIRE_PUSH_AUDIENCE: PUSH_AUDIENCE, TUNEWIRE_PUSH_SERVICE_ACCOUNT: 'tunewire-push' })).toEqual([
      { path: 'TUNEWIRE_PUSH_SERVICE_ACCOUNT', message: 'must be a service account email (is "tunewire-push")' },
    ]);
  });

  it('switches off only with TUNEWIRE_PUSH_AUTH=off', () => {
    expect(loadPushAuthConfig({ TUNEWIRE_PUSH_AUTH: 'off' })).toEqual({ mode: 'off' });
  });

  it('refuses an off switch beside an audience or account, which would read as checked', () => {
    expect(configIssues({ TUNEWIRE_PUSH_AUTH: 'off', TUNEWIRE_PUSH_AUDIENCE: PUSH_AUDIENCE, TUNEWIRE_PUSH_SERVICE_ACCOUNT: PUSH_SENDER }).map((i) => i.path)).toEqual([
      'TUNEWIRE_PUSH_AUDIENCE',
      'TUNEWIRE_PUSH_SERVICE_ACCOUNT',
    ]);
  });

  it('refuses any other value of the switch', () => {
    expect(configIssues({ TUNEWIRE_PUSH_AUTH: 'false' })).toEqual([{ path: 'TUNEWIRE_PUSH_AUTH', message: 'must be "on" or "off" (is "false")' }]);
  });
});

describe('verifyPushToken', () => {
  let google: FakeGoogleCerts;
  let options: PushTokenOptions;

  beforeAll(async () => {
    google = await FakeGoogleCerts.start();
    options = { audience: PUSH_AUDIENCE, serviceAccountEmail: PUSH_SENDER, client: google.client() };
  });
  afterAll(() => google.close());

  async function rejection(authorization: string | undefined, opts: PushTokenOptions = options): Promise<unknown> {
    const error = await verifyPushToken(authorization, opts).then(
      () => expect.unreachable('the token was accepted'),
      (e: unknown) => e,
    );
    if (error instanceof PushUnauthenticatedError || error instanceof PushForbiddenError) expect(error.retryable).toBe(false);
    return error;
  }

  async function unauthenticated(authorization: string | undefined): Promise<PushUnauthenticatedError> {
    const error = await rejection(authorization);
    expect(error).toBeInstanceOf(PushUnauthenticatedError);
    expect((error as PushUnauthenticatedError).code).toBe('PUSH.UNAUTHENTICATED');
    return error as PushUnauthenticatedError;
  }

  async function forbidden(authorization: string): Promise<PushForbiddenError> {
    const error = await rejection(authorization);
    expect(error).toBeInstanceOf(PushForbiddenError);
    expect((error as PushForbiddenError).code).toBe('PUSH.FORBIDDEN');
    return error as PushForbiddenError;
  }

  it('accepts a valid token from the push service account, fetching the certificates once per client', async () => {
    const client = google.client();
    const before = google.fetches;
    await expect(verifyPushToken(`Bearer ${google.token()}`, { ...options, client })).resolves.toBeUndefined();
    await expect(verifyPushToken(`Bearer ${google.token()}`, { ...options, client })).resolves.toBeUndefined();
    expect(google.fetches - before).toBe(1);
  });

  it('accepts the issuer without a scheme too', async () => {
    await expect(verifyPushToken(`Bearer ${google.token({ iss: 'accounts.google.com' })}`, options)).resolves.toBeUndefined();
  });

  it('refuses a push without an Authorization header as missing credentials', async () => {
    const error = await unauthenticated(undefined);
    expect(error.reason).toBe('missing');
    expect(error.message).toMatch(/no Authorization header/);
  });

  it('refuses a header that is not a bearer token as invalid', async () => {
    expect((await unauthenticated(`Basic ${Buffer.from('a:b').toString('base64')}`)).reason).toBe('invalid');
  });

  it('refuses a token for another audience', async () => {
    const error = await unauthenticated(`Bearer ${google.token({ aud: 'https://elsewhere.example.com/push' })}`);
    expect(error.reason).toBe('invalid');
    expect(error.message).toMatch(/audience/);
  });

  it('refuses an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    expect((await unauthenticated(`Bearer ${google.token({ iat: past, exp: past + 600 })}`)).message).toMatch(/too late/);
  });

  it('refuses a token from another issuer', async () => {
    expect((await unauthenticated(`Bearer ${google.token({ iss: 'https://issuer.example.com' })}`)).message).toMatch(/issuer/);
  });

  it('refuses a token signed with another key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect((await unauthenticated(`Bearer ${google.token({}, other)}`)).message).toMatch(/signature/);
  });

  it('refuses garbage without echoing it', async () => {
    expect((await unauthenticated('Bearer not-a-jwt')).message).not.toContain('not-a-jwt');
  });

  it('forbids a valid token from another service account', async () => {
    expect((await forbidden(`Bearer ${google.token({ email: 'intruder@evil.iam.gserviceaccount.com' })}`)).message).toMatch(/not tunewire-push@/);
  });

  it('forbids a valid token without an email', async () => {
    expect((await forbidden(`Bearer ${google.token({ email: undefined })}`)).message).toMatch(/no email/);
  });

  it('forbids a token whose email is not verified', async () => {
    expect((await forbidden(`Bearer ${google.token({ email_verified: false })}`)).message).toMatch(/not verified/);
  });

  it("answers a retryable error, not a refusal, when Google's certificates cannot be fetched", async () => {
    google.failWith = 503;
    try {
      const error = await rejection(`Bearer ${google.token()}`, { ...options, client: google.client() });
      expect(error).toBeInstanceOf(PushCertificatesUnavailableError);
      expect((error as PushCertificatesUnavailableError).retryable).toBe(true);
    } finally {
      google.failWith = undefined;
    }
  });
});
