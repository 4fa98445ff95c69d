import * as z from 'zod';
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
    /** The HTTP API's base URL: events link to their job there (`url`); without it they carry no link. */
    TUNEWIRE_API_URL: z.url().optional(),
  });

export interface Config {
  readonly tableName: string;
  readonly region: string;
  readonly dynamoEndpoint?: string;
  readonly apiUrl?: string;
  readonly bus: { readonly kind: 'eventbridge'; readonly eventBusName: string } | { readonly kind: 'pubsub'; readonly topic: string; readonly projectId?: string };
}

export class ConfigError extends ValidationError {
  override readonly code = 'CONFIG.INVALID';
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = envSchema.safeParse(env);
  const bus = env.TUNEWIRE_BUS ?? 'eventbridge';
  // checked beside the schema so one run names every missing variable
  const needed = bus === 'pubsub' ? 'TUNEWIRE_PUBSUB_TOPIC' : bus === 'eventbridge' ? 'TUNEWIRE_EVENT_BUS' : undefined;
  const issues = [
    ...(parsed.success ? [] : zodIssues(parsed.error)),
    ...(needed && !env[needed] ? [{ path: needed, message: `is required when TUNEWIRE_BUS is ${bus}` }] : []),
  ];
  if (!parsed.success || issues.length) throw new ConfigError('environment', issues, parsed.success ? {} : { cause: parsed.error });
  const e = parsed.data;
  return Object.freeze({
    tableName: e.TUNEWIRE_TABLE,
    region: e.AWS_REGION,
    ...(e.TUNEWIRE_DYNAMODB_ENDPOINT ? { dynamoEndpoint: e.TUNEWIRE_DYNAMODB_ENDPOINT } : {}),
    ...(e.TUNEWIRE_API_URL ? { apiUrl: e.TUNEWIRE_API_URL } : {}),
    bus:
      e.TUNEWIRE_BUS === 'pubsub'
        ? { kind: 'pubsub' as const, topic: e.TUNEWIRE_PUBSUB_TOPIC as string, ...(e.GOOGLE_CLOUD_PROJECT ? { projectId: e.GOOGLE_CLOUD_PROJECT } : {}) }
        : { kind: 'eventbridge' as const, eventBusName: e.TUNEWIRE_EVENT_BUS as string },
  });
}
