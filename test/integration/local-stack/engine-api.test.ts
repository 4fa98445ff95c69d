import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalProvider, type LocalProviderEvent } from '../../../shared/adapters/local/local-provider';
import { listenDevServer, type DevServer } from '../../../shared/cli/dev-server';
import { ProviderError, SpecValidationError } from '../../../shared/domain/errors';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import { engineRoutes, ServiceLocalEngine } from '../../../shared/local-stack/engine-api';
import type { DevApiDependencies } from '../../../shared/cli/dev-server';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TOKEN = 'engine-test-token';

function spec(script: string): TuningSpec {
  return parseSpec({
    name: 'engine',
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [{ name: 'x', type: 'discrete', values: [1, 2] }],
    strategy: 'grid',
    budget: { maxTrials: 2, parallelTrials: 1 },
    trial: { command: [process.execPath, '-e', script], metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }] },
  });
}

/** A service's engine as engine-host.ts serves it (without the ledger): its routes on a guarded loopback port. */
async function engineService(): Promise<{ workDir: string; engine: LocalProvider; server: DevServer; events: LocalProviderEvent[] }> {
  const workDir = mkdtempSync(join(tmpdir(), 'tunewire-engine-'));
  const events: LocalProviderEvent[] = [];
  const engine = new LocalProvider({ workDir, emit: async (event) => void events.push(event), log: () => undefined, env: { PATH: process.env.PATH } });
  const server = await listenDevServer({ port: 0, token: TOKEN });
  // the HTTP API behind the engine routes is not what these tests are about
  server.serve({} as DevApiDependencies, engineRoutes(engine));
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }), () => server.close(), () => engine.close());
  return { workDir, engine, server, events };
}

async function post(server: DevServer, path: string, body: string): Promise<{ status: number; body: { error?: { code: string; message: string; issues?: { path: string; message: string }[] } } }> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
  return { status: response.status, body: (await response.json()) as never };
}

describe('the local service\'s engine routes', () => {
  it('runs a job with the environment of the command that submitted it, and writes that environment nowhere', async () => {
    const { workDir, engine, server } = await engineService();
    const reader = new LocalProvider({ workDir, emit: async () => undefined });
    const client = new ServiceLocalEngine(reader, { url: server.url, token: TOKEN }, { PATH: process.env.PATH, TUNEWIRE_TEST_SECRET: 'from-the-command-7f3a' });
    // the script names the variable, never its value: a value found on disk came from the environment
    const job = spec('console.log("score=" + (process.env.TUNEWIRE_TEST_SECRET ?? "").length)');

    const created = await client.create({ jobId: 'env-job', providerJobName: 'env-job', spec: job });
    expect(created).toEqual({ ref: { provider: 'local', providerJobName: 'env-job' }, adopted: false });
    expect((await client.create({ jobId: 'env-job', providerJobName: 'env-job', spec: job })).adopted).toBe(true);
    await engine.waitForJob('env-job');

    // the trials saw the command's variable; the client reads the outcome from the state file
    const { trials } = await client.listTrials(created.ref, undefined, job);
    expect(trials.map((t) => t.objectiveValue)).toEqual([21, 21]);
    expect(await client.describe(created.ref)).toMatchObject({ status: 'succeeded' });
    const written = readdirSync(join(workDir, 'jobs'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'));
    expect(written.length).toBeGreaterThan(0);
    for (const text of written) expect(text).not.toContain('from-the-command-7f3a');
  }, 20_000);

  it('stops a running job and refuses to resume a finished one, in the provider\'s words', async () => {
    const { workDir, engine, server } = await engineService();
    const client = new ServiceLocalEngine(new LocalProvider({ workDir, emit: async () => undefined }), { url: server.url, token: TOKEN }, { PATH: process.env.PATH });
    const job = spec('setInterval(() => {}, 1000)');
    const { ref } = await client.create({ jobId: 'stop-me', providerJobName: 'stop-me', spec: job });
    await client.stop(ref);
    await engine.waitForJob('stop-me');
    expect(await client.describe(ref)).toMatchObject({ status: 'stopped' });

    const refused = client.resume('stop-me');
    await expect(refused).rejects.toBeInstanceOf(ProviderError);
    await expect(refused).rejects.toMatchObject({ code: 'PROVIDER.JOB_ENDED', message: 'local resume failed: job stop-me has already ended (STOPPED); there is nothing to resume', retryable: false });
    await expect(client.resume('no-such-job')).rejects.toMatchObject({ code: 'PROVIDER.NOT_FOUND' });
  }, 20_000);

  it('refuses hostile bodies with 400 naming the field, and starts nothing', async () => {
    const { workDir, server } = await engineService();
    const valid = { jobId: 'j', providerJobName: 'j', spec: spec('console.log("score=1")') };

    const notJson = await post(server, '/engine/jobs', '{"request":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error?.issues).toEqual([{ path: '(body)', message: 'must be JSON' }]);

    const badName = await post(server, '/engine/jobs', JSON.stringify({ request: { ...valid, providerJobName: '../../etc/passwd' }, env: {} }));
    expect(badName.status).toBe(400);
    expect(badName.body.error?.issues?.[0]?.path).toBe('request.providerJobName');

    const badSpec = await post(server, '/engine/jobs', JSON.stringify({ request: { ...valid, spec: { ...valid.spec, budget: { maxTrials: 0 } } }, env: {} }));
    expect(badSpec.status).toBe(400);
    expect(badSpec.body.error?.issues?.map((i) => i.path)).toContain('budget.maxTrials');

    const badEnv = await post(server, '/engine/jobs', JSON.stringify({ request: valid, env: { PATH: 42 } }));
    expect(badEnv.status).toBe(400);
    expect(badEnv.body.error?.issues?.[0]?.path).toBe('env.PATH');

    const wrongName = await post(server, '/engine/jobs/..%2F..%2Fx/resume', JSON.stringify({ env: {} }));
    expect(wrongName.status).toBe(400);

    expect(readdirSync(workDir)).toEqual([]);
  });

  it('answers only requests that carry the token', async () => {
    const { server } = await engineService();
    const response = await fetch(`${server.url}/engine/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
  });

  it('turns a spec the engine refuses into the SpecValidationError the command would have thrown', async () => {
    const { workDir, server } = await engineService();
    const client = new ServiceLocalEngine(new LocalProvider({ workDir, emit: async () => undefined }), { url: server.url, token: TOKEN }, {});
    const job = { ...spec('console.log("score=1")'), strategy: 'hyperband' } as TuningSpec;
    await expect(client.create({ jobId: 'bad', providerJobName: 'bad', spec: job })).rejects.toBeInstanceOf(SpecValidationError);
  });
});
