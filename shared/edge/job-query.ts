import { ValidationError, type FieldIssue } from '../domain/errors';
import { PROVIDERS } from '../domain/spec';
import { JOB_STATUSES } from '../domain/status';
import type { JobQuery } from '../ports/ledger';

/** The raw filters of a job list, as a query string or CLI options give them. */
export interface RawJobQuery {
  readonly status?: string | undefined;
  readonly provider?: string | undefined;
  readonly name?: string | undefined;
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
}

export interface JobQueryRules {
  /** Names the input in the error (`request query`, `options`). */
  readonly subject: string;
  /** How a parameter is named in a field issue: `status` for a query string, `--status` for the CLI. */
  readonly label?: (parameter: keyof RawJobQuery) => string;
  readonly defaultLimit: number;
  readonly maxLimit: number;
}

/** A name filter longer than this matches no name a spec allows. */
const MAX_NAME_FILTER = 256;
const WHOLE_NUMBER = /^[0-9]+$/;

/**
 * The job-list filters, parsed at the edge: every bad value is one issue naming its parameter,
 * all of them in one ValidationError. The cursor stays opaque here; the ledger reads it.
 *
 * @example parseJobQuery({ status: 'failed', limit: '20' }, { subject: 'request query', defaultLimit: 50, maxLimit: 200 })
 *   // { status: 'failed', limit: 20 }
 */
export function parseJobQuery(raw: RawJobQuery, rules: JobQueryRules): JobQuery {
  const label = rules.label ?? ((p) => p);
  const issues: FieldIssue[] = [];
  const status = raw.status === undefined ? undefined : oneOf(raw.status, JOB_STATUSES);
  if (raw.status !== undefined && !status) issues.push({ path: label('status'), message: `must be one of ${JOB_STATUSES.join(', ')}` });
  const provider = raw.provider === undefined ? undefined : oneOf(raw.provider, PROVIDERS);
  if (raw.provider !== undefined && !provider) issues.push({ path: label('provider'), message: `must be one of ${PROVIDERS.join(', ')}` });
  if (raw.name !== undefined && (raw.name.length === 0 || raw.name.length > MAX_NAME_FILTER)) {
    issues.push({ path: label('name'), message: `must be 1 to ${MAX_NAME_FILTER} characters` });
  }
  const limit = raw.limit === undefined ? rules.defaultLimit : WHOLE_NUMBER.test(raw.limit) ? Number(raw.limit) : Number.NaN;
  if (!(limit >= 1 && limit <= rules.maxLimit)) issues.push({ path: label('limit'), message: `must be a whole number from 1 to ${rules.maxLimit}` });
  if (raw.cursor !== undefined && raw.cursor.length === 0) issues.push({ path: label('cursor'), message: 'must be the next of a previous page' });
  if (issues.length) throw new ValidationError(rules.subject, issues);
  return {
    ...(status ? { status } : {}),
    ...(provider ? { provider } : {}),
    ...(raw.name !== undefined ? { nameContains: raw.name } : {}),
    limit,
    ...(raw.cursor !== undefined ? { cursor: raw.cursor } : {}),
  };
}

/**
 * The filters from a query string. A parameter given twice is refused rather than one of its
 * values picked silently.
 */
export function jobQueryFromSearch(search: URLSearchParams, rules: JobQueryRules): JobQuery {
  const raw: Record<string, string> = {};
  const issues: FieldIssue[] = [];
  for (const key of ['status', 'provider', 'name', 'limit', 'cursor'] as const) {
    const values = search.getAll(key);
    if (values.length > 1) issues.push({ path: key, message: 'must be given once' });
    else if (values[0] !== undefined) raw[key] = values[0];
  }
  if (issues.length) throw new ValidationError(rules.subject, issues);
  return parseJobQuery(raw, rules);
}

function oneOf<T extends string>(value: string, allowed: readonly T[]): T | undefined {
  return (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}
