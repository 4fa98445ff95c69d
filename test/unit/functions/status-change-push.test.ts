import { describe, expect, it, vi } from 'vitest';

describe('status-change behind a Pub/Sub push subscription', () => {
  it('refuses a push without the OIDC token when an audience is configured, before any work', async () => {
    vi.stubEnv('TUNEWIRE_PUSH_AUDIENCE', 'https://tunewire.example.com/status-change');
    vi.resetModules();
    const { pubsubPush } = await import('../../../functions/status-change/pubsub-push');
    const answer: { status?: number; body?: unknown } = {};
    const res = {
      status(code: number) {
        answer.status = code;
        return res;
      },
      json(body: unknown) {
        answer.body = body;
      },
    };
    await pubsubPush({ headers: {}, body: { message: { data: '', messageId: '1' }, subscription: 's' } }, res);
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: { code: 'PUSH.UNAUTHORIZED' } });
    vi.unstubAllEnvs();
  });
});
