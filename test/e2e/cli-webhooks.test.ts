import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli';
import type { DeadLetter } from '../../shared/ports/webhooks';
import { ABANDONED_DELIVERY, DEFAULT_RETRY_POLICY } from '../../shared/use-cases/notify';


/** Runs the real CLI in a child process, as a user would. */
const tunewire = (args: string[], env: Record<string, string>) => runCli(args, env);

/**
 * A receiver that is down: 503 with Retry-After: 60 (the longest wait notify honours), so the full
 * retry schedule of one delivery is five minutes, far beyond the test's timeout. Counts attempts by
 * webhook-id; `healthy` turns it into a 200.
 */
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

  it('returns without waiting for the retries, and leaves each unfinished delivery as a dead letter to replay', async () => {
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

    // it returned while every delivery was still early in its schedule
    expect(receiver.attempts.size).toBeGreaterThan(0);
    for (const count of receiver.attempts.values()) expect(count).toBeLessThan(DEFAULT_RETRY_POLICY.maxAttempts);
    const said = submitted.stderr.trim().split('\n').filter((l) => l.includes('dead letter'));
    expect(said).toHaveLength(1);
    const left = Number(/^(\d+) webhook/.exec(said[0] as string)?.[1]);

    const listed = await tunewire(['dead-letters', 'list', '--json'], env);
    const letters = JSON.parse(listed.stdout) as DeadLetter[];
    // one per event: a repeated event (same webhook-id) is one delivery to the receiver
    expect(new Set(letters.map((l) => l.eventId)).size).toBe(left);
    for (const letter of letters) expect(letter.lastError).toContain(ABANDONED_DELIVERY);

    receiver.healthy.value = true;
    const replayed = await tunewire(['dead-letters', 'replay', '--json'], env);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect((JSON.parse(replayed.stdout) as Array<{ outcome: string }>).map((r) => r.outcome)).toEqual(letters.map(() => 'delivered'));
    expect(left).toBeGreaterThan(0);
    expect(JSON.parse((await tunewire(['dead-letters', 'list', '--json'], env)).stdout)).toEqual([]);
  }, 120_000);
});
