import type { JobRecord } from './job';

/**
 * How tunewire writes times and counts for people, the same in the terminal and on the dashboard
 * page (pure: the page bundles it).
 */

/**
 * How long ago, in its largest whole unit: `45s`, `3m`, `2h`, `4d`. A time in the future (another
 * machine's clock) is `0s`.
 *
 * @example formatAge(3 * 3_600_000 + 59 * 60_000) // '3h'
 */
export function formatAge(elapsedMs: number): string {
  const seconds = Math.max(0, Math.floor(elapsedMs / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/**
 * A job's trial counts in one cell: the total, then each status with at least one trial, in the order the
 * provider reported them; `-` before any are reported.
 *
 * @example trialCountsCell({ trialCounts: { succeeded: 10, failed: 2 } }) // '12: 10 succeeded, 2 failed'
 */
export function trialCountsCell(job: Pick<JobRecord, 'trialCounts'>): string {
  const counts = Object.entries(job.trialCounts ?? {}).filter(([, n]) => n) as [string, number][];
  if (counts.length === 0) return '-';
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  return `${total}: ${counts.map(([status, n]) => `${n} ${status}`).join(', ')}`;
}

/**
 * A duration for people: `0.4s`, `12.3s`, `45s`, `3m05s`, `1h02m`; `-` for none.
 *
 * @example formatDuration(185) // '3m05s'
 */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  if (seconds < 60) return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 3_600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3_600)}h${String(Math.floor((whole % 3_600) / 60)).padStart(2, '0')}m`;
}
