import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigError } from '../../../shared/config';
import { PUSH_AUTH_OFF_NOTICE } from '../../../shared/edge/push-auth';
import type { PushResponse } from '../../../shared/edge/push-endpoint';

/** Imports the entry afresh, as a cold start with the stubbed environment would load it. */
async function coldStart(env: Record<string, string>) {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  return import('../../../functions/status-change/pubsub-push');
}

function recorder() {
  const answer: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
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

describe('status-change behind a Pub/Sub push subscription', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('fails to start without push authentication configured, naming both variables', async () => {
    const error = await coldStart({ TUNEWIRE_PUSH_AUTH: '', TUNEWIRE_PUSH_AUDIENCE: '', TUNEWIRE_PUSH_SERVICE_ACCOUNT: '' }).then(
      () => expect.unreachable('the entry started'),
      (e: unknown) => e,
    );
    // a fresh module graph has its own ConfigError class: match the stable code
    expect(error).toMatchObject({ name: 'ConfigError', code: 'CONFIG.INVALID' });
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['TUNEWIRE_PUSH_AUDIENCE', 'TUNEWIRE_PUSH_SERVICE_ACCOUNT']);
  });

  it('fails to start with an audience but no push service account', async () => {
    const error = await coldStart({ TUNEWIRE_PUSH_AUDIENCE: 'https://tunewire.example.com/status-change', TUNEWIRE_PUSH_SERVICE_ACCOUNT: '' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG.INVALID' });
    expect((error as ConfigError).message).toContain('TUNEWIRE_PUSH_SERVICE_ACCOUNT');
  });

  it('refuses a push without the OIDC token with 401, before any work', async () => {
    const { pubsubPush } = await coldStart({
      TUNEWIRE_PUSH_AUDIENCE: 'https://tunewire.example.com/status-change',
      TUNEWIRE_PUSH_SERVICE_ACCOUNT: 'tunewire-push@tunewire-prod.iam.gserviceaccount.com',
    });
    const { res, answer } = recorder();
    await pubsubPush({ headers: {}, body: { message: { data: '', messageId: '1' }, subscription: 's' } }, res);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="tunewire push"');
    expect(answer.body).toMatchObject({ error: { code: 'PUSH.UNAUTHENTICATED' } });
  });

  it('starts with TUNEWIRE_PUSH_AUTH=off and says so in its log', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await coldStart({ TUNEWIRE_PUSH_AUTH: 'off', TUNEWIRE_PUSH_AUDIENCE: '', TUNEWIRE_PUSH_SERVICE_ACCOUNT: '' });
    expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)) as unknown)).toEqual([{ level: 'warn', message: PUSH_AUTH_OFF_NOTICE }]);
  });
});
