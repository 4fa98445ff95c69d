import * as z from 'zod';
import { ProviderError } from '../domain/errors';
import type { ProviderName } from '../domain/spec';

/**
 * Reads back a trial cursor a provider wrote as JSON. A cursor that is not valid JSON or does not
 * match the provider's schema was not written by it: a non-retryable error, never a guess.
 */
export function readProviderCursor<S extends z.ZodType>(provider: ProviderName, cursor: string, schema: S): z.output<S> {
  const bad = (cause?: unknown) =>
    new ProviderError(provider, 'listTrials', `the trial cursor ${JSON.stringify(cursor.slice(0, 80))} is not one this provider wrote`, {
      retryable: false,
      code: 'PROVIDER.BAD_CURSOR',
      cause,
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch (error) {
    throw bad(error);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw bad(result.error);
  return result.data;
}

/** Fingerprints by trial name, as both incremental cursors keep them. */
export const fingerprints = z.record(z.string(), z.string());
