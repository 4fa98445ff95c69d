import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../shared/local-stack/dynamodb-local';
import type { RunningService } from '../shared/local-stack/ports';
import { startPubSubEmulator } from '../shared/local-stack/pubsub-emulator';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DynamoDB Local, in memory, `-sharedDb`: `http://127.0.0.1:N`. Any region and non-empty keys work; use unique table names. */
    dynamoEndpoint: string;
    /** The Pub/Sub emulator as `127.0.0.1:N` (PUBSUB_EMULATOR_HOST form), or null when gcloud is missing: skip those tests. */
    pubsubEmulatorHost: string | null;
  }
}

/**
 * Starts one DynamoDB Local and one Pub/Sub emulator for the whole run, side by side, and stops both at the end.
 * A missing Java fails the run here (every ledger test needs DynamoDB); a missing gcloud does not, even on CI:
 * the Pub/Sub tests skip and this prints why.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  let unavailable: string | undefined;
  const [dynamo, pubsub] = await Promise.allSettled([
    timed(startDynamoDbLocal({})),
    timed(startPubSubEmulator({ onUnavailable: (reason) => (unavailable = reason) })),
  ]);
  if (dynamo.status === 'rejected' || pubsub.status === 'rejected') {
    // An installed emulator that fails to start fails the run; only a missing gcloud means skip.
    await Promise.all([dynamo, pubsub].map((r) => (r.status === 'fulfilled' ? r.value.service?.stop() : undefined)));
    throw [dynamo, pubsub].find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  }

  project.provide('dynamoEndpoint', dynamo.value.service.endpoint);
  project.provide('pubsubEmulatorHost', pubsub.value.service?.endpoint ?? null);

  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    `local stack up in ${seconds(performance.now() - started)}: DynamoDB Local ${dynamo.value.service.endpoint} (${seconds(dynamo.value.ms)})` +
      (pubsub.value.service ? `, Pub/Sub emulator ${pubsub.value.service.endpoint} (${seconds(pubsub.value.ms)})` : ', no Pub/Sub emulator'),
  );
  if (!pubsub.value.service) warnPubSubSkipped(unavailable ?? 'the Pub/Sub emulator is not installed');

  return async () => {
    await Promise.all([dynamo.value.service.stop(), pubsub.value.service?.stop()]);
  };
}

async function timed<T extends RunningService | null>(start: Promise<T>): Promise<{ service: T; ms: number }> {
  const began = performance.now();
  const service = await start;
  return { service, ms: performance.now() - began };
}

function warnPubSubSkipped(reason: string): void {
  const rule = '!'.repeat(78);
  console.warn(
    [
      '',
      rule,
      '!!  Pub/Sub emulator NOT available: every Pub/Sub integration test will be SKIPPED.',
      ...reason.split('\n').map((line) => `!!  ${line}`),
      '!!  To run them: install the Google Cloud CLI and its emulator',
      '!!  (apt-get install google-cloud-cli google-cloud-cli-pubsub-emulator, or',
      '!!  gcloud components install pubsub-emulator), plus Java 17+.',
      rule,
      '',
    ].join('\n'),
  );
}
