import { ProviderError, SpecValidationError, type FieldIssue } from '../../domain/errors';
import type { JobObservation, ProviderJobRef } from '../../domain/job';
import type { TuningSpec } from '../../domain/spec';
import { isTerminalTrialStatus } from '../../domain/status';
import type { Trial } from '../../domain/trial';
import { systemClock, type Clock } from '../../ports/clock';
import type { CreateJobRequest, CreateJobResult, TrialLogs, TrialPage, TuningProvider } from '../../ports/provider';
import { mlEngineTrialLinks } from './mlengine-links';
import { MlEngineAlreadyExistsError, MlEngineApiError, type MlEngineClient } from './mlengine-client';
import {
  buildMlEngineJob,
  mlEngineJobId,
  mlEngineJobName,
  mlEngineProjectOf,
  parseMlEngineJobName,
  type MlEngineHyperparameterOutput,
  type MlEngineJob,
} from './mlengine-request';
import { mapMlEngineTrialState, observationFromJob, providerBestOutput, trialFromOutput } from './mlengine-responses';
import { MLENGINE_JOB_ID_LABEL, mlEngineSpecIssues } from './mlengine-spec';

export interface MlEngineProviderOptions {
  readonly client: MlEngineClient;
  /** The project for specs without `trial.project`, and for refs that lack the job's resource name. */
  readonly project?: string;
  readonly clock?: Clock;
}

/** Trials returned per `listTrials` call; the use case reads on while the cursor moves. */
const TRIAL_PAGE_SIZE = 100;

/** States after which a cancel has nothing to do. */
const NOTHING_TO_CANCEL: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'CANCELLING']);

/**
 * The legacy Cloud ML Engine v1 `projects.jobs` API as a tuning provider. A tuning job is one
 * training job with a `HyperparameterSpec`; its trials come back inside `trainingOutput`.
 *
 * ML Engine publishes no events: the reconciler's `describe` is how tunewire learns of a change,
 * hence `eventsNeedConfirmation`.
 *
 * @example
 *   const provider = new MlEngineProvider({ client: new MlEngineClient(), project: 'tunewire-demo' });
 *   provider.validate(spec);
 *   const { ref } = await provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec });
 *   const page = await provider.listTrials(ref, undefined, spec);
 */
export class MlEngineProvider implements TuningProvider {
  readonly name = 'mlengine' as const;
  readonly eventsNeedConfirmation = true;

  private readonly client: MlEngineClient;
  private readonly project: string | undefined;
  private readonly clock: Clock;

  constructor(options: MlEngineProviderOptions) {
    this.client = options.client;
    this.project = options.project;
    this.clock = options.clock ?? systemClock;
  }

  validate(spec: TuningSpec): void {
    const issues: FieldIssue[] = [];
    if (spec.provider !== 'mlengine') issues.push({ path: 'provider', message: `is "${spec.provider}", not mlengine` });
    issues.push(...mlEngineSpecIssues(spec));
    if (!mlEngineProjectOf(spec, this.project)) issues.push({ path: 'trial.project', message: 'is required: no default ML Engine project is configured' });
    if (issues.length > 0) throw new SpecValidationError('spec', issues);
  }

  /** The body of `projects.jobs.create` (the project goes in the URL: `trial.project` or the default). */
  render(spec: TuningSpec, job: { readonly jobId: string; readonly providerJobName: string; readonly warmStartParents?: readonly ProviderJobRef[] }): MlEngineJob {
    return buildMlEngineJob(spec, { ...job, ...(this.project ? { project: this.project } : {}) });
  }

  providerJobName(jobId: string): string {
    return mlEngineJobId(jobId);
  }

  /**
   * Creates the job; when its id is taken (a retried submit), adopts it if its `tunewire-job-id`
   * label names this job, and refuses it otherwise (someone else's job, not retryable).
   */
  async create(request: CreateJobRequest): Promise<CreateJobResult> {
    this.validate(request.spec);
    const body = this.render(request.spec, request);
    const project = mlEngineProjectOf(request.spec, this.project) as string;
    const name = mlEngineJobName(project, body.jobId);
    const ref: ProviderJobRef = { provider: 'mlengine', providerJobName: body.jobId, providerJobId: name };
    try {
      await this.client.create(project, body);
      return { ref, adopted: false };
    } catch (error) {
      if (!(error instanceof MlEngineAlreadyExistsError)) throw error;
    }
    const existing = await this.client.get(name);
    const owner = existing.labels?.[MLENGINE_JOB_ID_LABEL];
    if (owner !== request.jobId) {
      throw new ProviderError('mlengine', 'create', `job ${name} already exists and belongs to ${owner ? `tunewire job ${owner}` : 'no tunewire job'}, not ${request.jobId}`, {
        retryable: false,
        code: 'PROVIDER.NAME_TAKEN',
      });
    }
    return { ref, adopted: true };
  }

  async describe(ref: ProviderJobRef): Promise<JobObservation> {
    return observationFromJob(await this.client.get(this.nameOf(ref)), this.clock.now());
  }

  /**
   * Finished trials not yet returned, by trial id, 100 per call. ML Engine gives a job's trials
   * whole in `trainingOutput.trials` (no paging, no change times), so the cursor is the set of
   * finished trial ids already returned, written compactly (`t1:1-12,15`); see `encodeTrialCursor`.
   * Running trials (newer API versions list them with a state) are left until they finish.
   */
  async listTrials(ref: ProviderJobRef, cursor: string | undefined, spec: TuningSpec): Promise<TrialPage> {
    const seen = decodeTrialCursor(cursor);
    const job = await this.client.get(this.nameOf(ref));
    const fresh = new Map<string, MlEngineHyperparameterOutput>();
    for (const trial of job.trainingOutput?.trials ?? []) {
      if (!trial.trialId || seen.has(trial.trialId) || !isTerminalTrialStatus(mapMlEngineTrialState(trial))) continue;
      fresh.set(trial.trialId, trial);
    }
    const page = [...fresh.values()].sort((a, b) => compareTrialIds(a.trialId as string, b.trialId as string)).slice(0, TRIAL_PAGE_SIZE);
    // One get holds every trial: the read is complete unless the page was cut.
    const complete = page.length === fresh.size;
    if (page.length === 0) return { trials: [], cursor, complete };
    for (const trial of page) seen.add(trial.trialId as string);
    return { trials: page.map((trial) => trialFromOutput(trial, spec, job)), cursor: encodeTrialCursor(seen), complete };
  }

  /**
   * The trial ML Engine's final metrics make best, from one read of the job (see
   * `providerBestOutput`: the best final objective value for the job's goal, a tie going to the
   * trial listed first), mapped as `listTrials` maps it. The same rule gives `describe`'s
   * `providerBestTrialId`. Undefined while no finished trial has a final metric.
   */
  async bestTrial(ref: ProviderJobRef, spec: TuningSpec): Promise<Trial | undefined> {
    const job = await this.client.get(this.nameOf(ref));
    const best = providerBestOutput(job);
    return best && trialFromOutput(best, spec, job);
  }

  /** Cancels the job; a job that is finished or already cancelling is left as it is. */
  async stop(ref: ProviderJobRef): Promise<void> {
    const name = this.nameOf(ref);
    const job = await this.client.get(name);
    if (NOTHING_TO_CANCEL.has(job.state ?? '')) return;
    try {
      await this.client.cancel(name);
    } catch (error) {
      // It may have finished between the read and the cancel; that is a stop done.
      if (!(error instanceof MlEngineApiError) || error.code !== 'PROVIDER.FAILED_PRECONDITION') throw error;
      const now = await this.client.get(name);
      if (!NOTHING_TO_CANCEL.has(now.state ?? '')) throw error;
    }
  }

  /**
   * Where a trial's output is: the job's console page and Cloud Logging. Links only; nothing is
   * asked of ML Engine.
   */
  async trialLogs(ref: ProviderJobRef, trialId: string): Promise<TrialLogs> {
    const job = parseMlEngineJobName(this.nameOf(ref, 'trialLogs')) as { project: string; jobId: string };
    return { links: mlEngineTrialLinks(job, trialId) };
  }

  /** The job's resource name: from the ref when it has one, else the default project's. */
  private nameOf(ref: ProviderJobRef, operation = 'describe'): string {
    if (ref.providerJobId && parseMlEngineJobName(ref.providerJobId)) return ref.providerJobId;
    if (this.project) return mlEngineJobName(this.project, ref.providerJobName);
    throw new ProviderError('mlengine', operation, `job ${ref.providerJobName} has no resource name and no default project is configured`, {
      retryable: false,
      code: 'PROVIDER.BAD_REF',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The trial cursor: the set of trial ids returned so far. ML Engine numbers trials 1, 2, 3…, so
// the set is written as ranges (`t1:1-40,42,45-50`) and stays short however many trials a job
// has; any other id is kept whole, URI-encoded after a `~`. The encoding is canonical (sorted,
// merged), so the same set always gives the same cursor and an unchanged cursor means no news.

const CURSOR_PREFIX = 't1:';
const NUMERIC_ID = /^(0|[1-9][0-9]{0,14})$/;
const MAX_RANGE = 1_000_000;

export function encodeTrialCursor(ids: Iterable<string>): string {
  const numbers: number[] = [];
  const others: string[] = [];
  for (const id of ids) {
    if (NUMERIC_ID.test(id)) numbers.push(Number(id));
    else others.push(id);
  }
  numbers.sort((a, b) => a - b);
  const tokens: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    const start = numbers[i] as number;
    let end = start;
    while (i + 1 < numbers.length && (numbers[i + 1] as number) <= end + 1) end = numbers[++i] as number;
    i++;
    tokens.push(start === end ? String(start) : `${start}-${end}`);
  }
  for (const id of [...new Set(others)].sort()) tokens.push(`~${encodeURIComponent(id)}`);
  return CURSOR_PREFIX + tokens.join(',');
}

export function decodeTrialCursor(cursor: string | undefined): Set<string> {
  const ids = new Set<string>();
  if (cursor === undefined) return ids;
  const bad = () => new ProviderError('mlengine', 'listTrials', `cursor "${cursor.slice(0, 80)}" is not an ML Engine trial cursor`, { retryable: false, code: 'PROVIDER.BAD_CURSOR' });
  if (!cursor.startsWith(CURSOR_PREFIX)) throw bad();
  const body = cursor.slice(CURSOR_PREFIX.length);
  if (!body) return ids;
  for (const token of body.split(',')) {
    if (token.startsWith('~')) {
      try {
        ids.add(decodeURIComponent(token.slice(1)));
      } catch {
        throw bad();
      }
      continue;
    }
    const match = /^([0-9]+)(?:-([0-9]+))?$/.exec(token);
    if (!match) throw bad();
    const start = Number(match[1]);
    const end = match[2] === undefined ? start : Number(match[2]);
    if (end < start || end - start > MAX_RANGE) throw bad();
    for (let n = start; n <= end; n++) ids.add(String(n));
  }
  return ids;
}

function compareTrialIds(a: string, b: string): number {
  const [na, nb] = [NUMERIC_ID.test(a), NUMERIC_ID.test(b)];
  if (na && nb) return Number(a) - Number(b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
