import { cpus, release, totalmem, type } from 'node:os';
import type { ApiCallRow } from './api-calls';
import type { BundleRow, ColdStartRow } from './bundles';
import type { CliStatusFigures } from './cli-status';
import type { DashboardLiveFigures } from './dashboard-live';
import type { LatencyFigures } from './latency';
import type { PerTrialRow } from './per-trial';
import { percentile } from './stats';
import type { ThroughputRow } from './throughput';
import { PARALLEL_TRIALS, TRIAL_MINUTES } from './timeline';

export interface BenchResults {
  readonly latency: LatencyFigures;
  readonly apiCalls: readonly ApiCallRow[];
  readonly throughput: readonly ThroughputRow[];
  readonly perTrial: readonly PerTrialRow[];
  readonly bundles: { readonly rows: readonly BundleRow[]; readonly error?: string };
  readonly coldStarts: readonly ColdStartRow[];
  readonly cliStatus: CliStatusFigures;
  readonly dashboardLive: DashboardLiveFigures;
  readonly totalSeconds: number;
}

export interface Verdict {
  readonly target: string;
  readonly figure: string;
  readonly pass: boolean;
}

const MB = 1024 * 1024;
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`);
const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const kb = (bytes: number) => `${n(bytes / 1024)} KB`;

export function verdicts(r: BenchResults): Verdict[] {
  const out: Verdict[] = [];
  const speedup = r.latency.polling.sagemaker.p50 / r.latency.trial.p50;
  const vertexSpeedup = r.latency.polling.vertex.p50 / r.latency.trial.p50;
  out.push({ target: 'Detection ≥100× faster than polling at p50 (SageMaker, 30 s)', figure: `${n(speedup)}× (${ms(r.latency.trial.p50)} vs ${ms(r.latency.polling.sagemaker.p50)})`, pass: speedup >= 100 });
  out.push({ target: 'Detection ≥100× faster than polling at p50 (Vertex, 10 s)', figure: `${n(vertexSpeedup)}× (${ms(r.latency.trial.p50)} vs ${ms(r.latency.polling.vertex.p50)})`, pass: vertexSpeedup >= 100 });
  for (const row500 of r.apiCalls.filter((a) => a.trials === 500)) {
    const fewer = row500.sagemakerPolling / row500.tunewire;
    const which = row500.events === 'full' ? '' : ' whose training-job events carry no metrics';
    out.push({ target: `≥20× fewer provider calls for a 500-trial job${which}`, figure: `${n(fewer, 1)}× (${row500.tunewire} vs ${n(row500.sagemakerPolling)})`, pass: fewer >= 20 });
  }
  const small = r.perTrial.find((p) => p.trials === 100);
  const large = r.perTrial.find((p) => p.trials === 10_000);
  if (small && large) {
    for (const [label, key] of [['time', 'msPerTrial'], ['provider calls', 'callsPerTrial'], ['ledger writes', 'writesPerTrial']] as const) {
      const ratio = large[key] / small[key];
      out.push({ target: `Per-trial ${label} at 10,000 within 1.2× of 100`, figure: `${ratio.toFixed(2)}× (${large[key].toFixed(3)} vs ${small[key].toFixed(3)})`, pass: ratio <= 1.2 });
    }
  }
  const zips = r.bundles.rows;
  const biggest = zips.reduce((a, b) => Math.max(a, b.bytes), 0);
  out.push({
    target: 'Each bundle < 1 MB (the minified handler.mjs Lambda loads, unzipped)',
    figure: zips.length ? `largest ${kb(biggest)} of ${zips.length}` : `no zips (${r.bundles.error ?? 'osls package produced none'})`,
    pass: zips.length > 0 && biggest < MB,
  });
  out.push(cliStatusVerdict(r.cliStatus));
  out.push(dashboardLiveVerdict(r.dashboardLive));
  return out;
}

const CLI_STATUS_TARGET = 'Warm `tunewire status` < 1 s (local service up, fresh CLI process, median of 5)';

function cliStatusVerdict(f: CliStatusFigures): Verdict {
  return {
    target: CLI_STATUS_TARGET,
    figure: `${ms(f.warmMedianMs)} (cold start ${ms(f.coldMedianMs)}: ${(f.coldMedianMs / f.warmMedianMs).toFixed(1)}× slower)`,
    pass: f.warmMedianMs < 1000,
  };
}

const CLI_STATUS_HEADING = '## CLI status: warm service against cold start';
const BUNDLES_HEADING = '## Bundles and cold start';

function cliStatusSection(f: CliStatusFigures, now: Date): string[] {
  const each = (values: readonly number[]) => values.map((v) => ms(v)).join(', ');
  return [
    CLI_STATUS_HEADING,
    '',
    `Method: \`tunewire status <job>\` of one finished local job, each run a fresh CLI process (bin/tunewire.mjs from its esbuild bundle, built beforehand, as a user runs it), wall clock from spawn to exit; state directory on disk. Warm: the state directory's shared service (DynamoDB Local) already up (\`tunewire up\`). Cold: after \`tunewire down\`, so the command starts DynamoDB Local itself. 5 of each, interleaved cold, warm, cold, ... Measured ${now.toISOString()}.`,
    '',
    '| Run | Median | Each run | Cold / warm |',
    '| --- | --- | --- | --- |',
    `| warm (service up) | ${ms(f.warmMedianMs)} | ${each(f.warmMs)} | |`,
    `| cold (starts DynamoDB Local) | ${ms(f.coldMedianMs)} | ${each(f.coldMs)} | ${(f.coldMedianMs / f.warmMedianMs).toFixed(1)}× |`,
    '',
  ];
}

/**
 * BENCHMARKS.md with the CLI status section and its target row replaced (or added), the rest
 * untouched: `TUNEWIRE_BENCH_ONLY=cli-status npm run bench` refreshes this figure alone.
 */
export function spliceCliStatus(markdown: string, f: CliStatusFigures, now = new Date()): string {
  return spliceSection(markdown, { target: CLI_STATUS_TARGET, verdict: cliStatusVerdict(f), heading: CLI_STATUS_HEADING, section: cliStatusSection(f, now), before: BUNDLES_HEADING });
}

/**
 * BENCHMARKS.md with the dashboard live-update section and its target row replaced (or added),
 * the rest untouched: `TUNEWIRE_BENCH_ONLY=dashboard-live npm run bench` refreshes this figure alone.
 */
export function spliceDashboardLive(markdown: string, f: DashboardLiveFigures, now = new Date()): string {
  return spliceSection(markdown, { target: DASHBOARD_LIVE_TARGET, verdict: dashboardLiveVerdict(f), heading: DASHBOARD_LIVE_HEADING, section: dashboardLiveSection(f, now), before: CLI_STATUS_HEADING });
}

interface SplicedSection {
  /** The target row's first cell, by which an existing row is found. */
  readonly target: string;
  readonly verdict: Verdict;
  readonly heading: string;
  readonly section: readonly string[];
  /** Where a section not yet in the file goes: before this heading, or at the end without it. */
  readonly before: string;
}

function spliceSection(markdown: string, s: SplicedSection): string {
  const lines = markdown.split('\n');
  const row = verdictRow(s.verdict);
  const existing = lines.findIndex((l) => l.startsWith(`| ${s.target} |`));
  if (existing >= 0) lines[existing] = row;
  else {
    const targets = lines.indexOf('## Targets');
    let end = targets + 1;
    while (end < lines.length && !(lines[end - 1]?.startsWith('|') && !lines[end]?.startsWith('|'))) end++;
    lines.splice(end, 0, row);
  }
  const start = lines.indexOf(s.heading);
  if (start >= 0) {
    let next = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (next < 0) next = lines.length;
    lines.splice(start, next - start, ...s.section);
  } else {
    const before = lines.indexOf(s.before);
    lines.splice(before >= 0 ? before : lines.length, 0, ...s.section);
  }
  return lines.join('\n');
}

const verdictRow = (v: Verdict) => `| ${v.target} | ${v.figure} | ${v.pass ? 'pass' : '**FAIL**'} |`;

const DASHBOARD_LIVE_TARGET = 'Dashboard updates within 1 s of a ledger change (p90, open `/events` stream)';
const DASHBOARD_LIVE_HEADING = '## Dashboard live updates';

function dashboardLiveVerdict(f: DashboardLiveFigures): Verdict {
  return {
    target: DASHBOARD_LIVE_TARGET,
    figure: `p90 ${ms(f.p90Ms)} (median ${ms(f.medianMs)}, max ${ms(f.maxMs)}; ${f.changes} changes, polled every ${f.pollMs} ms)`,
    pass: f.p90Ms <= 1000,
  };
}

function dashboardLiveSection(f: DashboardLiveFigures, now: Date): string[] {
  const early = f.seenBeforeWriteReturned ? ` ${f.seenBeforeWriteReturned} of the ${f.changes} events came before the write's promise resolved (the stream read the item first) and count as 0 ms.` : '';
  return [
    DASHBOARD_LIVE_HEADING,
    '',
    `Method: ${f.changes} changes, each awaited before the next; time from the ledger write's completion to the \`change\` event on an open /events stream; the stream polls every ${f.pollMs} ms. The dev server as \`tunewire dev\` binds it (\`listenDevServer\`, port 0, token checked) on DynamoDB Local, one job, \`GET /events?job=<id>\` held open by node's fetch from \`event: ready\` on. Each change is a new trial written with \`ledger.putTrial\`, after a pause of one poll interval plus a seeded fraction of another, so the writes land at spread phases of the poll; a change with no event within 10 s fails the bench.${early} Measured ${now.toISOString()}.`,
    '',
    '| Figure | Median | p90 | Max | Spread (min..max) |',
    '| --- | --- | --- | --- | --- |',
    `| ledger change → \`change\` event | ${ms(f.medianMs)} | ${ms(f.p90Ms)} | ${ms(f.maxMs)} | ${ms(f.minMs)}..${ms(f.maxMs)} |`,
    `| the write itself (putTrial) | ${ms(f.writeMedianMs)} | ${ms(percentile(f.writeMs, 90))} | ${ms(Math.max(...f.writeMs))} | ${ms(Math.min(...f.writeMs))}..${ms(Math.max(...f.writeMs))} |`,
    '',
  ];
}

export function renderReport(r: BenchResults, now = new Date()): string {
  const cpu = cpus();
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts); every figure below comes from the run on this date and machine. Re-run to refresh.',
    '',
    `- Date: ${now.toISOString()}`,
    `- Machine: ${type()} ${release()}, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${n(totalmem() / 1024 ** 3, 1)} GiB memory`,
    `- Node ${process.version}; DynamoDB Local (in memory) and the wire-level fake SageMaker, real AWS SDK clients, started by the run`,
    `- Whole run: ${n(r.totalSeconds)} s`,
    '',
    '## Targets',
    '',
    '| Target | Figure | Verdict |',
    '| --- | --- | --- |',
    ...verdicts(r).map(verdictRow),
    '',
    '## Detection latency',
    '',
    'Method: tunewire measured in real time, one change at a time: fake SageMaker emits its EventBridge event → local bus (rules from serverless.yml) → handler → DynamoDB Local write → our event handed to the bus. Polling computed on a virtual clock over a 500-trial job timeline: wait from each change (trial end, job end) to the next poll at the Airflow default interval (the poll\'s own call time not added, which favours polling).',
    '',
    '| Path | p50 | p99 | samples |',
    '| --- | --- | --- | --- |',
    `| tunewire, training job finished → Tuning Trial Finished (trial-fan-out) | ${ms(r.latency.trial.p50)} | ${ms(r.latency.trial.p99)} | ${r.latency.trial.n} |`,
    `| tunewire, tuning job Completed → Tuning Job Status Changed (status-change, with Describe and the final trial sync) | ${ms(r.latency.job.p50)} | ${ms(r.latency.job.p99)} | ${r.latency.job.n} |`,
    `| polling SageMaker every 30 s | ${ms(r.latency.polling.sagemaker.p50)} | ${ms(r.latency.polling.sagemaker.p99)} | ${r.latency.polling.sagemaker.n} |`,
    `| polling Vertex every 10 s | ${ms(r.latency.polling.vertex.p50)} | ${ms(r.latency.polling.vertex.p99)} | ${r.latency.polling.vertex.n} |`,
    '',
    '## Provider API calls per job',
    '',
    `Method: one job timeline per size (${PARALLEL_TRIALS} trials in parallel, each ${TRIAL_MINUTES} min × U(0.5, 1.5), seeded). tunewire: the whole job through the event path (submit, trial events, completion, promotion), every call counted by the fake, Create and the model registry included. SageMaker poller: Create, then Describe every 30 s and, when anything changed, List newest-first (100 a page) down to the oldest trial unfinished at the previous List — a watermark like tunewire's own cursor, so the baseline is not a straw man; run for real against the fake on a virtual clock up to 500 trials (and checked equal to the count), counted by the same rule at 10,000. Vertex poller: Get every 10 s (trials come inline), counted on the timeline.`,
    '',
    'Rows marked "no metrics" replay the same job with AWS\'s documented Training Job State Change shape (no `FinalMetricDataList`, no `TuningJobArn`): trial-fan-out fetches each objective with a listing claimed at most once per settle interval (10 min), on a virtual clock that follows the timeline, each event handled at its own time.',
    '',
    '| Trials | Job length | tunewire | SageMaker polling (30 s) | Vertex polling (10 s) | fewer calls vs SageMaker polling |',
    '| --- | --- | --- | --- | --- | --- |',
    ...r.apiCalls.map(
      (a) =>
        `| ${n(a.trials)}${a.events === 'full' ? '' : ' (no metrics)'} | ${n(a.jobHours, 1)} h | ${n(a.tunewire)} | ${n(a.sagemakerPolling)}${a.sagemakerPollingOnFake !== undefined ? ' (on the fake)' : ' (counted)'} | ${n(a.vertexPolling)} | ${n(a.sagemakerPolling / a.tunewire, 1)}× |`,
    ),
    '',
    `tunewire's calls by operation: ${r.apiCalls.map((a) => `${n(a.trials)} trials${a.events === 'full' ? '' : ' (no metrics)'}: ${Object.entries(a.tunewireByOperation).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}.`,
    '',
    '## Event throughput per process (DynamoDB Local)',
    '',
    'Method: the production handler bodies called directly, 8 in flight in one process, real SageMaker SDK client against the fake (status-change confirms each event with Describe, as in production), our events published to a null bus. status-change: 60 jobs × (InProgress, Completed); trial-fan-out: 1,000 Training Job State Change events of one job, each carrying its trial. Floor: every item the run left in its table, written again with plain PutItem (8 in flight) into an empty table.',
    '',
    '| Handler | Events | Events/s | Ledger requests/event | Provider calls/event | Handler time | Floor: raw PutItem of the same items | Handler / floor |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.throughput.map(
      (t) =>
        `| ${t.handler} | ${n(t.events)} | ${n(t.eventsPerSecond)} | ${t.ledgerRequestsPerEvent.toFixed(2)} | ${t.providerCallsPerEvent.toFixed(2)} | ${ms(t.handlerMs)} | ${ms(t.floorMs)} (${n(t.itemsWritten)} items) | ${(t.handlerMs / t.floorMs).toFixed(1)}× |`,
    ),
    '',
    '## Per-trial cost',
    '',
    'Method: the same whole-job runs as the API-call table (production path: SageMaker Training Job State Change events carry each trial, so trial-fan-out stores it without a provider call; at the end status-change syncs the trials once through List paging). Time: submit to promoted, wall clock, divided by trials; the bus drained every 50 trial ends, 8 deliveries in flight. Ledger writes: PutItem, UpdateItem and TransactWriteItems counted on the DynamoDB client.',
    '',
    '| Trials | Time/trial | Provider calls/trial | Ledger writes/trial | Ledger requests/trial |',
    '| --- | --- | --- | --- | --- |',
    ...r.perTrial.map((p) => `| ${n(p.trials)} | ${ms(p.msPerTrial)} | ${p.callsPerTrial.toFixed(4)} | ${p.writesPerTrial.toFixed(2)} | ${p.requestsPerTrial.toFixed(2)} |`),
    '',
    ...dashboardLiveSection(r.dashboardLive, now),
    ...cliStatusSection(r.cliStatus, now),
    BUNDLES_HEADING,
    '',
    'Method: the deployment bundles themselves: `npx osls package` (serverless.yml\'s esbuild settings: minified, SDK v3 clients bundled and tree-shaken), each zip unpacked. Cold start: that handler.mjs loaded with `await import()` in a fresh node process, median of 5 (module load only; the Lambda runtime\'s own start is not included).',
    '',
    ...(r.bundles.error ? [`osls package reported an error: \`${r.bundles.error.replace(/`/g, "'")}\``, ''] : []),
    '| Function | Zip | Bundle (handler.mjs) | Import time (median of 5) |',
    '| --- | --- | --- | --- |',
    ...(r.bundles.rows.length
      ? r.bundles.rows.map((b) => {
          const cold = r.coldStarts.find((c) => c.fn === b.name);
          return `| ${b.name} | ${kb(b.zipBytes)} | ${kb(b.bytes)} | ${!cold ? '-' : cold.error ? `import failed: ${cold.error}` : ms(cold.importMs)} |`;
        })
      : ['| (none) | | | |']),
    '',
  );
  return lines.join('\n');
}
