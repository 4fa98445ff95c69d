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
  readonly providerJobName: string;
  readonly eventId: string;
  readonly source: string;
  /** The trial as the event describes it; the provider's list is still read for the rest. */
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
