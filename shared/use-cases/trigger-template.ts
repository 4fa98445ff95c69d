import { ValidationError } from '../domain/errors';
import { deriveJobId, type JobRecord } from '../domain/job';
import type { TuningSpec } from '../domain/spec';
import { isTerminalJobStatus } from '../domain/status';
import { applyOverrides } from '../domain/template';
import type { TemplateOverrides, TemplateRecord, TriggerDecision, TriggerDecisionKind } from '../ports/templates';
import type { TemplateDependencies } from './manage-templates';
import type { HandledEvent } from './provider-events';
import { submitJob } from './submit-job';

export interface TriggerTemplateInput {
  readonly template: string;
  readonly overrides: TemplateOverrides;
  /** What counts as "the same data": bucket + directory, dataset + location, a webhook's id. */
  readonly dedupeKey: string;
  /** `s3`, `dataset-ready`, `pubsub`, `webhook`. */
  readonly source: string;
  /** When the event happened (ISO); starts the debounce window. */
  readonly at: string;
  /** The delivery's id: a redelivery of the debounce winner still submits (same job). */
  readonly eventId: string;
}

export type TemplateOutcome = HandledEvent & { readonly decision?: TriggerDecisionKind };

/** A slot holder whose job never reached the ledger is judged crashed after this long. */
const ORPHAN_SLOT_MS = 15 * 60_000;

/** `template:<name>:<source>`: how a job records which template started it. */
export const templateTrigger = (name: string, source: string) => `template:${name}:${source}`;

export function templateOfTrigger(trigger: string | undefined): string | undefined {
  const match = /^template:([^:]+):/.exec(trigger ?? '');
  return match?.[1];
}

/**
 * Start a job from a template because data arrived.
 *
 * 1. Load the template and its latest version; an unknown template is ignored (recorded nowhere).
 * 2. Debounce: claim `DEB#<dedupeKey>` for `debounceSeconds` (conditional put); a burst of events
 *    for one dataset has one winner, the rest are recorded `debounced`.
 * 3. Apply the overrides (data location, labels) to the spec; the job id follows from
 *    `<template>:<dedupeKey>:<window start>`, so a retry is the same job.
 * 4. Claim the template's running slot for that job id (conditional). If another job holds it and
 *    is still active: `queue` keeps the trigger to submit when that job finishes (recordJobOutcome),
 *    `drop` forgets it; either way the decision is recorded.
 * 5. Submit (idempotent), trigger `template:<name>:<source>`, and record `submitted`.
 */
export async function triggerTemplate(deps: TemplateDependencies, input: TriggerTemplateInput): Promise<TemplateOutcome> {
  // the head without its webhook secret: a template whose key was lost still triggers from data
  const template = await deps.templates.getTemplateHead(input.template);
  const version = template && (await deps.templates.getVersion(template.name, template.latestVersion));
  if (!template || !version) return { outcome: 'ignored', detail: `template ${input.template} does not exist` };

  const record = (decision: TriggerDecisionKind, reason: string, extra: Partial<TriggerDecision> = {}) =>
    deps.templates.recordDecision({
      template: template.name,
      id: `${input.source}:${input.eventId}`,
      at: input.at,
      decision,
      reason,
      source: input.source,
      dedupeKey: input.dedupeKey,
      version: version.version,
      ...extra,
    });

  const claim = await deps.templates.claimDebounce(template.name, input.dedupeKey, { owner: input.eventId, at: input.at, windowSeconds: template.debounceSeconds });
  if (claim.kind === 'held') {
    const reason = `${input.dedupeKey} already triggered at ${claim.since} (event ${claim.by}); debounce window ${template.debounceSeconds}s`;
    await record('debounced', reason);
    return { outcome: 'duplicate', decision: 'debounced', detail: reason };
  }

  let spec: TuningSpec;
  try {
    spec = applyOverrides(version.spec, input.overrides);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    await record('skipped', error.message);
    return { outcome: 'rejected', decision: 'skipped', detail: error.message };
  }
  return startFromTemplate(deps, {
    template,
    spec,
    version: version.version,
    idempotencyKey: `${template.name}:${input.dedupeKey}:${input.at}`,
    source: input.source,
    at: input.at,
    record,
    onHeld: async (holder) => {
      if (template.policy === 'drop') {
        const reason = `job ${holder} of template ${template.name} is still running; policy drop`;
        await record('dropped', reason);
        return { outcome: 'ignored', decision: 'dropped', detail: reason };
      }
      const decisionId = `${input.source}:${input.eventId}`;
      await deps.templates.queueTrigger(template.name, { decisionId, dedupeKey: input.dedupeKey, source: input.source, at: input.at, overrides: input.overrides });
      const reason = `job ${holder} of template ${template.name} is still running; queued until it finishes (policy queue)`;
      await record('queued', reason);
      return { outcome: 'applied', decision: 'queued', detail: reason };
    },
  });
}

/** The shared tail of a trigger and a retune: claim the running slot, submit, record. */
export async function startFromTemplate(
  deps: TemplateDependencies,
  input: {
    readonly template: TemplateRecord;
    readonly spec: TuningSpec;
    readonly version: number;
    readonly idempotencyKey: string;
    readonly source: string;
    readonly at: string;
    readonly record: (decision: TriggerDecisionKind, reason: string, extra?: Partial<TriggerDecision>) => Promise<void>;
    readonly onHeld: (holder: string) => Promise<TemplateOutcome>;
    readonly submittedReason?: string;
  },
): Promise<TemplateOutcome> {
  const { template, spec } = input;
  const jobId = deriveJobId(spec.name, input.idempotencyKey);
  const holder = await claimRunningSlot(deps, template.name, jobId, input.at);
  if (holder) return input.onHeld(holder);

  let job: JobRecord;
  let created: boolean;
  try {
    ({ job, created } = await submitJob(deps, { spec, idempotencyKey: input.idempotencyKey, trigger: templateTrigger(template.name, input.source) }));
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error; // retryable: keep the slot, a retry has the same job id
    await deps.templates.releaseRunningSlot(template.name, jobId, { succeeded: false, at: input.at });
    await input.record('skipped', error.message);
    return { outcome: 'rejected', decision: 'skipped', detail: error.message };
  }
  const reason = input.submittedReason ?? `version ${input.version} submitted as job ${job.jobId}`;
  await input.record('submitted', reason, { jobId: job.jobId });
  return { outcome: created ? 'applied' : 'duplicate', jobId: job.jobId, decision: 'submitted', detail: reason };
}

/**
 * Puts `jobId` in the template's running slot; returns the job that holds it instead, if one does
 * and it is still active. A holder that has finished (its outcome was missed) or never reached the
 * ledger within ORPHAN_SLOT_MS (a crashed submit) is replaced.
 */
async function claimRunningSlot(deps: TemplateDependencies, name: string, jobId: string, at: string): Promise<string | undefined> {
  let expected: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const claim = await deps.templates.claimRunningSlot(name, jobId, { at, ...(expected ? { expected } : {}) });
    if (claim.kind === 'claimed') return undefined;
    const running = await deps.ledger.getJob(claim.by);
    const orphan = !running && deps.clock.now().getTime() - Date.parse(claim.since) > ORPHAN_SLOT_MS;
    if (running && !isTerminalJobStatus(running.status)) return claim.by;
    if (!running && !orphan) return claim.by;
    expected = claim.by;
  }
  return expected;
}

/**
 * What a finished template job means for its template. Call it on Tuning Job Finished (the trigger
 * function subscribes to it) or from any path that sees a job end; repeats are harmless.
 *
 * 1. Ignore jobs no template started, and jobs not finished.
 * 2. Release the running slot (conditional on this job holding it); a success becomes the
 *    template's last good job, the parent of the next retune.
 * 3. If a trigger was queued meanwhile, start it now (claim, submit, then take it off the queue,
 *    so a crash in between repeats the same job rather than losing it).
 */
export async function recordJobOutcome(deps: TemplateDependencies, job: JobRecord): Promise<TemplateOutcome> {
  const name = templateOfTrigger(job.trigger);
  if (!name) return { outcome: 'ignored', jobId: job.jobId, detail: 'no template started this job' };
  if (!isTerminalJobStatus(job.status)) return { outcome: 'ignored', jobId: job.jobId, detail: `job is ${job.status}` };
  const at = deps.clock.now().toISOString();
  const released = await deps.templates.releaseRunningSlot(name, job.jobId, { succeeded: job.status === 'succeeded', at });

  const template = await deps.templates.getTemplateHead(name);
  const queued = template?.queued;
  const version = template && queued && (await deps.templates.getVersion(name, template.latestVersion));
  if (!template || !queued || !version) {
    return { outcome: released ? 'applied' : 'duplicate', jobId: job.jobId, detail: `template ${name}: job ${job.status}` };
  }
  const record = (decision: TriggerDecisionKind, reason: string, extra: Partial<TriggerDecision> = {}) =>
    deps.templates.recordDecision({
      template: name,
      id: `queue:${queued.decisionId}`,
      at,
      decision,
      reason,
      source: 'queue',
      dedupeKey: queued.dedupeKey,
      version: version.version,
      ...extra,
    });
  let spec: TuningSpec;
  try {
    spec = applyOverrides(version.spec, queued.overrides);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    await deps.templates.takeQueuedTrigger(name, queued.decisionId);
    await record('skipped', error.message);
    return { outcome: 'rejected', decision: 'skipped', detail: error.message };
  }
  const outcome = await startFromTemplate(deps, {
    template,
    spec,
    version: version.version,
    idempotencyKey: `${name}:${queued.dedupeKey}:${queued.at}`,
    source: queued.source,
    at,
    record,
    submittedReason: `queued trigger ${queued.decisionId} submitted after job ${job.jobId} ${job.status}`,
    // another job took the slot first (a newer trigger or retune): the queued one waits for it
    onHeld: async (holder) => ({ outcome: 'ignored', decision: 'queued', detail: `job ${holder} holds the slot; trigger stays queued` }),
  });
  if (outcome.decision === 'submitted' || outcome.decision === 'skipped') await deps.templates.takeQueuedTrigger(name, queued.decisionId);
  return outcome;
}

/** Tuning Job Finished → recordJobOutcome, by job id. */
export async function onJobFinished(deps: TemplateDependencies, input: { readonly jobId: string }): Promise<TemplateOutcome> {
  const job = await deps.ledger.getJob(input.jobId);
  if (!job) return { outcome: 'ignored', detail: `job ${input.jobId} is not in the ledger` };
  return recordJobOutcome(deps, job);
}
