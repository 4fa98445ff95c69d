import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeMlEngine } from '../support/fake-mlengine';
import { FakeSageMaker } from '../support/fake-sagemaker';
import { FakeVertex } from '../support/fake-vertex';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/**
 * The README's recipe for each cloud provider: the example spec submitted with the CLI against the
 * provider's fake, waited on to promotion. The fakes run in this process; the CLI is a child.
 */
describe('tunewire submit --provider <cloud> against the fakes', () => {
  const sagemaker = new FakeSageMaker();
  let vertex: FakeVertex;
  const mlengine = new FakeMlEngine({ autopilot: { intervalMs: 50 } });
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await sagemaker.start();
    sagemaker.autopilot({ trialEveryMs: 50, trials: 6 });
    vertex = await FakeVertex.start();
    vertex.autopilot({ trialEveryMs: 50, trials: 6 });
    await mlengine.start();
    env = {
      ...process.env,
      TUNEWIRE_HOME: mkdtempSync(join(tmpdir(), 'tunewire-cloud-')),
      TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
      TUNEWIRE_TABLE: `cloud-${Date.now()}`,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SAGEMAKER: sagemaker.endpoint,
      TUNEWIRE_VERTEX_ENDPOINT: vertex.endpoint,
      TUNEWIRE_MLENGINE_ENDPOINT: mlengine.baseUrl,
      TUNEWIRE_POLL_SECONDS: '0.2',
      METADATA_SERVER_DETECTION: 'none',
    };
  });

  afterAll(async () => {
    await Promise.all([sagemaker.stop(), vertex.stop(), mlengine.stop()]);
  });

  async function tunewire(...args: string[]) {
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'tunewire.mjs'), ...args], { cwd: ROOT, env, timeout: 90_000 });
    return stdout;
  }

  it.each([
    ['sagemaker', 'examples/sagemaker-xgboost/spec.yaml', 'churn-xgb', /^arn:aws:sagemaker:.*:model-package\/churn-xgb\/\d+$/],
    ['vertex', 'examples/vertex-tabular/spec.yaml', 'churn-vertex', /^projects\/.*\/models\/churn-vertex@\d+$/],
    ['mlengine', 'examples/mlengine-census/spec.yaml', 'census-mlengine', /^census-mlengine-\w+\/\w+$/],
  ])('%s: %s runs to promotion', async (provider, spec, model, version) => {
    const output = await tunewire('submit', spec, '--provider', provider, '--wait');
    expect(output).toMatch(/status\s+succeeded/);
    expect(output).toContain(`promotion: PROMOTED for model ${model}: first champion`);

    const { champion } = JSON.parse(await tunewire('champion', model, '--json')) as { champion: { version: string } };
    expect(champion.version).toMatch(version);
  }, 120_000);

  it('status asks the provider when the ledger is older than the poll interval, and only then', async () => {
    const submitted = JSON.parse(await tunewire('submit', 'examples/sagemaker-xgboost/spec.yaml', '--provider', 'sagemaker', '--idempotency-key', 'status-fresh', '--json')) as { jobId: string; status: string };
    expect(submitted.status).toBe('pending');
    // an hour's interval keeps the ledger's word, whatever the fake has done meanwhile
    const patient = JSON.parse((await run(process.execPath, [join(ROOT, 'bin', 'tunewire.mjs'), 'status', submitted.jobId, '--json'], { cwd: ROOT, env: { ...env, TUNEWIRE_POLL_SECONDS: '3600' } })).stdout) as { status: string };
    expect(patient.status).toBe('pending');
    // each call asks the fake (0.2 s interval) until its job has finished; no timing is assumed
    let fresh: { status: string; trialCounts?: Record<string, number> } = { status: 'pending' };
    for (let calls = 0; calls < 30 && fresh.status !== 'succeeded'; calls += 1) fresh = JSON.parse(await tunewire('status', submitted.jobId, '--json')) as typeof fresh;
    expect(fresh.status).toBe('succeeded');
    expect(fresh.trialCounts).toMatchObject({ succeeded: 6 });
  }, 120_000);
});
