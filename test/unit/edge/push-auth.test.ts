import { createSign, generateKeyPairSync } from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';
import { describe, expect, it } from 'vitest';
import { PushAuthError, verifyPushToken } from '../../../shared/edge/push-auth';

// A key of our own stands in for Google's: the library verifies against whatever certs it is given.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'test-key-1';
const certs = { [KID]: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
const AUDIENCE = 'https://status-change.example.run.app/push';
const SENDER = 'tunewire-push@tunewire-prod.iam.gserviceaccount.com';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An OIDC token as Pub/Sub push sends it, signed RS256 with our key. */
function token(claims: Record<string, unknown> = {}, key = privateKey): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: 'https://accounts.google.com', aud: AUDIENCE, iat: now, exp: now + 3600, sub: '1234567890', email: SENDER, email_verified: true, ...claims };
  const signed = `${b64url({ alg: 'RS256', typ: 'JWT', kid: KID })}.${b64url(payload)}`;
  return `${signed}.${createSign('RSA-SHA256').update(signed).sign(key).toString('base64url')}`;
}

const options = { audience: AUDIENCE, serviceAccountEmail: SENDER, certs, client: new OAuth2Client() };

async function rejection(authorization: string | undefined, opts = options): Promise<PushAuthError> {
  const error = await verifyPushToken(authorization, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PushAuthError);
  const pushError = error as PushAuthError;
  expect(pushError.code).toBe('PUSH.UNAUTHORIZED');
  expect(pushError.retryable).toBe(false);
  return pushError;
}

describe('verifyPushToken', () => {
  it('accepts a valid token from the expected service account', async () => {
    await expect(verifyPushToken(`Bearer ${token()}`, options)).resolves.toBeUndefined();
  });

  it('accepts the issuer without a scheme too', async () => {
    await expect(verifyPushToken(`Bearer ${token({ iss: 'accounts.google.com' })}`, options)).resolves.toBeUndefined();
  });

  it('accepts any sender when no service account is configured', async () => {
    await expect(verifyPushToken(`Bearer ${token({ email: 'someone@else.com' })}`, { audience: AUDIENCE, certs })).resolves.toBeUndefined();
  });

  it('refuses a push without an Authorization header', async () => {
    expect((await rejection(undefined)).message).toMatch(/no Authorization header/);
  });

  it('refuses a header that is not a bearer token', async () => {
    await rejection(`Basic ${Buffer.from('a:b').toString('base64')}`);
  });

  it('refuses a token for another audience', async () => {
    expect((await rejection(`Bearer ${token({ aud: 'https://elsewhere.example.com/push' })}`)).message).toMatch(/audience/);
  });

  it('refuses an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    expect((await rejection(`Bearer ${token({ iat: past, exp: past + 600 })}`)).message).toMatch(/too late/);
  });

  it('refuses a token from another issuer', async () => {
    expect((await rejection(`Bearer ${token({ iss: 'https://issuer.example.com' })}`)).message).toMatch(/issuer/);
  });

  it('refuses a token signed with another key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect((await rejection(`Bearer ${token({}, other)}`)).message).toMatch(/signature/);
  });

  it('refuses a token from another service account', async () => {
    expect((await rejection(`Bearer ${token({ email: 'intruder@evil.iam.gserviceaccount.com' })}`)).message).toMatch(/not tunewire-push/);
  });

  it('refuses a token whose email is not verified', async () => {
    expect((await rejection(`Bearer ${token({ email_verified: false })}`)).message).toMatch(/not verified/);
  });

  it('refuses garbage without echoing it', async () => {
    const error = await rejection('Bearer not-a-jwt');
    expect(error.message).not.toContain('not-a-jwt');
  });
});
