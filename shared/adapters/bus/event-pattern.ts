import { TunewireError } from '../../domain/errors';
import { MAX_NESTING_DEPTH, tooDeep } from '../../domain/limits';

/**
 * EventBridge event patterns with EventBridge's matching rules, so the local bus routes exactly as
 * the deployed rules in serverless.yml do. Semantics follow the AWS docs ("Amazon EventBridge event
 * patterns", "Content filtering in Amazon EventBridge event patterns") and, where the docs are
 * silent, Event Ruler (aws/event-ruler), the library EventBridge runs.
 *
 * A pattern is compiled once, at validation, into predicates; matching walks the event alongside.
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
  return matchesObject(rule, isJsonObject(event) ? event : {});
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

function matchesObject(rule: ObjectRule, node: JsonObject): boolean {
  return (
    rule.leaves.every((leaf) => matchesLeaf(leaf, fieldOf(node, leaf.key))) &&
    // Array-consistent: all fields of a nested pattern must match within the same array element.
    rule.nested.every(({ key, rule: inner }) => objectsOf(fieldOf(node, key)).some((child) => matchesObject(inner, child))) &&
    rule.anyOf.every((branches) => branches.some((branch) => matchesObject(branch, node)))
  );
}

function matchesLeaf(rule: LeafRule, value: unknown): boolean {
  const leaves = value === undefined ? [] : leavesOf(value);
  // "Exists matching only works on leaf nodes": an object, or an empty array, is no value at all.
  if (rule.exists.some((wanted) => wanted === leaves.length > 0)) return true;
  return leaves.some((leaf) => rule.tests.some((test) => test(leaf)));
}

/** `undefined` is how a missing field reads (and how JSON would drop an undefined property). */
function fieldOf(node: JsonObject, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
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
 * The objects a nested pattern is matched against. With none (a missing field, a scalar), the
 * pattern still runs against an empty object, so `{"exists": false}` beneath it holds.
 */
function objectsOf(value: unknown): JsonObject[] {
  const found: JsonObject[] = [];
  flatten(value, (item) => {
    if (isJsonObject(item)) found.push(item);
  });
  return found.length > 0 ? found : [{}];
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
  return compileObject(pattern, '', false);
}

function compileObject(raw: unknown, path: string, insideOr: boolean): ObjectRule {
  if (!isJsonObject(raw)) throw new EventPatternError(path, `must be a JSON object, not ${shapeOf(raw)}`);
  const entries = Object.entries(raw);
  if (entries.length === 0) throw new EventPatternError(path, 'must not be an empty object');

  const leaves: LeafRule[] = [];
  const nested: { key: string; rule: ObjectRule }[] = [];
  const anyOf: ObjectRule[][] = [];
  for (const [key, value] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      anyOf.push(compileOr(value, at));
    } else if (insideOr && OPERATORS.has(key)) {
      throw new EventPatternError(at, `"${key}" is an operator, not a field name; inside $or it must sit in a value list`);
    } else if (Array.isArray(value)) {
      leaves.push(compileLeaf(key, value, at));
    } else if (isJsonObject(value)) {
      nested.push({ key, rule: compileObject(value, at, insideOr) });
    } else {
      throw new EventPatternError(at, `must be an array of values or a nested object, not ${shapeOf(value)}`);
    }
  }
  return { leaves, nested, anyOf };
}

function compileOr(raw: unknown, path: string): ObjectRule[] {
  if (!Array.isArray(raw) || raw.length < 2) throw new EventPatternError(path, '$or must be an array of at least two objects');
  const branches: readonly unknown[] = raw;
  return branches.map((branch, i) => compileObject(branch, `${path}[${i}]`, true));
}

function compileLeaf(key: string, values: readonly unknown[], path: string): LeafRule {
  if (values.length === 0) throw new EventPatternError(path, 'must not be an empty array');
  const tests: ScalarTest[] = [];
  const exists: boolean[] = [];
  values.forEach((value, i) => {
    const at = `${path}[${i}]`;
    if (isJsonObject(value)) {
      const expression = compileExpression(value, at);
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
 * `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. Any
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
