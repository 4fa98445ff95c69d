import * as z from 'zod';
import { SpecValidationError, type FieldIssue } from '../../domain/errors';
import { zodIssues, type TuningSpec } from '../../domain/spec';

/**
 * The spec's `trial` section for the local engine: a command run once per trial, and metric
 * regexes read from its output, as SageMaker's MetricDefinitions read a training job's log.
 * Every match of the objective metric is an intermediate value for early stopping; a regex may
 * name the step it was taken at with a named group `(?<step>…)` (otherwise the n-th match is step n).
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
  /** The regex with its step group, when it has one, made non-capturing: group 1 is always the value. */
  readonly pattern: RegExp;
  /** The regex as written, when it has a `(?<step>…)` group. */
  readonly stepPattern?: RegExp;
}

/** One value a trial reported; `step` when the regex captured one. */
export interface MetricReport {
  readonly value: number;
  readonly step?: number;
}

/** The named group that carries a report's step, e.g. `loss=([0-9.]+) epoch=(?<step>\d+)`. */
const STEP_GROUP = '(?<step>';

/** The regex source without its step group's capture: what is left must capture the value alone. */
function withoutStepGroup(source: string): string {
  return source.split(STEP_GROUP).join('(?:');
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
    try {
      new RegExp(metric.regex);
    } catch (error) {
      issues.push({ path: `trial.metrics[${i}].regex`, message: `is not a valid regular expression: ${(error as Error).message}` });
      return;
    }
    // a step group may ride along; the value still needs a group of its own
    let groups: number;
    try {
      groups = captureGroupCount(new RegExp(withoutStepGroup(metric.regex)));
    } catch (error) {
      issues.push({ path: `trial.metrics[${i}].regex`, message: `is not a valid regular expression without its step group: ${(error as Error).message}` });
      return;
    }
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
  return trial.metrics.map((m) => ({
    name: m.name,
    pattern: new RegExp(withoutStepGroup(m.regex)),
    ...(m.regex.includes(STEP_GROUP) ? { stepPattern: new RegExp(m.regex) } : {}),
  }));
}

/**
 * The value a line reports for a metric, and its step when the regex names one; undefined when
 * the line does not match or the value is not a finite number. A step that is not a finite
 * number is left out (the report then counts as the next step).
 *
 * @example readMetric(compileMetrics(trial)[0], 'validation:accuracy=0.91 step=3') // { value: 0.91, step: 3 }
 */
export function readMetric(metric: CompiledMetric, line: string): MetricReport | undefined {
  const match = metric.pattern.exec(line);
  if (!match) return undefined;
  const value = Number.parseFloat(match[1] ?? '');
  if (!Number.isFinite(value)) return undefined;
  const raw = metric.stepPattern?.exec(line)?.groups?.['step'];
  const step = raw === undefined ? Number.NaN : Number.parseFloat(raw);
  return Number.isFinite(step) ? { value, step } : { value };
}
