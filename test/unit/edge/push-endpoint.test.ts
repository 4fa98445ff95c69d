import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUSH_AUTH_OFF_NOTICE, PushCertificatesUnavailableError, type PushAuthConfig } from '../../../shared/edge/push-auth';
import { createPushEndpoint, type PushResponse } from '../../../shared/edge/push-endpoint';
import type { HandledEvent } from '../../../shared/use-cases/provider-events';
import { FakeGoogleCerts, PUSH_AUDIENCE, PUSH_SENDER } from '../../support/google-id-tokens';

const PUSH_BODY = { message: { data: '', messageId: '1' }, subscription: 'projects/p/subscriptions/status-change' };
const verify: PushAuthConfig = { mode: 'verify', audience: PUSH_AUDIENCE, serviceAccountEmail: PUSH_SENDER };

/** What the endpoint answered, through the Express-shaped response it writes to. */
interface Answer {
  status?: number;
  headers: Record<string, string>;
  body?: unknown;
}

function recorder(): { res: PushResponse; answer: Answer } {
  const answer: Answer = { headers: {} };
  const res: PushResponse = {
    status(code) {
      answer.status = code;
      return res;
    },
    set(field, value) {
      answer.headers[field.toLowerCase()] = value;
      return res;
    },
    json(body) {
      answer.body = body;
    },
  };
  return { res, answer };
}

describe('createPushEndpoint', () => {
  let google: FakeGoogleCerts;
  const handled: unknown[] = [];
  const handle = async (body: unknown): Promise<HandledEvent> => {
    handled.push(body);
    return { outcome: 'applied', jobId: 'job-1', detail: 'pending -> running' };
  };

  beforeAll(async () => {
    google = await FakeGoogleCerts.start();
  });
  afterAll(() => google.close());

  async function push(auth: PushAuthConfig, authorization?: string, warnings: string[] = []): Promise<Answer> {
    handled.length = 0;
    const endpoint = createPushEndpoint({ auth, handle, client: google.client(), warn: (line) => warnings.push(line) });
    const { res, answer } = recorder();
    await endpoint({ headers: authorization === undefined ? {} : { authorization }, body: PUSH_BODY }, res);
    return answer;
  }

  it('handles a push carrying a valid token from the push service account (200)', async () => {
    const answer = await push(verify, `Bearer ${google.token()}`);
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'applied', jobId: 'job-1' } });
    expect(handled).toEqual([PUSH_BODY]);
  });

  it('answers 401 with a bare Bearer challenge to a push without a token, before any work', async () => {
    const answer = await push(verify);
    expect(answer).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="tunewire push"' }, body: { error: { code: 'PUSH.UNAUTHENTICATED' } } });
    expect(handled).toEqual([]);
  });

  it('answers 401 invalid_token to a token for another audience', async () => {
    const answer = await push(verify, `Bearer ${google.token({ aud: 'https://elsewhere.example.com/push' })}`);
    expect(answer).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="tunewire push", error="invalid_token"' } });
    expect(handled).toEqual([]);
  });

  it('answers 401 invalid_token to an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const answer = await push(verify, `Bearer ${google.token({ iat: past, exp: past + 600 })}`);
    expect(answer).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="tunewire push", error="invalid_token"' } });
    expect(handled).toEqual([]);
  });

  it('answers 403 to a valid token from another service account', async () => {
    const answer = await push(verify, `Bearer ${google.token({ email: 'intruder@evil.iam.gserviceaccount.com' })}`);
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'PUSH.FORBIDDEN' } } });
    expect(answer.headers).toEqual({});
    expect(handled).toEqual([]);
  });

  it('answers 403 to a token whose email is not verified', async () => {
    const answer = await push(verify, `Bearer ${google.token({ email_verified: false })}`);
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'PUSH.FORBIDDEN' } } });
    expect(handled).toEqual([]);
  });

  it("throws (500, so Pub/Sub redelivers) when Google's certificates cannot be fetched", async () => {
    google.failWith = 500;
    try {
      await expect(push(verify, `Bearer ${google.token()}`)).rejects.toBeInstanceOf(PushCertificatesUnavailableError);
      expect(handled).toEqual([]);
    } finally {
      google.failWith = undefined;
    }
  });

  it('says at start that push authentication is off, then handles pushes without a token', async () => {
    const warnings: string[] = [];
    const answer = await push({ mode: 'off' }, undefined, warnings);
    expect(warnings).toEqual([PUSH_AUTH_OFF_NOTICE]);
    expect(PUSH_AUTH_OFF_NOTICE).toMatch(/^push authentication is off \(TUNEWIRE_PUSH_AUTH=off\)/);
    expect(answer.status).toBe(200);
    expect(handled).toEqual([PUSH_BODY]);
  });

  it('says nothing about authentication when it is on', async () => {
    const warnings: string[] = [];
    await push(verify, `Bearer ${google.token()}`, warnings);
    expect(warnings).toEqual([]);
  });

  it('answers 202 to a push the use case rejects, so Pub/Sub does not redeliver it', async () => {
    const endpoint = createPushEndpoint({ auth: { mode: 'off' }, handle: async () => ({ outcome: 'rejected', detail: 'message.data: not JSON' }), warn: () => undefined });
    const { res, answer } = recorder();
    await endpoint({ headers: {}, body: PUSH_BODY }, res);
    expect(answer.status).toBe(202);
  });
});
