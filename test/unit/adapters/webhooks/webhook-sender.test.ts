import { describe, expect, it } from 'vitest';
import { WebhookAllowListError } from '../../../../shared/adapters/webhooks/ssrf-guard';
import { classifyResponse, retryAfterMs, signedWebhook, slackPayload, webhookSender } from '../../../../shared/adapters/webhooks/webhook-sender';
import { eventIds, makeEvent } from '../../../../shared/domain/events';
import { DEFAULT_RETRY_POLICY, STANDARD_WEBHOOKS_SCHEDULE_MS, waitBeforeAttempt } from '../../../../shared/use-cases/notify';

const now = new Date('2025-06-01T12:00:00Z');
const reply = (status: number, headers: Record<string, string> = {}) => classifyResponse({ status, headers, bodySnippet: '' }, now);

describe('classifyResponse', () => {
  it('maps statuses to what the retry loop does', () => {
    expect(reply(204).outcome).toBe('delivered');
    expect(reply(410).outcome).toBe('gone');
    for (const status of [408, 409, 425, 429, 500, 502, 503]) expect(reply(status).outcome, String(status)).toBe('retry');
    for (const status of [301, 302, 307, 308, 400, 401, 403, 404, 413, 422]) expect(reply(status).outcome, String(status)).toBe('failed');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(reply(429, { 'retry-after': '7' })).toMatchObject({ outcome: 'retry', retryAfterMs: 7_000 });
    expect(reply(503, { 'retry-after': 'Sun, 01 Jun 2025 12:00:30 GMT' })).toMatchObject({ retryAfterMs: 30_000 });
    expect(retryAfterMs('Sun, 01 Jun 2025 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('waitBeforeAttempt', () => {
  it('follows the Standard Webhooks schedule, with up to 10 % jitter added', () => {
    expect([2, 3, 4, 5, 6, 7, 8].map((n) => waitBeforeAttempt(DEFAULT_RETRY_POLICY, n, undefined, () => 0))).toEqual(STANDARD_WEBHOOKS_SCHEDULE_MS.slice(1));
    expect(waitBeforeAttempt(DEFAULT_RETRY_POLICY, 2, undefined, () => 0.999)).toBe(5_499);
    expect(waitBeforeAttempt(DEFAULT_RETRY_POLICY, 8, undefined, () => 0.5)).toBe(36_000_000 + 1_800_000);
  });

  it("honours the receiver's Retry-After when it is longer, up to the cap", () => {
    expect(waitBeforeAttempt(DEFAULT_RETRY_POLICY, 2, 1_000, () => 0)).toBe(5_000);
    expect(waitBeforeAttempt(DEFAULT_RETRY_POLICY, 2, 60_000, () => 0)).toBe(60_000);
    expect(waitBeforeAttempt(DEFAULT_RETRY_POLICY, 2, 48 * 3_600_000, () => 0)).toBe(DEFAULT_RETRY_POLICY.maxRetryAfterMs);
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

  it('signs once per secret, space-separated, and lets custom headers add but not replace', () => {
    const previous = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    const { headers } = signedWebhook({ subscriptionId: 'sub_a', url: 'https://h.example/', secret, previousSecrets: [previous], headers: { Authorization: 'Bearer x', 'Content-Type': 'text/plain' } }, event, now);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+ v1,[A-Za-z0-9+/=]+$/);
    expect(headers.authorization).toBe('Bearer x');
    expect(headers['content-type']).toBe('application/json');
  });
});

describe('slackPayload', () => {
  it('is { text } naming the event, its subject and main facts', () => {
    const event = makeEvent('job.finished', eventIds.finished('job-1'), 'job-1', { jobId: 'job-1', name: 'churn', provider: 'local', status: 'failed' }, now);
    expect(JSON.parse(slackPayload(event))).toEqual({ text: `tunewire job.finished job-1 (name: churn, status: failed, provider: local) at ${event.time}` });
  });
});
