/**
 * A standalone fake ML Engine for trying tunewire against "the cloud" on one machine:
 *
 *   npx tsx test/support/fake-mlengine-main.ts --port 4601 [--host 127.0.0.1] [--interval 200] [--no-autopilot]
 *
 * Autopilot is on: jobs move QUEUED → PREPARING → RUNNING, gain one trial per tick and succeed.
 * Point the client at the printed base URL with no credentials (TUNEWIRE_MLENGINE_ENDPOINT). The
 * controls in `fake-mlengine.ts` are served under /_fake/.
 */
import { parseArgs } from 'node:util';
import { FakeMlEngine } from './fake-mlengine';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4601' },
    host: { type: 'string', default: '127.0.0.1' },
    interval: { type: 'string', default: '200' },
    'no-autopilot': { type: 'boolean', default: false },
  },
});

const port = Number(values.port);
const intervalMs = Number(values.interval);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, not ${values.port}`);
if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new Error(`--interval must be milliseconds above 0, not ${values.interval}`);

const fake = await new FakeMlEngine({ host: values.host, port, autopilot: values['no-autopilot'] ? false : { intervalMs } }).start();
console.log(`fake ML Engine on ${fake.baseUrl} (autopilot ${values['no-autopilot'] ? 'off' : `every ${intervalMs} ms`}); controls under ${fake.endpoint}/_fake/`);

// The autopilot timer does not hold the process; the server does, until a signal.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void fake.stop().then(() => process.exit(0));
  });
}
