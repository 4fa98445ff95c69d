import type { JobObservation, ProviderJobRef } from '../../shared/domain/job';
import type { ProviderName, TuningSpec } from '../../shared/domain/spec';
import type { Trial } from '../../shared/domain/trial';
import type { CreateJobRequest, CreateJobResult, ModelRegistry, TrialPage, TuningProvider } from '../../shared/ports/provider';

/**
 * A provider whose answers the test writes: jobs, observations and trials are set by hand. It
 * stands for our own port in use-case tests (the vendor wire fakes live with their adapters).
 */
export class ScriptedProvider implements TuningProvider {
  readonly creates: CreateJobRequest[] = [];
  readonly calls = { describe: 0, listTrials: 0, bestTrial: 0, stop: 0 };
  /** The trial each job's provider names as its best (SageMaker's BestTrainingJob); none when unset. */
  readonly namedBest = new Map<string, Trial>();
  readonly jobs = new Map<string, { observation: JobObservation; trials: Trial[] }>();
  private readonly describeFailures = new Map<string, Error[]>();
  /** Called inside `create` before the job exists: lets a test crash or race there. */
  beforeCreate: (request: CreateJobRequest) => Promise<void> = async () => undefined;

  constructor(
    readonly name: ProviderName = 'local',
    readonly eventsNeedConfirmation = false,
  ) {}

  validate(_spec: TuningSpec): void {}

  render(spec: TuningSpec, job: { jobId: string; providerJobName: string }): unknown {
    return { name: job.providerJobName, maxTrials: spec.budget.maxTrials };
  }

  providerJobName(jobId: string): string {
    return jobId;
  }

  async create(request: CreateJobRequest): Promise<CreateJobResult> {
    this.creates.push(request);
    const ref: ProviderJobRef = { provider: this.name, providerJobName: request.providerJobName, providerJobId: `arn:test:${request.providerJobName}` };
    if (this.jobs.has(request.providerJobName)) return { ref, adopted: true };
    await this.beforeCreate(request);
    this.jobs.set(request.providerJobName, { observation: { status: 'pending', providerStatus: 'PENDING', observedAt: new Date(0).toISOString() }, trials: [] });
    return { ref, adopted: false };
  }

  /** How many provider jobs exist: idempotent submit keeps this at one per job id. */
  get jobCount(): number {
    return this.jobs.size;
  }

  setObservation(providerJobName: string, observation: JobObservation): void {
    this.job(providerJobName).observation = observation;
  }

  /** Adds or replaces a trial; the incremental cursor is its position in change order. */
  putTrial(providerJobName: string, trial: Trial): void {
    const job = this.job(providerJobName);
    job.trials = [...job.trials.filter((t) => t.trialId !== trial.trialId), trial];
  }

  async describe(ref: ProviderJobRef): Promise<JobObservation> {
    this.calls.describe++;
    const failure = this.describeFailures.get(ref.providerJobName)?.shift();
    if (failure) throw failure;
    return this.job(ref.providerJobName).observation;
  }

  /** The next describes of the job throw these, one per call, in order; then it answers again. */
  failDescribe(providerJobName: string, ...errors: Error[]): void {
    this.describeFailures.set(providerJobName, [...(this.describeFailures.get(providerJobName) ?? []), ...errors]);
  }

  async listTrials(ref: ProviderJobRef, cursor: string | undefined): Promise<TrialPage> {
    this.calls.listTrials++;
    const trials = this.job(ref.providerJobName).trials;
    const from = cursor ? Number(cursor) : 0;
    return { trials: trials.slice(from), cursor: String(trials.length) };
  }

  async bestTrial(ref: ProviderJobRef): Promise<Trial | undefined> {
    this.calls.bestTrial++;
    return this.namedBest.get(ref.providerJobName);
  }

  async stop(ref: ProviderJobRef): Promise<void> {
    this.calls.stop++;
    this.setObservation(ref.providerJobName, { status: 'stopping', providerStatus: 'STOPPING', observedAt: new Date().toISOString() });
  }

  private job(name: string) {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`scripted provider has no job ${name}`);
    return job;
  }
}

export class RecordingRegistry implements ModelRegistry {
  readonly versions: string[] = [];
  async registerVersion(input: Parameters<ModelRegistry['registerVersion']>[0]): Promise<{ version: string }> {
    const version = `${input.model}/v${this.versions.length + 1}`;
    this.versions.push(version);
    return { version };
  }
}
