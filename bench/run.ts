import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startDynamoDbLocal } from '../shared/local-stack/dynamodb-local';
import { compareApiCalls } from './api-calls';
import { coldStarts, packagedBundles } from './bundles';
import { measureCliStatus } from './cli-status';
import { measureDashboardLive, type DashboardLiveFigures } from './dashboard-live';
import { runTunewireJob, type TunewireJobRun } from './job-run';
import { measureLatency } from './latency';
import { perTrial } from './per-trial';
import { renderReport, SEARCH_PLOT_PATH, searchQualityVerdicts, spliceCliStatus, spliceDashboardLive, spliceSearchQuality, verdicts, type BenchResults } from './report';
import { measureSearchQuality, searchQualitySvg, type SearchQualityFigures } from './search-quality';
import { ROOT } from './stack';
import { measureThroughput } from './throughput';
import { jobTimeline } from './timeline';

/**
 * `npm run bench`: starts DynamoDB Local (in memory) and the fakes, runs every benchmark, writes
 * BENCHMARKS.md. `TUNEWIRE_BENCH_ONLY=cli-status npm run bench` measures only the CLI's warm and
 * cold `status` and updates that section of BENCHMARKS.md; `TUNEWIRE_BENCH_ONLY=dashboard-live` measures
 * only how soon an open dashboard hears of a ledger change, and updates that section;
 * `TUNEWIRE_BENCH_ONLY=search` runs only the search-quality benchmark (random, grid, bayesian on
 * test functions; TPE overhead; median stopping), writes its plot and updates its section.
 */
async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (process.env.TUNEWIRE_BENCH_ONLY === 'cli-status') return cliStatusOnly();
  if (process.env.TUNEWIRE_BENCH_ONLY === 'dashboard-live') return dashboardLiveOnly();
  if (process.env.TUNEWIRE_BENCH_ONLY === 'search') return searchQualityOnly();
  const started = performance.now();
  const step = (label: string) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0)} s] ${label}`);
  // first, before DynamoDB Local starts: pure CPU work, and the TPE overhead is timed with nothing else running
  step('search quality');
  const searchQuality = await measureSearchQuality(step);
  writeSearchPlot(searchQuality);
  const dynamo = await startDynamoDbLocal({});
  try {
    step('detection latency');
    const latency = await measureLatency(dynamo.endpoint);
    step('event throughput');
    const throughput = await measureThroughput(dynamo.endpoint);
    step('dashboard live updates');
    const dashboardLive = await measureDashboardLive(dynamo.endpoint);
    logDashboardLive(dashboardLive);
    const runs: TunewireJobRun[] = [];
    for (const trials of [50, 100, 500, 10_000]) {
      step(`whole job of ${trials} trials`);
      runs.push(await runTunewireJob(dynamo.endpoint, jobTimeline(trials)));
    }
    step('whole job of 500 trials, training-job events as AWS documents them (no metrics)');
    const metricless = await runTunewireJob(dynamo.endpoint, jobTimeline(500), { events: 'documented' });
    for (const run of [...runs, metricless]) {
      if (run.trialsStored !== run.trials || run.trialsAnnounced !== run.trials) throw new Error(`job of ${run.trials} trials (${run.events} events) stored ${run.trialsStored}, announced ${run.trialsAnnounced}`);
    }
    step('polling baselines');
    const apiCalls = await compareApiCalls([...runs.filter((r) => r.trials !== 100), metricless]);
    step('osls package');
    const bundles = await packagedBundles();
    step('cold starts');
    const cold = await coldStarts(bundles.rows);
    // last: the CLI processes start their own DynamoDB Local, so nothing else runs beside them
    step('CLI status, warm service against cold start');
    const cliStatus = await measureCliStatus();
    const results: BenchResults = {
      latency,
      apiCalls,
      throughput,
      perTrial: runs.filter((r) => r.trials === 100 || r.trials === 10_000).map(perTrial),
      bundles,
      coldStarts: cold,
      cliStatus,
      dashboardLive,
      searchQuality,
      totalSeconds: (performance.now() - started) / 1000,
    };
    writeFileSync(join(ROOT, 'BENCHMARKS.md'), renderReport(results));
    for (const v of verdicts(results)) console.log(`${v.pass ? 'pass' : 'FAIL'}  ${v.target}: ${v.figure}`);
    step('BENCHMARKS.md written');
  } finally {
    await dynamo.stop();
  }
}

async function cliStatusOnly(): Promise<void> {
  const figures = await measureCliStatus();
  const file = join(ROOT, 'BENCHMARKS.md');
  writeFileSync(file, spliceCliStatus(readFileSync(file, 'utf8'), figures));
  console.log(`warm status median ${figures.warmMedianMs.toFixed(0)} ms (${figures.warmMs.map((v) => v.toFixed(0)).join(', ')})`);
  console.log(`cold status median ${figures.coldMedianMs.toFixed(0)} ms (${figures.coldMs.map((v) => v.toFixed(0)).join(', ')})`);
  console.log(`cold / warm ${(figures.coldMedianMs / figures.warmMedianMs).toFixed(1)}x; BENCHMARKS.md updated`);
}

async function dashboardLiveOnly(): Promise<void> {
  const dynamo = await startDynamoDbLocal({});
  try {
    const figures = await measureDashboardLive(dynamo.endpoint);
    const file = join(ROOT, 'BENCHMARKS.md');
    writeFileSync(file, spliceDashboardLive(readFileSync(file, 'utf8'), figures));
    logDashboardLive(figures);
    console.log('BENCHMARKS.md updated');
  } finally {
    await dynamo.stop();
  }
}

async function searchQualityOnly(): Promise<void> {
  const started = performance.now();
  const figures = await measureSearchQuality((label) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0)} s] ${label}`));
  writeSearchPlot(figures);
  const file = join(ROOT, 'BENCHMARKS.md');
  writeFileSync(file, spliceSearchQuality(readFileSync(file, 'utf8'), figures));
  for (const fn of figures.functions) {
    console.log(`${fn.name} (${fn.trials} trials, ${figures.seeds} seeds), median best @10 / @25 / @${fn.trials}, trials to reach random's median best-of-${fn.trials}:`);
    for (const s of fn.strategies) {
      const at = (k: number) => s.median[k - 1]?.toPrecision(4) ?? '-';
      console.log(`  ${s.strategy.padEnd(24)} ${s.notApplicable ?? `${at(10)} / ${at(25)} / ${at(fn.trials)}   reach ${s.trialsToReachRandom ?? 'not within ' + fn.trials}`}`);
    }
  }
  for (const v of searchQualityVerdicts(figures)) console.log(`${v.pass ? 'pass' : 'FAIL'}  ${v.target}: ${v.figure}`);
  console.log(`${SEARCH_PLOT_PATH} written; BENCHMARKS.md updated`);
}

function writeSearchPlot(figures: SearchQualityFigures): void {
  const file = join(ROOT, SEARCH_PLOT_PATH);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, searchQualitySvg(figures));
}

function logDashboardLive(f: DashboardLiveFigures): void {
  const each = (values: readonly number[]) => values.map((v) => v.toFixed(0)).join(', ');
  console.log(`method: ${f.changes} changes, each awaited before the next; time from the ledger write's completion to the \`change\` event on an open /events stream; the stream polls every ${f.pollMs} ms`);
  console.log(`change → event: median ${f.medianMs.toFixed(0)} ms, p90 ${f.p90Ms.toFixed(0)} ms, max ${f.maxMs.toFixed(0)} ms, spread ${f.minMs.toFixed(0)}..${f.maxMs.toFixed(0)} ms (${each(f.eventMs)})`);
  console.log(`the write itself: median ${f.writeMedianMs.toFixed(1)} ms (${each(f.writeMs)})`);
  console.log(`${f.p90Ms <= 1000 ? 'pass' : 'FAIL'}  p90 ≤ 1000 ms (the page updates within a second)${f.seenBeforeWriteReturned ? `; ${f.seenBeforeWriteReturned} events came before the write returned` : ''}`);
}

await main();
