import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli';
import { localDynamoClient } from '../support/dynamodb';
import { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { runDueDeliveries } from '../../shared/use-cases/notify';
import { createNotifyDependencies, loadWebhookConfig } from '../../shared/webhooks-composition';


/** Runs the real CLI in a child process, as a user would. */
const tunewire = (args: string[], env: Record<string, string>) => runCli(args, env);

/** A receiver that is down (503) until `healthy`; counts attempts by webhook-id. */
function failingReceiver(): { server: Server; attempts: Map<string, number>; healthy: { value: boolean } } {
  const attempts = new Map<string, number>();
  const healthy = { value: false };
  const server = createServer((req, res) => {
    const id = String(req.headers['webhook-id']);
    attempts.set(id, (attempts.get(id) ?? 0) + 1);
    req.resume();
    req.on('end', () => {
      if (healthy.value) res.writeHead(200).end('ok');
      else res.writeHead(503, { 'retry-after': '60' }).end('down');
    });
  });
  return { server, attempts, healthy };
}

describe('tunewire submit --wait with a failing webhook receiver', () => {
  let env: Record<string, string>;
  let dir: string;
  const receiver = failingReceiver();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tunewire-cli-webhooks-'));
    env = { TUNEWIRE_HOME: join(dir, 'home'), TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'), TUNEWIRE_TABLE: `cli-webhooks-${Date.now()}`, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('returns without waiting for the retries, and leaves each failed delivery pending for whichever runner comes next', async () => {
    const { port } = receiver.server.address() as AddressInfo;
    const added = await tunewire(['webhooks', 'add', `http://127.0.0.1:${port}/hook`, '--events', '*'], env);
    expect(added.code, added.stderr).toBe(0);

    const spec = join(dir, 'quick.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'quick-hooks',
        provider: 'local',
        objective: { metric: 'score', goal: 'maximize' },
        parameters: [{ name: 'x', type: 'discrete', values: [1, 2] }],
        strategy: 'grid',
        budget: { maxTrials: 2, parallelTrials: 2 },
        trial: { command: [process.execPath, '-e', 'console.log("score=" + Number(process.argv[1]) / 10)', '{{x}}'], metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }] },
      }),
    );
    const submitted = await tunewire(['submit', spec, '--wait'], env);
    expect(submitted.code, submitted.stderr).toBe(0);

    // it returned after the first attempts: nothing waited, nothing was given up as a dead letter
    expect(receiver.attempts.size).toBeGreaterThan(0);
    expect(submitted.stderr).not.toMatch(/dead letter/);
    expect(JSON.parse((await tunewire(['dead-letters', 'list', '--json'], env)).stdout)).toEqual([]);

    // the retries are in the ledger, due later: a runner in any later process makes them
    const client = localDynamoClient();
    const tableName = env.TUNEWIRE_TABLE as string;
    const later = { now: () => new Date(Date.now() + 2 * 86_400_000) };
    const webhooks = createNotifyDependencies({
      client,
      tableName,
      ledger: new DynamoDbLedger({ client, tableName }),
      clock: later,
      config: loadWebhookConfig({ TUNEWIRE_WEBHOOK_ALLOW: '127.0.0.1' }),
      secretKeyFile: join(env.TUNEWIRE_HOME as string, 'webhook-secrets.key'),
    });
    const pending = await webhooks.store.listPendingDeliveries();
    expect(new Set(pending.map((p) => p.eventId))).toEqual(new Set(receiver.attempts.keys()));

    receiver.healthy.value = true;
    const outcomes = await runDueDeliveries(webhooks);
    expect(outcomes.map((o) => o.outcome)).toEqual(pending.map(() => 'delivered'));
    expect(await webhooks.store.listPendingDeliveries()).toEqual([]);
    client.destroy();
  }, 120_000);

  it('adds a subscription with a sealed header and a slack body, lists it masked, and rotates its secret', async () => {
    const added = await tunewire(['webhooks', 'add', 'http://127.0.0.1:9/hooks/T000/B000/secret-token', '--header', 'Authorization: Bearer sealed-value-3c1', '--format', 'slack', '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    const { id, secret } = JSON.parse(added.stdout) as { id: string; secret: string };
    expect(secret).toMatch(/^whsec_/);

    const listed = await tunewire(['webhooks', 'list', '--json'], env);
    const view = (JSON.parse(listed.stdout) as { id: string; url: string; headers: string[]; format: string }[]).find((s) => s.id === id);
    expect(view).toMatchObject({ url: 'http://127.0.0.1:9/…', headers: ['Authorization'], format: 'slack' });
    expect(listed.stdout).not.toContain('secret-token');
    expect(listed.stdout).not.toContain('sealed-value-3c1');
    expect(listed.stdout).not.toContain(secret);

    const rotated = await tunewire(['webhooks', 'rotate', id, '--grace-hours', '2'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const [newSecretLine, graceLine] = rotated.stdout.trim().split('\n');
    expect(newSecretLine).toMatch(/^new secret \(shown once\): whsec_/);
    expect(newSecretLine).not.toContain(secret);
    expect(graceLine).toMatch(/^the old secret signs too until \d{4}-/);

    const bad = await tunewire(['webhooks', 'add', 'http://127.0.0.1:9/x', '--header', 'no-colon'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--header');
  }, 120_000);
});
