import type { JobObservation } from '../domain/job';
import type { ProviderName } from '../domain/spec';
import type { Trial } from '../domain/trial';

/**
 * A provider's job event after the edge has parsed its envelope: which job, which delivery, and
 * what it claims. The use cases never see a vendor envelope.
 */
export interface ProviderJobEvent {
  readonly provider: ProviderName;
  readonly providerJobName: string;
  /** The delivery's id: repeats of one delivery share it (EventBridge `id`, Pub/Sub messageId). */
  readonly eventId: string;
  /** Where it came from, e.g. `aws.sagemaker`, `tunewire.local`, `pubsub`, `reconciler`. */
  readonly source: string;
  /** The status the event claims, when it carries one. */
  readonly claimed?: JobObservation;
  /** The claim was read from the provider itself (describe), so it needs no confirming. */
  readonly confirmed?: boolean;
  /**
   * The provider's own id for the job, when the event names the job only by it (a Vertex log
   * entry names the numeric resource id, not the label tunewire finds jobs by).
   */
  readonly providerJobId?: string;
}

/** A provider's trial event (a training job or trial finished), or a nudge to re-read trials. */
export interface ProviderTrialEvent {
  readonly provider: ProviderName;
  /** The provider's job name; empty when the event names the job only by `jobId`. */
  readonly providerJobName: string;
  /**
   * The tunewire job id, when the event carries it (a SageMaker training job inherits its tuning
   * job's `tunewire:job-id` tag): found directly, whatever the provider job is called.
   */
  readonly jobId?: string;
  readonly eventId: string;
  readonly source: string;
  /** When the event's facts were true (the envelope's time); arrival time where it has none. */
  readonly observedAt?: string;
  /**
   * The trial as the event describes it: an observation, merged into what the ledger knows. A
   * field the event lacks is unknown, not empty (an objective missing here is fetched from the
   * provider, see `fanOutTrials`).
   */
  readonly trial?: Trial;
}

export type EventOutcome = 'applied' | 'duplicate' | 'stale' | 'ignored' | 'rejected';

export interface HandledEvent {
  readonly outcome: EventOutcome;
  readonly jobId?: string;
  readonly detail?: string;
  /** What the call did, counted: the functions publish these as metrics (functions/runtime.ts). */
  readonly counts?: HandledCounts;
}

export interface HandledCounts {
  /** Trials written to the ledger (new, or moved forward). */
  readonly trialsStored?: number;
  /** Trial Finished events published. */
  readonly trialsAnnounced?: number;
  /** Champions replaced or first crowned. */
  readonly promotions?: number;
}
