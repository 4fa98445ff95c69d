import { build } from 'esbuild';
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
  readonly name: string;
  readonly bytes: number;
}

export interface ColdStartRow {
  readonly fn: string;
  readonly bundleBytes: number;
  readonly importMs: number;
  readonly error?: string;
}

/** `osls package` once, then the size of every zip it left in .serverless/. */
export async function packagedBundles(): Promise<{ rows: BundleRow[]; error?: string }> {
  let error: string | undefined;
  try {
    await run('npx', ['osls', 'package'], { cwd: ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } });
  } catch (e) {
    const failure = e as { stderr?: string; stdout?: string; message: string };
    error = (failure.stderr || failure.stdout || failure.message).trim().split('\n').slice(-5).join(' ').slice(0, 400);
  }
  const dir = join(ROOT, '.serverless');
  const rows = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.zip'))
        .map((f) => ({ name: f, bytes: statSync(join(dir, f)).size }))
    : [];
  return { rows, ...(error ? { error } : {}) };
}

const RUNS = 5;

/**
 * Each functions/<name>/handler.ts bundled as serverless.yml's esbuild settings do (ESM, node,
 * @aws-sdk/* external, as the Lambda runtime provides it), then imported in a fresh node process
 * RUNS times; the median import time is reported.
 */
export async function coldStarts(): Promise<ColdStartRow[]> {
  // inside the repo, so the external @aws-sdk/* resolve from node_modules
  const out = join(ROOT, 'node_modules', '.cache', 'tunewire-bench');
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const functions = readdirSync(join(ROOT, 'functions')).filter((f) => existsSync(join(ROOT, 'functions', f, 'handler.ts')));
  const rows: ColdStartRow[] = [];
  for (const fn of functions) {
    const outfile = join(out, `${fn}.mjs`);
    await build({
      entryPoints: [join(ROOT, 'functions', fn, 'handler.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      mainFields: ['module', 'main'],
      external: ['@aws-sdk/*'],
      // a renamed import: some bundled modules import createRequire themselves
      banner: { js: "import { createRequire as benchCreateRequire } from 'module'; const require = benchCreateRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    const times: number[] = [];
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(outfile).href)}); console.log(performance.now() - t);`;
    try {
      for (let i = 0; i < RUNS; i++) {
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: out, env: { ...process.env, AWS_REGION: 'us-east-1' } });
        times.push(Number(stdout.trim().split('\n').pop()));
      }
      rows.push({ fn, bundleBytes: statSync(outfile).size, importMs: median(times) });
    } catch (error) {
      const text = (error as { stderr?: string }).stderr ?? String(error);
      rows.push({ fn, bundleBytes: statSync(outfile).size, importMs: Number.NaN, error: text.split('\n').find((l) => /Error/.test(l))?.trim() ?? 'import failed' });
    }
  }
  return rows;
}
