#!/usr/bin/env node
// The state directory's background service (DynamoDB Local's owner), started by the CLI on first need:
// `tunewire up` starts it on purpose, `tunewire down` stops it. Runs TypeScript through tsx, as bin/tunewire.mjs does.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
await import('../shared/local-stack/service-main.ts');
