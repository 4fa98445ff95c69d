import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.git/**'],
    // Starts DynamoDB Local and the Pub/Sub emulator once per run; test files get their addresses through inject().
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      // Tests never reach Google: without this the Pub/Sub client probes the GCE metadata server and warns.
      METADATA_SERVER_DETECTION: 'none',
      // The SDK's "Node 22 from 2027" notice, printed once per worker, is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
