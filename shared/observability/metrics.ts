/**
 * Metrics as CloudWatch Embedded Metric Format (EMF): a log line that carries an `_aws` directive
 * becomes metric values when CloudWatch Logs ingests it, so a function publishes metrics by
 * writing one JSON line to stdout, with no SDK call and no added latency. The same line stays a
 * searchable log record (Logs Insights sees every other property).
 *
 * Pure: this module builds the record; `functions/runtime.ts` writes it.
 *
 * @example
 *   emfRecord({
 *     namespace: 'tunewire',
 *     dimensions: { service: 'tunewire-prod', function: 'submit' },
 *     metrics: { JobsSubmitted: 1 },
 *     timestamp: Date.now(),
 *     properties: { correlationId: 'churn-xgb-1a2b', outcome: 'applied' },
 *   });
 */

/** Every metric tunewire publishes, with its CloudWatch unit. */
export const METRIC_UNITS = {
  /** A submit that created a job (a repeated request adopts the job and counts 0). */
  JobsSubmitted: 'Count',
  /** Trials written to the ledger: new, or moved forward. */
  TrialsStored: 'Count',
  /** A trial that became its model's champion. */
  Promotions: 'Count',
  /** A handler that threw: the transport retries it and, in the end, dead-letters it. */
  Failures: 'Count',
  /** Input refused at the edge (retrying cannot fix it; nothing was written). */
  Rejected: 'Count',
  /** From the event's own time (EventBridge `time`, Pub/Sub `publishTime`) to handled. */
  EventLag: 'Milliseconds',
  /** The handler's own time. */
  Duration: 'Milliseconds',
} as const;

export type MetricName = keyof typeof METRIC_UNITS;
export type MetricValues = Partial<Record<MetricName, number>>;

export interface EmfInput {
  readonly namespace: string;
  /**
   * Dimension name → value. The metrics are published once per dimension set: the first
   * dimension alone (the aggregate), then all of them together (e.g. service, service+function).
   */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: MetricValues;
  /** Epoch milliseconds the values belong to. */
  readonly timestamp: number;
  /** The rest of the log record: correlation id, outcome, detail... */
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** EMF allows at most 30 dimensions per set and 100 metrics per directive. */
const MAX_DIMENSIONS = 30;

/**
 * One log record carrying the metrics. Values that are not finite numbers are left out (a metric
 * of NaN would make CloudWatch drop the whole directive); with no metric left the record is a
 * plain log line without `_aws`. Metric and dimension members win over properties of the same name.
 */
export function emfRecord(input: EmfInput): Record<string, unknown> {
  const metrics = (Object.entries(input.metrics) as [MetricName, number | undefined][]).filter(
    (entry): entry is [MetricName, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]),
  );
  const dimensionNames = Object.keys(input.dimensions);
  if (dimensionNames.length > MAX_DIMENSIONS) throw new RangeError(`EMF allows at most ${MAX_DIMENSIONS} dimensions, not ${dimensionNames.length}`);
  const record: Record<string, unknown> = { ...input.properties, ...input.dimensions };
  if (metrics.length === 0) return record;

  const first = dimensionNames[0];
  const dimensionSets = first === undefined ? [[]] : dimensionNames.length === 1 ? [[first]] : [[first], dimensionNames];
  for (const [name, value] of metrics) record[name] = value;
  record['_aws'] = {
    Timestamp: Math.round(input.timestamp),
    CloudWatchMetrics: [
      {
        Namespace: input.namespace,
        Dimensions: dimensionSets,
        Metrics: metrics.map(([name]) => ({ Name: name, Unit: METRIC_UNITS[name] })),
      },
    ],
  };
  return record;
}
