import { describe, expect, it } from 'vitest';
import { WebhookAllowListError } from '../../../../shared/adapters/webhooks/ssrf-guard';
import { classifyResponse, retryAfterMs, webhookSender } from '../../../../shared/adapters/webhooks/webhook-sender';
import { eventIds, makeEvent } from '../../../../shared/domain/events';
import { backoffMs, DEFAULT_RETRY_POLICY } from '../../../../shared/use-cases/notify';

const now = new Date('2025-06-01T12:00:00Z');
const reply = (status: number, headers: Record<string, string> = {}) => classifyResponse({ status, headers, bodySnippet: '' }, now);

describe('classifyResponse', () => {
  it('maps statuses to what the retry loop does', () => {
    expect(reply(204).outcome).toBe('delivered');
    expect(reply(410).outcome).toBe('gone');
    for (const status of [408, 429, 500, 502, 503]) expect(reply(status).outcome).toBe('retry');
    for (const status of [301, 302, 307, 308, 400, 401, 404, 413]) expect(reply(status).outcome).toBe('failed');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(reply(429, { 'retry-after': '7' })).toMatchObject({ outcome: 'retry', retryAfterMs: 7_000 });
    expect(reply(503, { 'retry-after': 'Sun, 01 Jun 2025 12:00:30 GMT' })).toMatchObject({ retryAfterMs: 30_000 });
    expect(retryAfterMs('Sun, 01 Jun 2025 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('grows exponentially with full jitter, capped', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(DEFAULT_RETRY_POLICY, n, undefined, () => 0.999))).toEqual([999, 1_998, 3_996, 7_992]);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 20, undefined, () => 0.999)).toBe(29_970);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 3, undefined, () => 0)).toBe(0);
  });

  it("honours the receiver's Retry-After up to the cap", () => {
    expect(backoffMs(DEFAULT_RETRY_POLICY, 1, 5_000, () => 0)).toBe(5_000);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 1, 3_600_000, () => 0)).toBe(60_000);
  });
});

describe('webhookSender', () => {
  const event = makeEvent('job.finished', eventIds.finished('job-1'), 'job-1', { jobId: 'job-1', name: 'n', provider: 'local', status: 'succeeded' }, now);
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  it('refuses a bad allow-list entry when it is built, not on every delivery', () => {
    expect(() => webhookSender({ allow: ['127.0.0.1', '10.0.0.0/33'] })).toThrow(WebhookAllowListError);
  });

  it('fails a URL with credentials without repeating them', async () => {
    const result = await webhookSender()({ subscriptionId: 'sub_a', url: 'https://user:s3cret@hooks.example.com/x', secret }, event, now);
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringContaining('https://***@hooks.example.com/x') });
    expect(JSON.stringify(result)).not.toMatch(/user|s3cret/);
  });

  it('fails an IPv4-translated loopback URL without connecting', async () => {
    const result = await webhookSender()({ subscriptionId: 'sub_a', url: 'http://[::ffff:0:7f00:1]:1/', secret }, event, now);
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/IPv4-translated loopback/) });
  });
});
