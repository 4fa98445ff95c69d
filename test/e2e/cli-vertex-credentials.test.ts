import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli';
import { deriveJobId } from '../../shared/domain/job';


/** Google's credential sources and metadata-server settings: none of them reach the CLI here. */
const GOOGLE_ENV = ['GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_CONFIG', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'GCE_METADATA_HOST', 'GCE_METADATA_IP', 'METADATA_SERVER_DETECTION', 'TUNEWIRE_VERTEX_ENDPOINT'];

/** Runs the real CLI in a child process with exactly `env` on top of PATH. */
const tunewire = (args: string[], env: Record<string, string>) => runCli(args, env, { inherit: false });

describe('tunewire submit to Vertex without Google credentials', () => {
  let env: Record<string, string>;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tunewire-vertex-nocreds-'));
    const inherited = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !GOOGLE_ENV.includes(e[0])));
    // METADATA_SERVER_DETECTION stays unset (vitest sets it to none): on this machine, without a
    // network, the metadata probe fails in well under a second, and its warning is what is checked.
    env = {
      ...inherited,
      HOME: join(dir, 'home'), // no ~/.config/gcloud/application_default_credentials.json
      TUNEWIRE_HOME: join(dir, 'tunewire'),
      TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
      TUNEWIRE_TABLE: `cli-vertex-${Date.now()}`,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
    };
  });

  it('says in one line what to set, exits 1, and records the job failed', async () => {
    const result = await tunewire(['submit', 'examples/vertex-tabular/spec.yaml', '--idempotency-key', 'no-google-credentials'], env);

    expect(result.code).toBe(1);
    const errors = result.stderr.trim().split('\n');
    expect(errors, result.stderr).toHaveLength(1);
    expect(errors[0]).toContain('[PROVIDER.NO_CREDENTIALS]');
    expect(errors[0]).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    expect(errors[0]).toContain('gcloud auth application-default login');
    const status = await tunewire(['status', deriveJobId('churn-vertex', 'no-google-credentials'), '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'failed' });
  }, 120_000);
});
