import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ROOT } from './stack';
import { median } from './stats';

const run = promisify(execFile);

export interface BundleRow {
  /** The function, as serverless.yml names it. */
  readonly name: string;
  /** The zip uploaded to Lambda. */
  readonly zipBytes: number;
  /** The bundle inside it (handler.mjs, minified), what Lambda loads. */
  readonly bytes: number;
}

export interface ColdStartRow {
  readonly fn: string;
  readonly bundleBytes: number;
  readonly importMs: number;
  readonly error?: string;
}

/** Where the deployment bundles are unpacked, inside the repo so their few externals resolve. */
const UNPACKED = join(ROOT, 'node_modules', '.cache', 'tunewire-bench');

/**
 * `osls package` once (serverless.yml's esbuild settings), then each zip it left in .serverless/
 * unpacked: the sizes of the zip and of the bundle in it.
 */
export async function packagedBundles(): Promise<{ rows: BundleRow[]; error?: string }> {
  let error: string | undefined;
  try {
    await run('npx', ['osls', 'package'], { cwd: ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } });
  } catch (e) {
    const failure = e as { stderr?: string; stdout?: string; message: string };
    error = (failure.stderr || failure.stdout || failure.message).trim().split('\n').slice(-5).join(' ').slice(0, 400);
  }
  const dir = join(ROOT, '.serverless');
  await rm(UNPACKED, { recursive: true, force: true });
  await mkdir(UNPACKED, { recursive: true });
  const rows: BundleRow[] = [];
  for (const zip of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.zip')) : []) {
    const name = zip.replace(/\.zip$/, '');
    await run('unzip', ['-o', '-q', join(dir, zip), '-d', join(UNPACKED, name)]);
    const bundle = join(UNPACKED, name, 'functions', name, 'handler.mjs');
    rows.push({ name, zipBytes: statSync(join(dir, zip)).size, bytes: existsSync(bundle) ? statSync(bundle).size : Number.NaN });
  }
  return { rows, ...(error ? { error } : {}) };
}

const RUNS = 5;

/**
 * Each deployment bundle (from `packagedBundles`) imported in a fresh node process RUNS times, as
 * a Lambda cold start loads it; the median import time is reported.
 */
export async function coldStarts(bundles: readonly BundleRow[]): Promise<ColdStartRow[]> {
  const rows: ColdStartRow[] = [];
  for (const { name, bytes } of bundles) {
    const bundle = join(UNPACKED, name, 'functions', name, 'handler.mjs');
    const times: number[] = [];
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(performance.now() - t);`;
    try {
      for (let i = 0; i < RUNS; i++) {
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: UNPACKED, env: { ...process.env, AWS_REGION: 'us-east-1' } });
        times.push(Number(stdout.trim().split('\n').pop()));
      }
      rows.push({ fn: name, bundleBytes: bytes, importMs: median(times) });
    } catch (error) {
      const text = (error as { stderr?: string }).stderr ?? String(error);
      rows.push({ fn: name, bundleBytes: bytes, importMs: Number.NaN, error: text.split('\n').find((l) => /Error/.test(l))?.trim() ?? 'import failed' });
    }
  }
  return rows;
}
