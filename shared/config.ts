import { z } from 'zod';
import { ValidationError } from './domain/errors';
import { zodIssues } from './domain/spec';

/**
 * Deployed configuration, read once from the environment at cold start and frozen. Every value is
 * required unless it has a real default: a missing table name is an error, not a placeholder.
 */
const envSchema = z
  .object({
    TUNEWIRE_TABLE: z.string().min(3),
    AWS_REGION: z.string().min(1),
    TUNEWIRE_BUS: z.enum(['eventbridge', 'pubsub']).default('eventbridge'),
    TUNEWIRE_EVENT_BUS: z.string().min(1).optional(),
    TUNEWIRE_PUBSUB_TOPIC: z.string().min(1).optional(),
    GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
    /** Points the ledger at another DynamoDB (DynamoDB Local); the SDK also honours AWS_ENDPOINT_URL_DYNAMODB. */
    TUNEWIRE_DYNAMODB_ENDPOINT: z.url().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.TUNEWIRE_BUS === 'eventbridge' && !env.TUNEWIRE_EVENT_BUS) {
      ctx.addIssue({ code: 'custom', path: ['TUNEWIRE_EVENT_BUS'], message: 'is required when TUNEWIRE_BUS is eventbridge' });
    }
    if (env.TUNEWIRE_BUS === 'pubsub' && !env.TUNEWIRE_PUBSUB_TOPIC) {
      ctx.addIssue({ code: 'custom', path: ['TUNEWIRE_PUBSUB_TOPIC'], message: 'is required when TUNEWIRE_BUS is pubsub' });
    }
  });

export interface Config {
  readonly tableName: string;
  readonly region: string;
  readonly dynamoEndpoint?: string;
  readonly bus: { readonly kind: 'eventbridge'; readonly eventBusName: string } | { readonly kind: 'pubsub'; readonly topic: string; readonly projectId?: string };
}

export class ConfigError extends ValidationError {
  override readonly code = 'CONFIG.INVALID';
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError('environment', zodIssues(parsed.error), { cause: parsed.error });
  const e = parsed.data;
  return Object.freeze({
    tableName: e.TUNEWIRE_TABLE,
    region: e.AWS_REGION,
    ...(e.TUNEWIRE_DYNAMODB_ENDPOINT ? { dynamoEndpoint: e.TUNEWIRE_DYNAMODB_ENDPOINT } : {}),
    bus:
      e.TUNEWIRE_BUS === 'pubsub'
        ? { kind: 'pubsub' as const, topic: e.TUNEWIRE_PUBSUB_TOPIC as string, ...(e.GOOGLE_CLOUD_PROJECT ? { projectId: e.GOOGLE_CLOUD_PROJECT } : {}) }
        : { kind: 'eventbridge' as const, eventBusName: e.TUNEWIRE_EVENT_BUS as string },
  });
}
