import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod';
import { DynamoDbWebhookStore } from './adapters/dynamodb/dynamodb-webhook-store';
import { allowEntryProblem } from './adapters/webhooks/ssrf-guard';
import { webhookSender } from './adapters/webhooks/webhook-sender';
import { ConfigError } from './config';
import { zodIssues } from './domain/spec';
import type { Clock } from './ports/clock';
import type { Ledger } from './ports/ledger';
import { redactUrlsIn, redactWebhookUrl, type DeadLetter, type WebhookStore } from './ports/webhooks';
import type { NotifyDependencies, NotifyShutdown } from './use-cases/notify';

/**
 * Webhook settings, read once from the environment:
 * - TUNEWIRE_WEBHOOK_ALLOW: comma-separated hosts / IPs / CIDRs the SSRF guard lets through
 *   (local development only; empty in production). Every entry is checked here, so a typo stops
 *   the start with a ConfigError naming it instead of failing every delivery.
 * - TUNEWIRE_WEBHOOK_SPEC_SECRET: `whsec_…` signing webhooks to a spec's `notify` URLs; without it
 *   those targets are skipped.
 * - TUNEWIRE_WEBHOOK_TIMEOUT_MS, TUNEWIRE_WEBHOOK_MAX_ATTEMPTS.
 */
const webhookEnvSchema = z.object({
  TUNEWIRE_WEBHOOK_ALLOW: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      for (const entry of allowEntries(value)) {
        const problem = allowEntryProblem(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: `entry "${entry}" ${problem}` });
      }
    }),
  TUNEWIRE_WEBHOOK_SPEC_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'must be whsec_ followed by base64').optional(),
  TUNEWIRE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  TUNEWIRE_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
});

export interface WebhookConfig {
  readonly allow: readonly string[];
  readonly specSecret?: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
}

export function loadWebhookConfig(env: Readonly<Record<string, string | undefined>>): WebhookConfig {
  const parsed = webhookEnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError('environment', zodIssues(parsed.error), { cause: parsed.error });
  const e = parsed.data;
  return Object.freeze({
    allow: allowEntries(e.TUNEWIRE_WEBHOOK_ALLOW),
    ...(e.TUNEWIRE_WEBHOOK_SPEC_SECRET ? { specSecret: e.TUNEWIRE_WEBHOOK_SPEC_SECRET } : {}),
    timeoutMs: e.TUNEWIRE_WEBHOOK_TIMEOUT_MS,
    maxAttempts: e.TUNEWIRE_WEBHOOK_MAX_ATTEMPTS,
  });
}

function allowEntries(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * The notify use case's dependencies, on the ledger's table and client. With `shutdown` (a process
 * that exits, as the CLI), its abort also clears the pending back-off timers, so they do not hold
 * the process open.
 */
export function createNotifyDependencies(input: { client: DynamoDBClient; tableName: string; ledger: Ledger; clock: Clock; config: WebhookConfig; shutdown?: NotifyShutdown }): NotifyDependencies {
  const { config, shutdown } = input;
  return {
    store: new CredentialRedactingStore(new DynamoDbWebhookStore({ client: input.client, tableName: input.tableName })),
    send: webhookSender({ allow: config.allow, timeoutMs: config.timeoutMs }),
    clock: input.clock,
    sleep: shutdown ? (ms) => sleep(ms, undefined, { signal: shutdown.signal }).catch(() => undefined) : (ms) => sleep(ms),
    random: Math.random,
    retry: { maxAttempts: config.maxAttempts },
    specNotifyTargets: async (jobId) => (await input.ledger.getJob(jobId))?.spec.notify ?? [],
    ...(config.specSecret ? { specSecret: config.specSecret } : {}),
    ...(shutdown ? { shutdown } : {}),
  };
}

/**
 * Dead letters without URL credentials, in and out (the URL, and the error, which before they were
 * redacted repeated the URL). New URLs with userinfo are refused where they are accepted; this
 * covers subscriptions and specs stored before that. Nothing is lost: such a URL is never delivered
 * to, so a replay of the redacted letter fails just as the original would.
 */
class CredentialRedactingStore implements WebhookStore {
  constructor(private readonly inner: WebhookStore) {}

  putSubscription: WebhookStore['putSubscription'] = (subscription) => this.inner.putSubscription(subscription);
  getSubscription: WebhookStore['getSubscription'] = (id) => this.inner.getSubscription(id);
  listSubscriptions: WebhookStore['listSubscriptions'] = () => this.inner.listSubscriptions();
  setSubscriptionEnabled: WebhookStore['setSubscriptionEnabled'] = (id, enabled, reason) => this.inner.setSubscriptionEnabled(id, enabled, reason);
  deleteSubscription: WebhookStore['deleteSubscription'] = (id) => this.inner.deleteSubscription(id);
  deleteDeadLetter: WebhookStore['deleteDeadLetter'] = (key) => this.inner.deleteDeadLetter(key);

  recordDeadLetter(deadLetter: DeadLetter): Promise<void> {
    return this.inner.recordDeadLetter(redacted(deadLetter));
  }

  async listDeadLetters(options?: { subscriptionId?: string }): Promise<DeadLetter[]> {
    return (await this.inner.listDeadLetters(options)).map(redacted);
  }
}

function redacted(deadLetter: DeadLetter): DeadLetter {
  return { ...deadLetter, url: redactWebhookUrl(deadLetter.url), lastError: redactUrlsIn(deadLetter.lastError) };
}
