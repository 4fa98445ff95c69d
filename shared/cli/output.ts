import { ENGINE_LOST_FLAG } from '../adapters/local/local-provider';
import type { JobRecord } from '../domain/job';
import type { ParameterValue, TrialRow } from '../domain/study';
import type { Trial } from '../domain/trial';
import type { Champion } from '../ports/ledger';
import type { TemplateView } from '../use-cases/manage-templates';
import { trialCountsLine } from './outcome';
import { formatDuration } from '../domain/format';

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

/** A hyperparameter for a table cell: text as it is, numbers to 4 significant digits (a log-scale 0.00012 stays readable). */
export function formatParameter(value: ParameterValue | undefined): string {
  if (value === undefined) return '-';
  if (typeof value === 'string') return value;
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/**
 * The trial table: a `*` on the best trial, the trial id, one column a parameter (in the order
 * given, see `parameterColumns`), the objective, the status (`(early)` when stopped early), the
 * duration and the failure reason on one line. Rows in the order given.
 */
export function trialTable(parameters: readonly string[], rows: readonly TrialRow[]): string[] {
  const head = ['', 'trial', ...parameters, 'objective', 'status', 'duration', 'failure'];
  const cells = rows.map((row) => [
    row.best ? '*' : '',
    row.trialId,
    ...parameters.map((p) => formatParameter(Object.hasOwn(row.hyperparameters, p) ? row.hyperparameters[p] : undefined)),
    fmt(row.objectiveValue),
    row.status + (row.stoppedEarly ? ' (early)' : ''),
    formatDuration(row.durationSeconds),
    row.failureReason?.replace(/\s*[\r\n]+\s*/g, ' ') ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const render = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [render(head), ...cells.map(render)];
}

export function describeChampion(c: Champion): string[] {
  return [`model      ${c.model}`, `champion   job ${c.jobId}, trial ${c.trialId}`, `objective  ${c.goal} = ${fmt(c.objectiveValue)}`, `version    ${c.version}`, `promoted   ${c.promotedAt}`];
}

/** A template's triggers in a few words: `s3 s3://bucket/in/, webhook (standard)`; `none` when it has none. */
export function triggerSummary(triggers: TemplateView['triggers']): string {
  const parts = [
    ...(triggers.s3Prefix ? [`s3 ${triggers.s3Prefix}`] : []),
    ...(triggers.datasetName ? [`dataset ${triggers.datasetName}`] : []),
    ...(triggers.pubsubTopic ? [`pubsub ${triggers.pubsubTopic}`] : []),
    ...(triggers.webhook ? [`webhook (${triggers.webhook.kind})`] : []),
  ];
  return parts.length ? parts.join(', ') : 'none';
}

/** A template for people: its version, spec, triggers and what it is running. */
export function describeTemplate(view: TemplateView): string[] {
  const spec = view.spec;
  return [
    `template   ${view.name}`,
    `version    ${view.version ?? view.latestVersion} of ${view.latestVersion}`,
    ...(spec ? [`spec       ${spec.name} on ${spec.provider}: ${spec.objective.goal} ${spec.objective.metric}, ${spec.strategy}, ${spec.budget.maxTrials} trials`] : []),
    `triggers   ${triggerSummary(view.triggers)}; ${view.policy} while a job runs, debounce ${view.debounceSeconds}s`,
    ...(view.runningJobId ? [`running    ${view.runningJobId} since ${view.runningSince ?? '?'}`] : []),
    ...(view.lastSuccessfulJobId ? [`last good  ${view.lastSuccessfulJobId}`] : []),
    `updated    ${view.updatedAt}`,
  ];
}

/** The templates as a table: name, latest version, policy, triggers, running job, last update. */
export function templatesTable(views: readonly TemplateView[]): string[] {
  const head = ['template', 'version', 'policy', 'triggers', 'running', 'updated'];
  const rows = views.map((v) => [v.name, String(v.latestVersion), v.policy, triggerSummary(v.triggers), v.runningJobId ?? '-', v.updatedAt]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [render(head), ...rows.map(render)];
}
