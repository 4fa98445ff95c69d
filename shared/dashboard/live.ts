import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError, type FieldIssue } from '../domain/errors';
import { ID_LIMITS, utf8Bytes } from '../domain/limits';
import type { Ledger } from '../ports/ledger';

/** What an open page watches: the job list, one job (its record, history and trials), or one model. */
export type LiveTopic = { readonly kind: 'jobs' } | { readonly kind: 'job'; readonly jobId: string } | { readonly kind: 'model'; readonly model: string };

/** How often the ledger is read for an open stream: a change reaches the page well within a second. */
export const LIVE_POLL_MS = 300;
/** A comment line this often keeps proxies and the browser from timing out a quiet stream. */
export const LIVE_HEARTBEAT_MS = 15_000;
/** The job list an open page sees: the newest this many. */
const WATCHED_JOBS = 200;

/**
 * The topic of `GET /events?job=<id>` or `?model=<name>`; neither is the job list. Bad input is a
 * ValidationError naming the parameter, as everywhere else in the API.
 *
 * @example topicFromSearch(new URLSearchParams('job=iris-20261130-ab12')) // { kind: 'job', jobId: 'iris-20261130-ab12' }
 */
export function topicFromSearch(search: URLSearchParams): LiveTopic {
  const issues: FieldIssue[] = [];
  const one = (key: string, maxBytes: number): string | undefined => {
    const values = search.getAll(key);
    if (values.length > 1) issues.push({ path: key, message: 'must be given once' });
    const value = values[0];
    if (value !== undefined && (value.length === 0 || utf8Bytes(value) > maxBytes)) issues.push({ path: key, message: `must be 1 to ${maxBytes} bytes` });
    return value;
  };
  const jobId = one('job', ID_LIMITS.jobId);
  const model = one('model', ID_LIMITS.modelName);
  if (jobId !== undefined && model !== undefined) issues.push({ path: 'model', message: 'give job or model, not both' });
  if (issues.length) throw new ValidationError('request query', issues);
  if (jobId !== undefined) return { kind: 'job', jobId };
  if (model !== undefined) return { kind: 'model', model };
  return { kind: 'jobs' };
}

/**
 * A digest of what the ledger holds for the topic: it differs exactly when something a page shows
 * for the topic has changed. The page then reads the API again, so the stream carries no data.
 */
export async function topicDigest(ledger: Ledger, topic: LiveTopic): Promise<string> {
  const state =
    topic.kind === 'jobs'
      ? (await ledger.listJobs({ limit: WATCHED_JOBS })).jobs
      : topic.kind === 'job'
        ? await Promise.all([ledger.getJob(topic.jobId), ledger.listTrials(topic.jobId), ledger.listHistory(topic.jobId)])
        : await Promise.all([ledger.getChampion(topic.model), ledger.listPromotions(topic.model)]);
  return createHash('sha256').update(JSON.stringify(state ?? null)).digest('base64url');
}

export interface LiveStreamOptions {
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
  /** Where a failed read is reported; the stream goes on and reads again. */
  readonly log?: (line: string) => void;
}

/**
 * Serves `GET /events` as server-sent events until the client goes away or `signal` aborts:
 * `event: ready` once, then `event: change` each time the topic's digest differs, each with
 * `data: {"topic":…,"at":…}`. The ledger is read every `pollMs`; a failing read is logged and
 * retried, and the stream says so once with `event: error`.
 *
 * @example
 *   // in the server, after the request passed the guard
 *   await streamChanges(ledger, topicFromSearch(url.searchParams), res, { signal });
 */
export async function streamChanges(ledger: Ledger, topic: LiveTopic, res: ServerResponse, options: LiveStreamOptions & { readonly signal: AbortSignal }): Promise<void> {
  const pollMs = options.pollMs ?? LIVE_POLL_MS;
  const heartbeatMs = options.heartbeatMs ?? LIVE_HEARTBEAT_MS;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // no buffering on the way (nginx and the like)
    'x-accel-buffering': 'no',
  });
  const send = (event: string) => res.write(`event: ${event}\ndata: ${JSON.stringify({ topic, at: new Date().toISOString() })}\n\n`);
  let last: string | undefined;
  let failing = false;
  let quietSince = Date.now();
  while (!options.signal.aborted && !res.destroyed) {
    try {
      const digest = await topicDigest(ledger, topic);
      if (last === undefined) send('ready');
      else if (digest !== last) send('change');
      if (digest !== last) quietSince = Date.now();
      last = digest;
      failing = false;
    } catch (error) {
      if (!failing) {
        options.log?.(`live updates: reading the ledger failed: ${error instanceof Error ? error.message : String(error)}`);
        send('error');
      }
      failing = true;
    }
    if (Date.now() - quietSince >= heartbeatMs) {
      res.write(': still here\n\n');
      quietSince = Date.now();
    }
    await sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
  res.end();
}
