import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './stack';
import { median } from './stats';

const run = promisify(execFile);
const BIN = join(ROOT, 'bin', 'tunewire.mjs');
const RUNS = 5;

export interface CliStatusFigures {
  /** `tunewire status <job>` wall clock, fresh process, the state directory's service already up. */
  readonly warmMs: readonly number[];
  /** The same with no service: the command starts DynamoDB Local first. */
  readonly coldMs: readonly number[];
  readonly warmMedianMs: number;
  readonly coldMedianMs: number;
}

/**
 * A user's `tunewire status <job>` in a fresh CLI process, RUNS times each way, interleaved (cold,
 * warm, cold, ...), so drift of the machine hits both alike: warm with the shared local service up
 * (`tunewire up`), cold after `tunewire down`, when the command starts the service itself. One
 * state directory, on disk, holding one finished local job. The `submit` that makes the job also
 * builds the CLI bundle when a source changed (bin/cli-bundle.mjs), so no timed run pays for a build.
 */
export async function measureCliStatus(): Promise<CliStatusFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'tunewire-bench-status-'));
  const env: NodeJS.ProcessEnv = { ...process.env, TUNEWIRE_HOME: join(dir, 'home'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  delete env.TUNEWIRE_DYNAMODB_ENDPOINT;
  delete env.AWS_ENDPOINT_URL_DYNAMODB;
  delete env.TUNEWIRE_TABLE;
  const cli = (args: string[]) => run(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 120_000 });
  const timed = async (args: string[]) => {
    const started = performance.now();
    await cli(args);
    return performance.now() - started;
  };
  try {
    const spec = join(dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'bench-status',
        provider: 'local',
        objective: { metric: 'score', goal: 'maximize' },
        parameters: [{ name: 'x', type: 'discrete', values: [1] }],
        strategy: 'grid',
        budget: { maxTrials: 1, parallelTrials: 1 },
        trial: { command: [process.execPath, '-e', 'console.log("score=1")'], metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }] },
      }),
    );
    const submitted = JSON.parse((await cli(['submit', spec, '--json'])).stdout) as { jobId: string };
    const status = ['status', submitted.jobId];
    const warmMs: number[] = [];
    const coldMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await cli(['down']);
      coldMs.push(await timed(status));
      await cli(['up']);
      warmMs.push(await timed(status));
    }
    return { warmMs, coldMs, warmMedianMs: median(warmMs), coldMedianMs: median(coldMs) };
  } finally {
    await cli(['down', '--force']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
