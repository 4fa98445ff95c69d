import { randomUUID } from 'node:crypto';
import { JobNotFoundError, TunewireError, ValidationError } from '../domain/errors';
import { ID_LIMITS, idLengthIssue, utf8Bytes } from '../domain/limits';
import { parseSpecText } from '../domain/spec';
import type { Dependencies } from '../use-cases/dependencies';
import { stopJob } from '../use-cases/stop-job';
import { submitJob } from '../use-cases/submit-job';
import { trialLogs, UnknownTrialError } from '../use-cases/trial-logs';
import { decodePathSegment, shorten } from './http-input';
import { jobQueryFromSearch } from './job-query';
import { historyView, jobView, promotionsView, trialView } from './views';
import { handleTemplateRequest } from './template-api';
import type { TemplateDependencies } from '../use-cases/manage-templates';
import { addSubscription, removeSubscription, rotateSubscriptionSecret, subscriptionView } from '../use-cases/manage-webhooks';
import type { NotifyDependencies } from '../use-cases/notify';
import { SubscriptionNotFoundError } from '../ports/webhooks';
import { describeError } from '../observability/describe-error';

/** The API's dependencies: the use cases', plus the webhook store where this deployment has one. */
type ApiDependencies = Dependencies & { readonly webhooks?: NotifyDependencies };

function webhooksOf(deps: ApiDependencies): NotifyDependencies {
  if (!deps.webhooks) throw new WebhooksNotConfiguredError();
  return deps.webhooks;
}

class WebhooksNotConfiguredError extends TunewireError {
  readonly code = 'WEBHOOKS.NOT_CONFIGURED';
  readonly retryable = false;
  constructor() {
    super('webhook subscriptions are not configured in this deployment');
  }
}

export interface HttpRequest {
  readonly method: string;
  /** The raw (percent-encoded) path, with the query string after `?` when there is one. */
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  /** The transport's id of this request (API Gateway's requestId); one is made up when absent. */
  readonly requestId?: string;
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const MAX_BODY_BYTES = 256 * 1024;
/** API Gateway refuses longer request lines too; a longer path is no id we ever made. */
export const MAX_PATH_BYTES = 8 * 1024;

const json = (statusCode: number, value: unknown): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value, null, 2),
});

const problem = (statusCode: number, code: string, message: string, extra: Record<string, unknown> = {}) =>
  json(statusCode, { error: { code, message, ...extra } });

/** A path parameter: its name (for field errors) and its limit in UTF-8 bytes (it becomes a ledger key). */
type Param = { readonly name: string; readonly maxBytes: number };
const JOB_ID: Param = { name: 'jobId', maxBytes: ID_LIMITS.jobId };
const TRIAL_ID: Param = { name: 'trialId', maxBytes: ID_LIMITS.trialId };
const MODEL: Param = { name: 'model', maxBytes: ID_LIMITS.modelName };

type Route = {
  method: string;
  pattern: RegExp;
  params?: readonly Param[];
  run: (deps: ApiDependencies, req: HttpRequest, params: string[]) => Promise<HttpResponse>;
};


/** GET /jobs: at most this many jobs a page, 50 unless `limit` says otherwise. */
export const MAX_JOBS_PAGE = 200;
const JOBS_QUERY = { subject: 'request query', defaultLimit: 50, maxLimit: MAX_JOBS_PAGE } as const;

const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/jobs\/?$/,
    run: async (deps, req) => {
      const queryAt = req.path.indexOf('?');
      const query = jobQueryFromSearch(new URLSearchParams(queryAt < 0 ? '' : req.path.slice(queryAt + 1)), JOBS_QUERY);
      const { jobs, next } = await deps.ledger.listJobs(query);
      return json(200, { jobs: jobs.map(jobView), ...(next ? { next } : {}) });
    },
  },
  {
    method: 'POST',
    pattern: /^\/jobs\/?$/,
    run: async (deps, req) => {
      const idempotencyKey = req.headers['idempotency-key'];
      const keyIssue = idempotencyKey === undefined ? undefined : idLengthIssue('headers.idempotency-key', idempotencyKey, ID_LIMITS.idempotencyKey);
      if (keyIssue) throw new ValidationError('request', [keyIssue]);
      const spec = parseSpecText(req.body ?? '', 'request body');
      const { job, created } = await submitJob(deps, { spec, trigger: 'http', ...(idempotencyKey ? { idempotencyKey } : {}) });
      return json(created ? 202 : 200, jobView(job));
    },
  },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/]+)\/?$/,
    params: [JOB_ID],
    run: async (deps, _req, [jobId]) => {
      const job = await deps.ledger.getJob(jobId as string);
      if (!job) throw new JobNotFoundError(jobId as string);
      return json(200, jobView(job));
    },
  },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/]+)\/trials\/?$/,
    params: [JOB_ID],
    run: async (deps, _req, [jobId]) => {
      const job = await deps.ledger.getJob(jobId as string);
      if (!job) throw new JobNotFoundError(jobId as string);
      const trials = await deps.ledger.listTrials(job.jobId);
      return json(200, { jobId: job.jobId, trials: trials.map(trialView) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/]+)\/spec\/?$/,
    params: [JOB_ID],
    run: async (deps, _req, [jobId]) => {
      const job = await deps.ledger.getJob(jobId as string);
      if (!job) throw new JobNotFoundError(jobId as string);
      return json(200, { jobId: job.jobId, spec: job.spec });
    },
  },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/]+)\/history\/?$/,
    params: [JOB_ID],
    run: async (deps, _req, [jobId]) => {
      const job = await deps.ledger.getJob(jobId as string);
      if (!job) throw new JobNotFoundError(jobId as string);
      return json(200, { jobId: job.jobId, history: historyView(await deps.ledger.listHistory(job.jobId)) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/]+)\/trials\/([^/]+)\/logs\/?$/,
    params: [JOB_ID, TRIAL_ID],
    run: async (deps, _req, [jobId, trialId]) => json(200, await trialLogs(deps, jobId as string, trialId as string)),
  },
  {
    method: 'POST',
    pattern: /^\/jobs\/([^/]+)\/stop\/?$/,
    params: [JOB_ID],
    run: async (deps, _req, [jobId]) => {
      const { job, requested } = await stopJob(deps, jobId as string);
      return json(requested ? 202 : 200, { ...jobView(job), stopRequested: requested });
    },
  },
  {
    method: 'POST',
    pattern: /^\/subscriptions\/?$/,
    run: async (deps, req) => {
      let body: unknown;
      try {
        body = JSON.parse(req.body ?? '');
      } catch {
        return problem(400, 'REQUEST.INVALID_JSON', 'the body must be JSON: { url, events?, secret? }');
      }
      // the only response that carries the secret
      return json(201, await addSubscription(webhooksOf(deps), body));
    },
  },
  {
    method: 'GET',
    pattern: /^\/subscriptions\/?$/,
    run: async (deps) => json(200, (await webhooksOf(deps).store.listSubscriptions()).map(subscriptionView)),
  },
  {
    method: 'POST',
    pattern: /^\/subscriptions\/([^/]+)\/rotate\/?$/,
    params: [{ name: 'subscriptionId', maxBytes: ID_LIMITS.subscriptionId }],
    run: async (deps, req, [id]) => {
      let body: unknown = {};
      try {
        if (req.body) body = JSON.parse(req.body);
      } catch {
        return problem(400, 'REQUEST.INVALID_JSON', 'the body must be JSON: { secret?, graceMs? }');
      }
      try {
        // the only response that carries the new secret
        return json(200, await rotateSubscriptionSecret(webhooksOf(deps), id as string, body));
      } catch (error) {
        if (error instanceof SubscriptionNotFoundError) return problem(404, error.code, error.message);
        throw error;
      }
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/subscriptions\/([^/]+)\/?$/,
    params: [{ name: 'subscriptionId', maxBytes: ID_LIMITS.subscriptionId }],
    run: async (deps, _req, [id]) => {
      try {
        await removeSubscription(webhooksOf(deps), id as string);
      } catch (error) {
        if (error instanceof SubscriptionNotFoundError) return problem(404, error.code, error.message);
        throw error;
      }
      return { statusCode: 204, headers: {}, body: '' };
    },
  },
  {
    method: 'GET',
    pattern: /^\/models\/([^/]+)\/?$/,
    params: [MODEL],
    run: async (deps, _req, [model]) => {
      const [champion, promotions] = await Promise.all([deps.ledger.getChampion(model as string), deps.ledger.listPromotions(model as string)]);
      // Models are named by specs, not created: one no job has been judged for yet (its first job
      // still running) simply has no champion and no decisions.
      return json(200, { model, champion: champion ?? null, promotions: promotionsView(promotions) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/models\/([^/]+)\/champion\/?$/,
    params: [MODEL],
    run: async (deps, _req, [model]) => {
      const champion = await deps.ledger.getChampion(model as string);
      if (!champion) return problem(404, 'MODEL.NO_CHAMPION', `model ${model} has no champion yet`);
      return json(200, champion);
    },
  },
];

/**
 * The HTTP API, transport-neutral: API Gateway (functions/submit) and `tunewire dev` both adapt
 * their requests to this. Bad input is a 400 naming the fields and writes nothing. Any other
 * failure is a 500 that says only that the request failed and gives the request id; what failed
 * goes to the log under that id (a DynamoDB message is for operators, not callers).
 */
export const bodyTooLarge = (): HttpResponse => problem(413, 'REQUEST.TOO_LARGE', `the body must be at most ${MAX_BODY_BYTES} bytes`);

export interface HttpApiOptions {
  /** Where an unexpected failure is logged, one structured entry per failure; default a JSON line on stderr. */
  readonly log?: (entry: Record<string, unknown>) => void;
}

export async function handleHttpRequest(deps: ApiDependencies, req: HttpRequest, options: HttpApiOptions = {}): Promise<HttpResponse> {
  try {
    return await answer(deps, req);
  } catch (error) {
    const requestId = req.requestId ?? randomUUID();
    (options.log ?? logToStderr)({ level: 'error', requestId, method: shorten(req.method, 16), path: shorten(req.path), error: describeError(error) });
    return {
      statusCode: 500,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ error: { code: 'INTERNAL', message: `the request failed; the log has the details under request id ${requestId}`, requestId } }, null, 2),
    };
  }
}

async function answer(deps: ApiDependencies, req: HttpRequest): Promise<HttpResponse> {
  if (req.body && Buffer.byteLength(req.body) > MAX_BODY_BYTES) return bodyTooLarge();
  if (utf8Bytes(req.path) > MAX_PATH_BYTES) return problem(414, 'REQUEST.URI_TOO_LONG', `the path must be at most ${MAX_PATH_BYTES} bytes`);
  // templates and inbound webhooks, where this deployment keeps templates
  if ('templates' in deps) {
    const answered = await handleTemplateRequest(deps as TemplateDependencies, req);
    if (answered) return answered;
  }
  const pathOnly = req.path.split('?')[0] ?? '/';
  const candidates = routes.filter((r) => r.pattern.test(pathOnly));
  const route = candidates.find((r) => r.method === req.method.toUpperCase());
  if (!route) {
    return candidates.length
      ? problem(405, 'REQUEST.METHOD_NOT_ALLOWED', `${shorten(req.method, 16)} is not allowed on ${shorten(pathOnly)}`)
      : problem(404, 'REQUEST.NOT_FOUND', `no route for ${shorten(req.method, 16)} ${shorten(pathOnly)}`);
  }
  try {
    const raw = (pathOnly.match(route.pattern) ?? []).slice(1);
    const params = raw.map((segment, i) => {
      const param = route.params?.[i];
      return decodePathSegment(segment, param?.name ?? `path[${i}]`, param?.maxBytes);
    });
    return await route.run(deps, req, params);
  } catch (error) {
    if (error instanceof ValidationError) return problem(400, error.code, error.message, { issues: error.issues });
    if (error instanceof JobNotFoundError || error instanceof UnknownTrialError) return problem(404, error.code, error.message);
    if (error instanceof TunewireError && !error.retryable) return problem(422, error.code, error.message);
    throw error;
  }
}

function logToStderr(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify(entry)}\n`);
}
