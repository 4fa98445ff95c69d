import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  MlEngineHyperparameterOutput,
  MlEngineJob,
  MlEngineJobState,
  MlEngineParameterSpecBody,
} from '../../shared/adapters/mlengine/mlengine-request';

/** One API request as it came over the wire (control requests are not recorded). */
export interface RecordedMlEngineCall {
  readonly method: string;
  /** The path below the base URL, e.g. `/projects/p/jobs/j:cancel`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly authorization: string | undefined;
  /** The HTTP status the fake answered with. */
  readonly status: number;
}

export interface FakeMlEngineOptions {
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** The fake's clock for createTime/startTime/endTime; default the system clock. */
  readonly now?: () => Date;
  /** Start with autopilot on (see `autopilot`). */
  readonly autopilot?: boolean | { readonly intervalMs: number };
  /** The order `trainingOutput.trials` is served in; default `added` (see `FakeTrialOrder`). */
  readonly trialOrder?: FakeTrialOrder;
}

/**
 * How the fake lists a job's trials. The reference gives `trainingOutput.trials` no order, so a
 * caller may rely on none: `added` (the order the trials were added or generated in), `id` (trial
 * ids ascending, numerically when numeric), `objective` (best `finalMetric` first for the job's
 * goal, trials without one last; equals keep their added order).
 */
export type FakeTrialOrder = 'added' | 'id' | 'objective';
const TRIAL_ORDERS: readonly FakeTrialOrder[] = ['added', 'id', 'objective'];

const TERMINAL: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const JOB_ID = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

interface StoredJob {
  readonly project: string;
  readonly seq: number;
  job: MlEngineJob;
  version: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly rpc: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A wire-level Cloud ML Engine v1 `projects.jobs` over REST on 127.0.0.1: create (409
 * ALREADY_EXISTS for a taken id), get (404), list (filter on `labels.<key>`, `state`, `jobId`
 * with `=` or `:` and `AND`, `pageSize` up to 100 and `nextPageToken`), cancel (400
 * FAILED_PRECONDITION once finished) and patch (labels only; 409 ABORTED on a stale etag).
 * Every API request is recorded. Tests drive jobs with `setState`, `addTrial` and `advance`, or
 * let `autopilot` run them; `throttle` answers the next requests with 429.
 *
 * The same controls are served over HTTP under `/_fake/` for a fake in another process
 * (`test/support/fake-mlengine-main.ts`): GET calls, POST jobs/{project}/{jobId}/state
 * `{state, errorMessage?}`, POST jobs/{project}/{jobId}/trials `{trial}`, POST advance
 * `{name?}`, POST autopilot `{on, intervalMs?}`, POST throttle `{times}`, POST trial-order
 * `{order}`, POST reset.
 */
export class FakeMlEngine {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly recorded: RecordedMlEngineCall[] = [];
  private readonly now: () => Date;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private throttled = 0;
  private failures: { status: number; rpc: string; remaining: number }[] = [];
  private nextSeq = 1;
  private trialOrder: FakeTrialOrder;
  /** `http://127.0.0.1:N` once started. */
  endpoint = '';

  constructor(private readonly options: FakeMlEngineOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.trialOrder = options.trialOrder ?? 'added';
  }

  /** The base URL a client is given: `<endpoint>/v1`. */
  get baseUrl(): string {
    return `${this.endpoint}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port ?? 0, host, resolve);
    });
    const { port } = this.server.address() as AddressInfo;
    this.endpoint = `http://${host}:${port}`;
    const auto = this.options.autopilot;
    if (auto) this.autopilot(true, typeof auto === 'object' ? auto.intervalMs : undefined);
    return this;
  }

  async stop(): Promise<void> {
    this.autopilot(false);
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  /** Forgets jobs, calls, failures and the trial order set since start; autopilot stays as it is. */
  reset(): void {
    this.jobs.clear();
    this.recorded.length = 0;
    this.throttled = 0;
    this.failures = [];
    this.trialOrder = this.options.trialOrder ?? 'added';
  }

  /** From now on `get`, `list` and `job` serve every job's trials in this order. */
  setTrialOrder(order: FakeTrialOrder): void {
    if (!TRIAL_ORDERS.includes(order)) throw new Error(`trial order must be one of ${TRIAL_ORDERS.join(', ')}, not ${JSON.stringify(order)}`);
    this.trialOrder = order;
  }

  /** API requests so far, optionally only one method's (`POST`, `GET`, `PATCH`). */
  calls(method?: string): RecordedMlEngineCall[] {
    return this.recorded.filter((c) => method === undefined || c.method === method);
  }

  /** A copy of the job as `get` would return it. */
  job(name: string): MlEngineJob {
    return this.served(this.stored(name).job);
  }

  /** The next `times` API requests get 429 RESOURCE_EXHAUSTED. */
  throttle(times: number): void {
    this.throttled += times;
  }

  /** The next `times` API requests get `status` with the google.rpc `rpc` word (e.g. 503 UNAVAILABLE). */
  failNext(times: number, status: number, rpc: string): void {
    this.failures.push({ status, rpc, remaining: times });
  }

  /** Puts the job in `state`, stamping start and end times as the service would. */
  setState(name: string, state: MlEngineJobState, errorMessage?: string): MlEngineJob {
    const stored = this.stored(name);
    const at = this.now().toISOString();
    const job = stored.job;
    job.state = state;
    if (state === 'RUNNING' || TERMINAL.has(state)) job.startTime ??= at;
    if (TERMINAL.has(state)) job.endTime ??= at;
    if (errorMessage !== undefined) job.errorMessage = errorMessage;
    this.touch(stored);
    return structuredClone(job);
  }

  /**
   * Adds (or replaces, by trialId) a trial in `trainingOutput.trials`. `completedTrialCount`
   * counts trials without a state or with SUCCEEDED, as the service counts successful ones.
   */
  addTrial(name: string, trial: MlEngineHyperparameterOutput): MlEngineJob {
    const stored = this.stored(name);
    const output = (stored.job.trainingOutput ??= this.tuningOutput(stored.job));
    const trials = (output.trials ??= []);
    const at = trials.findIndex((t) => t.trialId === trial.trialId);
    if (at >= 0) trials[at] = structuredClone(trial);
    else trials.push(structuredClone(trial));
    output.completedTrialCount = String(trials.filter((t) => t.state === undefined || t.state === 'SUCCEEDED').length);
    this.touch(stored);
    return structuredClone(stored.job);
  }

  /**
   * One step of the service for one job, or for every unfinished job: QUEUED → PREPARING →
   * RUNNING; while running, one more successful trial per step (values drawn from the job's
   * params, objective from a hash of job and trial, every fourth trial stopped early when early
   * stopping is on) until maxTrials; then SUCCEEDED. CANCELLING → CANCELLED.
   */
  advance(name?: string): void {
    const targets = name ? [this.stored(name)] : [...this.jobs.values()].filter((s) => !TERMINAL.has(s.job.state ?? ''));
    for (const stored of targets) this.step(stored);
  }

  /** Advances every unfinished job each `intervalMs` (default 200) while on. */
  autopilot(on: boolean, intervalMs = 200): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (on) {
      this.timer = setInterval(() => this.advance(), intervalMs);
      this.timer.unref();
    }
  }

  // ---- the service --------------------------------------------------------------------------

  private stored(name: string): StoredJob {
    const stored = this.jobs.get(name);
    if (!stored) throw new Error(`fake ML Engine has no job ${name}`);
    return stored;
  }

  /** A copy of the job as the API answers with it: its trials in the current `trialOrder`. */
  private served(job: MlEngineJob): MlEngineJob {
    const copy = structuredClone(job);
    const trials = copy.trainingOutput?.trials;
    if (trials && this.trialOrder !== 'added') trials.sort(trialComparator(this.trialOrder, copy));
    return copy;
  }

  private touch(stored: StoredJob): void {
    stored.version += 1;
    stored.job.etag = createHash('sha1').update(`${stored.project}/${stored.job.jobId}#${stored.version}`).digest('base64');
  }

  private tuningOutput(job: MlEngineJob): NonNullable<MlEngineJob['trainingOutput']> {
    return {
      isHyperparameterTuningJob: true,
      ...(job.trainingInput?.hyperparameters?.hyperparameterMetricTag ? { hyperparameterMetricTag: job.trainingInput.hyperparameters.hyperparameterMetricTag } : {}),
    };
  }

  private step(stored: StoredJob): void {
    const name = `projects/${stored.project}/jobs/${stored.job.jobId}`;
    switch (stored.job.state) {
      case 'QUEUED':
        this.setState(name, 'PREPARING');
        return;
      case 'PREPARING':
        this.setState(name, 'RUNNING');
        return;
      case 'RUNNING': {
        const spec = stored.job.trainingInput?.hyperparameters;
        const done = stored.job.trainingOutput?.trials?.length ?? 0;
        if (spec && done < (spec.maxTrials ?? 1)) this.addTrial(name, this.generatedTrial(stored.job, done + 1));
        else this.setState(name, 'SUCCEEDED');
        return;
      }
      case 'CANCELLING':
        this.setState(name, 'CANCELLED', stored.job.errorMessage ?? 'Job was cancelled.');
        return;
      default:
        return;
    }
  }

  private generatedTrial(job: MlEngineJob, n: number): MlEngineHyperparameterOutput {
    const spec = job.trainingInput?.hyperparameters;
    const draw = (salt: string) => createHash('sha256').update(`${job.jobId}/${n}/${salt}`).digest().readUInt32BE(0) / 0xffffffff;
    const hyperparameters = Object.fromEntries((spec?.params ?? []).map((p) => [p.parameterName, drawValue(p, draw(p.parameterName))]));
    return {
      trialId: String(n),
      hyperparameters,
      finalMetric: { trainingStep: String(100 * n), objectiveValue: Math.round((0.7 + 0.25 * draw('objective')) * 1e4) / 1e4 },
      ...(spec?.enableTrialEarlyStopping && n % 4 === 0 ? { isTrialStoppedEarly: true } : {}),
    };
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };

    if (url.pathname.startsWith('/_fake/')) {
      try {
        reply(200, this.control(method, url.pathname.slice('/_fake/'.length), text ? (JSON.parse(text) as Record<string, unknown>) : {}));
      } catch (error) {
        reply(400, { error: { code: 400, message: (error as Error).message, status: 'INVALID_ARGUMENT' } });
      }
      return;
    }

    const path = url.pathname.startsWith('/v1/') ? url.pathname.slice(3) : url.pathname;
    const query = Object.fromEntries(url.searchParams.entries());
    let body: unknown;
    let status = 200;
    let answer: unknown;
    try {
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        throw new HttpError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
      }
      if (this.throttled > 0) {
        this.throttled -= 1;
        throw new HttpError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric ml.googleapis.com/requests.');
      }
      const failure = this.failures.find((f) => f.remaining > 0);
      if (failure) {
        failure.remaining -= 1;
        throw new HttpError(failure.status, failure.rpc, 'fake: chosen to fail');
      }
      answer = this.api(method, path, query, body);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      status = error.status;
      answer = { error: { code: error.status, message: error.message, status: error.rpc } };
    }
    this.recorded.push({ method, path: decodeURIComponent(path), query, body, authorization: req.headers.authorization, status });
    reply(status, answer);
  }

  private api(method: string, path: string, query: Record<string, string>, body: unknown): unknown {
    const collection = /^\/projects\/([^/]+)\/jobs$/.exec(path);
    if (collection) {
      const project = decodeURIComponent(collection[1] as string);
      if (method === 'POST') return this.create(project, body);
      if (method === 'GET') return this.list(project, query);
    }
    const cancel = /^\/projects\/([^/]+)\/jobs\/([^/:]+):cancel$/.exec(path);
    if (cancel && method === 'POST') return this.cancel(`projects/${decodeURIComponent(cancel[1] as string)}/jobs/${decodeURIComponent(cancel[2] as string)}`);
    const item = /^\/projects\/([^/]+)\/jobs\/([^/:]+)$/.exec(path);
    if (item) {
      const name = `projects/${decodeURIComponent(item[1] as string)}/jobs/${decodeURIComponent(item[2] as string)}`;
      if (method === 'GET') return this.served(this.find(name).job);
      if (method === 'PATCH') return this.patch(name, query, body);
    }
    throw new HttpError(404, 'NOT_FOUND', `fake ML Engine does not serve ${method} ${path}`);
  }

  private find(name: string): StoredJob {
    const stored = this.jobs.get(name);
    if (!stored) throw new HttpError(404, 'NOT_FOUND', `Field: name Error: The specified job was not found: ${name}`);
    return stored;
  }

  private create(project: string, body: unknown): MlEngineJob {
    const input = (body ?? {}) as Partial<MlEngineJob>;
    if (typeof input.jobId !== 'string' || !JOB_ID.test(input.jobId)) {
      throw new HttpError(400, 'INVALID_ARGUMENT', 'Field: job.job_id Error: A job id must start with a letter and contain only letters, numbers and underscores.');
    }
    const training = input.trainingInput;
    if (!training || !training.region || !training.scaleTier) {
      throw new HttpError(400, 'INVALID_ARGUMENT', 'Field: job.training_input Error: region and scale_tier are required.');
    }
    if (training.hyperparameters && !(training.hyperparameters.params?.length ?? 0)) {
      throw new HttpError(400, 'INVALID_ARGUMENT', 'Field: job.training_input.hyperparameters.params Error: at least one parameter is required.');
    }
    const name = `projects/${project}/jobs/${input.jobId}`;
    if (this.jobs.has(name)) throw new HttpError(409, 'ALREADY_EXISTS', `Field: job.job_id Error: A job with this id already exists: ${input.jobId}`);
    const job: MlEngineJob = {
      jobId: input.jobId,
      ...(input.labels ? { labels: structuredClone(input.labels) } : {}),
      trainingInput: structuredClone(training),
      createTime: this.now().toISOString(),
      state: 'QUEUED',
    };
    const stored: StoredJob = { project, seq: this.nextSeq++, job, version: 0 };
    this.touch(stored);
    this.jobs.set(name, stored);
    return structuredClone(job);
  }

  private list(project: string, query: Record<string, string>): unknown {
    const match = parseFilter(query['filter'] ?? '');
    const pageSize = query['pageSize'] === undefined ? 20 : Number(query['pageSize']);
    if (!Number.isInteger(pageSize) || pageSize < 0) throw new HttpError(400, 'INVALID_ARGUMENT', 'Field: page_size Error: must be a non-negative integer.');
    const size = Math.min(pageSize || 20, 100);
    let offset = 0;
    if (query['pageToken']) {
      offset = Number(Buffer.from(query['pageToken'], 'base64url').toString('utf8'));
      if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 'INVALID_ARGUMENT', 'Field: page_token Error: invalid page token.');
    }
    // Newest first, as the service lists.
    const all = [...this.jobs.values()].filter((s) => s.project === project && match(s.job)).sort((a, b) => b.seq - a.seq);
    const page = all.slice(offset, offset + size).map((s) => this.served(s.job));
    const next = offset + size < all.length ? Buffer.from(String(offset + size), 'utf8').toString('base64url') : undefined;
    return page.length === 0 ? {} : { jobs: page, ...(next ? { nextPageToken: next } : {}) };
  }

  private cancel(name: string): unknown {
    const stored = this.find(name);
    const state = stored.job.state ?? 'STATE_UNSPECIFIED';
    if (TERMINAL.has(state)) throw new HttpError(400, 'FAILED_PRECONDITION', `Cannot cancel a job that is in the ${state} state.`);
    if (state !== 'CANCELLING') {
      stored.job.state = 'CANCELLING';
      this.touch(stored);
    }
    return {};
  }

  private patch(name: string, query: Record<string, string>, body: unknown): MlEngineJob {
    const stored = this.find(name);
    const mask = (query['updateMask'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (mask.length === 0) throw new HttpError(400, 'INVALID_ARGUMENT', 'Field: update_mask Error: update_mask is required.');
    const unsupported = mask.filter((m) => m !== 'labels' && m !== 'etag');
    if (unsupported.length) throw new HttpError(400, 'INVALID_ARGUMENT', `Field: update_mask Error: only labels and etag can be updated, not ${unsupported.join(', ')}.`);
    const input = (body ?? {}) as { labels?: Record<string, string>; etag?: string };
    if (mask.includes('etag') && input.etag !== stored.job.etag) {
      throw new HttpError(409, 'ABORTED', 'The etag in the request does not match the etag of the job. Read the job again and retry.');
    }
    if (mask.includes('labels')) {
      stored.job.labels = { ...(input.labels ?? {}) };
      this.touch(stored);
    }
    return structuredClone(stored.job);
  }

  private control(method: string, path: string, body: Record<string, unknown>): unknown {
    if (method === 'GET' && path === 'calls') return { calls: this.calls() };
    if (method !== 'POST') throw new Error(`no control ${method} ${path}`);
    const jobControl = /^jobs\/([^/]+)\/([^/]+)\/(state|trials)$/.exec(path);
    if (jobControl) {
      const name = `projects/${decodeURIComponent(jobControl[1] as string)}/jobs/${decodeURIComponent(jobControl[2] as string)}`;
      if (jobControl[3] === 'state') return this.setState(name, body['state'] as MlEngineJobState, body['errorMessage'] as string | undefined);
      return this.addTrial(name, body['trial'] as MlEngineHyperparameterOutput);
    }
    switch (path) {
      case 'trial-order':
        this.setTrialOrder(body['order'] as FakeTrialOrder);
        return {};
      case 'advance':
        this.advance(typeof body['name'] === 'string' ? body['name'] : undefined);
        return {};
      case 'autopilot':
        this.autopilot(body['on'] !== false, typeof body['intervalMs'] === 'number' ? body['intervalMs'] : undefined);
        return {};
      case 'throttle':
        this.throttle(typeof body['times'] === 'number' ? body['times'] : 1);
        return {};
      case 'reset':
        this.reset();
        return {};
      default:
        throw new Error(`no control ${method} ${path}`);
    }
  }
}

function trialComparator(order: Exclude<FakeTrialOrder, 'added'>, job: MlEngineJob): (a: MlEngineHyperparameterOutput, b: MlEngineHyperparameterOutput) => number {
  if (order === 'id') {
    return (a, b) => {
      const [x, y] = [a.trialId ?? '', b.trialId ?? ''];
      const numeric = /^[0-9]+$/.test(x) && /^[0-9]+$/.test(y);
      return numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    };
  }
  const sign = job.trainingInput?.hyperparameters?.goal === 'MINIMIZE' ? 1 : -1;
  const valueOf = (t: MlEngineHyperparameterOutput) => {
    const v = t.finalMetric?.objectiveValue;
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  // Array.prototype.sort is stable: equal values keep their added order.
  return (a, b) => {
    const [x, y] = [valueOf(a), valueOf(b)];
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    return sign * (x - y);
  };
}

function drawValue(p: MlEngineParameterSpecBody, r: number): string {
  switch (p.type) {
    case 'DOUBLE':
      return String((p.minValue ?? 0) + r * ((p.maxValue ?? 1) - (p.minValue ?? 0)));
    case 'INTEGER':
      return String(Math.round((p.minValue ?? 0) + r * ((p.maxValue ?? 1) - (p.minValue ?? 0))));
    case 'CATEGORICAL': {
      const values = p.categoricalValues ?? [''];
      return values[Math.min(values.length - 1, Math.floor(r * values.length))] as string;
    }
    case 'DISCRETE': {
      const values = p.discreteValues ?? [0];
      return String(values[Math.min(values.length - 1, Math.floor(r * values.length))]);
    }
  }
}

/**
 * The subset of the list filter the fake understands: terms joined by `AND`, each
 * `labels.<key>`, `state` or `jobId`, then `=` (equal) or `:` (has; a trailing `*` is a prefix),
 * then a value, optionally in double quotes.
 */
function parseFilter(filter: string): (job: MlEngineJob) => boolean {
  const terms = filter.trim() ? filter.trim().split(/\s+AND\s+/) : [];
  const tests = terms.map((term) => {
    const match = /^(labels\.[a-z][a-z0-9_-]*|state|jobId)\s*(=|:)\s*"?([^"]*)"?$/.exec(term.trim());
    if (!match) throw new HttpError(400, 'INVALID_ARGUMENT', `Field: filter Error: the fake does not understand "${term}".`);
    const [, field = '', operator, value = ''] = match;
    const read = (job: MlEngineJob): string | undefined =>
      field.startsWith('labels.') ? job.labels?.[field.slice('labels.'.length)] : field === 'state' ? job.state : job.jobId;
    const prefix = operator === ':' && value.endsWith('*') ? value.slice(0, -1) : undefined;
    return (job: MlEngineJob) => {
      const actual = read(job);
      if (actual === undefined) return false;
      return prefix !== undefined ? actual.startsWith(prefix) : actual === value;
    };
  });
  return (job) => tests.every((t) => t(job));
}
