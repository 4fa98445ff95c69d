import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as fromYaml, stringify as toYaml } from 'yaml';
import { ROOT, runCli } from '../support/cli';

/** The example template, its webhook replaced. */
const example = fromYaml(readFileSync(join(ROOT, 'examples', 'iris-forest', 'template.yaml'), 'utf8')) as { triggers: Record<string, unknown> };

describe('tunewire templates put with an inbound webhook', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tunewire-cli-templates-'));
    env = { TUNEWIRE_HOME: join(dir, 'home'), TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'), TUNEWIRE_TABLE: `cli-templates-${Date.now()}`, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };
  });

  const put = (name: string, webhook: Record<string, unknown>) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, toYaml({ ...example, triggers: { ...example.triggers, webhook } }));
    return runCli(['templates', 'put', name, file], env);
  };

  it('refuses a Standard Webhooks secret that is not base64 as bad input naming triggers.webhook.secret, and keeps a good one', async () => {
    const bad = await put('churn', { kind: 'standard', secret: 'whsec_abc=defghijklmnopqrstuvwxyz' });
    expect(bad.code, bad.stdout).toBe(2);
    expect(bad.stderr).toContain('triggers.webhook.secret');

    const good = await put('churn', { kind: 'standard', secret: `whsec_${Buffer.from('a-thirty-two-byte-secret-for-tst').toString('base64')}` });
    expect(good.code, good.stderr).toBe(0);
  });
});
