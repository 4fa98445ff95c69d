import { CST, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, parseDocument, YAMLParseError } from 'yaml';
import * as z from 'zod';
import { SpecValidationError, type FieldIssue } from './errors';
import { webhookUrlSchema } from './webhook-url';
import { PROVIDERS } from './providers';
import { boundedId, depthIssue, ID_LIMITS, jsonBytes, MAX_NESTING_DEPTH, PARAMETER_NAME, PARAMETER_NAME_MESSAGE, RESERVED_NAMES } from './limits';

/**
 * The provider-neutral tuning spec. Provider sections (`trial`) and provider rules are checked by
 * each provider's `validate`; this schema holds what every provider shares.
 */
export { PROVIDERS, type ProviderName } from './providers';

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

const reservedMessage = `must not be one of ${[...RESERVED_NAMES].join(', ')} (names every JavaScript object already has)`;
const name = z
  .string()
  .min(1, 'must not be empty')
  .regex(PARAMETER_NAME, PARAMETER_NAME_MESSAGE)
  .refine((n) => !RESERVED_NAMES.has(n), reservedMessage);
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
        from: z.array(boundedId(ID_LIMITS.jobId)).min(1, 'needs at least one parent job').max(5, 'takes at most 5 parent jobs'),
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
          url: webhookUrlSchema,
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
  const raw = (input ?? {}) as { parameters?: unknown; staticHyperparameters?: unknown; labels?: unknown };
  const parameters = Array.isArray(raw.parameters) ? raw.parameters : [];
  const recordOf = (value: unknown): object => (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {});
  const statics = recordOf(raw.staticHyperparameters);
  const issues: FieldIssue[] = [];
  // read from the raw input: a record schema drops a `__proto__` key without a word
  for (const [field, record] of [['staticHyperparameters', statics], ['labels', recordOf(raw.labels)]] as const) {
    for (const key of Object.keys(record)) {
      if (RESERVED_NAMES.has(key)) issues.push({ path: `${field}.${key}`, message: `is a reserved name: a key ${reservedMessage}` });
    }
  }
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
  // depth first: measuring the size (JSON.stringify) and the schema both recurse
  const deep = depthIssue(input);
  if (deep) throw new SpecValidationError(source, [deep]);
  const bytes = jsonBytes(input);
  if (bytes === undefined) throw new SpecValidationError(source, [{ path: '', message: 'must be a JSON document' }]);
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
  const read = readYamlText(text);
  if (!read.ok) throw new SpecValidationError(source, [read.issue], read.cause === undefined ? {} : { cause: read.cause });
  const document = read.document;
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new SpecValidationError(source, [{ path: '', message: 'must be a mapping (a YAML or JSON object)' }]);
  }
  return parseSpec(document, source);
}

/** How many hyperparameters the search covers, counting each categorical value (SageMaker's limit counts so). */
export function countHyperparameters(spec: TuningSpec): number {
  return spec.parameters.reduce((n, p) => n + (p.type === 'categorical' ? p.values.length : 1), 0);
}

export type YamlRead = { readonly ok: true; readonly document: unknown } | { readonly ok: false; readonly issue: FieldIssue; readonly cause?: unknown };

/**
 * Reads YAML (or JSON) text into a plain value, refusing what would hurt the reader, in time
 * linear in the text:
 *
 * 1. Nesting is estimated from the lexer's tokens first: the `yaml` composer recurses, and a few
 *    thousand `[` overflow its stack (or worse), so deep text never reaches it.
 * 2. The document is composed without the package's own duplicate-key check, which compares each
 *    key with every earlier key of its map (23,000 keys took seconds); a Set per map does it here.
 * 3. Errors name a line, as `line 5`; duplicate keys name the line of the second one.
 *
 * @example const read = readYamlText('a: 1'); // { ok: true, document: { a: 1 } }
 */
export function readYamlText(text: string): YamlRead {
  if (yamlNestingExceeds(text, YAML_NESTING_ESTIMATE_LIMIT)) {
    return { ok: false, issue: { path: '(document)', message: `nests deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays` } };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: true, lineCounter });
  const [error] = doc.errors;
  if (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `line ${error.linePos[0].line}` : '(document)';
    return { ok: false, issue: { path: where, message: `is not valid YAML or JSON: ${error.message.split('\n')[0]}` }, cause: error };
  }
  const repeated = repeatedKey(doc.contents);
  if (repeated) {
    const line = repeated.offset === undefined ? '(document)' : `line ${lineCounter.linePos(repeated.offset).line}`;
    return { ok: false, issue: { path: line, message: `repeats the key ${shortQuote(repeated.key)}: keys must be unique in a mapping` } };
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    // too many aliases (a "billion laughs" document), or an alias to nothing
    return { ok: false, issue: { path: '(document)', message: `is not valid YAML or JSON: ${(cause as Error).message.split('\n')[0]}` }, cause };
  }
  const deep = depthIssue(document);
  if (deep) return { ok: false, issue: { ...deep, path: deep.path || '(document)' } };
  return { ok: true, document };
}

/**
 * The lexer pass's bound: its estimate counts a block mapping's key and value as two levels, so it
 * may read up to twice the real depth; real depth is checked exactly on the composed value.
 */
const YAML_NESTING_ESTIMATE_LIMIT = 2 * MAX_NESTING_DEPTH + 2;

/**
 * Whether the text may nest deeper than `limit`, from the lexer's tokens alone (no recursion):
 * flow collections are counted exactly; block nesting by a stack of the columns where nodes
 * open, popped by a line indented no deeper, and pushed again for each `-`, `?` or `:` that nests
 * on the same line (`- - k: v`). Stops at the first token over the limit.
 */
function yamlNestingExceeds(text: string, limit: number): boolean {
  const columns: number[] = [];
  let flow = 0;
  let column = 0;
  let lineStart = true;
  let scalarNext = false;
  for (const token of new Lexer().lex(text)) {
    const type = scalarNext ? 'scalar' : CST.tokenType(token);
    scalarNext = false;
    switch (type) {
      case 'scalar':
        if (token === CST.SCALAR) {
          scalarNext = true;
          continue;
        }
        break;
      case 'byte-order-mark':
      case 'doc-mode':
      case 'flow-error-end':
        continue;
      case 'newline':
        column = 0;
        lineStart = true;
        continue;
      case 'doc-start':
      case 'doc-end':
        columns.length = 0;
        flow = 0;
        break;
      case 'space':
      case 'comment':
        if (lineStart && type === 'space') {
          column += token.length;
          continue;
        }
        break;
    }
    if (flow === 0 && type !== 'space' && type !== 'comment' && type !== 'doc-start' && type !== 'doc-end') {
      if (lineStart) {
        while (columns.length > 0 && (columns.at(-1) as number) >= column) columns.pop();
        columns.push(column);
      } else if (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind') {
        columns.push(column);
      }
    }
    if (type === 'flow-map-start' || type === 'flow-seq-start') flow++;
    else if ((type === 'flow-map-end' || type === 'flow-seq-end') && flow > 0) flow--;
    if (columns.length + flow > limit) return true;
    const newline = token.lastIndexOf('\n');
    if (newline < 0) {
      column += token.length;
      lineStart = false;
    } else {
      // a multi-line scalar: the next token sits on its last line
      column = token.length - newline - 1;
      lineStart = newline === token.length - 1;
    }
  }
  return false;
}

/** The first key repeated within one mapping, with where it is. Iterative: the tree may be wide or deep. */
function repeatedKey(root: unknown): { key: string; offset: number | undefined } | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        // scalar keys compare as the object's property names they become (1 and "1" are one);
        // a collection as a key is never equal to another
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          if (seen.has(key)) return { key, offset: pair.key.range?.[0] };
          seen.add(key);
        }
        if (pair.key !== null && typeof pair.key === 'object') stack.push(pair.key);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    } else if (isPair(node)) {
      stack.push(node.key, node.value);
    }
  }
  return undefined;
}

function shortQuote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 66 ? `${text.slice(0, 64)}…"` : text;
}
