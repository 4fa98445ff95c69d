import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort } from '../../shared/local-stack/ports';
import { fromApiGatewayV2, type ApiGatewayV2Event } from '../../functions/submit/api-gateway';
import { loadEvent } from '../support/fixtures';

const ROOT = join(import.meta.dirname, '..', '..');

describe('tunewire dev', () => {
  let dev: ChildProcess;
  let base: string;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    const port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
    dev = spawn(process.execPath, [join(ROOT, 'bin', 'tunewire.mjs'), 'dev', '--port', String(port)], {
      cwd: ROOT,
      env: {
        ...process.env,
        TUNEWIRE_HOME: mkdtempSync(join(tmpdir(), 'tunewire-dev-')),
        TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
        TUNEWIRE_TABLE: `dev-${Date.now()}`,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => dev.once('exit', (code) => resolve(code)));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dev did not start: ${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('HTTP API on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      dev.stdout?.on('data', onData);
      dev.stderr?.on('data', onData);
    });
  });

  afterAll(async () => {
    if (dev.exitCode === null) dev.kill('SIGINT');
    await exited;
  });

  it('takes a spec over HTTP, runs it, and answers status and trials', async () => {
    const sample = fromApiGatewayV2(loadEvent('http/submit.api-gateway-v2.json') as unknown as ApiGatewayV2Event);
    const submitted = await fetch(`${base}/jobs`, { method: 'POST', body: sample.body ?? '', headers: { 'idempotency-key': 'dev-test' } });
    expect(submitted.status).toBe(202);
    const { jobId } = (await submitted.json()) as { jobId: string };

    const again = await fetch(`${base}/jobs`, { method: 'POST', body: sample.body ?? '', headers: { 'idempotency-key': 'dev-test' } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { jobId: string }).jobId).toBe(jobId);

    let status = '';
    for (let i = 0; i < 150 && status !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = ((await (await fetch(`${base}/jobs/${jobId}`)).json()) as { status: string }).status;
    }
    expect(status).toBe('succeeded');
    const trials = (await (await fetch(`${base}/jobs/${jobId}/trials`)).json()) as { trials: unknown[] };
    expect(trials.trials).toHaveLength(4);
  }, 60_000);

  it('answers bad input with 400 naming the fields, and unknown jobs with 404', async () => {
    const bad = await fetch(`${base}/jobs`, { method: 'POST', body: '{"name": "x", "provider": "local"}' });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { issues: Array<{ path: string }> } };
    expect(body.error.issues.map((i) => i.path)).toContain('objective');
    expect((await fetch(`${base}/jobs/nope`)).status).toBe(404);
    expect((await fetch(`${base}/jobs`, { method: 'POST', body: 'x'.repeat(300 * 1024) })).status).toBe(413);
  });

  it('stops on Ctrl-C with exit 0', async () => {
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 30_000);
});
