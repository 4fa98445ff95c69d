import * as z from 'zod';
import type { PubSubPublisher } from '../../shared/adapters/bus/pubsub-publisher';
import { ConfigError } from '../../shared/config';
import { zodIssues } from '../../shared/domain/spec';
import { watchGoogleJobs } from '../../shared/use-cases/watch-google-jobs';
import { cloudDependencies } from '../runtime';

const watcherEnv = z.object({
  /** The topic the `status-change` push subscription reads (name or projects/<p>/topics/<t>). */
  TUNEWIRE_WATCH_TOPIC: z.string().min(1),
  GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
});

let publisher: Promise<PubSubPublisher> | undefined;

/** Built once per cold start: the environment is read here and nowhere deeper. */
function watchPublisher(): Promise<PubSubPublisher> {
  publisher ??= (async () => {
    const parsed = watcherEnv.safeParse(process.env);
    if (!parsed.success) throw new ConfigError('environment', zodIssues(parsed.error), { cause: parsed.error });
    const { TUNEWIRE_WATCH_TOPIC: topic, GOOGLE_CLOUD_PROJECT: projectId } = parsed.data;
    const [{ PubSub }, { PubSubPublisher }] = await Promise.all([import('@google-cloud/pubsub'), import('../../shared/adapters/bus/pubsub-publisher')]);
    return new PubSubPublisher({ pubsub: new PubSub(projectId ? { projectId } : {}), topic });
  })();
  return publisher;
}

/** Scheduled (Cloud Scheduler or an EventBridge schedule): publish what changed in the active Google jobs. */
export async function handler(_event?: unknown) {
  const [deps, topic] = await Promise.all([cloudDependencies(), watchPublisher()]);
  const result = await watchGoogleJobs(deps, async (message) => void (await topic.publish(message)));
  const { failures, ...counts } = result;
  console.log(JSON.stringify({ level: failures.length ? 'warn' : 'info', function: 'google-watcher', ...counts, ...(failures.length ? { failures } : {}) }));
  return counts;
}
