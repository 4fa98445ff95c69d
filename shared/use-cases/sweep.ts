import { ProviderError } from '../domain/errors';

/** How a sweep over many jobs treats the provider: a few calls at once, backing off when told to. */
export interface SweepOptions {
  /** Calls in flight at once; the providers' read quotas are per second or minute, so keep it small. */
  readonly concurrency?: number;
  /** Tries per job for a retryable ProviderError (throttling, 5xx), the first included. */
  readonly attempts?: number;
  /** First backoff; doubled each retry, with jitter. */
  readonly backoffMs?: number;
}

export interface SweepFailure {
  readonly jobId: string;
  readonly code: string;
  readonly message: string;
}

export function failureOf(jobId: string, error: unknown): SweepFailure {
  return {
    jobId,
    code: error instanceof ProviderError ? error.code : error instanceof Error ? error.name : 'UnknownError',
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Retries `work` on a retryable ProviderError with exponential backoff and jitter. */
export async function withBackoff<T>(work: () => Promise<T>, options: SweepOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const base = options.backoffMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ProviderError && error.retryable) || attempt >= attempts) throw error;
      const delay = base * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
    }
  }
}

/** Runs `work` over `items` with at most `limit` in flight; `work` handles its own errors. */
export async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}
