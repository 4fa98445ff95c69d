import { cpus, release, totalmem, type } from 'node:os';
import type { ApiCallRow } from './api-calls';
import type { BundleRow, ColdStartRow } from './bundles';
import type { CliStatusFigures } from './cli-status';
import type { DashboardLiveFigures } from './dashboard-live';
import type { LatencyFigures } from './latency';
import type { PerTrialRow } from './per-trial';
import { bayesianNotWorse, OVERHEAD_TARGET_MS, REACH_TARGETS, STOPPING_SAVING_TARGET, type FunctionFigures, type SearchQualityFigures, type StoppingRow } from './search-quality';
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
  readonly searchQuality: SearchQualityFigures;
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
  out.push(...searchQualityVerdicts(r.searchQuality));
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
  return spliceSection(markdown, { verdicts: [cliStatusVerdict(f)], heading: CLI_STATUS_HEADING, section: cliStatusSection(f, now), before: BUNDLES_HEADING });
}

/**
 * BENCHMARKS.md with the dashboard live-update section and its target row replaced (or added),
 * the rest untouched: `TUNEWIRE_BENCH_ONLY=dashboard-live npm run bench` refreshes this figure alone.
 */
export function spliceDashboardLive(markdown: string, f: DashboardLiveFigures, now = new Date()): string {
  return spliceSection(markdown, { verdicts: [dashboardLiveVerdict(f)], heading: DASHBOARD_LIVE_HEADING, section: dashboardLiveSection(f, now), before: CLI_STATUS_HEADING });
}

interface SplicedSection {
  /** The section's target rows; an existing row is found by its first cell, the target. */
  readonly verdicts: readonly Verdict[];
  readonly heading: string;
  readonly section: readonly string[];
  /** Where a section not yet in the file goes: before this heading; at the end when absent (or not found). */
  readonly before?: string;
  /** Whether a target row is this section's: such rows of an earlier run that no verdict replaces (a target reworded) are dropped. */
  readonly ownsTarget?: (target: string) => boolean;
}

function spliceSection(markdown: string, s: SplicedSection): string {
  const current = new Set(s.verdicts.map((v) => v.target));
  const stale = (line: string) => {
    if (!s.ownsTarget || !line.startsWith('| ')) return false;
    const target = line.slice(2, line.indexOf(' |', 2));
    return s.ownsTarget(target) && !current.has(target);
  };
  const lines = markdown.split('\n').filter((l) => !stale(l));
  for (const verdict of s.verdicts) {
    const row = verdictRow(verdict);
    const existing = lines.findIndex((l) => l.startsWith(`| ${verdict.target} |`));
    if (existing >= 0) lines[existing] = row;
    else {
      const targets = lines.indexOf('## Targets');
      let end = targets + 1;
      while (end < lines.length && !(lines[end - 1]?.startsWith('|') && !lines[end]?.startsWith('|'))) end++;
      lines.splice(end, 0, row);
    }
  }
  const start = lines.indexOf(s.heading);
  if (start >= 0) {
    let next = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (next < 0) next = lines.length;
    lines.splice(start, next - start, ...s.section);
  } else {
    const before = s.before === undefined ? -1 : lines.indexOf(s.before);
    if (before >= 0) lines.splice(before, 0, ...s.section);
    else {
      // at the end, after the file's last non-empty line, keeping one trailing newline
      while (lines.length > 0 && lines.at(-1) === '') lines.pop();
      lines.push('', ...s.section);
    }
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
    ...searchQualitySection(r.searchQuality, now),
  );
  return lines.join('\n');
}

const SEARCH_QUALITY_HEADING = '## Search quality';
/** How this section's target rows begin, so rows of an earlier run with other wording are replaced, not kept beside. */
const SEARCH_QUALITY_TARGET_OPENINGS = ["Bayesian reaches random's", "Bayesian's median best", 'TPE suggestion', 'Median stopping saves'] as const;
/** Where the plot is written, relative to the repository root (and to BENCHMARKS.md). */
export const SEARCH_PLOT_PATH = 'docs/bench-search.svg';

/** A function value: four significant digits, fewer decimals for large values. */
const fv = (v: number) => (!Number.isFinite(v) ? '-' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function reachVerdict(f: FunctionFigures, target: number, seeds: number): Verdict {
  const bayesian = f.strategies.find((s) => s.strategy === 'bayesian');
  const random = f.strategies.find((s) => s.strategy === 'random');
  const reach = bayesian?.trialsToReachRandom;
  const medians = `bayesian's median best ${fv(bayesian?.median.at(-1) ?? Number.NaN)} at ${f.trials}, random's ${fv(random?.median.at(-1) ?? Number.NaN)}`;
  return {
    target: `Bayesian reaches random's median best-of-${f.trials} within ${target} trials on ${f.name} (median curve of ${seeds} seeds)`,
    figure: `${reach === undefined ? `not within ${f.trials}` : reach} trials (${medians})`,
    pass: reach !== undefined && reach <= target,
  };
}

function stoppingVerdict(row: StoppingRow, e: SearchQualityFigures['earlyStopping'], which: string): Verdict {
  const worse = row.medianBestWith - row.medianBestWithout; // the curves are losses: above is worse
  return {
    target: `Median stopping saves ≥ ${STOPPING_SAVING_TARGET * 100}% of trial time at an equal median best (learning curves, ${which})`,
    figure: `${pct(row.saved)} of steps saved (${row.stepsWith.toLocaleString('en-US')} vs ${row.stepsWithout.toLocaleString('en-US')}); median best ${fv(row.medianBestWith)} vs ${fv(row.medianBestWithout)} without (tolerance ${fv(e.tolerance)})`,
    pass: row.saved >= STOPPING_SAVING_TARGET && worse <= e.tolerance,
  };
}

export function searchQualityVerdicts(f: SearchQualityFigures): Verdict[] {
  const out: Verdict[] = [];
  for (const fn of f.functions) {
    const target = REACH_TARGETS[fn.name];
    if (target !== undefined) out.push(reachVerdict(fn, target, f.seeds));
  }
  const each = f.functions.map((fn) => ({ fn, ...bayesianNotWorse(fn) }));
  out.push({
    target: `Bayesian's median best after 50 trials never worse than random's (every function, ${f.seeds} seeds)`,
    figure: each.map((e) => `${e.fn.name} ${fv(e.bayesian)} vs ${fv(e.random)}${e.pass ? '' : ' (worse)'}`).join('; '),
    pass: each.every((e) => e.pass),
  });
  const o = f.overhead;
  out.push({
    target: `TPE suggestion < ${OVERHEAD_TARGET_MS} ms per trial at 1,000 finished trials (6 parameters, wall clock, median of ${o.rounds} rounds)`,
    figure: `${ms(o.medianMs)} (rounds ${ms(Math.min(...o.msPerSuggest))}..${ms(Math.max(...o.msPerSuggest))}; CPU time ${ms(o.cpuMedianMs)}; load average ${o.loadAverage.toFixed(1)} on ${o.cores} cores)`,
    pass: o.medianMs < OVERHEAD_TARGET_MS,
  });
  for (const row of f.earlyStopping.rows) {
    out.push(stoppingVerdict(row, f.earlyStopping, row.sampler === 'random' ? 'the same random points with and without' : 'the bayesian sampler, as `strategy: bayesian` runs it'));
  }
  return out;
}

function functionTable(fn: FunctionFigures): string[] {
  const at = (curve: readonly number[], n: number) => curve[Math.min(n, curve.length) - 1] ?? Number.NaN;
  const cell = (s: FunctionFigures['strategies'][number], n: number) => `${fv(at(s.median, n))} (${fv(at(s.q25, n))}..${fv(at(s.q75, n))})`;
  const counts = [10, 25, fn.trials];
  return [
    `### ${fn.name}`,
    '',
    `${fn.about}${fn.note ? `; ${fn.note}` : ''}.`,
    '',
    `| Strategy | ${counts.map((n) => `Median best @${n} (q25..q75)`).join(' | ')} | Trials to reach random's median best-of-${fn.trials} | Time |`,
    `| --- | ${counts.map(() => '---').join(' | ')} | --- | --- |`,
    ...fn.strategies.map((s) =>
      s.notApplicable
        ? `| ${s.strategy} | ${s.notApplicable} | ${counts.map(() => '').join(' | ')} | |`
        : `| ${s.strategy} | ${counts.map((n) => cell(s, n)).join(' | ')} | ${s.trialsToReachRandom ?? `not within ${fn.trials}`} | ${n(s.seconds, 1)} s |`,
    ),
    '',
  ];
}

function searchQualitySection(f: SearchQualityFigures, now: Date): string[] {
  const o = f.overhead;
  const e = f.earlyStopping;
  const each = (values: readonly number[]) => values.map((v) => ms(v)).join(', ');
  return [
    SEARCH_QUALITY_HEADING,
    '',
    `Method: in process (bench/search-quality.ts, bench/test-functions.ts), no DynamoDB. Each function is a tuning spec's parameter list (run through \`parseSpec\`); each strategy runs ${f.seeds} seeds (1..${f.seeds}) of ${f.functions[0]?.trials ?? 50} trials, one at a time. random: search.ts \`randomPoints\` with \`createRng(seed)\`. grid: \`gridPoints\` in its order, only where every parameter is integer, discrete or categorical (a double has no grid: "n/a"). bayesian: \`TpeSampler\` with its defaults (10 random startup trials, 24 candidates), \`suggest(finished, [], index)\`. bayesian, 3 in parallel: the oldest of 3 running trials finishes next and its slot gets a suggestion that sees the other two as pending (the constant liar). Best so far after n trials: the best value among the first n (for the noisy function, the noiseless value of the point whose noisy value is best so far). Median and quartiles are nearest-rank over the seeds at each n. Trials to reach: the first n at which the strategy's median best-so-far is at least as good as random's median best after all trials. Measured ${now.toISOString()}; ${n(f.seconds)} s in all.`,
    '',
    `![Best so far against trials, median and 25–75% band per strategy, one panel per function](${SEARCH_PLOT_PATH})`,
    '',
    ...f.functions.flatMap(functionTable),
    '### Suggestion overhead',
    '',
    `Method: one \`TpeSampler\` over Hartmann-6's ${o.parameters} doubles, given ${n(o.finished)} finished random trials (and, interleaved in the same rounds, ${o.smallFinished}); after a warm-up batch of each, ${o.rounds} rounds, each timing ${o.callsPerRound} \`suggest\` calls at ${n(o.finished)} then ${o.callsPerRound} at ${o.smallFinished}; the figure is the median round's mean per call. Wall clock (performance.now) is the target's figure; the process's CPU time (user + system) is beside it, since other processes shared the machine (1-minute load average ${o.loadAverage.toFixed(1)} on ${o.cores} cores when the rounds ended).`,
    '',
    '| Finished trials | Median per suggest | Each round | CPU time per suggest (median) |',
    '| --- | --- | --- | --- |',
    `| ${n(o.finished)} | ${ms(o.medianMs)} | ${each(o.msPerSuggest)} | ${ms(o.cpuMedianMs)} (${each(o.cpuMsPerSuggest)}) |`,
    `| ${o.smallFinished} | ${ms(o.smallMedianMs)} | ${each(o.smallMsPerSuggest)} | |`,
    '',
    '### Median stopping',
    '',
    `Method: simulated learning curves. Each configuration is a Hartmann-6 point; its trial reports a loss at steps 1..${e.steps}: value(step) = h + (${e.start} − h)·exp(−step/τ) + noise, h its Hartmann-6 value (the asymptote), τ drawn in [${e.tauRange[0]}, ${e.tauRange[1]}] and the noise Gaussian with σ = ${e.noise}, both from a stream seeded by the point and the seed, so a point learns the same way in both runs. ${e.seeds} seeds × ${e.trials} trials, one at a time, run twice by the same sampler and seed: without stopping, and with \`MedianStoppingRule\` at its defaults (goal minimize), every step reported, a stopped trial's curve discarded and a completed one's kept, as the engine does. A trial's value is the last it reported (where it stopped, when stopped). Trial time is counted in steps. Equal median best: with stopping no worse than without by more than ${fv(e.tolerance)} (1% of Hartmann-6's optimum's magnitude). With the random sampler both runs try the same points; with bayesian the sampler hears the stopped trials' values, so the later points may differ.`,
    '',
    '| Sampler | Steps without | Steps with | Saved | Trials stopped | Median best without | Median best with |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...e.rows.map((r) => `| ${r.sampler} | ${n(r.stepsWithout)} | ${n(r.stepsWith)} | ${pct(r.saved)} | ${n(r.stoppedTrials)} of ${n(r.trials)} | ${fv(r.medianBestWithout)} | ${fv(r.medianBestWith)} |`),
    '',
  ];
}

/**
 * BENCHMARKS.md with the search-quality section and its target rows replaced (or added), the rest
 * untouched: `TUNEWIRE_BENCH_ONLY=search npm run bench` refreshes these figures alone.
 */
export function spliceSearchQuality(markdown: string, f: SearchQualityFigures, now = new Date()): string {
  return spliceSection(markdown, {
    verdicts: searchQualityVerdicts(f),
    heading: SEARCH_QUALITY_HEADING,
    section: searchQualitySection(f, now),
    ownsTarget: (target) => SEARCH_QUALITY_TARGET_OPENINGS.some((opening) => target.startsWith(opening)),
  });
}
