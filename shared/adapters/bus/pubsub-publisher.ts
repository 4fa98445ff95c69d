import type { PubSub, Topic } from '@google-cloud/pubsub';
import { BusPublishError } from './bus-errors';

export interface PubSubPublisherOptions {
  readonly pubsub: PubSub;
  /** Topic name or full `projects/<p>/topics/<t>` path. */
  readonly topic: string;
}

/**
 * Publishes ready-made messages (data + attributes) to one Pub/Sub topic: the Google watcher's
 * messages, which are not our CloudEvents (those go through PubSubBus). The client batches and
 * retries transient failures itself; what still fails becomes a BusPublishError.
 *
 * @example
 *   const publisher = new PubSubPublisher({ pubsub: new PubSub({ projectId }), topic: watchTopic });
 *   await watchGoogleJobs(deps, (m) => publisher.publish(m));
 */
export class PubSubPublisher {
  private readonly topic: Topic;

  constructor(options: PubSubPublisherOptions) {
    this.topic = options.pubsub.topic(options.topic);
  }

  /** Resolves with the message id once Pub/Sub has accepted the message. */
  async publish(message: { readonly data: Buffer; readonly attributes: Record<string, string> }): Promise<string> {
    try {
      return await this.topic.publishMessage({ data: message.data, attributes: message.attributes });
    } catch (error) {
      const status = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number' ? error.code : undefined;
      throw new BusPublishError(
        `Pub/Sub topic ${this.topic.name}`,
        [
          {
            eventId: message.attributes['jobId'] ?? '(message)',
            code: status === undefined ? (error instanceof Error ? error.name : 'UnknownError') : `GRPC_${status}`,
            message: error instanceof Error ? error.message : String(error),
            // as PubSubBus judges: bad request, missing topic, denied and the like never succeed
            retryable: status === undefined || !FINAL_GRPC_STATUSES.has(status),
          },
        ],
        { cause: error },
      );
    }
  }
}

/** INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED. */
const FINAL_GRPC_STATUSES: ReadonlySet<number> = new Set([3, 5, 6, 7, 9, 11, 12, 16]);
