import { describe, expect, it } from 'vitest';
import { decodeJobCursor, encodeJobCursor } from '../../../../shared/adapters/dynamodb/job-cursor';
import { ValidationError } from '../../../../shared/domain/errors';

const cursor = { createdAt: '2026-11-23T10:00:00.000Z', jobId: 'churn-xgb-1a2b3c' };
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('job cursor', () => {
  it('reads back what it wrote, as base64url', () => {
    const text = encodeJobCursor(cursor);

    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeJobCursor(text)).toEqual(cursor);
  });

  for (const [what, text] of [
    ['empty', ''],
    ['not base64url', 'eyJ+/=='],
    ['not JSON', b64('{"createdAt":')],
    ['an array', b64([cursor.createdAt, cursor.jobId])],
    ['a scan key instead', b64({ pk: { S: 'JOB#x' }, sk: { S: 'META' } })],
    ['with a field added', b64({ ...cursor, status: 'failed' })],
    ['without the job id', b64({ createdAt: cursor.createdAt })],
    ['with a time that is not ISO 8601', b64({ ...cursor, createdAt: 'yesterday' })],
    ['with a number for the job id', b64({ ...cursor, jobId: 7 })],
    ['with a job id too long for a key', b64({ ...cursor, jobId: 'j'.repeat(300) })],
    ['too long', 'A'.repeat(2_000)],
  ] as const) {
    it(`refuses a tampered cursor (${what}), naming cursor`, () => {
      expect(() => decodeJobCursor(text)).toThrow(ValidationError);
      expect(() => decodeJobCursor(text)).toThrow(expect.objectContaining({ issues: [expect.objectContaining({ path: 'cursor' })] }));
    });
  }
});
