import { ledgerClient } from '../../shared/composition';
import { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { loadConfig } from '../../shared/config';
import { handleNotifyEvent } from '../../shared/edge/notify-events';
import { systemClock } from '../../shared/ports/clock';
import type { NotifyDependencies } from '../../shared/use-cases/notify';
import { createNotifyDependencies, loadWebhookConfig } from '../../shared/webhooks-composition';
import { logOutcome } from '../runtime';

let dependencies: NotifyDependencies | undefined;

/** Built once per cold start from the function's environment. */
function notifyDependencies(): NotifyDependencies {
  if (!dependencies) {
    const config = loadConfig(process.env);
    const client = ledgerClient(config);
    dependencies = createNotifyDependencies({
      client,
      tableName: config.tableName,
      ledger: new DynamoDbLedger({ client, tableName: config.tableName }),
      clock: systemClock,
      config: loadWebhookConfig(process.env),
    });
  }
  return dependencies;
}

/** Any tunewire event: signed webhooks to its subscribers (retries and dead letters inside). */
export async function handler(event: unknown) {
  const outcome = await handleNotifyEvent(notifyDependencies(), event);
  logOutcome('notify', outcome);
  return outcome;
}
