import type { GoogleAuth } from 'google-auth-library';
import { createRequire } from 'node:module';

// google-auth-library and its HTTP stack are a quarter of a function bundle: loaded only where
// ML Engine is called with Google credentials, never for the local fake or on AWS.
const requireLazily = createRequire(import.meta.url);
import { ProviderError } from '../../domain/errors';
import type { MlEngineJob, MlEngineListJobsResponse } from './mlengine-request';

export const MLENGINE_DEFAULT_BASE_URL = 'https://ml.googleapis.com/v1';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * What the client needs from credentials: an `AuthClient` (OAuth2Client, JWT, Compute,
 * ExternalAccountClient…) or a `GoogleAuth` from google-auth-library both fit.
 */
export interface RequestHeadersSource {
  getRequestHeaders(url?: string | URL): Promise<Headers>;
}

export interface MlEngineClientOptions {
  /** Default `https://ml.googleapis.com/v1`; a local fake's `http://127.0.0.1:N/v1`. The composition root reads it from config. */
  readonly baseUrl?: string;
  /**
   * Credentials: left out, Application Default Credentials with the cloud-platform scope
   * (`new GoogleAuth({ scopes })`, nothing fetched until the first call); an `AuthClient` or
   * `GoogleAuth` of your own; or `'none'` to send no credentials (the local fake).
   */
  readonly auth?: RequestHeadersSource | 'none';
  /** Per request; default 30 s. */
  readonly timeoutMs?: number;
  /** Default the global fetch (Node 20). */
  readonly fetch?: typeof globalThis.fetch;
}

export interface ListJobsOptions {
  /** e.g. `labels.tunewire-job-id=census-4k2m AND state=RUNNING` */
  readonly filter?: string;
  /** The service's default is 20, its maximum 100. */
  readonly pageSize?: number;
  readonly pageToken?: string;
}

/** An ML Engine API error: the HTTP status and the google.rpc status word, with `retryable` judged from them. */
export class MlEngineApiError extends ProviderError {
  constructor(
    operation: string,
    message: string,
    readonly httpStatus: number,
    readonly rpcStatus: string | undefined,
    options: { retryable: boolean; code: string; cause?: unknown },
  ) {
    super('mlengine', operation, message, options);
  }
}

/** 404 NOT_FOUND. */
export class MlEngineNotFoundError extends MlEngineApiError {}
/** 409 ALREADY_EXISTS on create: the job id is taken. */
export class MlEngineAlreadyExistsError extends MlEngineApiError {}
/**
 * 409 ABORTED on patch: the etag sent is not the job's. Not retryable as it is (the same etag
 * fails again); read the job again and apply the change to what it says now.
 */
export class MlEngineEtagMismatchError extends MlEngineApiError {}

interface GoogleErrorBody {
  error?: { code?: number; message?: string; status?: string };
}

/**
 * Maps a failed response to a typed error. 429 and 5xx are retryable, as is ABORTED outside a
 * patch (a concurrency conflict the service asks to retry); everything else is terminal.
 */
export function mlEngineErrorFrom(operation: string, httpStatus: number, bodyText: string): MlEngineApiError {
  let parsed: GoogleErrorBody = {};
  try {
    parsed = JSON.parse(bodyText) as GoogleErrorBody;
  } catch {
    // not JSON (a proxy's page): the HTTP status decides
  }
  const rpc = parsed.error?.status;
  const detail = parsed.error?.message ?? (bodyText.slice(0, 200) || `HTTP ${httpStatus}`);
  const message = `${httpStatus}${rpc ? ` ${rpc}` : ''}: ${detail}`;
  const make = (Type: typeof MlEngineApiError, retryable: boolean, code: string) => new Type(operation, message, httpStatus, rpc, { retryable, code });

  if (httpStatus === 404 || rpc === 'NOT_FOUND') return make(MlEngineNotFoundError, false, 'PROVIDER.NOT_FOUND');
  if (rpc === 'ALREADY_EXISTS' || (httpStatus === 409 && rpc === undefined && operation === 'create')) {
    return make(MlEngineAlreadyExistsError, false, 'PROVIDER.ALREADY_EXISTS');
  }
  if (operation === 'patch' && (rpc === 'ABORTED' || httpStatus === 409)) return make(MlEngineEtagMismatchError, false, 'PROVIDER.ETAG_MISMATCH');
  if (httpStatus === 429 || rpc === 'RESOURCE_EXHAUSTED') return make(MlEngineApiError, true, 'PROVIDER.THROTTLED');
  if (httpStatus >= 500 || httpStatus === 408 || rpc === 'UNAVAILABLE' || rpc === 'INTERNAL' || rpc === 'DEADLINE_EXCEEDED') {
    return make(MlEngineApiError, true, 'PROVIDER.UNAVAILABLE');
  }
  if (rpc === 'ABORTED' || httpStatus === 409) return make(MlEngineApiError, true, 'PROVIDER.CONFLICT');
  if (httpStatus === 401 || httpStatus === 403) return make(MlEngineApiError, false, 'PROVIDER.PERMISSION_DENIED');
  if (rpc === 'FAILED_PRECONDITION') return make(MlEngineApiError, false, 'PROVIDER.FAILED_PRECONDITION');
  return make(MlEngineApiError, false, 'PROVIDER.INVALID_REQUEST');
}

const JOB_NAME = /^projects\/[^/]+\/jobs\/[^/]+$/;
const PROJECT = /^[^/]+$/;

/**
 * A small typed REST client for the ML Engine v1 `projects.jobs` methods tunewire uses. Each
 * call is one HTTP request (no retries of its own: the transport retries a retryable error).
 *
 * @example
 *   const client = new MlEngineClient();                                   // ADC, ml.googleapis.com
 *   const fake = new MlEngineClient({ baseUrl: 'http://127.0.0.1:4601/v1', auth: 'none' });
 *   const job = await client.create('my-project', body);
 *   const { jobs, nextPageToken } = await client.list('my-project', { filter: 'state=RUNNING' });
 *   const current = await client.get(`projects/my-project/jobs/${job.jobId}`);
 *   await client.patch(`projects/my-project/jobs/${job.jobId}`, { labels: { ...current.labels, team: 'growth' } }, current.etag);
 */
export class MlEngineClient {
  readonly baseUrl: string;
  private readonly auth: RequestHeadersSource | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof globalThis.fetch;

  constructor(options: MlEngineClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? MLENGINE_DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.auth = options.auth === 'none' ? undefined : (options.auth ?? defaultAuth());
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  /** projects.jobs.create: POST /projects/{project}/jobs. */
  create(project: string, job: MlEngineJob): Promise<MlEngineJob> {
    return this.call<MlEngineJob>('create', 'POST', `projects/${checkProject(project)}/jobs`, { body: job });
  }

  /** projects.jobs.get: GET /{name}, name `projects/{project}/jobs/{jobId}`. */
  get(name: string): Promise<MlEngineJob> {
    return this.call<MlEngineJob>('get', 'GET', checkName(name));
  }

  /** projects.jobs.list: one page. An empty result is `{}` on the wire; here `jobs` is then `[]`. */
  async list(project: string, options: ListJobsOptions = {}): Promise<{ jobs: MlEngineJob[]; nextPageToken?: string }> {
    const query: Record<string, string> = {};
    if (options.filter) query['filter'] = options.filter;
    if (options.pageSize !== undefined) query['pageSize'] = String(options.pageSize);
    if (options.pageToken) query['pageToken'] = options.pageToken;
    const page = await this.call<MlEngineListJobsResponse>('list', 'GET', `projects/${checkProject(project)}/jobs`, { query });
    return { jobs: page.jobs ?? [], ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
  }

  /** Every page of `list`, as one sequence. */
  async *listAll(project: string, options: Omit<ListJobsOptions, 'pageToken'> = {}): AsyncGenerator<MlEngineJob> {
    let pageToken: string | undefined;
    do {
      const page = await this.list(project, { ...options, ...(pageToken ? { pageToken } : {}) });
      yield* page.jobs;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** projects.jobs.cancel: POST /{name}:cancel. */
  async cancel(name: string): Promise<void> {
    await this.call<unknown>('cancel', 'POST', `${checkName(name)}:cancel`, { body: {} });
  }

  /**
   * projects.jobs.patch: replaces the job's labels (the only field the API updates). With an etag
   * the update applies only to that version of the job (updateMask `labels,etag`); a stale etag
   * throws `MlEngineEtagMismatchError`.
   */
  patch(name: string, update: { readonly labels: Readonly<Record<string, string>> }, etag?: string): Promise<MlEngineJob> {
    const body = { labels: { ...update.labels }, ...(etag ? { etag } : {}) };
    return this.call<MlEngineJob>('patch', 'PATCH', checkName(name), { query: { updateMask: etag ? 'labels,etag' : 'labels' }, body });
  }

  private async call<T>(operation: string, method: string, path: string, request: { query?: Record<string, string>; body?: unknown } = {}): Promise<T> {
    const url = new URL(`${this.baseUrl}/${path}`);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
    const headers = new Headers({ accept: 'application/json' });
    if (request.body !== undefined) headers.set('content-type', 'application/json');
    if (this.auth) {
      let credentials: Headers;
      try {
        credentials = await this.auth.getRequestHeaders(url);
      } catch (error) {
        throw new ProviderError('mlengine', operation, `no credentials for ${url.origin}: ${(error as Error).message}`, {
          retryable: false,
          code: 'PROVIDER.AUTH_FAILED',
          cause: error,
        });
      }
      credentials.forEach((value, key) => headers.set(key, value));
    }

    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ProviderError('mlengine', operation, `${method} ${url.pathname} did not complete: ${(error as Error).message}`, {
        retryable: true,
        code: 'PROVIDER.UNREACHABLE',
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok) throw mlEngineErrorFrom(operation, response.status, text);
    if (!text) return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new ProviderError('mlengine', operation, `response is not JSON: ${text.slice(0, 200)}`, { retryable: false, code: 'PROVIDER.BAD_RESPONSE', cause: error });
    }
  }
}

function checkName(name: string): string {
  if (!JOB_NAME.test(name)) {
    throw new ProviderError('mlengine', 'request', `"${name}" is not a job name (projects/<project>/jobs/<jobId>)`, { retryable: false, code: 'PROVIDER.BAD_JOB_NAME' });
  }
  return name;
}

function checkProject(project: string): string {
  if (!PROJECT.test(project)) {
    throw new ProviderError('mlengine', 'request', `"${project}" is not a project id`, { retryable: false, code: 'PROVIDER.BAD_PROJECT' });
  }
  return project;
}

/** Application Default Credentials; nothing is fetched until the first call. */
function defaultAuth(): GoogleAuth {
  const library = requireLazily('google-auth-library') as typeof import('google-auth-library');
  return new library.GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
}
