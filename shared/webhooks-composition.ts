import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { DynamoDbWebhookStore } from './adapters/dynamodb/dynamodb-webhook-store';
import { KmsEnvelopeCipher, LocalKeyFileCipher } from './adapters/webhooks/secret-ciphers';
import { specSigning } from './adapters/webhooks/spec-signing';
import { SqsDeliveryScheduler } from './adapters/webhooks/sqs-delivery-scheduler';
import { allowEntryProblem } from './adapters/webhooks/ssrf-guard';
import { webhookSender } from './adapters/webhooks/webhook-sender';
import { ConfigError } from './config';
import { zodIssues } from './domain/spec';
import type { Clock } from './ports/clock';
import type { Ledger } from './ports/ledger';
import { redactUrlsIn, redactWebhookUrl, type DeadLetter, type DeliveryScheduler, type SecretCipher, type WebhookStore } from './ports/webhooks';
import { STANDARD_WEBHOOKS_SCHEDULE_MS, type NotifyDependencies } from './use-cases/notify';

/** `0,5s,5m,2h`: waits in ms, s, m or h (a bare number is ms). */
const DURATION = /^(\d+)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function parseSchedule(value: string): number[] {
  return value.split(',').map((part) => {
    const match = DURATION.exec(part.trim());
    return match ? Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] as number) : Number.NaN;
  });
}

const whsec = z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'must be whsec_ followed by base64');

/**
 * Webhook settings, read once from the environment:
 * - TUNEWIRE_WEBHOOK_ALLOW: comma-separated hosts / IPs / CIDRs the SSRF guard lets through
 *   (local development only; empty in production). Every entry is checked here, so a typo stops
 *   the start with a ConfigError naming it instead of failing every delivery.
 * - TUNEWIRE_WEBHOOK_SPEC_SECRET: `whsec_…`, the master key each spec `notify` URL's own secret is
 *   derived from (see spec-signing); without it those targets are skipped. It is never sent.
 *   TUNEWIRE_WEBHOOK_SPEC_SECRET_PREVIOUS: the master key before a rotation, still signing.
 * - TUNEWIRE_WEBHOOK_RETRY_SCHEDULE: the wait before each attempt, the first (0) included
 *   (default `0,5s,5m,30m,2h,5h,10h,10h`, Standard Webhooks'); TUNEWIRE_WEBHOOK_MAX_ATTEMPTS cuts
 *   it short.
 * - TUNEWIRE_WEBHOOK_RETRY_QUEUE_URL (AWS): the SQS queue that brings retries back when due.
 * - TUNEWIRE_WEBHOOK_KMS_KEY (AWS): the KMS key that seals stored secrets.
 * - TUNEWIRE_WEBHOOK_TIMEOUT_MS.
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
  TUNEWIRE_WEBHOOK_SPEC_SECRET: whsec.optional(),
  TUNEWIRE_WEBHOOK_SPEC_SECRET_PREVIOUS: whsec.optional(),
  TUNEWIRE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  TUNEWIRE_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).optional(),
  TUNEWIRE_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .optional()
    .refine((v) => v === undefined || parseSchedule(v).every((ms) => Number.isFinite(ms)), 'must be comma-separated waits such as 0,5s,5m,2h')
    .refine((v) => v === undefined || parseSchedule(v)[0] === 0, 'must start with 0 (the first attempt is immediate)')
    .refine((v) => v === undefined || parseSchedule(v).length <= 20, 'at most 20 attempts'),
  TUNEWIRE_WEBHOOK_RETRY_QUEUE_URL: z.url().optional(),
  TUNEWIRE_WEBHOOK_KMS_KEY: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
});

export interface WebhookConfig {
  readonly allow: readonly string[];
  readonly specMasterKey?: string;
  readonly specPreviousMasterKey?: string;
  readonly timeoutMs: number;
  /** The wait before each attempt, the first (0) included. */
  readonly scheduleMs: readonly number[];
  readonly retryQueueUrl?: string;
  readonly kmsKeyId?: string;
  readonly region?: string;
}

export function loadWebhookConfig(env: Readonly<Record<string, string | undefined>>): WebhookConfig {
  const parsed = webhookEnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError('environment', zodIssues(parsed.error), { cause: parsed.error });
  const e = parsed.data;
  const schedule = e.TUNEWIRE_WEBHOOK_RETRY_SCHEDULE ? parseSchedule(e.TUNEWIRE_WEBHOOK_RETRY_SCHEDULE) : [...STANDARD_WEBHOOKS_SCHEDULE_MS];
  return Object.freeze({
    allow: allowEntries(e.TUNEWIRE_WEBHOOK_ALLOW),
    ...(e.TUNEWIRE_WEBHOOK_SPEC_SECRET ? { specMasterKey: e.TUNEWIRE_WEBHOOK_SPEC_SECRET } : {}),
    ...(e.TUNEWIRE_WEBHOOK_SPEC_SECRET_PREVIOUS ? { specPreviousMasterKey: e.TUNEWIRE_WEBHOOK_SPEC_SECRET_PREVIOUS } : {}),
    timeoutMs: e.TUNEWIRE_WEBHOOK_TIMEOUT_MS,
    scheduleMs: Object.freeze(schedule.slice(0, e.TUNEWIRE_WEBHOOK_MAX_ATTEMPTS ?? schedule.length)),
    ...(e.TUNEWIRE_WEBHOOK_RETRY_QUEUE_URL ? { retryQueueUrl: e.TUNEWIRE_WEBHOOK_RETRY_QUEUE_URL } : {}),
    ...(e.TUNEWIRE_WEBHOOK_KMS_KEY ? { kmsKeyId: e.TUNEWIRE_WEBHOOK_KMS_KEY } : {}),
    ...(e.AWS_REGION ? { region: e.AWS_REGION } : {}),
  });
}

function allowEntries(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

export interface NotifyCompositionInput {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly ledger: Ledger;
  readonly clock: Clock;
  readonly config: WebhookConfig;
  /** Wakes retries when due; by default the SQS queue of config.retryQueueUrl, else none (a poller runs them). */
  readonly scheduler?: DeliveryScheduler;
  /** Seals stored secrets; by default KMS (config.kmsKeyId), else the key file `secretKeyFile`. */
  readonly cipher?: SecretCipher;
  /** The local key file (0600, made on first use), e.g. `<state dir>/webhook-secrets.key`. */
  readonly secretKeyFile?: string;
}

/**
 * The notify use case's dependencies, on the ledger's table and client. Without a scheduler, a
 * cipher or a key file, retries wait for a poller and secrets are stored in plain text: only tests
 * should build it so.
 */
export function createNotifyDependencies(input: NotifyCompositionInput): NotifyDependencies {
  const { config } = input;
  const region = config.region ? { region: config.region } : {};
  const cipher =
    input.cipher ??
    (config.kmsKeyId ? new KmsEnvelopeCipher({ client: new KMSClient(region), keyId: config.kmsKeyId }) : input.secretKeyFile ? new LocalKeyFileCipher({ path: input.secretKeyFile }) : undefined);
  const scheduler = input.scheduler ?? (config.retryQueueUrl ? new SqsDeliveryScheduler({ client: new SQSClient(region), queueUrl: config.retryQueueUrl, clock: input.clock }) : undefined);
  return {
    store: new CredentialRedactingStore(new DynamoDbWebhookStore({ client: input.client, tableName: input.tableName, ...(cipher ? { cipher } : {}) })),
    send: webhookSender({ allow: config.allow, timeoutMs: config.timeoutMs }),
    clock: input.clock,
    random: Math.random,
    retry: { scheduleMs: config.scheduleMs },
    ...(scheduler ? { scheduler } : {}),
    specNotifyTargets: async (jobId) => (await input.ledger.getJob(jobId))?.spec.notify ?? [],
    ...(config.specMasterKey ? { specSigning: specSigning({ masterKey: config.specMasterKey, previousMasterKeys: config.specPreviousMasterKey ? [config.specPreviousMasterKey] : [] }) } : {}),
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
  rotateSecret: WebhookStore['rotateSecret'] = (id, secret, previous) => this.inner.rotateSecret(id, secret, previous);
  savePendingDelivery: WebhookStore['savePendingDelivery'] = (pending, previous) => this.inner.savePendingDelivery(pending, previous);
  getPendingDelivery: WebhookStore['getPendingDelivery'] = (key) => this.inner.getPendingDelivery(key);
  listPendingDeliveries: WebhookStore['listPendingDeliveries'] = (options) => this.inner.listPendingDeliveries(options);
  deletePendingDelivery: WebhookStore['deletePendingDelivery'] = (pending) => this.inner.deletePendingDelivery(pending);
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
