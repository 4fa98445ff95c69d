import { TunewireError } from '../../domain/errors';
import { MAX_NESTING_DEPTH, tooDeep } from '../../domain/limits';

/**
 * EventBridge event patterns with EventBridge's matching rules, so the local bus routes exactly as
 * the deployed rules in serverless.yml do. Semantics follow the AWS docs ("Amazon EventBridge event
 * patterns", "Content filtering in Amazon EventBridge event patterns") and, where the docs are
 * silent, Event Ruler (aws/event-ruler), the library EventBridge runs.
 *
 * A pattern is compiled once, at validation, into predicates; matching walks the event alongside.
 *
 * Field names: Event Ruler flattens patterns and events alike into dot-joined field paths (README,
 * "Caveat: Compiled rules and JSON keys with dots"), so `{"state.status": [...]}` and
 * `{"state": {"status": [...]}}` name the same field, in patterns and in events, through arrays.
 * Both directions are matched here: a pattern key is split on its dots at compile time, and an event
 * key holding dots is read as the nested path it names when the matcher looks a field up.
 */

/** A parsed EventBridge pattern (JSON object), e.g. `{ "source": ["tunewire"], "detail": { "status": ["failed"] } }`. */
export type EventPattern = Record<string, unknown>;

/** The pattern would be refused by EventBridge's PutRule. `path` is where, e.g. `detail.status[0]`. */
export class EventPatternError extends TunewireError {
  readonly code = 'BUS.INVALID_PATTERN';
  readonly retryable = false;

  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || '(root)'}: ${reason}`);
  }
}

/**
 * Checks a pattern as PutRule would and returns it frozen, ready for `matchesEventPattern`.
 *
 * @example
 *   const pattern = validateEventPattern({ 'detail-type': ['Trial Finished'], detail: { status: [{ 'anything-but': 'failed' }] } });
 */
export function validateEventPattern(pattern: unknown): EventPattern {
  if (!isJsonObject(pattern)) throw new EventPatternError('', `a pattern is a JSON object, not ${shapeOf(pattern)}`);
  const rule = compilePattern(pattern);
  // A frozen copy: the compiled rule must never drift from the object it is cached under.
  const frozen = deepFreeze(structuredClone(pattern));
  compiled.set(frozen, rule);
  return frozen;
}

/**
 * Whether `event` (an EventBridge envelope) matches `pattern`. A pattern that was not validated
 * first is validated here, so an invalid one throws `EventPatternError` rather than silently
 * matching nothing.
 */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  let rule = compiled.get(pattern);
  if (!rule) {
    rule = compilePattern(pattern);
    compiled.set(pattern, rule);
  }
  return matchesObject(rule, [isJsonObject(event) ? event : {}]);
}

// ---------------------------------------------------------------------------------------------
// Compiled form

type Scalar = string | number | boolean | null;
type JsonObject = Record<string, unknown>;
type ScalarTest = (value: Scalar) => boolean;

/** One pattern field whose value is a list of alternatives (`"state": ["running", {"prefix": "stop"}]`). */
interface LeafRule {
  readonly key: string;
  readonly tests: readonly ScalarTest[];
  /** The `exists` alternatives: `true` wants at least one leaf value at the key, `false` wants none. */
  readonly exists: readonly boolean[];
}

interface ObjectRule {
  readonly leaves: readonly LeafRule[];
  readonly nested: readonly { readonly key: string; readonly rule: ObjectRule }[];
  /** Each `$or` at this level: one of its branches must match this same object. */
  readonly anyOf: readonly (readonly ObjectRule[])[];
}

const compiled = new WeakMap<EventPattern, ObjectRule>();

/** Operator names; Event Ruler refuses them as field names inside `$or`, where they are surely a mistake. */
const OPERATORS = new Set(['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr']);

// ---------------------------------------------------------------------------------------------
// Matching

/**
 * The event object a pattern level is matched against. Usually one object; more when dotted event
 * keys make several objects stand for one path (`{"a": {"b": 1}, "a.c": 2}` has `a` = `{b, c}`).
 * The fields of a view are the union of its objects' fields.
 */
type View = readonly JsonObject[];

function matchesObject(rule: ObjectRule, view: View): boolean {
  return (
    rule.leaves.every((leaf) => matchesLeaf(leaf, valuesAt(view, leaf.key))) &&
    // Array-consistent: all fields of a nested pattern must match within the same array element.
    rule.nested.every(({ key, rule: inner }) => viewsOf(valuesAt(view, key)).some((child) => matchesObject(inner, child))) &&
    rule.anyOf.every((branches) => branches.some((branch) => matchesObject(branch, view)))
  );
}

function matchesLeaf(rule: LeafRule, values: readonly unknown[]): boolean {
  const leaves = values.flatMap(leavesOf);
  // "Exists matching only works on leaf nodes": an object, or an empty array, is no value at all.
  if (rule.exists.some((wanted) => wanted === leaves.length > 0)) return true;
  return leaves.some((leaf) => rule.tests.some((test) => test(leaf)));
}

/**
 * The values at one field name (a single path segment: compiled pattern keys hold no dots): the
 * field itself, and for every event key `key.rest` a one-field object `{rest: value}`, which the
 * next lookup reads the same way. A missing field has no values.
 */
function valuesAt(view: View, key: string): unknown[] {
  const values: unknown[] = [];
  for (const node of view) {
    if (Object.hasOwn(node, key)) values.push(node[key]);
    for (const [rest, value] of dottedKeysOf(node).get(key) ?? []) values.push({ [rest]: value });
  }
  return values;
}

const dottedIndex = new WeakMap<JsonObject, ReadonlyMap<string, readonly (readonly [string, unknown])[]>>();
const NO_DOTTED_KEYS: ReadonlyMap<string, readonly (readonly [string, unknown])[]> = new Map();

/** An object's dotted keys by their first segment, e.g. `"state.status"` under `state` as `["status", value]`. */
function dottedKeysOf(node: JsonObject): ReadonlyMap<string, readonly (readonly [string, unknown])[]> {
  let index = dottedIndex.get(node);
  if (index) return index;
  const found = new Map<string, (readonly [string, unknown])[]>();
  for (const key of Object.keys(node)) {
    const dot = key.indexOf('.');
    if (dot < 0) continue;
    const head = key.slice(0, dot);
    const list = found.get(head) ?? [];
    list.push([key.slice(dot + 1), node[key]]);
    found.set(head, list);
  }
  index = found.size > 0 ? found : NO_DOTTED_KEYS;
  dottedIndex.set(node, index);
  return index;
}

/** The scalar values at a field: arrays are flattened, objects are not leaves. */
function leavesOf(value: unknown): Scalar[] {
  const out: Scalar[] = [];
  flatten(value, (item) => {
    if (isScalar(item)) out.push(item);
  });
  return out;
}

/**
 * The views a nested pattern is matched against. The objects outside arrays are one field path and
 * so one view; each object inside an array (at every depth) is its own view, joined by those outside
 * arrays, which Ruler's array consistency lets pair with every element. With no objects at all (a
 * missing field, a scalar), the pattern still runs against an empty object, so `{"exists": false}`
 * beneath it holds.
 */
function viewsOf(values: readonly unknown[]): View[] {
  const outside: JsonObject[] = [];
  const elements: JsonObject[] = [];
  for (const value of values) {
    if (isJsonObject(value)) outside.push(value);
    else if (Array.isArray(value)) {
      flatten(value, (item) => {
        if (isJsonObject(item)) elements.push(item);
      });
    }
  }
  if (elements.length > 0) return elements.map((element) => [element, ...outside]);
  return [outside.length > 0 ? outside : [{}]];
}

/**
 * Visits the non-array values of arbitrarily nested arrays, in order. Iterative: an event is
 * input, and arrays nested thousands deep must not overflow the stack (or stall the bus).
 */
function flatten(value: unknown, visit: (item: unknown) => void): void {
  const stack: { readonly items: readonly unknown[]; index: number }[] = [];
  if (!Array.isArray(value)) {
    visit(value);
    return;
  }
  stack.push({ items: value, index: 0 });
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { readonly items: readonly unknown[]; index: number };
    if (top.index >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.index++];
    if (Array.isArray(item)) stack.push({ items: item, index: 0 });
    else visit(item);
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling (validation is compilation that can fail)

/** Compiling, freezing and cloning recurse, so a pattern's depth is checked first, without recursing. */
function compilePattern(pattern: EventPattern): ObjectRule {
  const deep = tooDeep(pattern, MAX_NESTING_DEPTH);
  if (deep) throw new EventPatternError(deep.path, `nests deeper than ${MAX_NESTING_DEPTH} levels`);
  const wildcards: WildcardsByField = new Map();
  const rule = compileEntries(entriesOf(pattern, ''), '', '', false, wildcards);
  checkWildcardComplexity(wildcards);
  return rule;
}

/** The `wildcard` operands of a pattern, by flattened field path (`detail.object.key`), for the complexity check. */
type WildcardsByField = Map<string, { readonly path: string; readonly patterns: Set<string> }>;

function entriesOf(raw: unknown, path: string): [string, unknown][] {
  if (!isJsonObject(raw)) throw new EventPatternError(path, `must be a JSON object, not ${shapeOf(raw)}`);
  const entries = Object.entries(raw);
  if (entries.length === 0) throw new EventPatternError(path, 'must not be an empty object');
  return entries;
}

/**
 * One pattern level. `path` names places for errors (`detail.$or[1].state`); `field` is the
 * flattened field path Ruler would use (`detail.state`). A dotted key is its nested path: its
 * first segment is the field here and the rest nest beneath, merged with every sibling that shares
 * the segment, so `{"a.b": [1], "a": {"c": [2]}}` compiles as `{"a": {"b": [1], "c": [2]}}`.
 */
function compileEntries(
  entries: readonly (readonly [string, unknown])[],
  path: string,
  field: string,
  insideOr: boolean,
  wildcards: WildcardsByField,
): ObjectRule {
  const leaves: LeafRule[] = [];
  const nestedEntries = new Map<string, [string, unknown][]>();
  const anyOf: ObjectRule[][] = [];
  for (const [key, value] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      anyOf.push(compileOr(value, at, field, wildcards));
      continue;
    }
    if (insideOr && OPERATORS.has(key)) {
      throw new EventPatternError(at, `"${key}" is an operator, not a field name; inside $or it must sit in a value list`);
    }
    if (!Array.isArray(value) && !isJsonObject(value)) {
      throw new EventPatternError(at, `must be an array of values or a nested object, not ${shapeOf(value)}`);
    }
    const dot = key.indexOf('.');
    const head = dot < 0 ? key : key.slice(0, dot);
    const headField = field ? `${field}.${head}` : head;
    if (dot < 0 && Array.isArray(value)) {
      leaves.push(compileLeaf(key, value, at, headField, wildcards));
      continue;
    }
    const group = nestedEntries.get(head) ?? [];
    // `{"a.b": v}` is `{"a": {"b": v}}`; the rest of the key may hold further dots, split the same way below.
    if (dot < 0) group.push(...entriesOf(value, at));
    else group.push([key.slice(dot + 1), value]);
    nestedEntries.set(head, group);
  }
  // Paths stay in flattened form, so the level beneath `a.b` (written dotted or nested) is `a`.
  const nested = [...nestedEntries].map(([key, group]) => ({
    key,
    rule: compileEntries(group, path ? `${path}.${key}` : key, field ? `${field}.${key}` : key, insideOr, wildcards),
  }));
  return { leaves, nested, anyOf };
}

function compileOr(raw: unknown, path: string, field: string, wildcards: WildcardsByField): ObjectRule[] {
  if (!Array.isArray(raw) || raw.length < 2) throw new EventPatternError(path, '$or must be an array of at least two objects');
  const branches: readonly unknown[] = raw;
  return branches.map((branch, i) => {
    const at = `${path}[${i}]`;
    return compileEntries(entriesOf(branch, at), at, field, true, wildcards);
  });
}

function compileLeaf(key: string, values: readonly unknown[], path: string, field: string, wildcards: WildcardsByField): LeafRule {
  if (values.length === 0) throw new EventPatternError(path, 'must not be an empty array');
  const tests: ScalarTest[] = [];
  const exists: boolean[] = [];
  values.forEach((value, i) => {
    const at = `${path}[${i}]`;
    if (isJsonObject(value)) {
      const expression = compileExpression(value, at);
      const operand = value['wildcard'];
      if (typeof operand === 'string') {
        const entry = wildcards.get(field) ?? { path, patterns: new Set<string>() };
        entry.patterns.add(operand);
        wildcards.set(field, entry);
      }
      if (typeof expression === 'boolean') exists.push(expression);
      else tests.push(expression);
    } else {
      tests.push(equalsTest(literal(value, at)));
    }
  });
  return { key, tests, exists };
}

/** One `{ "operator": operand }`; an `exists` expression compiles to its boolean. */
function compileExpression(expression: JsonObject, path: string): ScalarTest | boolean {
  const [first, ...rest] = Object.entries(expression);
  if (!first || rest.length > 0) {
    throw new EventPatternError(path, `a match expression has exactly one operator, found ${Object.keys(expression).length}`);
  }
  const [operator, operand] = first;
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return affixTest(operator, operand, path);
    case 'equals-ignore-case':
      return ignoreCaseTest('equals', text(operand, path, 'equals-ignore-case'));
    case 'wildcard':
      return wildcardTest(text(operand, path, 'wildcard'), path);
    case 'anything-but':
      return anythingButTest(operand, path);
    case 'numeric':
      return numericTest(operand, path);
    case 'cidr':
      return cidrTest(operand, path);
    case 'exists':
      if (typeof operand !== 'boolean') throw new EventPatternError(path, `exists takes true or false, not ${shapeOf(operand)}`);
      return operand;
    default:
      throw new EventPatternError(path, `unknown operator "${operator}"`);
  }
}

function literal(value: unknown, path: string): Scalar {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new EventPatternError(path, `${value} is not a JSON number`);
  if (!isScalar(value)) throw new EventPatternError(path, `must be a string, number, boolean, null or match expression, not ${shapeOf(value)}`);
  return value;
}

// Equality is on parsed values: Event Ruler matches a pattern number both literally and
// numerically, so 300 matches 300.0 and 3.0e2 (the docs' "string representation" note predates that).
const equalsTest =
  (expected: Scalar): ScalarTest =>
  (value) =>
    value === expected;

function text(operand: unknown, path: string, operator: string): string {
  if (typeof operand !== 'string') throw new EventPatternError(path, `${operator} takes a string, not ${shapeOf(operand)}`);
  return operand;
}

/** `{"prefix": "us-"}` or `{"prefix": {"equals-ignore-case": "us-"}}`, and the same for suffix. Strings only. */
function affixTest(operator: 'prefix' | 'suffix', operand: unknown, path: string): ScalarTest {
  if (isJsonObject(operand)) {
    const keys = Object.keys(operand);
    if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') {
      throw new EventPatternError(path, `${operator} takes a string or {"equals-ignore-case": string}`);
    }
    return ignoreCaseTest(operator, text(operand['equals-ignore-case'], path, `${operator}.equals-ignore-case`));
  }
  const affix = text(operand, path, operator);
  return operator === 'prefix'
    ? (value) => typeof value === 'string' && value.startsWith(affix)
    : (value) => typeof value === 'string' && value.endsWith(affix);
}

/** Case-insensitive per character (Unicode simple case folding), anchored as the operator needs. */
function ignoreCaseTest(anchor: 'equals' | 'prefix' | 'suffix', operand: string): ScalarTest {
  const body = operand.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  const source = anchor === 'equals' ? `^${body}$` : anchor === 'prefix' ? `^${body}` : `${body}$`;
  const regex = new RegExp(source, 'iu');
  return (value) => typeof value === 'string' && regex.test(value);
}

/**
 * `*` matches a run of zero or more characters; `\*` is a literal star and `\\` a literal backslash. Any
 * other escape, and `**`, are refused, as EventBridge refuses them.
 */
function wildcardTest(pattern: string, path: string): ScalarTest {
  const segments: string[] = [];
  let current = '';
  let afterStar = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '\\') {
      const next = pattern.charAt(i + 1);
      if (next !== '*' && next !== '\\') throw new EventPatternError(path, `wildcard: "\\" may only escape "*" or "\\" (at ${i})`);
      current += next;
      i++;
      afterStar = false;
    } else if (char === '*') {
      if (afterStar) throw new EventPatternError(path, `wildcard: consecutive "*" are not allowed (at ${i})`);
      segments.push(current);
      current = '';
      afterStar = true;
    } else {
      current += char;
      afterStar = false;
    }
  }
  segments.push(current);
  return (value) => typeof value === 'string' && matchesWildcard(segments, value);
}

/** Literal segments between stars; leftmost placement of the middle ones is enough with `*` as the only wildcard. */
function matchesWildcard(segments: readonly string[], value: string): boolean {
  const first = segments[0] ?? '';
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] ?? '';
  const end = value.length - last.length;
  if (end < first.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let position = first.length;
  for (const middle of segments.slice(1, -1)) {
    const at = value.indexOf(middle, position);
    if (at < 0 || at + middle.length > end) return false;
    position = at + middle.length;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Wildcard complexity (PutRule's "Rule is too complex")

/**
 * The most wildcard-rule prefixes one field may have matching a single value at once. The user
 * guide ("Comparison operators for use in event patterns", "Wildcards and event pattern
 * complexity") says only that a rule that is too complex is refused with InvalidEventPatternException
 * and that fewer wildcards and fewer repeated sequences after a wildcard help; it gives no number.
 * Reported refusals bracket it: four `*\/datasync/*.<ext>` on one field (12 by the measure below)
 * and four `*:stack/<name>/*` (12) are refused, while three of the latter (9) and four `*.<ext>` (8)
 * are accepted, so the limit lies in 9..11; 10 is taken.
 */
export const MAX_WILDCARD_COMPLEXITY = 10;

/** EventBridge's own wording of the refusal. */
const TOO_COMPLEX = 'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

/** How many value subsets the evaluation visits before it calls a field too complex to evaluate. */
const COMPLEXITY_EVALUATION_BUDGET = 20_000;

const STAR = -1;

function checkWildcardComplexity(wildcards: WildcardsByField): void {
  for (const { path, patterns } of wildcards.values()) {
    const complexity = wildcardComplexity([...patterns], MAX_WILDCARD_COMPLEXITY);
    if (complexity > MAX_WILDCARD_COMPLEXITY) {
      throw new EventPatternError(path, `${TOO_COMPLEX} (complexity ${complexity} over ${MAX_WILDCARD_COMPLEXITY})`);
    }
  }
}

/**
 * Event Ruler's measure (MachineComplexityEvaluator): the most prefixes of the field's wildcard
 * patterns that one theoretical value matches in full, each distinct pattern counted once, e.g.
 * `a*bc` has 2 for "ab" (`a*`, `a*b`) and `*a*a*a*a*a*a*a*a*` has 17 for "aaaaaaaa". As in Ruler,
 * values are UTF-8 bytes between the JSON quotes (JsonRuleCompiler keeps them), and only `wildcard`
 * patterns count; exact, prefix and the rest do not. The value is searched for by walking the
 * subsets of prefixes a value can match, byte by byte, stopping past `cap`.
 */
export function wildcardComplexity(patterns: readonly string[], cap: number = MAX_WILDCARD_COMPLEXITY): number {
  const programs = [...new Set(patterns)].map(wildcardBytes);
  if (programs.length === 0) return 0;
  const alphabet = new Set<number>();
  programs.forEach((tokens) => tokens.forEach((token) => token !== STAR && alphabet.add(token)));
  const bytes = [...alphabet, 256]; // 256: a byte no pattern names literally

  // A state is [pattern, position]: the pattern's first `position` tokens match the value so far.
  type State = readonly [number, number];
  const close = (states: State[]): State[] => {
    const seen = new Set<string>();
    const out: State[] = [];
    for (let i = 0; i < states.length; i++) {
      const [p, at] = states[i] as State;
      const id = `${p}:${at}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push([p, at]);
      // A star also matches nothing, so whatever follows it is reachable at once.
      if ((programs[p] as number[])[at] === STAR) states.push([p, at + 1]);
    }
    return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  };
  const step = (states: readonly State[], byte: number): State[] => {
    const next: State[] = [];
    for (const [p, at] of states) {
      const tokens = programs[p] as number[];
      if (at > 0 && tokens[at - 1] === STAR) next.push([p, at]);
      if (tokens[at] === byte) next.push([p, at + 1]);
    }
    return close(next);
  };

  let maximum = 0;
  const visited = new Set<string>();
  const pending: State[][] = [close(programs.map((_, p) => [p, 0] as const))];
  while (pending.length > 0) {
    const states = pending.pop() as State[];
    for (const byte of bytes) {
      const next = step(states, byte);
      if (next.length === 0) continue;
      // Every state past the start is one matching prefix of one pattern.
      if (next.length > cap) return next.length;
      maximum = Math.max(maximum, next.length);
      const key = next.map(([p, at]) => `${p}:${at}`).join(',');
      if (visited.has(key)) continue;
      visited.add(key);
      if (visited.size > COMPLEXITY_EVALUATION_BUDGET) return cap + 1;
      pending.push(next);
    }
  }
  return maximum;
}

/** `"` + the pattern's UTF-8 bytes, with `*` as STAR and `\*`, `\\` as the literal byte + `"`. */
function wildcardBytes(pattern: string): number[] {
  const tokens: number[] = [0x22];
  const encoder = new TextEncoder();
  let literal = '';
  const flush = () => {
    tokens.push(...encoder.encode(literal));
    literal = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '\\') {
      literal += pattern.charAt(i + 1);
      i++;
    } else if (char === '*') {
      flush();
      tokens.push(STAR);
    } else {
      literal += char;
    }
  }
  flush();
  tokens.push(0x22);
  return tokens;
}

/**
 * A value (or list of all strings or all numbers) to exclude, or one nested prefix, suffix,
 * equals-ignore-case or wildcard (a string or list of strings). Any present value that is not
 * excluded matches, null and other types included; a missing field has no value, so never does.
 */
function anythingButTest(operand: unknown, path: string): ScalarTest {
  let excluded: ScalarTest[];
  if (typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand))) {
    excluded = [equalsTest(operand)];
  } else if (Array.isArray(operand)) {
    const list: readonly unknown[] = operand;
    const strings = list.filter((v): v is string => typeof v === 'string');
    const numbers = list.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (list.length === 0 || (strings.length !== list.length && numbers.length !== list.length)) {
      throw new EventPatternError(path, 'anything-but takes a non-empty list of all strings or all numbers');
    }
    excluded = [...strings, ...numbers].map(equalsTest);
  } else if (isJsonObject(operand)) {
    excluded = nestedExclusions(operand, path);
  } else {
    throw new EventPatternError(path, `anything-but takes a string, a number, a list of them or a nested match, not ${shapeOf(operand)}`);
  }
  return (value) => !excluded.some((test) => test(value));
}

function nestedExclusions(operand: JsonObject, path: string): ScalarTest[] {
  const [first, ...rest] = Object.entries(operand);
  const operators = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];
  if (!first || rest.length > 0 || !operators.includes(first[0])) {
    throw new EventPatternError(path, `anything-but nests exactly one of ${operators.join(', ')}`);
  }
  const [operator, inner] = first;
  const values: readonly unknown[] = Array.isArray(inner) ? inner : [inner];
  if (values.length === 0) throw new EventPatternError(path, `anything-but ${operator} must not be an empty list`);
  return values.map((v) => {
    const value = text(v, path, `anything-but ${operator}`);
    switch (operator) {
      case 'prefix':
      case 'suffix':
        if (value === '') throw new EventPatternError(path, `anything-but ${operator} must not be empty`);
        return affixTest(operator, value, path);
      case 'equals-ignore-case':
        return ignoreCaseTest('equals', value);
      default:
        return wildcardTest(value, path);
    }
  });
}

const COMPARISONS: Readonly<Record<string, (value: number, bound: number) => boolean>> = {
  '=': (v, b) => v === b,
  '>': (v, b) => v > b,
  '>=': (v, b) => v >= b,
  '<': (v, b) => v < b,
  '<=': (v, b) => v <= b,
};

/** One comparison, or a range: a lower bound (`>`, `>=`) then an upper one (`<`, `<=`). Numbers only. */
function numericTest(operand: unknown, path: string): ScalarTest {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0) {
    throw new EventPatternError(path, 'numeric needs pairs of operator and number, e.g. [">", 0, "<=", 5]');
  }
  const terms: readonly unknown[] = operand;
  if (terms.length > 4) throw new EventPatternError(path, 'numeric takes one comparison or a range of two');
  const checks: ((value: number) => boolean)[] = [];
  const bounds: number[] = [];
  for (let i = 0; i < terms.length; i += 2) {
    const operator = terms[i];
    const bound = terms[i + 1];
    const compare = typeof operator === 'string' && Object.hasOwn(COMPARISONS, operator) ? COMPARISONS[operator] : undefined;
    if (!compare) throw new EventPatternError(path, `numeric: unknown operator ${JSON.stringify(operator)}; use =, >, >=, < or <=`);
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new EventPatternError(path, `numeric: "${String(operator)}" needs a number, not ${shapeOf(bound)}`);
    }
    checks.push((value) => compare(value, bound));
    bounds.push(bound);
  }
  if (terms.length === 4) {
    const [lower, , upper] = terms;
    if (!(lower === '>' || lower === '>=') || !(upper === '<' || upper === '<=')) {
      throw new EventPatternError(path, 'numeric: a range is a lower bound (> or >=) followed by an upper bound (< or <=)');
    }
    const [bottom = 0, top = 0] = bounds;
    if (!(bottom < top)) throw new EventPatternError(path, 'numeric: the lower bound must be below the upper bound');
  }
  return (value) => typeof value === 'number' && checks.every((check) => check(value));
}

// ---------------------------------------------------------------------------------------------
// CIDR

interface IpAddress {
  readonly family: 4 | 6;
  readonly bits: bigint;
}

/** `10.0.0.0/24` or `2001:db8::/32`. Host bits are ignored, as EventBridge ignores them. */
function cidrTest(operand: unknown, path: string): ScalarTest {
  const cidr = text(operand, path, 'cidr');
  const parts = cidr.split('/');
  const [address = '', mask = ''] = parts;
  if (parts.length !== 2 || !/^\d+$/.test(mask)) throw new EventPatternError(path, `cidr: "${cidr}" is not address/mask-bits`);
  const network = parseIp(address);
  if (!network) throw new EventPatternError(path, `cidr: "${address}" is not an IPv4 or IPv6 address`);
  const width = network.family === 4 ? 32 : 128;
  const maskBits = Number(mask);
  // Event Ruler's own limit: /32 and /128 are refused (write the address as a plain string value).
  if (maskBits >= width) throw new EventPatternError(path, `cidr: IPv${network.family} mask bits must be below ${width}`);
  const shift = BigInt(width - maskBits);
  const prefix = network.bits >> shift;
  return (value) => {
    if (typeof value !== 'string') return false;
    const ip = parseIp(value);
    return ip !== undefined && ip.family === network.family && ip.bits >> shift === prefix;
  };
}

function parseIp(text: string): IpAddress | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const octets = text.split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    return { family: 4, bits: octets.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string | undefined): string[] => (half ? half.split(':') : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return { family: 6, bits: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

// ---------------------------------------------------------------------------------------------

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as an error message names it. */
function shapeOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'object':
      return 'an object';
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'nothing';
    default:
      return `a ${typeof value}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach((child) => deepFreeze(child));
    Object.freeze(value);
  }
  return value;
}
