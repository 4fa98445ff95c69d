#!/usr/bin/env node
// The state directory's background service (DynamoDB Local's owner), started by the CLI on first need:
// `tunewire up` starts it on purpose, `tunewire down` stops it. Runs from the bundle, as bin/tunewire.mjs does.
import { importEntry } from './cli-bundle.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await importEntry('service');
