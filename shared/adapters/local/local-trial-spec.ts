import * as z from 'zod';
import { SpecValidationError, type FieldIssue } from '../../domain/errors';
import { zodIssues, type TuningSpec } from '../../domain/spec';

/**
 * The spec's `trial` section for the local engine: a command run once per trial, and metric
 * regexes read from its output, as SageMaker's MetricDefinitions read a training job's log.
 *
 * @example
 *   trial:
 *     command: [node, examples/iris-forest/train.mjs, --trees, "{{trees}}"]
 *     metrics: [{ name: "validation:accuracy", regex: "validation:accuracy=([0-9.]+)" }]
 *     timeoutSeconds: 60
 */
export const localTrialSpecSchema = z.strictObject({
  /** argv, no shell; each element may hold `{{name}}` placeholders for parameters and static hyperparameters. */
  command: z.array(z.string().min(1, 'must not be empty')).min(1, 'needs at least the executable'),
  metrics: z
    .array(
      z.strictObject({
        name: z.string().min(1, 'must not be empty'),
        regex: z.string().min(1, 'must not be empty'),
      }),
    )
    .min(1, 'needs at least the objective metric'),
  /** Working directory of each trial, relative to the engine's cwd (the repository root). */
  cwd: z.string().min(1, 'must not be empty').optional(),
  /** Extra environment for each trial; values may hold placeholders too. */
  env: z.record(z.string(), z.string()).optional(),
  timeoutSeconds: z.number().positive('must be above 0').optional(),
});

export type LocalTrialSpec = z.output<typeof localTrialSpecSchema>;
export type LocalMetricDefinition = LocalTrialSpec['metrics'][number];

/** A metric definition with its regex compiled: capture group 1 is the value. */
export interface CompiledMetric {
  readonly name: string;
  readonly pattern: RegExp;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The names a template refers to, in order of appearance. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/**
 * Fills `{{name}}` placeholders; validation has made sure every name is known. The values go in
 * literally (a replacer function: `$` in a value is never a pattern), and only a value of the
 * map's own is used (`{{constructor}}` never reads Object's).
 */
export function fillPlaceholders(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (whole, key: string) => (Object.hasOwn(values, key) ? (values[key] ?? whole) : whole));
}

function captureGroupCount(regex: RegExp): number {
  // An alternative that matches the empty string yields one slot per capture group.
  const probe = new RegExp(`${regex.source}|`, regex.flags.replace(/[gy]/g, ''));
  return (probe.exec('')?.length ?? 1) - 1;
}

/**
 * Field issues of the `trial` section, paths prefixed `trial.`. Empty when the section is valid.
 * Beyond the schema: each regex compiles with exactly one capture group, the objective metric is
 * defined, metric names do not repeat, and every placeholder names a parameter or static
 * hyperparameter.
 */
export function localTrialSpecIssues(spec: TuningSpec): FieldIssue[] {
  const parsed = localTrialSpecSchema.safeParse(spec.trial);
  if (!parsed.success) return zodIssues(parsed.error, 'trial');
  const trial = parsed.data;
  const issues: FieldIssue[] = [];

  const seen = new Map<string, number>();
  trial.metrics.forEach((metric, i) => {
    const first = seen.get(metric.name);
    if (first !== undefined) issues.push({ path: `trial.metrics[${i}].name`, message: `repeats the name of trial.metrics[${first}]` });
    else seen.set(metric.name, i);
    let regex: RegExp;
    try {
      regex = new RegExp(metric.regex);
    } catch (error) {
      issues.push({ path: `trial.metrics[${i}].regex`, message: `is not a valid regular expression: ${(error as Error).message}` });
      return;
    }
    const groups = captureGroupCount(regex);
    if (groups !== 1) {
      issues.push({ path: `trial.metrics[${i}].regex`, message: `must have exactly one capture group for the value (has ${groups})` });
    }
  });
  if (!seen.has(spec.objective.metric)) {
    issues.push({ path: 'trial.metrics', message: `must define the objective metric "${spec.objective.metric}"` });
  }

  const known = new Set([...spec.parameters.map((p) => p.name), ...Object.keys(spec.staticHyperparameters)]);
  const checkTemplate = (template: string, path: string): void => {
    for (const name of placeholdersOf(template)) {
      if (!known.has(name)) issues.push({ path, message: `{{${name}}} is not a parameter or static hyperparameter` });
    }
  };
  trial.command.forEach((arg, i) => checkTemplate(arg, `trial.command[${i}]`));
  for (const [key, value] of Object.entries(trial.env ?? {})) checkTemplate(value, `trial.env.${key}`);
  return issues;
}

/** The `trial` section, typed. Throws `SpecValidationError` naming each bad field. */
export function parseLocalTrialSpec(spec: TuningSpec, subject = 'spec'): LocalTrialSpec {
  const issues = localTrialSpecIssues(spec);
  if (issues.length > 0) throw new SpecValidationError(subject, issues);
  return localTrialSpecSchema.parse(spec.trial);
}

export function compileMetrics(trial: LocalTrialSpec): CompiledMetric[] {
  return trial.metrics.map((m) => ({ name: m.name, pattern: new RegExp(m.regex) }));
}
