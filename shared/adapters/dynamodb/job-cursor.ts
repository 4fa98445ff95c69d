import { ValidationError, type FieldIssue } from '../../domain/errors';
import { ID_LIMITS, utf8Bytes } from '../../domain/limits';

/**
 * Where a page of `listJobs` ended: the last job returned, in the list's order (createdAt, then job
 * id, both descending). A keyset position rather than a scan's LastEvaluatedKey: the scan visits
 * items in hash order, and the list is newest first.
 */
export interface JobCursor {
  readonly createdAt: string;
  readonly jobId: string;
}

/** Longer than any cursor this module makes (two bounded strings, base64url). */
const MAX_CURSOR_CHARS = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The cursor as callers see it: base64url of its JSON, opaque to them.
 *
 * @example encodeJobCursor({ createdAt: '2026-11-23T10:00:00.000Z', jobId: 'churn-1a2b' }) // 'eyJjcmVhdGVkQXQiOi...'
 */
export function encodeJobCursor(cursor: JobCursor): string {
  return Buffer.from(JSON.stringify({ createdAt: cursor.createdAt, jobId: cursor.jobId }), 'utf8').toString('base64url');
}

/** Reads a cursor back; anything this module did not make is a ValidationError naming `cursor`. */
export function decodeJobCursor(text: string): JobCursor {
  const refuse = (message: string, cause?: unknown): never => {
    const issue: FieldIssue = { path: 'cursor', message };
    throw new ValidationError('job list cursor', [issue], cause === undefined ? undefined : { cause });
  };
  if (text.length === 0 || text.length > MAX_CURSOR_CHARS || !BASE64URL.test(text)) refuse('is not a cursor from a previous page (not base64url)');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (error) {
    refuse('is not a cursor from a previous page (not JSON)', error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('is not a cursor from a previous page (not an object)');
  const { createdAt, jobId, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) refuse('is not a cursor from a previous page (unknown fields)');
  if (typeof createdAt !== 'string' || !ISO_TIME.test(createdAt)) refuse('is not a cursor from a previous page (createdAt)');
  if (typeof jobId !== 'string' || jobId.length === 0 || utf8Bytes(jobId) > ID_LIMITS.jobId) refuse('is not a cursor from a previous page (jobId)');
  return { createdAt: createdAt as string, jobId: jobId as string };
}
