import type { JobObservation, ProviderJobRef } from '../domain/job';
import type { ProviderName, TuningSpec } from '../domain/spec';
import type { Trial } from '../domain/trial';

export interface CreateJobRequest {
  readonly jobId: string;
  readonly providerJobName: string;
  readonly spec: TuningSpec;
  /** Provider refs of the warm-start parents, resolved from tunewire job ids by the use case. */
  readonly warmStartParents?: readonly ProviderJobRef[];
}

export interface CreateJobResult {
  readonly ref: ProviderJobRef;
  /** True when the job already existed (a retried submit) and was adopted, not created. */
  readonly adopted: boolean;
}

export interface TrialPage {
  /** Trials new or changed since the cursor given. */
  readonly trials: readonly Trial[];
  /** Where the next incremental read starts; pass it back unchanged. */
  readonly cursor: string | undefined;
  /**
   * True when this read reached everything the provider had at the time: reading again at once
   * would only confirm it. Saves a caller that reads "until the cursor stops moving" one call.
   */
  readonly complete?: boolean;
}

/** A page where a person reads a trial's output: a console, a log stream, a log query. */
export interface TrialLogLink {
  readonly label: string;
  readonly url: string;
}

/** What a provider offers of one trial's output. */
export interface TrialLogs {
  /** The end of the trial's output as UTF-8, where this process can read it (the local engine). */
  readonly text?: string;
  /** True when `text` is only the end of the output: it was cut at a line boundary. */
  readonly truncated?: boolean;
  /** Why there is no text, or none yet, in a sentence. */
  readonly note?: string;
  /** Where the output is read at the provider; URL-encoded, empty when there is nowhere to point. */
  readonly links: readonly TrialLogLink[];
}

/**
 * A managed tuning service (or the local engine). Vendor shapes stay inside the adapter: in go
 * specs and refs, out come observations and trials in tunewire's vocabulary.
 *
 * @example
 *   provider.validate(spec);                       // throws SpecValidationError naming the field
 *   const { ref } = await provider.create({ jobId, providerJobName: provider.providerJobName(jobId), spec });
 *   const page = await provider.listTrials(ref, job.trialCursor, spec);
 */
export interface TuningProvider {
  readonly name: ProviderName;
  /**
   * True when a status event is only a hint and `describe` is the truth (SageMaker's events may
   * lack fields, repeat or arrive late); false when the provider's events are authoritative.
   */
  readonly eventsNeedConfirmation: boolean;
  /** Provider rules, checked before anything is sent. Throws `SpecValidationError`. */
  validate(spec: TuningSpec): void;
  /** The provider's create request, in the API's own field and enum names. */
  render(spec: TuningSpec, job: { readonly jobId: string; readonly providerJobName: string; readonly warmStartParents?: readonly ProviderJobRef[] }): unknown;
  /** Deterministic, so a retried submit names the same provider job. */
  providerJobName(jobId: string): string;
  /** Idempotent: "already exists" means adopt it. */
  create(request: CreateJobRequest): Promise<CreateJobResult>;
  describe(ref: ProviderJobRef): Promise<JobObservation>;
  listTrials(ref: ProviderJobRef, cursor: string | undefined, spec: TuningSpec): Promise<TrialPage>;
  /**
   * The trial the provider itself names as the job's best, read from the provider now and mapped
   * in full like a listed trial: SageMaker's `BestTrainingJob`; Vertex by the job's measurement
   * selection over its trials; ML Engine by each trial's final metric, its listed order breaking
   * ties. Undefined while the provider names none. Absent for providers whose trials tunewire
   * itself judges (local): the ledger is their truth.
   */
  bestTrial?(ref: ProviderJobRef, spec: TuningSpec): Promise<Trial | undefined>;
  stop(ref: ProviderJobRef): Promise<void>;
  /**
   * A trial's output, or where to read it: the local engine returns the end of its log file; a
   * cloud provider links to its console and log pages (nothing is fetched from it). `trialId` is a
   * trial the ledger has for this job; the caller checks that first. Absent: the provider offers
   * no logs.
   *
   * @example
   *   const logs = await provider.trialLogs?.(refOf(job), 'churn-xgb-4k2m-t003');
   *   // { text: 'epoch 1 auc=0.81\n…', truncated: false, links: [] }
   */
  trialLogs?(ref: ProviderJobRef, trialId: string): Promise<TrialLogs>;
}

/**
 * A model registry: SageMaker Model Package Groups, Vertex Model Registry, or the ledger itself
 * for the local provider.
 *
 * @example const { version } = await registry.registerVersion({ model: 'churn', jobId, trial, spec });
 */
export interface ModelRegistry {
  registerVersion(input: {
    readonly model: string;
    readonly jobId: string;
    readonly ref: ProviderJobRef;
    readonly trial: Trial;
    readonly spec: TuningSpec;
  }): Promise<{ readonly version: string }>;
}
