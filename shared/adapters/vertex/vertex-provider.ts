import * as z from 'zod';
import { fingerprints, readProviderCursor } from '../provider-cursor';
import { createHash } from 'node:crypto';
import type { protos, v1 } from '@google-cloud/aiplatform';
import { ProviderError, SpecValidationError, type FieldIssue } from '../../domain/errors';
import type { JobObservation, ProviderJobRef } from '../../domain/job';
import type { TuningSpec } from '../../domain/spec';
import { isTerminalJobStatus, isTerminalTrialStatus } from '../../domain/status';
import type { Trial } from '../../domain/trial';
import { systemClock, type Clock } from '../../ports/clock';
import type { CreateJobRequest, CreateJobResult, TrialLogs, TrialPage, TuningProvider } from '../../ports/provider';
import { parseTuningJobName, vertexTrialLinks } from './vertex-links';
import { buildHyperparameterTuningJob, int64String, toApiJson } from './vertex-request';
import { bestTrialFromVertex, mapJobState, observationFromJob, trialFromVertex } from './vertex-responses';
import { JOB_ID_LABEL, parseVertexTrialSpec, vertexParent, vertexSpecIssues } from './vertex-spec';

type IHyperparameterTuningJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
type ITrial = protos.google.cloud.aiplatform.v1.ITrial;

/** The async page iterators fetch page by page anyway; saying so silences gax's AutopaginateTrueWarning. */
export const QUIET_PAGING = { autoPaginate: false } as const;

/** Jobs per ListHyperparameterTuningJobs page and trials per `listTrials` page, unless told otherwise. */
export const DEFAULT_PAGE_SIZE = 100;

export interface VertexProviderOptions {
  /**
   * Built once by the composition root for the deployment's region:
   * `new v1.JobServiceClient({ apiEndpoint: `${location}-aiplatform.googleapis.com` })`. Vertex
   * endpoints are regional, so the client serves one location.
   */
  readonly jobClient: v1.JobServiceClient;
  /** When set, a spec must name this project (`trial.project`), and refs without a resource name are looked up here. */
  readonly project?: string;
  /** When set, a spec must name this location (`trial.location`): the client's regional endpoint serves no other. */
  readonly location?: string;
  readonly clock?: Clock;
  /** Jobs per list page when looking a job up by its label, and trials per `listTrials` page. Default 100. */
  readonly pageSize?: number;
  /**
   * Whether create first checks that the client can find Google credentials. Default true; false
   * only for a client of a plaintext local fake, which sends none.
   */
  readonly checkCredentials?: boolean;
}

const MISSING_GOOGLE_CREDENTIALS =
  'no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or run `gcloud auth application-default login`';

// ---------------------------------------------------------------------------------------------
// gRPC failures

const GRPC_CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/** Codes a later attempt can get past: quota (8), a service that is down or slow (14, 4, 13), a lost race (10). */
const RETRYABLE: Readonly<Record<number, string>> = {
  8: 'PROVIDER.THROTTLED',
  14: 'PROVIDER.UNAVAILABLE',
  4: 'PROVIDER.UNAVAILABLE',
  13: 'PROVIDER.UNAVAILABLE',
  10: 'PROVIDER.CONFLICT',
};

/** The gRPC status code a gax call failed with, when it failed with one. */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}

/**
 * What a gax failure means to tunewire. gax does not retry any of these calls itself (the client's
 * shipped config marks every JobService and ModelService method non-idempotent), so throttling
 * and outages surface here as retryable errors for the transport to retry (Lambda's async retries,
 * Pub/Sub redelivery, the reconciler). NOT_FOUND names what was missing; everything else is the
 * request's fault and stays so on a retry.
 */
export function toProviderError(operation: string, error: unknown, notFound?: { readonly what: string; readonly code: string }): ProviderError {
  if (error instanceof ProviderError) return error;
  const code = grpcCode(error);
  const details = (error as { details?: unknown } | null)?.details;
  const said = typeof details === 'string' && details ? details : error instanceof Error ? error.message : String(error);
  if (code === undefined) {
    // No gRPC status: the call got no answer (connection, DNS, a client-side timeout).
    return new ProviderError('vertex', operation, said, { retryable: true, code: 'PROVIDER.UNREACHABLE', cause: error });
  }
  const message = `${GRPC_CODE_NAMES[code] ?? 'code'} (${code}): ${said}`;
  if (code === 5 && notFound) {
    return new ProviderError('vertex', operation, `${notFound.what} was not found (deleted, or in another project or location): ${said}`, {
      retryable: false,
      code: notFound.code,
      cause: error,
    });
  }
  const retryCode = RETRYABLE[code];
  if (retryCode) return new ProviderError('vertex', operation, message, { retryable: true, code: retryCode, cause: error });
  const terminal =
    code === 5 ? 'PROVIDER.NOT_FOUND' : code === 7 || code === 16 ? 'PROVIDER.ACCESS_DENIED' : code === 6 || code === 9 ? 'PROVIDER.CONFLICT' : 'PROVIDER.REJECTED';
  return new ProviderError('vertex', operation, message, { retryable: false, code: terminal, cause: error });
}

// ---------------------------------------------------------------------------------------------
// The trial cursor

/**
 * The position of incremental trial reads, kept by the ledger as an opaque JSON string.
 *
 * A HyperparameterTuningJob carries all its trials (GetHyperparameterTuningJob; the list call
 * leaves them out). Assumed of Vertex, and checked where cheap: trials are appended in id order
 * and never removed or reordered; a trial changes only in place; a trial that reached SUCCEEDED
 * or INFEASIBLE never changes again.
 *
 *  - `n`: the settled prefix. Every trial at a position below `n` was settled (finished, objective
 *    judged) and has been returned settled; it is never read again. `n` only grows.
 *  - `a`: the id of the trial at position `n - 1`. If it is not there any more, the assumption
 *    broke and the read starts over from the first trial (repeats are absorbed by the ledger,
 *    nothing is lost).
 *  - `o`: id → fingerprint of every trial at or after `n` that has been returned, as it was then.
 *    A trial at or after `n` is returned when it is not in `o` (new) or its fingerprint differs
 *    (changed). `o` holds the trials after the oldest unsettled one, so it stays small while
 *    trials finish roughly in order.
 *
 * One call returns at most `pageSize` trials, in id order; the next call continues where the page
 * was cut. A call that finds no news returns the cursor string it was given, which is how a caller
 * looping "until the cursor stops moving" stops.
 */
interface TrialCursor {
  readonly v: 1;
  readonly n: number;
  readonly a?: string;
  readonly o?: Readonly<Record<string, string>>;
}

const cursorSchema = z
  .object({ v: z.literal(1), n: z.number().int().min(0), a: z.string().optional(), o: fingerprints.optional() })
  // trials already counted as finished must name the last of them, to check it is still there
  .refine((c) => c.n === 0 || c.a !== undefined);

function parseCursor(cursor: string | undefined): TrialCursor {
  return cursor === undefined ? { v: 1, n: 0 } : readProviderCursor('vertex', cursor, cursorSchema);
}

/** Deterministic: the same state is the same string (ids sorted, empty parts left out). */
function writeCursor(c: TrialCursor): string {
  const keys = Object.keys(c.o ?? {}).sort();
  const o = keys.length > 0 ? Object.fromEntries(keys.map((k) => [k, (c.o as Record<string, string>)[k]])) : undefined;
  return JSON.stringify({ v: 1, n: c.n, a: c.a, o });
}

/** Finished, and its objective judged: nothing about the trial changes any more. */
function isSettled(trial: Trial): boolean {
  return isTerminalTrialStatus(trial.status) && trial.objectiveStatus !== 'pending';
}

/**
 * What the ledger keeps of a trial that may still change; equal fingerprints mean nothing worth
 * storing changed. Intermediate measurements of a running trial are left out on purpose: they would
 * make every read return every running trial.
 */
function fingerprint(trial: Trial): string {
  const facts = [trial.status, trial.objectiveStatus ?? null, trial.objectiveValue ?? null, trial.startedAt ?? null, trial.endedAt ?? null, trial.failureReason ?? null, trial.stoppedEarly];
  return createHash('sha256').update(JSON.stringify(facts)).digest('base64url').slice(0, 12);
}

/** The trial's id as `trialFromVertex` reads it, without mapping the whole trial. */
function rawTrialId(trial: ITrial | undefined): string | undefined {
  return trial ? trial.id || trial.name?.split('/').pop() || undefined : undefined;
}

// ---------------------------------------------------------------------------------------------

/**
 * Vertex AI hyperparameter tuning. A tunewire job is one HyperparameterTuningJob; Vertex assigns
 * its resource name, so the job carries the label `tunewire-job-id` = the job id, and a retried
 * submit finds its job by that label before it creates one. The Google-side watcher publishes
 * what it sees as hints: the truth is GetHyperparameterTuningJob.
 *
 * @example
 *   const jobClient = new v1.JobServiceClient({ apiEndpoint: 'us-central1-aiplatform.googleapis.com' });
 *   const provider = new VertexProvider({ jobClient, project: 'tunewire-demo', location: 'us-central1' });
 *   const { ref } = await provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec });
 *   // ref.providerJobId: projects/tunewire-demo/locations/us-central1/hyperparameterTuningJobs/123
 */
export class VertexProvider implements TuningProvider {
  readonly name = 'vertex' as const;
  /** Vertex's state changes reach tunewire through a watcher publishing differences: hints, confirmed by Get. */
  readonly eventsNeedConfirmation = true;

  private readonly jobClient: v1.JobServiceClient;
  private readonly clock: Clock;
  private readonly pageSize: number;

  constructor(private readonly options: VertexProviderOptions) {
    this.jobClient = options.jobClient;
    this.clock = options.clock ?? systemClock;
    const size = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pageSize must be a positive integer, not ${size}`);
    this.pageSize = size;
  }

  validate(spec: TuningSpec): void {
    const issues = [...vertexSpecIssues(spec), ...this.deploymentIssues(spec)];
    if (issues.length > 0) throw new SpecValidationError('spec', issues);
  }

  /** The HyperparameterTuningJob in the REST reference's JSON form (POST .../hyperparameterTuningJobs body). */
  render(spec: TuningSpec, job: { readonly jobId: string; readonly providerJobName: string }): unknown {
    return toApiJson(buildHyperparameterTuningJob(spec, job));
  }

  /** The job id itself: it is the `tunewire-job-id` label's value, since Vertex names the resource. */
  providerJobName(jobId: string): string {
    return jobId;
  }

  /**
   * Idempotent by label: a job in the spec's project and location labelled with this job id is
   * the one an earlier attempt created, and is adopted. Two creates racing past the lookup could
   * both create (Vertex has no caller-chosen job ids); the ledger's conditional submit keeps that
   * to crashed-and-retried submits, which find their job.
   */
  async create(request: CreateJobRequest): Promise<CreateJobResult> {
    this.validate(request.spec);
    if (this.options.checkCredentials !== false) await this.requireCredentials('create');
    const job = buildHyperparameterTuningJob(request.spec, request);
    const parent = vertexParent(parseVertexTrialSpec(request.spec));
    const label = job.labels?.[JOB_ID_LABEL] ?? request.providerJobName;
    const existing = await this.findByLabel(parent, label, 'create');
    if (existing?.name) return { ref: this.ref(request.providerJobName, existing.name), adopted: true };
    let created: IHyperparameterTuningJob;
    try {
      [created] = await this.jobClient.createHyperparameterTuningJob({ parent, hyperparameterTuningJob: job });
    } catch (error) {
      throw toProviderError('create', error);
    }
    if (!created.name) throw new ProviderError('vertex', 'create', 'CreateHyperparameterTuningJob returned no resource name', { retryable: false, code: 'PROVIDER.BAD_RESPONSE' });
    return { ref: this.ref(request.providerJobName, created.name), adopted: false };
  }

  async describe(ref: ProviderJobRef): Promise<JobObservation> {
    const job = await this.getJob(ref, 'describe');
    // An answer with no time at all is dated when it was read, not refused.
    const dated = job.updateTime ?? job.endTime ?? job.startTime ?? job.createTime;
    if (dated) return observationFromJob(job);
    const now = this.clock.now().getTime();
    return observationFromJob({ ...job, updateTime: { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1_000_000 } });
  }

  /** New and changed trials since `cursor`, at most `pageSize` per call, from one Get; see `TrialCursor`. */
  async listTrials(ref: ProviderJobRef, cursor: string | undefined, spec: TuningSpec): Promise<TrialPage> {
    const before = parseCursor(cursor);
    const raw = (await this.getJob(ref, 'listTrials')).trials ?? [];

    let start = before.n;
    let seen: Readonly<Record<string, string>> = before.o ?? {};
    if (start > raw.length || (start > 0 && rawTrialId(raw[start - 1]) !== before.a)) {
      // The trials are not where the cursor left them: read them all again rather than miss one.
      start = 0;
      seen = {};
    }

    const mapped = new Map<number, { trial: Trial; print: string }>();
    const at = (i: number) => {
      let entry = mapped.get(i);
      if (!entry) {
        const trial = trialFromVertex(raw[i] as ITrial, spec);
        entry = { trial, print: fingerprint(trial) };
        mapped.set(i, entry);
      }
      return entry;
    };

    const trials: Trial[] = [];
    const returned: Record<string, string> = { ...seen };
    for (let i = start; i < raw.length; i++) {
      const { trial, print } = at(i);
      if (seen[trial.trialId] === print) continue;
      if (trials.length >= this.pageSize) break;
      trials.push(trial);
      returned[trial.trialId] = print;
    }

    // The settled prefix grows over trials the caller now holds in their settled form.
    let n = start;
    while (n < raw.length) {
      const { trial, print } = at(n);
      if (!isSettled(trial) || returned[trial.trialId] !== print) break;
      delete returned[trial.trialId];
      n++;
    }

    // One Get holds every trial: the read is complete unless the page was cut.
    const complete = trials.length < this.pageSize;
    if (trials.length === 0 && n === before.n && start === before.n) return { trials, cursor, complete };
    return { trials, cursor: writeCursor({ v: 1, n, ...(n > 0 ? { a: rawTrialId(raw[n - 1]) } : {}), o: returned }), complete };
  }

  /**
   * The best trial by Vertex's own rule, from one Get: every trial judged as `listTrials` maps it
   * (the spec's measurement selection: LAST is the final measurement only, BEST the best reported
   * value), then the best succeeded trial for the goal; a tie goes to the trial that ended first,
   * then the smaller id. Infeasible trials and trials without an objective never win. Undefined
   * while no trial is eligible. The same rule gives `describe`'s `providerBestTrialId`, read from
   * the job's StudySpec.
   */
  async bestTrial(ref: ProviderJobRef, spec: TuningSpec): Promise<Trial | undefined> {
    const job = await this.getJob(ref, 'bestTrial');
    return bestTrialFromVertex(job.trials ?? [], spec);
  }

  /**
   * Cancels the job (CANCELLING, then CANCELLED). A job that already finished is left as it is:
   * Vertex refuses to cancel it (FAILED_PRECONDITION), and Get says whether that is why.
   */
  async stop(ref: ProviderJobRef): Promise<void> {
    const name = await this.resolveName(ref, 'stop');
    try {
      await this.jobClient.cancelHyperparameterTuningJob({ name });
      return;
    } catch (error) {
      if (grpcCode(error) !== 9) throw toProviderError('stop', error, this.notFound(name));
      const job = await this.getByName(name, 'stop');
      const status = mapJobState(job.state ?? 0);
      if (status === 'stopping' || isTerminalJobStatus(status)) return;
      throw toProviderError('stop', error);
    }
  }

  /**
   * Where a trial's output is: the tuning job's console page and Cloud Logging, read off the
   * job's resource name (`projects/<p>/locations/<l>/hyperparameterTuningJobs/<id>`). Links only;
   * nothing is asked of Vertex, so a job whose create has not returned yet has none.
   */
  async trialLogs(ref: ProviderJobRef, trialId: string): Promise<TrialLogs> {
    const job = ref.providerJobId === undefined ? undefined : parseTuningJobName(ref.providerJobId);
    if (!job) return { links: [], note: `job ${ref.providerJobName} has no Vertex AI resource name yet: its logs have no address until Vertex accepts it` };
    return { links: vertexTrialLinks(job, trialId) };
  }

  /**
   * The tuning jobs in `projects/{project}/locations/{location}` that match a filter in Vertex's
   * documented list syntax (`state="JOB_STATE_RUNNING" AND labels.team="growth"`); gax follows the
   * pages. For operators and the Google watcher's tooling; nothing in the event path lists.
   */
  async listJobs(options: { readonly project: string; readonly location: string; readonly filter?: string }): Promise<IHyperparameterTuningJob[]> {
    const parent = vertexParent(options);
    const jobs: IHyperparameterTuningJob[] = [];
    try {
      const request = { parent, pageSize: this.pageSize, ...(options.filter ? { filter: options.filter } : {}) };
      for await (const job of this.jobClient.listHyperparameterTuningJobsAsync(request, QUIET_PAGING)) jobs.push(job);
    } catch (error) {
      throw toProviderError('list', error);
    }
    return jobs;
  }

  /** Deletes a finished job at Vertex (a long-running operation, awaited). The ledger keeps its record. */
  async deleteJob(ref: ProviderJobRef): Promise<void> {
    const name = await this.resolveName(ref, 'delete');
    try {
      const [operation] = await this.jobClient.deleteHyperparameterTuningJob({ name });
      await operation.promise();
    } catch (error) {
      throw toProviderError('delete', error, this.notFound(name));
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Rules of this deployment rather than of Vertex: the regional client serves one location. */
  private deploymentIssues(spec: TuningSpec): FieldIssue[] {
    const issues: FieldIssue[] = [];
    const { project, location } = this.options;
    if (location !== undefined && typeof spec.trial['location'] === 'string' && spec.trial['location'] !== location) {
      issues.push({ path: 'trial.location', message: `must be ${location}: this deployment's Vertex client talks to ${location}-aiplatform.googleapis.com` });
    }
    if (project !== undefined && typeof spec.trial['project'] === 'string' && spec.trial['project'] !== project) {
      issues.push({ path: 'trial.project', message: `must be ${project}: this deployment runs Vertex jobs in that project` });
    }
    return issues;
  }

  private ref(providerJobName: string, resourceName: string): ProviderJobRef {
    return { provider: 'vertex', providerJobName, providerJobId: resourceName };
  }

  private notFound(name: string): { what: string; code: string } {
    return { what: `HyperparameterTuningJob ${name}`, code: 'PROVIDER.JOB_NOT_FOUND' };
  }

  /**
   * The job's resource name: the ref's, or (a ref written before create returned) the job
   * labelled with the job id in the configured project and location.
   */
  private async resolveName(ref: ProviderJobRef, operation: string): Promise<string> {
    if (ref.providerJobId) return ref.providerJobId;
    const { project, location } = this.options;
    if (project === undefined || location === undefined) {
      throw new ProviderError('vertex', operation, `job ${ref.providerJobName} has no Vertex resource name, and no project and location are configured to look it up by label`, {
        retryable: false,
        code: 'PROVIDER.BAD_REF',
      });
    }
    const found = await this.findByLabel(vertexParent({ project, location }), ref.providerJobName, operation);
    if (!found?.name) {
      throw new ProviderError('vertex', operation, `no HyperparameterTuningJob labelled ${JOB_ID_LABEL}=${ref.providerJobName} in projects/${project}/locations/${location}`, {
        retryable: false,
        code: 'PROVIDER.JOB_NOT_FOUND',
      });
    }
    return found.name;
  }

  private async getJob(ref: ProviderJobRef, operation: string): Promise<IHyperparameterTuningJob> {
    return this.getByName(await this.resolveName(ref, operation), operation);
  }

  private async getByName(name: string, operation: string): Promise<IHyperparameterTuningJob> {
    try {
      const [job] = await this.jobClient.getHyperparameterTuningJob({ name });
      return job;
    } catch (error) {
      throw toProviderError(operation, error, this.notFound(name));
    }
  }

  /** The oldest job in `parent` labelled `tunewire-job-id` = `value`; gax follows the pages. */
  /**
   * Finds the client's credentials (Application Default Credentials) before a call, so a machine
   * without any gets one line saying what to set instead of gax's failure from inside a call.
   * Any failure here is about credentials: nothing has been sent yet.
   */
  private async requireCredentials(operation: string): Promise<void> {
    try {
      await this.jobClient.auth.getClient();
    } catch (error) {
      throw new ProviderError('vertex', operation, MISSING_GOOGLE_CREDENTIALS, { retryable: false, code: 'PROVIDER.NO_CREDENTIALS', cause: error });
    }
  }

  private async findByLabel(parent: string, value: string, operation: string): Promise<IHyperparameterTuningJob | undefined> {
    const filter = `labels.${JOB_ID_LABEL}=${JSON.stringify(value)}`;
    let oldest: IHyperparameterTuningJob | undefined;
    try {
      for await (const job of this.jobClient.listHyperparameterTuningJobsAsync({ parent, filter, pageSize: this.pageSize }, QUIET_PAGING)) {
        if (!oldest || createdMs(job) < createdMs(oldest)) oldest = job;
      }
    } catch (error) {
      throw toProviderError(operation, error);
    }
    return oldest;
  }
}

function createdMs(job: IHyperparameterTuningJob): number {
  const seconds = Number(int64String(job.createTime?.seconds ?? 0));
  return seconds * 1000 + Math.floor((job.createTime?.nanos ?? 0) / 1e6);
}
