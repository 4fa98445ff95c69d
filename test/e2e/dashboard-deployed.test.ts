import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleHttpRequest } from '../../shared/edge/http-api';
import { submitJob } from '../../shared/use-cases/submit-job';
import { parseSpec } from '../../shared/domain/spec';
import { edgeFixture, edgeSpec, type EdgeFixture } from '../support/edge-deps';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tunewire.mjs');

/**
 * `tunewire dashboard --api <url>` against a stand-in for the deployed API: API Gateway's IAM
 * authorizer is played by a check that the request is SigV4-signed for execute-api with the
 * caller's key (the signature itself is verified in test/unit/cli/api-forwarder.test.ts); behind
 * it, the same HTTP API handler the deployed function runs, on DynamoDB Local.
 */
describe('tunewire dashboard --api: the page here, the data from a deployed stack', () => {
  let fixture: EdgeFixture;
  let deployed: Server;
  let dashboard: ChildProcess;
  let exited: Promise<number | null>;
  let base: string;
  let token: string;
  let jobId: string;
  const seen: { path: string; authorization: string }[] = [];

  beforeAll(async () => {
    fixture = await edgeFixture('dashboard-api');
    ({ job: { jobId } } = await submitJob(fixture.deps, { spec: parseSpec(edgeSpec('sagemaker', 'deployed-study')), trigger: 'http' }));
    deployed = createServer((req, res) => {
      const authorization = req.headers.authorization ?? '';
      seen.push({ path: req.url ?? '', authorization });
      if (!/^AWS4-HMAC-SHA256 Credential=AKIDDASHBOARD\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/.test(authorization)) {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Forbidden"}');
        return;
      }
      const path = (req.url ?? '/').replace(/^\/prod/, '');
      void handleHttpRequest(fixture.deps, { method: req.method ?? 'GET', path, headers: {} }).then((answer) => res.writeHead(answer.statusCode, answer.headers).end(answer.body));
    });
    await new Promise<void>((resolve) => deployed.listen(0, '127.0.0.1', resolve));
    const port = (deployed.address() as { port: number }).port;
    dashboard = spawn(process.execPath, [BIN, 'dashboard', '--no-open', '--api', `http://127.0.0.1:${port}/prod`, '--region', 'eu-west-1'], {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDDASHBOARD', AWS_SECRET_ACCESS_KEY: 'dashboard-secret', AWS_PROFILE: '', BROWSER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => dashboard.once('exit', resolve));
    const address = await new Promise<string>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const found = /^open (\S+)/m.exec(output)?.[1];
        if (found) resolve(found);
      };
      dashboard.stdout?.on('data', onData);
      dashboard.stderr?.on('data', onData);
      dashboard.once('exit', (code) => reject(new Error(`tunewire dashboard exited (${code}): ${output}`)));
    });
    base = address.split('/#')[0] as string;
    token = decodeURIComponent(address.split('#token=')[1] as string);
  }, 120_000);

  afterAll(async () => {
    if (dashboard && dashboard.exitCode === null) dashboard.kill('SIGINT');
    await exited;
    await new Promise((resolve) => deployed?.close(resolve));
  });

  const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) => fetch(`${base}${path}`, { headers });

  it("serves the page itself, and the deployed stack's jobs through it, signed", async () => {
    expect((await get('/', {})).status).toBe(200);
    const answer = await get('/jobs');
    expect(answer.status).toBe(200);
    const { jobs } = (await answer.json()) as { jobs: { jobId: string }[] };
    expect(jobs.map((j) => j.jobId)).toContain(jobId);
    const forwarded = seen.find((s) => s.path === '/prod/jobs');
    expect(forwarded?.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    // the dashboard's own token never leaves this machine
    expect(seen.every((s) => !s.authorization.includes(token))).toBe(true);
  });

  it('answers /events 404, so the page refreshes on a timer, and still wants its own token', async () => {
    expect((await get('/events')).status).toBe(404);
    expect((await get('/jobs', {})).status).toBe(401);
  });

  it('stops on Ctrl-C with exit code 0', async () => {
    dashboard.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
