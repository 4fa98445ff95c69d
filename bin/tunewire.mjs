#!/usr/bin/env node
// Runs the CLI from its bundle, built on the first run and after any source change (cli-bundle.mjs),
// so a fresh clone needs no build step.
import { importEntry } from './cli-bundle.mjs';

// The SDK's notice that its 2027 releases will need Node 22 is not for tunewire's users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `tunewire trials <job> | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// google-auth-library looks for a GCE metadata server when no other Google credentials are found;
// off Google Cloud the probe fails and gcp-metadata emits a MetadataLookupWarning, which only
// repeats less clearly what the missing-credentials error says. On GCE the probe succeeds and
// nothing is emitted, so dropping this one warning type (and printing every other as Node does)
// changes nothing there. METADATA_SERVER_DETECTION is left alone for the same reason.
const printWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'MetadataLookupWarning') for (const print of printWarning) print(warning);
});

const { main } = await importEntry('cli');
process.exitCode = await main(process.argv);
