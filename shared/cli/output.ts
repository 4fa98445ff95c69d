import { ENGINE_LOST_FLAG } from '../adapters/local/local-provider';
import type { JobRecord } from '../domain/job';
import type { Trial } from '../domain/trial';
import type { Champion } from '../ports/ledger';
import { trialCountsLine } from './outcome';

export interface Output {
  line(text?: string): void;
  json(value: unknown): void;
  error(text: string): void;
}

/**
 * Control characters other than newline and tab, and the bidirectional overrides: ids and
 * messages come from events and providers, and a raw ESC, CR or U+202E in them would drive the
 * terminal (move the cursor, rewrite a line, reorder text) instead of being shown.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text made safe for a terminal: each unprintable character shown as its `\u` escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

export const consoleOutput: Output = {
  line: (text = '') => process.stdout.write(`${printable(text)}\n`),
  // JSON.stringify escapes C0 itself; the rest become \u escapes too, which JSON reads back the same
  json: (value) => process.stdout.write(`${printable(JSON.stringify(value, null, 2))}\n`),
  error: (text) => process.stderr.write(`${printable(text)}\n`),
};

/** A number for a table cell: integers as they are, others to 4 decimals; `-` for none. */
export const fmt = (v: number | undefined) => (v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(4));

export function describeJob(job: JobRecord): string[] {
  const counts = trialCountsLine(job);
  return [
    `job        ${job.jobId} (${job.name})`,
    `provider   ${job.provider}: ${job.providerJobName}${job.providerJobId ? ` (${job.providerJobId})` : ''}`,
    `status     ${job.status}${job.providerStatus ? ` [${job.providerStatus}]` : ''}${job.failureReason ? `: ${job.failureReason}` : ''}`,
    `objective  ${job.spec.objective.goal} ${job.spec.objective.metric}`,
    ...(job.endReason ? [`ended      ${job.endReason}`] : []),
    ...(job.status === 'paused' && job.flags?.includes(ENGINE_LOST_FLAG)
      ? [`resume     its local engine exited before it finished: \`tunewire resume ${job.jobId}\` continues it, \`tunewire stop ${job.jobId}\` ends it`]
      : []),
    `trials     ${counts ?? 'none reported yet'}`,
    `best       ${job.bestTrial ? `${job.bestTrial.trialId} = ${fmt(job.bestTrial.objectiveValue)} ${hyper(job.bestTrial)}` : '-'}`,
    `created    ${job.createdAt}, updated ${job.updatedAt}`,
  ];
}

export function hyper(trial: Trial): string {
  return Object.entries(trial.hyperparameters)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export function trialTable(trials: readonly Trial[]): string[] {
  const rows = [...trials]
    .sort((a, b) => a.trialId.localeCompare(b.trialId))
    .map((t) => [t.trialId, t.status + (t.stoppedEarly ? ' (early)' : ''), fmt(t.objectiveValue), hyper(t), t.failureReason ?? '']);
  const head = ['trial', 'status', 'objective', 'hyperparameters', 'failure'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [render(head), ...rows.map(render)];
}

export function describeChampion(c: Champion): string[] {
  return [`model      ${c.model}`, `champion   job ${c.jobId}, trial ${c.trialId}`, `objective  ${c.goal} = ${fmt(c.objectiveValue)}`, `version    ${c.version}`, `promoted   ${c.promotedAt}`];
}
