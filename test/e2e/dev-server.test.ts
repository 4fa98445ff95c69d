import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deriveJobId } from '../../shared/domain/job';
import { findFreePort } from '../../shared/local-stack/ports';
import { fromApiGatewayV2, type ApiGatewayV2Event } from '../../functions/submit/api-gateway';
import { loadEvent } from '../support/fixtures';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tunewire.mjs');

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** node:http rather than fetch: fetch will not send a Host header of our choosing, and a rebinding page's Host is the point. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A local spec whose one trial writes `marker`: if the file exists, the command ran. */
function markerSpec(name: string, marker: string): string {
  return JSON.stringify({
    name,
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [{ name: 'x', type: 'discrete', values: [1, 2] }],
    strategy: 'grid',
    budget: { maxTrials: 1, parallelTrials: 1 },
    trial: {
      command: [process.execPath, '-e', "require('fs').writeFileSync(process.argv[1], 'ran'); console.log('score=1')", marker],
      metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }],
    },
  });
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Command lines of the processes running now that mention `text` (Linux /proc). */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(join('/proc', pid, 'cmdline'), 'utf8').split('\0').join(' ');
        return cmdline.includes(text) ? [`${pid}: ${cmdline}`] : [];
      } catch {
        return []; // exited while we looked
      }
    });
}

function waitForOutput(child: ChildProcess, text: string, timeoutMs: number): Promise<string> {
  let output = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms: ${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

describe('tunewire dev', () => {
  let dev: ChildProcess;
  let base: string;
  let port: number;
  let home: string;
  let token: string;
  let exited: Promise<number | null>;
  let markers: string;

  /** A request as the user's own tools send it: the token, a JSON body, no Origin. */
  const api = (path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    send(`${base}${path}`, {
      ...options,
      headers: { authorization: `Bearer ${token}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    });

  beforeAll(async () => {
    port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
    home = mkdtempSync(join(tmpdir(), 'tunewire-dev-'));
    markers = mkdtempSync(join(tmpdir(), 'tunewire-dev-markers-'));
    // as an older tunewire or a default umask left it: dev must tighten it
    chmodSync(home, 0o755);
    dev = spawn(process.execPath, [BIN, 'dev', '--port', String(port)], {
      cwd: ROOT,
      env: {
        ...process.env,
        TUNEWIRE_HOME: home,
        TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
        TUNEWIRE_TABLE: `dev-${Date.now()}`,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => dev.once('exit', (code) => resolve(code)));
    await waitForOutput(dev, 'Ctrl-C to stop', 60_000);
    // read in the tests' own assertions when missing, so that each one fails on its own
    const tokenFile = join(home, 'api-token');
    token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  });

  afterAll(async () => {
    if (dev.exitCode === null) dev.kill('SIGINT');
    await exited;
  });

  it('keeps the API token in the state directory, readable by its owner only', () => {
    expect(existsSync(join(home, 'api-token'))).toBe(true);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mode(join(home, 'api-token'))).toBe(0o600);
    expect(mode(home)).toBe(0o700);
    // TUNEWIRE_DYNAMODB_ENDPOINT: the ledger is elsewhere, so no local service was started for it
    expect(existsSync(join(home, 'service.json'))).toBe(false);
  });

  it('takes a spec over HTTP, runs it, and answers status and trials', async () => {
    const sample = fromApiGatewayV2(loadEvent('http/submit.api-gateway-v2.json') as unknown as ApiGatewayV2Event);
    const yaml = { 'content-type': 'application/yaml', 'idempotency-key': 'dev-test' };
    const submitted = await api('/jobs', { method: 'POST', body: sample.body ?? '', headers: yaml });
    expect(submitted.status).toBe(202);
    const { jobId } = JSON.parse(submitted.body) as { jobId: string };

    const again = await api('/jobs', { method: 'POST', body: sample.body ?? '', headers: yaml });
    expect(again.status).toBe(200);
    expect((JSON.parse(again.body) as { jobId: string }).jobId).toBe(jobId);

    let status = '';
    for (let i = 0; i < 150 && status !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = (JSON.parse((await api(`/jobs/${jobId}`)).body) as { status: string }).status;
    }
    expect(status).toBe('succeeded');
    const trials = JSON.parse((await api(`/jobs/${jobId}/trials`)).body) as { trials: unknown[] };
    expect(trials.trials).toHaveLength(4);
  }, 60_000);

  it('answers bad input with 400 naming the fields, and unknown jobs with 404', async () => {
    const bad = await api('/jobs', { method: 'POST', body: '{"name": "x", "provider": "local"}' });
    expect(bad.status).toBe(400);
    const body = JSON.parse(bad.body) as { error: { issues: Array<{ path: string }> } };
    expect(body.error.issues.map((i) => i.path)).toContain('objective');
    expect((await api('/jobs/nope')).status).toBe(404);
    expect((await api('/jobs', { method: 'POST', body: 'x'.repeat(300 * 1024) })).status).toBe(413);
  });

  describe('refuses what a web page can send, and runs nothing for it', () => {
    const refusedName = 'refused-marker';
    const refusedKey = 'from-a-web-page';
    let refusedMarker: string;
    let body: string;

    beforeAll(() => {
      refusedMarker = join(markers, 'refused');
      body = markerSpec(refusedName, refusedMarker);
    });

    /** POST /jobs as a page would, with the token (so only the check under test can refuse it) unless `headers` drops it. */
    const postJobs = (headers: Record<string, string>) =>
      send(`${base}/jobs`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': refusedKey, ...headers },
      });

    it('refuses a cross-origin POST /jobs with 403, even with the token', async () => {
      const answer = await postJobs({ origin: 'https://evil.example' });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'DEV.ORIGIN_REFUSED' } });
    });

    it('refuses a DNS-rebinding Host with 403, even with the token', async () => {
      const answer = await postJobs({ host: 'rebind.evil.example' });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'DEV.HOST_REFUSED' } });
      const rebound = await postJobs({ host: `rebind.evil.example:${port}`, origin: `http://rebind.evil.example:${port}` });
      expect(rebound.status).toBe(403);
    });

    it('refuses a text/plain body (a CORS simple request) with 415', async () => {
      const answer = await postJobs({ 'content-type': 'text/plain;charset=UTF-8' });
      expect(answer.status).toBe(415);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'DEV.UNSUPPORTED_MEDIA_TYPE' } });
    });

    it('refuses a request without the token, or with another one, with 401 and a JSON error', async () => {
      const without = await send(`${base}/jobs`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'idempotency-key': refusedKey } });
      expect(without.status).toBe(401);
      expect(JSON.parse(without.body)).toMatchObject({ error: { code: 'DEV.UNAUTHORIZED' } });
      expect((await postJobs({ authorization: `Bearer ${'x'.repeat(43)}` })).status).toBe(401);
      expect((await send(`${base}/jobs/anything`)).status).toBe(401);
    });

    it('refuses a cross-origin POST /subscriptions with 403 and stores no subscription', async () => {
      const answer = await api('/subscriptions', {
        method: 'POST',
        body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['*'] }),
        headers: { origin: 'https://evil.example' },
      });
      expect(answer.status).toBe(403);
      const listed = await api('/subscriptions');
      expect(listed.status).toBe(200);
      expect(JSON.parse(listed.body)).toEqual([]);
    });

    it('wrote no job for any refused request and ran no command, while the same spec sent properly runs', async () => {
      // the ledger is written before POST /jobs answers, so a refused request that got through would show here already
      expect((await api(`/jobs/${deriveJobId(refusedName, refusedKey)}`)).status).toBe(404);

      const acceptedMarker = join(markers, 'accepted');
      const accepted = await api('/jobs', { method: 'POST', body: markerSpec('accepted-marker', acceptedMarker), headers: { 'idempotency-key': 'from-the-user' } });
      expect(accepted.status).toBe(202);
      const { jobId } = JSON.parse(accepted.body) as { jobId: string };
      let status = '';
      for (let i = 0; i < 150 && status !== 'succeeded'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = (JSON.parse((await api(`/jobs/${jobId}`)).body) as { status: string }).status;
      }
      expect(status).toBe('succeeded');
      expect(existsSync(acceptedMarker)).toBe(true);
      expect(existsSync(refusedMarker)).toBe(false);
    }, 60_000);
  });

  it('stops on Ctrl-C with exit 0', async () => {
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 30_000);
});

describe('tunewire dev --port <busy>', () => {
  let holder: Server;
  let port: number;
  let home: string;
  let dev: ChildProcess | undefined;

  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    port = typeof address === 'object' && address ? address.port : 0;
    home = mkdtempSync(join(tmpdir(), 'tunewire-dev-busy-'));
  });

  afterAll(async () => {
    // the old behaviour hung here with its DynamoDB Local up; don't leave it behind
    if (dev && dev.exitCode === null) dev.kill('SIGKILL');
    await new Promise((resolve) => holder.close(resolve));
  });

  it('exits 1 naming the port, with no DynamoDB Local started or left running', async () => {
    // its own DynamoDB Local this time (no TUNEWIRE_DYNAMODB_ENDPOINT), so there would be a JVM to leave behind
    const { TUNEWIRE_DYNAMODB_ENDPOINT: _external, AWS_ENDPOINT_URL_DYNAMODB: _aws, ...env } = process.env;
    dev = spawn(process.execPath, [BIN, 'dev', '--port', String(port)], { cwd: ROOT, env: { ...env, TUNEWIRE_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    dev.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const child = dev;
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

    expect(code).toBe(1);
    expect(stderr).toContain(`port ${port}`);
    expect(stderr).toContain('already in use');
    expect(processesMentioning(join(home, 'dynamodb'))).toEqual([]);
    expect(existsSync(join(home, 'dynamodb'))).toBe(false);
    expect(existsSync(join(home, 'service.json'))).toBe(false);
    expect(existsSync(join(home, 'service.lock'))).toBe(false);
  }, 45_000);
});
