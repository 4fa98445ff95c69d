/**
 * The fake Vertex AI on its own, with the autopilot on, for trying the CLI or a dev server against
 * something that answers like Vertex:
 *
 *   npx tsx test/support/fake-vertex-main.ts --port 4600 [--host 127.0.0.1] [--trial-every-ms 500] [--trials 5]
 *
 * Prints its endpoint; a client reaches it with
 * `{ apiEndpoint: '127.0.0.1', port: 4600, sslCreds: grpc.credentials.createInsecure() }`.
 * Stops on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { FakeVertex } from './fake-vertex';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4600' },
    host: { type: 'string', default: '127.0.0.1' },
    'trial-every-ms': { type: 'string', default: '500' },
    trials: { type: 'string' },
  },
  strict: true,
});

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer of at least ${min}, got "${text}"`);
    process.exit(2);
  }
  return n;
}

const port = integer('port', values.port, 0) ?? 4600;
const trialEveryMs = integer('trial-every-ms', values['trial-every-ms'], 1) ?? 500;
const trials = integer('trials', values.trials, 1);

const fake = await FakeVertex.start({ port, host: values.host });
fake.autopilot({ trialEveryMs, ...(trials !== undefined ? { trials } : {}) });
console.log(`fake Vertex AI (JobService, ModelService, Operations) on ${fake.endpoint}, autopilot every ${trialEveryMs} ms`);
console.log(`  client options: { apiEndpoint: '${fake.host}', port: ${fake.port}, sslCreds: grpc.credentials.createInsecure() }`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping (${fake.jobNames().length} job(s), ${fake.modelNames().length} model(s) served)`);
  void fake.stop().then(() => process.exit(0));
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
