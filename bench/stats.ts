import { createRng } from '../shared/adapters/local/search';
import { forEachBounded } from '../shared/use-cases/sweep';
/** Nearest-rank percentile of `values` (p in [0, 100]). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** A small seeded generator, so every run replays the same timeline (the local engine's own). */
export const seeded = createRng;

/** Runs `work` over `items` with at most `limit` in flight (the sweeps' own helper). */
export function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  return forEachBounded(items, limit, async (item) => {
    await work(item);
  });
}
