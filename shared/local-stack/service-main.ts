// The background service's entry (bin/tunewire-service.mjs runs it): the composition root reads
// its settings once here and hands them to runService.
import { idleMsFrom, runService } from './service';

const home = process.argv[2];
if (!home) {
  process.stderr.write('usage: tunewire-service <state directory>\n');
  process.exit(2);
}
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} [${process.pid}] ${line}\n`);
process.exitCode = await runService({ home, idleMs: idleMsFrom(process.env), log });
