import type { TuningSpec } from '../domain/spec';

/** What a trigger does while a job of the template is still running. */
export type TriggerPolicy = 'queue' | 'drop';

/** How an inbound webhook call proves it comes from the data platform. */
export interface WebhookAuth {
  /**
   * `standard`: Standard Webhooks (webhook-id/-timestamp/-signature); `hmac`: hex SHA-256 HMAC in one
   * header, of `<x-tunewire-timestamp>.<body>` when that header is sent, else of the raw body.
   */
  readonly kind: 'standard' | 'hmac';
  /** `whsec_<base64>` for `standard`; any shared secret for `hmac`. */
  readonly secret: string;
  /** The HMAC header (`hmac` only), e.g. `x-hub-signature-256`; default `x-tunewire-signature`. */
  readonly header?: string;
}

/** Which data-pipeline signals start the template. */
export interface TemplateTriggers {
  /** `s3://bucket/prefix/`: an S3 Object Created under it starts a job. */
  readonly s3Prefix?: string;
  /** A `Dataset Ready` event (source tunewire.datasets) or Pub/Sub message naming this dataset. */
  readonly datasetName?: string;
  /** Pub/Sub messages on this topic (its push subscription) start the template. */
  readonly pubsubTopic?: string;
  readonly webhook?: WebhookAuth;
}

export interface TemplateSettings {
  readonly policy: TriggerPolicy;
  /** One job per dedupe key (a dataset directory, an event) within this many seconds. */
  readonly debounceSeconds: number;
  readonly triggers: TemplateTriggers;
}

/** A trigger that arrived while a job ran, kept to be submitted when that job finishes (queue policy). */
export interface QueuedTrigger {
  readonly decisionId: string;
  readonly dedupeKey: string;
  readonly source: string;
  readonly at: string;
  readonly overrides: TemplateOverrides;
}

export interface TemplateOverrides {
  /** Where the new data is: s3://… for SageMaker, gs://… for Vertex/ML Engine, a path for local. */
  readonly dataLocation?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** How an inbound webhook is checked, without its secret: what listing and matching need. */
export type WebhookScheme = Omit<WebhookAuth, 'secret'>;

/** The triggers as a listed head carries them: the webhook secret stays sealed in the store. */
export type ListedTriggers = Omit<TemplateTriggers, 'webhook'> & { readonly webhook?: WebhookScheme };

/**
 * The template's head item (`TPL#<name>` / `HEAD`), its webhook secret not opened: enough to match
 * signals, trigger, retune and show the template, so a secret that cannot be opened (a lost key)
 * stops only that template's inbound webhook.
 */
export interface TemplateRecord extends Omit<TemplateSettings, 'triggers'> {
  readonly triggers: ListedTriggers;
  readonly name: string;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSuccessfulJobId?: string;
  /** The job that holds the template's running slot, and when it was claimed. */
  readonly runningJobId?: string;
  readonly runningSince?: string;
  readonly queued?: QueuedTrigger;
}

/** The head with its webhook secret opened (getTemplate): what verifying an inbound webhook needs. */
export interface TemplateRecordWithSecret extends TemplateRecord {
  readonly triggers: TemplateTriggers;
}

/** One immutable version of the template's spec (`TPL#<name>` / `V#<n>`). */
export interface TemplateVersion {
  readonly name: string;
  readonly version: number;
  readonly spec: TuningSpec;
  readonly createdAt: string;
}

export type TriggerDecisionKind = 'submitted' | 'debounced' | 'queued' | 'dropped' | 'skipped';

/** Why a trigger did or did not start a job (`TPL#<name>` / `TRIG#<at>#<id>`). */
export interface TriggerDecision {
  readonly template: string;
  readonly id: string;
  readonly at: string;
  readonly decision: TriggerDecisionKind;
  readonly reason: string;
  /** `s3`, `dataset-ready`, `pubsub`, `webhook`, `schedule`, `queue`. */
  readonly source: string;
  readonly dedupeKey?: string;
  readonly jobId?: string;
  readonly version?: number;
  /** Set on a retune: the parent it warm-started from, or why it ran cold. */
  readonly warmStart?: string;
}

/** What handling an inbound delivery produced, kept so that a retry of it is answered the same. */
export interface InboundDeliveryResult {
  readonly outcome: string;
  readonly jobId?: string;
  readonly decision?: TriggerDecisionKind;
  readonly detail?: string;
}

/**
 * The result of claiming an inbound delivery (`HOOK#<key>`):
 * - `claimed`: this caller handles it; `firstAt` is when the delivery was first claimed (a retry
 *   triggers with it, so it derives the same job id), `attempt` counts the handlers so far;
 * - `done`: an earlier handler finished it, with this result;
 * - `in-progress`: another handler holds an unexpired lease on it.
 */
export type InboundClaim =
  | { readonly kind: 'claimed'; readonly firstAt: string; readonly attempt: number }
  | { readonly kind: 'done'; readonly firstAt: string; readonly result: InboundDeliveryResult }
  | { readonly kind: 'in-progress'; readonly leaseUntil: string };

/** The result of a conditional claim; `held` carries what the winner stored. */
export type ClaimResult = { readonly kind: 'claimed' } | { readonly kind: 'held'; readonly by: string; readonly since: string };

/**
 * Tuning templates: named, versioned specs that triggers instantiate, with the template's trigger
 * bookkeeping (debounce markers, the running-job slot, the queued trigger, decision records).
 * Every write is conditional.
 *
 * @example
 *   const { template } = await templates.putTemplate({ name: 'churn', spec, settings, at });
 *   const matched = (await templates.listTemplates()).filter((t) => t.triggers.datasetName === 'churn-daily');
 *   const claim = await templates.claimDebounce('churn', 's3://data/churn/2026-11-23', { owner: eventId, at, windowSeconds: 300 });
 */
export interface TemplateStore {
  /** Writes version latest+1 (conditional on its absence and on the head's latestVersion) and updates the settings. */
  putTemplate(input: { readonly name: string; readonly spec: TuningSpec; readonly settings: TemplateSettings; readonly at: string }): Promise<{ readonly template: TemplateRecordWithSecret; readonly version: TemplateVersion }>;
  /** The head with its webhook secret opened; a secret that cannot be opened (wrong or lost key) throws. */
  getTemplate(name: string): Promise<TemplateRecordWithSecret | undefined>;
  /** The head without opening its webhook secret: what triggers and job outcomes read. */
  getTemplateHead(name: string): Promise<TemplateRecord | undefined>;
  /** The given version, or the latest. */
  getVersion(name: string, version?: number): Promise<TemplateVersion | undefined>;
  listVersions(name: string): Promise<TemplateVersion[]>;
  /** Every head, secrets not opened: one template's unreadable secret does not stop the others' triggers. */
  listTemplates(): Promise<TemplateRecord[]>;
  /** Deletes the head, versions and records; false when there was no such template. */
  deleteTemplate(name: string): Promise<boolean>;

  /** Claims `dedupeKey` for a window, unless a marker that has not expired holds it. */
  claimDebounce(name: string, dedupeKey: string, input: { readonly owner: string; readonly at: string; readonly windowSeconds: number }): Promise<ClaimResult>;
  /** Puts `jobId` in the running slot unless another job holds it (`expected`: the holder we judged finished). */
  claimRunningSlot(name: string, jobId: string, input: { readonly at: string; readonly expected?: string }): Promise<ClaimResult>;
  /** Empties the slot if `jobId` holds it; records a success as the last good job. */
  releaseRunningSlot(name: string, jobId: string, input: { readonly succeeded: boolean; readonly at: string }): Promise<boolean>;
  /** Keeps one queued trigger (the newest replaces an older one). */
  queueTrigger(name: string, trigger: QueuedTrigger): Promise<void>;
  /** Removes the queued trigger if it is still `decisionId`; true for the caller that took it. */
  takeQueuedTrigger(name: string, decisionId: string): Promise<boolean>;

  /**
   * Claims an inbound delivery (a webhook id, or a body digest) for `leaseSeconds`, as `owner`.
   * Fresh when no record exists or it is older than `retainSeconds`; taken over (same `firstAt`)
   * when the previous handler released it or its lease ran out; otherwise `done` or `in-progress`.
   *
   * @example
   *   const claim = await templates.claimInboundDelivery('churn', 'msg_2KWP', { owner: randomUUID(), at, leaseSeconds: 60, retainSeconds: 3 * 86_400 });
   *   if (claim.kind === 'claimed') { const outcome = await trigger(claim.firstAt); await templates.completeInboundDelivery('churn', 'msg_2KWP', { owner, at, result: outcome }); }
   */
  claimInboundDelivery(name: string, key: string, input: { readonly owner: string; readonly at: string; readonly leaseSeconds: number; readonly retainSeconds: number }): Promise<InboundClaim>;
  /** Records the delivery's result, if `owner` still holds it; false when another handler took it over. */
  completeInboundDelivery(name: string, key: string, input: { readonly owner: string; readonly at: string; readonly result: InboundDeliveryResult }): Promise<boolean>;
  /** Ends `owner`'s lease early (its trigger failed), so the sender's retry can claim it at once. */
  releaseInboundDelivery(name: string, key: string, input: { readonly owner: string; readonly at: string }): Promise<boolean>;

  recordDecision(decision: TriggerDecision): Promise<void>;
  /** Oldest first. */
  listDecisions(name: string): Promise<TriggerDecision[]>;
}
