import { describe, expect, it } from 'vitest';
import { depthIssue, ID_LIMITS, idLengthIssue, jsonBytes, MAX_NESTING_DEPTH, PARAMETER_NAME, RESERVED_NAMES, tooDeep, utf8Bytes } from '../../../shared/domain/limits';

/** `{ a: { a: ... } }`, `depth` objects deep, built without recursion. */
function nested(depth: number, key = 'a'): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { [key]: value };
  return value;
}

describe('tooDeep', () => {
  it('counts the value itself as depth 1 and scalars as no depth', () => {
    expect(tooDeep('text', 0)).toBeUndefined();
    expect(tooDeep({}, 1)).toBeUndefined();
    expect(tooDeep({ a: 1, b: 'x' }, 1)).toBeUndefined();
    expect(tooDeep({ a: {} }, 1)).toEqual({ path: 'a', field: 'a', depth: 2 });
  });

  it('names the first container past the limit by its path, arrays by index', () => {
    expect(tooDeep({ detail: { list: [1, [2, [3]]] } }, 3)).toEqual({ path: 'detail.list[1]', field: 'detail', depth: 4 });
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    const deep = nested(100_000);

    const found = tooDeep(deep);

    expect(found?.depth).toBe(MAX_NESTING_DEPTH + 1);
    expect(found?.field).toBe('a');
  });

  it('reports a cycle as too deep instead of looping', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;

    expect(tooDeep(cyclic)?.depth).toBe(MAX_NESTING_DEPTH + 1);
  });

  it('cuts a long path in its report', () => {
    const found = tooDeep(nested(80, 'k'.repeat(1000)));

    expect(found?.path.length).toBeLessThanOrEqual(201);
  });
});

describe('depthIssue', () => {
  it('names the top-level field under a prefix, and the deep path in its message', () => {
    const issue = depthIssue({ detail: nested(70) }, 'message.data');

    expect(issue?.path).toBe('message.data.detail');
    expect(issue?.message).toMatch(/^nests deeper than 64 levels of objects and arrays \(at message\.data\.detail\.a\.a/);
  });

  it('is undefined for input within the limit', () => {
    expect(depthIssue(nested(MAX_NESTING_DEPTH))).toBeUndefined();
  });
});

describe('idLengthIssue', () => {
  it('counts UTF-8 bytes, not characters', () => {
    const id = 'é'.repeat(ID_LIMITS.eventId / 2 + 1); // 2 bytes each

    expect(id.length).toBeLessThan(ID_LIMITS.eventId);
    expect(idLengthIssue('id', id, ID_LIMITS.eventId)).toEqual({ path: 'id', message: `is ${utf8Bytes(id)} bytes long; at most 512 bytes (UTF-8) are allowed` });
    expect(idLengthIssue('id', 'é'.repeat(ID_LIMITS.eventId / 2), ID_LIMITS.eventId)).toBeUndefined();
  });

  it('keeps every id with its longest key prefix under DynamoDB sort key limit of 1024 bytes', () => {
    const longestTime = '+275760-09-13T00:00:00.000Z';
    const history = `HIST#${longestTime}#${'e'.repeat(ID_LIMITS.eventId)}#${'f'.repeat(12)}`;
    const debounce = `DEB#${'d'.repeat(ID_LIMITS.dataset)}:${'l'.repeat(ID_LIMITS.dataLocation)}`;
    const promotion = `PROMO#${longestTime}#${'j'.repeat(ID_LIMITS.jobId)}`;

    for (const key of [history, debounce, promotion, `TRIAL#${'t'.repeat(ID_LIMITS.trialId)}`]) expect(utf8Bytes(key)).toBeLessThanOrEqual(1024);
  });
});

describe('jsonBytes', () => {
  it('is the UTF-8 size of the JSON text, and undefined for what is not JSON', () => {
    expect(jsonBytes({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
    expect(jsonBytes({ n: 1n })).toBeUndefined();
  });
});

describe('parameter names', () => {
  it('takes what every provider takes and refuses the rest', () => {
    for (const ok of ['eta', 'max_depth', 'first-layer-size', 'a.b', '_x', '9lives']) expect(PARAMETER_NAME.test(ok)).toBe(true);
    for (const bad of ['', 'a b', 'a=b', '-a', '.a', '{{a}}', 'a\tb', 'x'.repeat(257)]) expect(PARAMETER_NAME.test(bad)).toBe(false);
  });

  it('reserves the names every JavaScript object already has', () => {
    expect([...RESERVED_NAMES]).toEqual(['__proto__', 'constructor', 'prototype']);
  });
});
