import { createCloudDependencies, type AppDependencies } from '../shared/composition';
import { loadConfig } from '../shared/config';
import { eventFacts, eventLagMs } from '../shared/observability/event-facts';
import { emfRecord, type MetricValues } from '../shared/observability/metrics';
import { cloudProviderEntries, providerSettingsFrom } from '../shared/provider-bindings';
import { loadWebhookConfig } from '../shared/webhooks-composition';
import type { HandledEvent } from '../shared/use-cases/provider-events';
import { describeError } from '../shared/observability/describe-error';

let dependencies: Promise<AppDependencies> | undefined;

/** The composition root, built once per cold start from the function's environment. */
export function cloudDependencies(): Promise<AppDependencies> {
  dependencies ??= Promise.resolve().then(() =>
    createCloudDependencies(loadConfig(process.env), cloudProviderEntries(providerSettingsFrom(process.env)), loadWebhookConfig(process.env)),
  );
  return dependencies;
}

// Read once at cold start; serverless.yml sets both.
const METRIC_NAMESPACE = process.env.TUNEWIRE_METRICS_NAMESPACE ?? 'tunewire';
const SERVICE = process.env.TUNEWIRE_SERVICE ?? 'tunewire';

/** How a function reports one handled delivery: the log line's outcome and the metrics it adds. */
export interface Report {
  readonly outcome: string;
  /** The tunewire job id: the correlation id across functions. */
  readonly jobId?: string;
  readonly detail?: string;
  readonly metrics?: MetricValues;
}

/** The usual report for a use case's `HandledEvent`, plus the function's own metrics. */
export function reportHandled<O extends HandledEvent>(metricsOf?: (outcome: O) => MetricValues): (outcome: O) => Report {
  return (o) => ({ outcome: o.outcome, ...(o.jobId ? { jobId: o.jobId } : {}), ...(o.detail ? { detail: o.detail } : {}), ...(metricsOf ? { metrics: metricsOf(o) } : {}) });
}

/**
 * Wraps a function's entry: one structured JSON line per delivery, which is also the delivery's
 * CloudWatch metrics (Embedded Metric Format). The line carries `correlationId` (the job id: from
 * the outcome, else the event's `detail.jobId`), the function, the outcome, `durationMs` and
 * `lagMs` (the event's own time to handled). A thrown error is logged with `Failures: 1` and
 * rethrown, so the transport retries it and, in the end, dead-letters it.
 *
 * @example
 *   export const handler = observed('promote-best', async (event) => handlePromoteEvent(await cloudDependencies(), event),
 *     reportHandled((o) => ({ Promotions: o.counts?.promotions ?? 0 })));
 */
export function observed<R>(fn: string, handle: (event: unknown) => Promise<R>, report: (result: R) => Report): (event: unknown) => Promise<R> {
  return async (event) => {
    const started = Date.now();
    const facts = eventFacts(event);
    try {
      const result = await handle(event);
      const r = report(result);
      const level = r.outcome === 'rejected' ? 'warn' : 'info';
      write(fn, level, facts, started, { outcome: r.outcome, ...(r.detail ? { detail: r.detail } : {}) }, r.jobId, {
        Failures: 0,
        Rejected: r.outcome === 'rejected' ? 1 : 0,
        ...r.metrics,
      });
      return result;
    } catch (error) {
      write(fn, 'error', facts, started, { outcome: 'failed', error: describeError(error) }, undefined, { Failures: 1 });
      throw error;
    }
  };
}

/** One structured log line for an outcome, without metrics (entries not yet wrapped in `observed`). */
export function logOutcome(fn: string, outcome: { outcome: string; jobId?: string; detail?: string }): void {
  const now = Date.now();
  writeLine(
    emfRecord({
      namespace: METRIC_NAMESPACE,
      dimensions: { service: SERVICE, function: fn },
      metrics: {},
      timestamp: now,
      // a refused input or a failed item (a retry batch's record) is for someone to look at
      properties: { level: outcome.outcome === 'rejected' || outcome.outcome === 'failed' ? 'warn' : 'info', ...(outcome.jobId ? { correlationId: outcome.jobId } : {}), ...outcome },
    }),
  );
}

function write(
  fn: string,
  level: 'info' | 'warn' | 'error',
  facts: ReturnType<typeof eventFacts>,
  started: number,
  fields: Record<string, unknown>,
  jobId: string | undefined,
  metrics: MetricValues,
): void {
  const handledAt = Date.now();
  const correlationId = jobId ?? facts.jobId;
  const lagMs = eventLagMs(facts, handledAt);
  writeLine(
    emfRecord({
      namespace: METRIC_NAMESPACE,
      dimensions: { service: SERVICE, function: fn },
      metrics: { ...metrics, Duration: handledAt - started, ...(lagMs !== undefined ? { EventLag: lagMs } : {}) },
      timestamp: handledAt,
      properties: {
        level,
        ...(correlationId ? { correlationId, jobId: correlationId } : {}),
        ...(facts.eventId ? { eventId: facts.eventId } : {}),
        ...fields,
        durationMs: handledAt - started,
        ...(lagMs !== undefined ? { lagMs } : {}),
      },
    }),
  );
}

/**
 * Straight to stdout, not console.log: the Lambda runtime prefixes console output with a time,
 * request id and level, and CloudWatch only extracts EMF metrics from a line that is pure JSON.
 */
function writeLine(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}
