// The background service's entry (bin/tunewire-service.mjs runs it): the composition root reads
// its settings once here and hands them to runService.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEngineHost } from './engine-host';
import { idleMsFrom, runService } from './service';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const home = process.argv[2];
if (!home) {
  process.stderr.write('usage: tunewire-service <state directory>\n');
  process.exit(2);
}
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} [${process.pid}] ${line}\n`);
process.exitCode = await runService({
  home,
  idleMs: idleMsFrom(process.env),
  log,
  startEngine: (dynamoEndpoint) => startEngineHost({ home, root: ROOT, dynamoEndpoint, env: process.env, log }),
});
