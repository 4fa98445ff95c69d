import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Clock } from '../../ports/clock';
import type { DeliveryScheduler, RetryTicket } from '../../ports/webhooks';

/** SQS delays a message at most this long; a longer wait comes back early and is sent again. */
export const MAX_SQS_DELAY_SECONDS = 900;

/**
 * Schedules the next attempt as a delayed message on the retry queue, which the notify function
 * consumes. A wait beyond 15 minutes arrives early: retryDelivery sees it is not due and schedules
 * it again (about 40 hops for 10 hours).
 *
 * @example
 *   const scheduler = new SqsDeliveryScheduler({ client: new SQSClient({ region }), queueUrl, clock: systemClock });
 */
export class SqsDeliveryScheduler implements DeliveryScheduler {
  constructor(private readonly options: { client: SQSClient; queueUrl: string; clock: Clock }) {}

  async schedule(ticket: RetryTicket, dueAt: Date): Promise<void> {
    const waitSeconds = Math.ceil((dueAt.getTime() - this.options.clock.now().getTime()) / 1000);
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: this.options.queueUrl,
        MessageBody: JSON.stringify(ticket),
        DelaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, Math.max(0, waitSeconds)),
      }),
    );
  }
}
