import * as z from 'zod';
import { ProviderError, SpecValidationError, TunewireError } from '../domain/errors';
import type { JobObservation, ProviderJobRef } from '../domain/job';
import { parseSpec, type TuningSpec } from '../domain/spec';
import type { HttpRequest, HttpResponse } from '../edge/http-api';
import type { LocalProvider, LocalRunOptions } from '../adapters/local/local-provider';
import type { CreateJobRequest, CreateJobResult, TrialLogs, TrialPage, TuningProvider } from '../ports/provider';

// The local service's engine routes: the CLI asks the service to run, resume and stop local jobs,
// so that their trials outlive the command that started them. Served beside the HTTP API on the
// service's loopback port, behind the same guard (the state directory's token, Host and Origin).
//
//   POST /engine/jobs                  { request: { jobId, providerJobName, spec }, env } -> { ref, adopted }
//   POST /engine/jobs/{name}/resume    { env }                                            -> { resumed }
//   POST /engine/jobs/{name}/stop                                                         -> { stopping: true }
//
// `env` is the submitting command's environment: the trials get it, as they would have in that
// command. It is kept in memory for the run only, never written down.

/** The local engine a command talks to: this process's own, or the service's. */
export interface LocalEngine extends TuningProvider {
  /** True when this process runs the trials (and Ctrl-C ends them); false when the service does. */
  readonly runsHere: boolean;
  /** Resolves when this process's run of the job has ended; at once when the service runs it. */
  waitForJob(providerJobName: string): Promise<void>;
  resume(providerJobName: string, options?: LocalRunOptions): Promise<{ readonly resumed: boolean }>;
}

const ENV_LIMIT = 1_000;
const environment = z.record(z.string().max(32_768), z.string().max(131_072)).refine((env) => Object.keys(env).length <= ENV_LIMIT, {
  message: `must have at most ${ENV_LIMIT} variables`,
});
const jobName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
const createBody = z.object({
  request: z.object({ jobId: z.string().min(1).max(256), providerJobName: jobName, spec: z.unknown() }),
  env: environment,
});
const resumeBody = z.object({ env: environment });

const ROUTE = /^\/engine\/jobs(?:\/([^/?]+)\/(resume|stop))?(?:\?.*)?$/;

const json = (statusCode: number, value: unknown): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

/**
 * The engine routes over a LocalProvider: undefined for a path that is not theirs (the HTTP API's).
 *
 * @example
 *   const answer = await engineRoutes(provider)({ method: 'POST', path: '/engine/jobs/j-1/stop', headers: {} });
 */
export function engineRoutes(provider: LocalProvider): (req: HttpRequest) => Promise<HttpResponse | undefined> {
  return async (req) => {
    const match = ROUTE.exec(req.path);
    if (!match) return undefined;
    if (req.method.toUpperCase() !== 'POST') return json(405, { error: { code: 'REQUEST.METHOD', message: 'engine routes take POST' } });
    const [, name, action] = match;
    try {
      if (name === undefined) {
        const body = createBody.parse(parseJson(req.body));
        // the service trusts no body: the spec is checked as every submitted spec is
        const spec = parseSpec(body.request.spec);
        provider.validate(spec, { env: body.env });
        const result = await provider.create({ jobId: body.request.jobId, providerJobName: body.request.providerJobName, spec }, { env: body.env });
        return json(200, result);
      }
      const jobNameValue = jobName.parse(decodeURIComponent(name));
      if (action === 'resume') {
        const body = resumeBody.parse(parseJson(req.body));
        return json(200, await provider.resume(jobNameValue, { env: body.env }));
      }
      await provider.stop({ provider: 'local', providerJobName: jobNameValue });
      return json(200, { stopping: true });
    } catch (error) {
      return errorResponse(error);
    }
  };
}

function parseJson(body: string | undefined): unknown {
  try {
    return JSON.parse(body ?? '');
  } catch (error) {
    throw new SpecValidationError('body', [{ path: '(body)', message: 'must be JSON' }], { cause: error });
  }
}

function errorResponse(error: unknown): HttpResponse {
  if (error instanceof z.ZodError) {
    const issues = error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
    return json(400, { error: { code: 'SPEC.INVALID', message: 'the engine request is not valid', issues } });
  }
  if (error instanceof SpecValidationError) return json(400, { error: { code: error.code, message: error.message, issues: error.issues } });
  if (error instanceof ProviderError) {
    const status = error.code === 'PROVIDER.NOT_FOUND' ? 404 : error.retryable ? 503 : 409;
    return json(status, { error: { code: error.code, message: error.message, retryable: error.retryable } });
  }
  const message = error instanceof Error ? error.message : String(error);
  return json(500, { error: { code: error instanceof TunewireError ? error.code : 'INTERNAL', message, retryable: true } });
}

/** Where the service listens and the token its requests carry. */
export interface EngineAddress {
  readonly url: string;
  readonly token: string;
}

/**
 * The local provider as a command sees it when the service runs the engine: `create`, `resume`
 * and `stop` go to the service; everything that reads (describe, trials, the plan) reads the job's
 * state file through `reader`, a LocalProvider of the same work directory that runs nothing.
 */
export class ServiceLocalEngine implements LocalEngine {
  readonly name = 'local' as const;
  readonly eventsNeedConfirmation = false;
  readonly runsHere = false;

  constructor(
    private readonly reader: LocalProvider,
    private readonly service: EngineAddress,
    /** The environment the service gives this command's trials. */
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {}

  validate(spec: TuningSpec): void {
    this.reader.validate(spec);
  }

  render(spec: TuningSpec, job: { readonly jobId: string; readonly providerJobName: string }): unknown {
    return this.reader.render(spec, job);
  }

  providerJobName(jobId: string): string {
    return this.reader.providerJobName(jobId);
  }

  async create(request: CreateJobRequest): Promise<CreateJobResult> {
    const { jobId, providerJobName, spec } = request;
    return (await this.post('create', '/engine/jobs', { request: { jobId, providerJobName, spec }, env: definedEnv(this.env) })) as CreateJobResult;
  }

  async resume(providerJobName: string, options: LocalRunOptions = {}): Promise<{ readonly resumed: boolean }> {
    const env = definedEnv(options.env ?? this.env);
    return (await this.post('resume', `/engine/jobs/${encodeURIComponent(providerJobName)}/resume`, { env })) as { resumed: boolean };
  }

  async stop(ref: ProviderJobRef): Promise<void> {
    await this.post('stop', `/engine/jobs/${encodeURIComponent(ref.providerJobName)}/stop`, {});
  }

  describe(ref: ProviderJobRef): Promise<JobObservation> {
    return this.reader.describe(ref);
  }

  listTrials(ref: ProviderJobRef, cursor: string | undefined, spec: TuningSpec): Promise<TrialPage> {
    return this.reader.listTrials(ref, cursor, spec);
  }

  /** A trial's log is a file the engine writes under the state directory: read here, as the job's state is. */
  trialLogs(ref: ProviderJobRef, trialId: string): Promise<TrialLogs> {
    return this.reader.trialLogs(ref, trialId);
  }

  async waitForJob(): Promise<void> {
    // the service runs it: the caller follows the ledger
  }

  private async post(operation: string, path: string, body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.service.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.service.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new ProviderError('local', operation, `the tunewire service at ${this.service.url} did not answer: ${(error as Error).message}`, { retryable: true, cause: error });
    }
    const text = await response.text();
    let value: { error?: { code?: string; message?: string; retryable?: boolean; issues?: { path: string; message: string }[] } } = {};
    try {
      value = JSON.parse(text) as typeof value;
    } catch {
      // answered below from the status
    }
    if (response.ok) return value;
    const problem = value.error ?? {};
    if (response.status === 400 && problem.issues) throw new SpecValidationError('spec', problem.issues);
    // the service's message already says `local <operation> failed: `
    const message = problem.message?.replace(/^local \w+ failed: /, '') ?? `the tunewire service answered ${response.status}`;
    throw new ProviderError('local', operation, message, {
      retryable: problem.retryable ?? response.status >= 500,
      ...(problem.code ? { code: problem.code } : {}),
    });
  }
}

function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}
