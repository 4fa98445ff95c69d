/**
 * The fake SageMaker as a process, for CLI runs against "SageMaker" without AWS:
 *
 *   npx tsx test/support/fake-sagemaker-main.ts --port 4599 [--trial-every-ms 1000] [--trials 10] [--print-events]
 *   AWS_ENDPOINT_URL_SAGEMAKER=http://127.0.0.1:4599 tunewire submit spec.yaml
 *
 * Autopilot is on: every created tuning job runs its trials one by one and completes by itself.
 * With --print-events, each event SageMaker would send to EventBridge is printed as one JSON line.
 * Stops on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { FakeSageMaker } from './fake-sagemaker';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4599' },
    host: { type: 'string', default: '127.0.0.1' },
    'trial-every-ms': { type: 'string', default: '1000' },
    trials: { type: 'string' },
    'print-events': { type: 'boolean', default: false },
  },
  strict: true,
});

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, not "${text}"`);
    process.exit(2);
  }
  return n;
}

const port = positiveInteger('port', values.port) ?? 4599;
const trialEveryMs = positiveInteger('trial-every-ms', values['trial-every-ms']) ?? 1000;
const trials = positiveInteger('trials', values.trials);

const fake = new FakeSageMaker();
await fake.start({ port, host: values.host });
if (values['print-events']) fake.onEvent((event) => console.log(JSON.stringify(event)));
fake.autopilot({ trialEveryMs, ...(trials !== undefined ? { trials } : {}) });
console.error(`fake SageMaker listening on ${fake.endpoint} (autopilot: a trial every ${trialEveryMs} ms)`);
console.error(`  export AWS_ENDPOINT_URL_SAGEMAKER=${fake.endpoint}`);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`fake SageMaker: ${signal}, stopping`);
  void fake.stop().then(() => process.exit(0));
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
