import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProviderError } from '../../../shared/domain/errors';
import { logOutcome, observed, reportHandled } from '../../../functions/runtime';
import type { HandledEvent } from '../../../shared/use-cases/provider-events';

let lines: Record<string, unknown>[];

beforeEach(() => {
  lines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const finished = { id: 'e-1', time: new Date(Date.now() - 1500).toISOString(), source: 'tunewire', 'detail-type': 'Tuning Job Finished', detail: { jobId: 'churn-1' } };

describe('observed', () => {
  it('writes one JSON line per delivery: correlation id, outcome, duration, lag, and the metrics', async () => {
    const handler = observed('promote-best', async (): Promise<HandledEvent> => ({ outcome: 'applied', jobId: 'churn-1', detail: 'promoted', counts: { promotions: 1 } }), reportHandled((o) => ({ Promotions: o.counts?.promotions ?? 0 })));
    await expect(handler(finished)).resolves.toMatchObject({ outcome: 'applied' });
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? {};
    expect(line).toMatchObject({ level: 'info', function: 'promote-best', correlationId: 'churn-1', eventId: 'e-1', outcome: 'applied', detail: 'promoted', Promotions: 1, Failures: 0, Rejected: 0 });
    expect(line['durationMs']).toEqual(expect.any(Number));
    expect(line['lagMs']).toBeGreaterThanOrEqual(1500);
    const directive = (line['_aws'] as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0];
    expect(directive?.Metrics.map((m) => m.Name).sort()).toEqual(['Duration', 'EventLag', 'Failures', 'Promotions', 'Rejected']);
  });

  it('takes the correlation id from the event when the outcome has none', async () => {
    const handler = observed('notify', async (): Promise<HandledEvent> => ({ outcome: 'ignored' }), reportHandled());
    await handler(finished);
    expect(lines[0]).toMatchObject({ correlationId: 'churn-1', outcome: 'ignored' });
  });

  it('counts a refused input as Rejected, at warn', async () => {
    const handler = observed('submit', async (): Promise<HandledEvent> => ({ outcome: 'rejected', detail: 'spec.name: is required' }), reportHandled());
    await handler({ id: 'e-2', time: new Date().toISOString(), detail: {} });
    expect(lines[0]).toMatchObject({ level: 'warn', outcome: 'rejected', Rejected: 1, Failures: 0 });
  });

  it('logs a failure with its code and Failures: 1, and rethrows it for the transport to retry', async () => {
    const error = new ProviderError('sagemaker', 'describe', 'throttled', { retryable: true, code: 'PROVIDER.THROTTLED' });
    const handler = observed('status-change', async (): Promise<HandledEvent> => Promise.reject(error), reportHandled());
    await expect(handler(finished)).rejects.toBe(error);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', function: 'status-change', correlationId: 'churn-1', outcome: 'failed', Failures: 1, error: { name: 'ProviderError', code: 'PROVIDER.THROTTLED', retryable: true } });
  });
});

describe('logOutcome', () => {
  it('logs a failed item and a refused input at warn, anything else at info', () => {
    logOutcome('notify', { outcome: 'failed', detail: 'ProvisionedThroughputExceededException: throttled' });
    logOutcome('notify', { outcome: 'rejected' });
    logOutcome('notify', { outcome: 'delivered' });
    const levels = lines.map((line) => line.level);
    expect(levels).toEqual(['warn', 'warn', 'info']);
  });
});
