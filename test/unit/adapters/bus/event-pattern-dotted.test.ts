import { describe, expect, it } from 'vitest';
import {
  EventPatternError,
  MAX_WILDCARD_COMPLEXITY,
  matchesEventPattern,
  validateEventPattern,
  wildcardComplexity,
} from '../../../../shared/adapters/bus/event-pattern';
import { checkExample, type PatternExample } from '../../../support/event-patterns';

/**
 * Dotted field names and the wildcard complexity limit.
 *
 * Dotted keys: aws/event-ruler README, "Caveat: Compiled rules and JSON keys with dots": Ruler joins
 * keys with "." when it flattens rules and events, so `{"detail": {"state": {"status": [...]}}}` and
 * `{"detail": {"state.status": [...]}}` are one rule, and both match `{"detail": {"state": {"status":
 * "running"}}}` and `{"detail": {"state.status": "running"}}`. The README's four combinations lead.
 *
 * Complexity: the user guide's "Wildcards and event pattern complexity" (eb-create-pattern-operators)
 * and Ruler's MachineComplexityEvaluator (with the worked values of its MachineComplexityEvaluatorTest).
 */
type Example = PatternExample;
const check = checkExample;

const nestedRule = { detail: { state: { status: ['running'] } } };
const dottedRule = { detail: { 'state.status': ['running'] } };
const nestedEvent = { detail: { state: { status: 'running' } } };
const dottedEvent = { detail: { 'state.status': 'running' } };

const readmeCaveat: readonly Example[] = [
  { name: 'a nested rule matches a nested event', pattern: nestedRule, event: nestedEvent, matches: true },
  { name: 'a nested rule matches an event with the dotted key "state.status"', pattern: nestedRule, event: dottedEvent, matches: true },
  { name: 'a rule with the dotted key "state.status" matches a nested event', pattern: dottedRule, event: nestedEvent, matches: true },
  { name: 'a dotted rule matches a dotted event', pattern: dottedRule, event: dottedEvent, matches: true },
  {
    name: 'a dotted rule does not match a dotted event with another value',
    pattern: dottedRule,
    event: { detail: { 'state.status': 'stopped' } },
    matches: false,
  },
  {
    name: 'a nested rule does not match a dotted event with another value',
    pattern: nestedRule,
    event: { detail: { 'state.status': 'stopped' } },
    matches: false,
  },
];

const dottedPaths: readonly Example[] = [
  {
    name: 'a top-level dotted key "detail.state.status" reaches three levels down',
    pattern: { 'detail.state.status': ['running'] },
    event: nestedEvent,
    matches: true,
  },
  {
    name: 'an event key with two dots is read as three levels',
    pattern: nestedRule,
    event: { 'detail.state.status': 'running' },
    matches: true,
  },
  {
    name: 'an event key split at another dot: {"detail.state": {"status": ...}}',
    pattern: { 'detail.state.status': ['running'] },
    event: { 'detail.state': { status: 'running' } },
    matches: true,
  },
  {
    name: 'combination: {"a.b": {"c": [1]}} matches {"a": {"b": {"c": 1}}}',
    pattern: { 'a.b': { c: [1] } },
    event: { a: { b: { c: 1 } } },
    matches: true,
  },
  { name: 'combination: {"a.b": {"c": [1]}} matches {"a.b.c": 1}', pattern: { 'a.b': { c: [1] } }, event: { 'a.b.c': 1 }, matches: true },
  {
    name: 'combination: {"a.b": {"c": [1]}} matches {"a": {"b.c": 1}}',
    pattern: { 'a.b': { c: [1] } },
    event: { a: { 'b.c': 1 } },
    matches: true,
  },
  { name: 'combination: {"a.b": {"c": [1]}} does not match {"a": {"b": {"c": 2}}}', pattern: { 'a.b': { c: [1] } }, event: { a: { b: { c: 2 } } }, matches: false },
  {
    name: 'a dotted key and a nested sibling are one object: {"a.b": [1], "a": {"c": [2]}} matches {"a": {"b": 1, "c": 2}}',
    pattern: { 'a.b': [1], a: { c: [2] } },
    event: { a: { b: 1, c: 2 } },
    matches: true,
  },
  {
    name: 'a dotted key and a nested sibling both must match: {"a.b": [1], "a": {"c": [2]}} does not match {"a": {"b": 1}}',
    pattern: { 'a.b': [1], a: { c: [2] } },
    event: { a: { b: 1 } },
    matches: false,
  },
  {
    name: 'an event mixing a nested object and a dotted key at one level matches fields from both',
    pattern: { detail: { state: { code: [16], status: ['running'] } } },
    event: { detail: { state: { code: 16 }, 'state.status': 'running' } },
    matches: true,
  },
  {
    name: 'the same field given nested and dotted in an event carries both values',
    pattern: { detail: { 'state.status': ['stopped'] } },
    event: { detail: { state: { status: 'running' }, 'state.status': 'stopped' } },
    matches: true,
  },
  {
    name: 'the dotted path is literal: "state.status" does not match "state-status"',
    pattern: dottedRule,
    event: { detail: { 'state-status': 'running' } },
    matches: false,
  },
];

// Ruler README, "JSON Array Matching": the employees event.
const employees = {
  employees: [
    { firstName: 'John', lastName: 'Doe' },
    { firstName: 'Anna', lastName: 'Smith' },
    { firstName: 'Peter', lastName: 'Jones' },
  ],
};

const throughArrays: readonly Example[] = [
  { name: 'a dotted key reads through an event array: {"employees.firstName": ["Anna"]}', pattern: { 'employees.firstName': ['Anna'] }, event: employees, matches: true },
  {
    name: 'dotted keys keep array consistency: Anna and Smith are one element',
    pattern: { 'employees.firstName': ['Anna'], 'employees.lastName': ['Smith'] },
    event: employees,
    matches: true,
  },
  {
    name: 'dotted keys keep array consistency: Anna and Jones are in different elements',
    pattern: { 'employees.firstName': ['Anna'], 'employees.lastName': ['Jones'] },
    event: employees,
    matches: false,
  },
  {
    name: 'a dotted and a nested key keep array consistency together',
    pattern: { 'employees.firstName': ['Anna'], employees: { lastName: ['Jones'] } },
    event: employees,
    matches: false,
  },
  {
    name: 'a dotted event key inside an array element is read as nested',
    pattern: { detail: { items: { meta: { name: ['x'] } } } },
    event: { detail: { items: [{ 'meta.name': 'y' }, { 'meta.name': 'x' }] } },
    matches: true,
  },
  {
    name: 'a dotted event key naming a path through an array: {"detail.items": [{"name": "x"}]}',
    pattern: { detail: { items: { name: ['x'] } } },
    event: { 'detail.items': [{ name: 'y' }, { name: 'x' }] },
    matches: true,
  },
  {
    name: 'a dotted event key outside the array pairs with every element (no two elements of one array)',
    pattern: { a: { b: [2], c: [3] } },
    event: { a: [{ b: 1 }, { b: 2 }], 'a.c': 3 },
    matches: true,
  },
  {
    name: 'a leaf array under a dotted event key is intersected as other arrays are',
    pattern: { 'detail.tags': ['Insider'] },
    event: { detail: { tags: ['Custom_Alert', 'Insider'] } },
    matches: true,
  },
];

const withOperators: readonly Example[] = [
  { name: 'exists false under a dotted key fails when the nested field is there', pattern: { detail: { 'c.count': [{ exists: false }] } }, event: { detail: { c: { count: 5 } } }, matches: false },
  { name: 'exists false under a dotted key holds when the field is missing', pattern: { detail: { 'c.count': [{ exists: false }] } }, event: { detail: { c: { other: 5 } } }, matches: true },
  { name: 'exists true under a nested key finds a dotted event field', pattern: { detail: { c: { count: [{ exists: true }] } } }, event: { detail: { 'c.count': 5 } }, matches: true },
  {
    name: 'numeric under a dotted key',
    pattern: { 'detail.c-count': [{ numeric: ['>', 0, '<=', 5] }] },
    event: { detail: { 'c-count': 5 } },
    matches: true,
  },
  {
    name: '$or branches with dotted keys',
    pattern: { $or: [{ 'detail.state': ['a'] }, { 'detail.code': [1] }] },
    event: { detail: { code: 1 } },
    matches: true,
  },
  {
    name: '$or branches with dotted keys, neither matching',
    pattern: { $or: [{ 'detail.state': ['a'] }, { 'detail.code': [1] }] },
    event: { 'detail.code': 2 },
    matches: false,
  },
];

describe('matchesEventPattern with dotted field names', () => {
  describe('Ruler README, "Caveat: Compiled rules and JSON keys with dots"', () => {
    it.each(readmeCaveat)('$name', check);
  });

  describe('dotted paths at every depth, and combined with nesting', () => {
    it.each(dottedPaths)('$name', check);
  });

  describe('through arrays (Ruler README, "JSON Array Matching")', () => {
    it.each(throughArrays)('$name', check);
  });

  describe('with operators and $or', () => {
    it.each(withOperators)('$name', check);
  });

  it('keeps a dotted pattern key in the frozen copy it returns', () => {
    const pattern = validateEventPattern(dottedRule);
    expect(pattern).toEqual(dottedRule);
  });

  it('names a bad value under a dotted key by its flattened path', () => {
    expect(() => validateEventPattern({ 'detail.state': [] })).toThrow(/^detail\.state: must not be an empty array/);
    expect(() => validateEventPattern({ 'detail.state': 'running' })).toThrow(/^detail\.state: must be an array/);
    expect(() => validateEventPattern({ 'a.b': { c: [{ prefix: 5 }] } })).toThrow(/^a\.b\.c\[0\]: prefix takes a string/);
  });
});

describe('wildcardComplexity (Ruler MachineComplexityEvaluator)', () => {
  // Values from Ruler's MachineComplexityEvaluatorTest; Ruler compiles JSON string values between
  // their quotes, which changes none of these.
  it.each([
    { patterns: ['a*bc'], complexity: 2, why: '"ab" is matched by a*, a*b' },
    { patterns: ['a*bbb'], complexity: 4, why: '"abbb" is matched by a*, a*b, a*bb, a*bbb' },
    { patterns: ['a*b*cd'], complexity: 3, why: '"abcd" is matched by a*, a*b*, a*b*cd' },
    { patterns: ['*ab*b*b*'], complexity: 7, why: '"abbbab" is matched by 7 prefixes' },
    { patterns: ['*a*a*a*a*a*a*a*a*'], complexity: 17, why: '"aaaaaaaa" is matched by all 17 prefixes' },
    { patterns: ['a*aaa', 'aa*aa'], complexity: 7, why: '"aaaa" is matched by 4 prefixes of one and 3 of the other' },
    { patterns: ['ab*cd', 'ab*wx', 'ab*yz'], complexity: 6, why: '"ab" is matched by ab and ab* of each' },
    { patterns: ['ab*c', 'ab*c'], complexity: 2, why: 'a duplicate pattern does not count twice' },
  ])('$patterns: $complexity ($why)', ({ patterns, complexity }) => {
    expect(wildcardComplexity(patterns, 100)).toBe(complexity);
  });

  it('counts the opening quote Ruler keeps: a lone "*" has 2 ("\\"" then "\\"*")', () => {
    expect(wildcardComplexity(['*'], 100)).toBe(2);
  });

  it('stops counting past the cap', () => {
    expect(wildcardComplexity(['*a*a*a*a*a*a*a*a*'], 10)).toBe(11);
  });
});

const tooComplex = (pattern: unknown): EventPatternError => {
  let thrown: unknown;
  try {
    validateEventPattern(pattern);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(EventPatternError);
  return thrown as EventPatternError;
};

const s3Key = (...wildcards: string[]) => ({
  source: ['aws.s3'],
  'detail-type': ['Object Created'],
  detail: { object: { key: wildcards.map((wildcard) => ({ wildcard })) } },
});

const stackIds = (...names: string[]) => ({
  source: ['aws.cloudformation'],
  detail: { 'stack-id': names.map((name) => ({ wildcard: `*:stack/${name}/*` })) },
});

describe('validateEventPattern refuses wildcard patterns that are too complex', () => {
  it(`accepts a field at the limit (${MAX_WILDCARD_COMPLEXITY}) and refuses one past it`, () => {
    expect(MAX_WILDCARD_COMPLEXITY).toBe(10);
    expect(wildcardComplexity(['*a*a*a*a*a'])).toBe(10);
    expect(() => validateEventPattern({ detail: { name: [{ wildcard: '*a*a*a*a*a' }] } })).not.toThrow();

    const error = tooComplex({ detail: { name: [{ wildcard: '*a*a*a*a*a*' }] } });
    expect(error.code).toBe('BUS.INVALID_PATTERN');
    expect(error.path).toBe('detail.name');
    expect(error.reason).toContain('Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character');
    expect(error.reason).toContain('complexity 11 over 10');
  });

  it('refuses four "*/datasync/*.<ext>" on one key (12) and accepts two (6), as EventBridge did', () => {
    expect(tooComplex(s3Key('*/datasync/*.bif', '*/datasync/*.tiff', '*/datasync/*.tif', '*/datasync/*.svs')).path).toBe('detail.object.key');
    expect(() => validateEventPattern(s3Key('*/datasync/*.bif', '*/datasync/*.tif'))).not.toThrow();
  });

  it('accepts four "*.<ext>" on one key (8), as EventBridge did', () => {
    expect(wildcardComplexity(['*.bif', '*.tiff', '*.tif', '*.svs'])).toBe(8);
    expect(() => validateEventPattern(s3Key('*.bif', '*.tiff', '*.tif', '*.svs'))).not.toThrow();
  });

  it('accepts three "*:stack/<name>/*" (9) and refuses four (12), as EventBridge did', () => {
    expect(() => validateEventPattern(stackIds('Shared', 'Data', 'Api'))).not.toThrow();
    expect(tooComplex(stackIds('Shared', 'Data', 'Api', 'Monitoring')).path).toBe('detail.stack-id');
  });

  it("accepts the user guide's lower-complexity rewrites", () => {
    expect(() => validateEventPattern({ EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] })).not.toThrow();
    expect(() => validateEventPattern({ FileName: [{ wildcard: '/Users/*/doc.txt' }] })).not.toThrow();
  });

  it('measures each field on its own: wildcards on different fields do not add up', () => {
    expect(() =>
      validateEventPattern({
        detail: {
          object: { key: [{ wildcard: '*.bif' }, { wildcard: '*.tiff' }, { wildcard: '*.tif' }, { wildcard: '*.svs' }] },
          bucket: { name: [{ wildcard: '*-a' }, { wildcard: '*-b' }, { wildcard: '*-c' }, { wildcard: '*-d' }] },
        },
      }),
    ).not.toThrow();
  });

  it('adds up one field across $or branches', () => {
    const pattern = {
      detail: {
        $or: [
          { object: { key: [{ wildcard: '*/datasync/*.bif' }, { wildcard: '*/datasync/*.tif' }] } },
          { object: { key: [{ wildcard: '*/datasync/*.tiff' }, { wildcard: '*/datasync/*.svs' }] } },
        ],
      },
    };
    expect(tooComplex(pattern).path).toBe('detail.$or[0].object.key');
  });

  it('adds up one field written dotted and nested', () => {
    const pattern = {
      detail: {
        'object.key': [{ wildcard: '*/datasync/*.bif' }, { wildcard: '*/datasync/*.tif' }],
        object: { key: [{ wildcard: '*/datasync/*.tiff' }, { wildcard: '*/datasync/*.svs' }] },
      },
    };
    expect(tooComplex(pattern).reason).toContain('Rule is too complex');
  });

  it('does not count exact, prefix or anything-but values', () => {
    expect(() =>
      validateEventPattern({
        detail: { name: [{ wildcard: '*a*a*a*a*a' }, 'aaaa', { prefix: 'aaa' }, { 'anything-but': { wildcard: '*a*a*a*a*a*a*' } }] },
      }),
    ).not.toThrow();
  });

  it('evaluates a long wildcard pattern quickly', () => {
    const started = performance.now();
    expect(() => validateEventPattern({ key: [{ wildcard: `*${'ab*'.repeat(200)}` }] })).toThrow(/Rule is too complex/);
    expect(() => validateEventPattern({ key: [{ wildcard: `${'x'.repeat(2000)}*y` }] })).not.toThrow();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
