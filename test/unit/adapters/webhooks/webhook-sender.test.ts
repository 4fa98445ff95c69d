import { describe, expect, it } from 'vitest';
import { classifyResponse, retryAfterMs } from '../../../../shared/adapters/webhooks/webhook-sender';
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
