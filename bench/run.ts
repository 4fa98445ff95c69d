import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../shared/local-stack/dynamodb-local';
import { compareApiCalls } from './api-calls';
import { coldStarts, packagedBundles } from './bundles';
import { runTunewireJob, type TunewireJobRun } from './job-run';
import { measureLatency } from './latency';
import { perTrial } from './per-trial';
import { renderReport, verdicts, type BenchResults } from './report';
import { ROOT } from './stack';
import { measureThroughput } from './throughput';
import { jobTimeline } from './timeline';

/** `npm run bench`: starts DynamoDB Local (in memory) and the fakes, runs every benchmark, writes BENCHMARKS.md. */
async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const started = performance.now();
  const step = (label: string) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0)} s] ${label}`);
  const dynamo = await startDynamoDbLocal({});
  try {
    step('detection latency');
    const latency = await measureLatency(dynamo.endpoint);
    step('event throughput');
    const throughput = await measureThroughput(dynamo.endpoint);
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
    const results: BenchResults = {
      latency,
      apiCalls,
      throughput,
      perTrial: runs.filter((r) => r.trials === 100 || r.trials === 10_000).map(perTrial),
      bundles,
      coldStarts: cold,
      totalSeconds: (performance.now() - started) / 1000,
    };
    writeFileSync(join(ROOT, 'BENCHMARKS.md'), renderReport(results));
    for (const v of verdicts(results)) console.log(`${v.pass ? 'pass' : 'FAIL'}  ${v.target}: ${v.figure}`);
    step('BENCHMARKS.md written');
  } finally {
    await dynamo.stop();
  }
}

await main();
