import { parse as parseYaml, YAMLParseError } from 'yaml';
import * as z from 'zod';
import { SpecValidationError, type FieldIssue } from './errors';

/**
 * The provider-neutral tuning spec. Provider sections (`trial`) and provider rules are checked by
 * each provider's `validate`; this schema holds what every provider shares.
 */
export const PROVIDERS = ['sagemaker', 'vertex', 'mlengine', 'local'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const SCALES = ['auto', 'linear', 'log', 'reverse_log'] as const;
export type Scale = (typeof SCALES)[number];

export const STRATEGIES = ['bayesian', 'random', 'grid', 'hyperband'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const NOTIFY_EVENTS = [
  'job.submitted',
  'job.status_changed',
  'job.finished',
  'trial.finished',
  'model.promoted',
  'model.promotion_skipped',
  'retune.requested',
] as const;

const name = z.string().min(1, 'must not be empty');
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const doubleParameter = z.strictObject({
  name,
  type: z.literal('double'),
  min: finite,
  max: finite,
  scale: z.enum(SCALES).default('auto'),
});
const integerParameter = z.strictObject({
  name,
  type: z.literal('integer'),
  min: z.number().int('must be an integer'),
  max: z.number().int('must be an integer'),
  scale: z.enum(SCALES).default('auto'),
});
const categoricalParameter = z.strictObject({
  name,
  type: z.literal('categorical'),
  values: z.array(z.union([z.string(), z.number(), z.boolean()]).transform(String)).min(1, 'needs at least one value'),
});
const discreteParameter = z.strictObject({
  name,
  type: z.literal('discrete'),
  values: z.array(finite).min(1, 'needs at least one value'),
});

const parameter = z
  .discriminatedUnion('type', [doubleParameter, integerParameter, categoricalParameter, discreteParameter], {
    error: () => 'type must be one of double, integer, categorical, discrete',
  })
  .superRefine((p, ctx) => {
    if ((p.type === 'double' || p.type === 'integer') && p.max < p.min) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `must be at least min (${p.min})` });
    }
    if (p.type === 'categorical' || p.type === 'discrete') {
      const seen = new Set<string>();
      p.values.forEach((v, i) => {
        if (seen.has(String(v))) ctx.addIssue({ code: 'custom', path: ['values', i], message: `repeats ${JSON.stringify(v)}` });
        seen.add(String(v));
      });
    }
  });

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const budget = z
  .strictObject({
    maxTrials: z.number().int().min(1),
    parallelTrials: z.number().int().min(1).default(1),
    maxFailedTrials: z.number().int().min(0).optional(),
    maxRuntimeSeconds: z.number().int().min(1).optional(),
    targetObjective: finite.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.parallelTrials > b.maxTrials) {
      ctx.addIssue({ code: 'custom', path: ['parallelTrials'], message: `must not exceed maxTrials (${b.maxTrials})` });
    }
  });

export const tuningSpecSchema = z
  .strictObject({
    name: z
      .string()
      .min(1, 'must not be empty')
      .max(63, 'must be at most 63 characters')
      .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, 'must be letters, digits and dashes, starting and ending with a letter or digit'),
    provider: z.enum(PROVIDERS, { error: () => `must be one of ${PROVIDERS.join(', ')}` }),
    objective: z.strictObject({
      metric: z.string().min(1, 'must not be empty'),
      goal: z.enum(['maximize', 'minimize']),
    }),
    parameters: z.array(parameter).min(1, 'needs at least one parameter'),
    strategy: z.enum(STRATEGIES).default('bayesian'),
    budget,
    earlyStopping: z.enum(['auto', 'off']).default('off'),
    /** Which reported value is a trial's result; each provider has its own default (its API's). */
    measurementSelection: z.enum(['best', 'last']).optional(),
    staticHyperparameters: z.record(z.string(), scalar).default({}),
    warmStart: z
      .strictObject({
        from: z.array(z.string().min(1)).min(1, 'needs at least one parent job').max(5, 'takes at most 5 parent jobs'),
        type: z.enum(['transfer_learning', 'identical_data_and_algorithm']),
      })
      .optional(),
    trial: z.record(z.string(), z.unknown()),
    promotion: z
      .strictObject({
        model: z.string().min(1).max(63).regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, 'must be letters, digits and dashes'),
        minImprovement: z.number().min(0).default(0),
        threshold: finite.optional(),
        approval: z.enum(['auto', 'manual']).default('auto'),
      })
      .optional(),
    notify: z
      .array(
        z.strictObject({
          url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
          events: z.array(z.enum(NOTIFY_EVENTS)).min(1).default([...NOTIFY_EVENTS]),
        }),
      )
      .default([]),
    labels: z.record(z.string(), z.string()).default({}),
  });

export type TuningSpec = z.output<typeof tuningSpecSchema>;
export type ParameterSpec = TuningSpec['parameters'][number];
export type Goal = TuningSpec['objective']['goal'];

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    const k = String(key);
    return acc ? `${acc}.${k}` : k;
  }, '');
}

/** Turns a zod failure into field issues: one line per field, paths in `a.b[2].c` form. */
export function zodIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  const at = (path: readonly PropertyKey[]) => [prefix, formatPath(path)].filter(Boolean).join('.');
  return error.issues.flatMap((issue) =>
    // zod reports unknown keys at their parent; a typo is easier to find at its own path
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: at([...issue.path, key]), message: 'is not a known field' }))
      : [{ path: at(issue.path), message: issue.message }],
  );
}

/**
 * Rules across fields, read from the raw input so they are reported even when other fields are
 * bad (a schema refinement would be skipped then).
 */
function crossFieldIssues(input: unknown): FieldIssue[] {
  const raw = (input ?? {}) as { parameters?: unknown; staticHyperparameters?: unknown };
  const parameters = Array.isArray(raw.parameters) ? raw.parameters : [];
  const statics = typeof raw.staticHyperparameters === 'object' && raw.staticHyperparameters !== null ? raw.staticHyperparameters : {};
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  parameters.forEach((p: unknown, i) => {
    const name = (p as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first !== undefined) issues.push({ path: `parameters[${i}].name`, message: `repeats the name of parameters[${first}]` });
    else seen.set(name, i);
    if (Object.hasOwn(statics, name)) issues.push({ path: `staticHyperparameters.${name}`, message: 'is also a tuned parameter' });
  });
  return issues;
}

/** The ledger keeps a spec inside one DynamoDB item (400 KB), with the job's own fields beside it. */
export const MAX_SPEC_BYTES = 300 * 1024;

/** Parses a spec object, throwing `SpecValidationError` that names every bad field. */
export function parseSpec(input: unknown, source = 'spec'): TuningSpec {
  const bytes = Buffer.byteLength(JSON.stringify(input) ?? '', 'utf8');
  if (bytes > MAX_SPEC_BYTES) {
    throw new SpecValidationError(source, [{ path: '', message: `is ${Math.ceil(bytes / 1024)} KB; a spec may be at most ${MAX_SPEC_BYTES / 1024} KB` }]);
  }
  const result = tuningSpecSchema.safeParse(input);
  const issues = [...(result.success ? [] : zodIssues(result.error)), ...crossFieldIssues(input)];
  if (!result.success || issues.length) throw new SpecValidationError(source, issues, result.success ? {} : { cause: result.error });
  return result.data;
}

/** Parses spec text, YAML or JSON (YAML is a superset). */
export function parseSpecText(text: string, source = 'spec'): TuningSpec {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `line ${error.linePos[0].line}` : '(document)';
    throw new SpecValidationError(source, [{ path: where, message: `is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}` }], { cause: error });
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new SpecValidationError(source, [{ path: '', message: 'must be a mapping (a YAML or JSON object)' }]);
  }
  return parseSpec(document, source);
}

/** How many hyperparameters the search covers, counting each categorical value (SageMaker's limit counts so). */
export function countHyperparameters(spec: TuningSpec): number {
  return spec.parameters.reduce((n, p) => n + (p.type === 'categorical' ? p.values.length : 1), 0);
}
