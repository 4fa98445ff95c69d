import { eventIds, makeEvent } from '../domain/events';
import type { JobRecord } from '../domain/job';
import type { TuningSpec } from '../domain/spec';
import type { TriggerDecision, TriggerDecisionKind } from '../ports/templates';
import type { TemplateDependencies } from './manage-templates';
import { startFromTemplate, type TemplateOutcome } from './trigger-template';

export { recordJobOutcome, onJobFinished } from './trigger-template';

export interface RetuneInput {
  readonly template: string;
  /** The schedule's slot (its scheduled time): one retune per slot, however often it is delivered. */
  readonly slot: string;
}

/** Why a provider cannot warm-start, said where the API does not allow it. */
const COLD_REASONS: Partial<Record<TuningSpec['provider'], string>> = {
  vertex:
    'Vertex AI HyperparameterTuningJob has no warm start: its StudySpec takes no parent jobs (StudySpec.transferLearningConfig is for Vertex AI Vizier studies only, not HyperparameterTuningJob)',
  local: 'the local engine has no warm start',
};

/**
 * The warm start a retune asks for: the template's last good job as the only parent, on
 * SageMaker (WarmStartConfig, TransferLearning) and ML Engine (resumePreviousJobId; the type is
 * not sent there). Elsewhere, or without a usable parent, it runs cold and says why.
 */
export function retuneWarmStart(spec: TuningSpec, parent: JobRecord | undefined): { readonly spec: TuningSpec; readonly note: string } {
  const { warmStart: _ignored, ...cold } = spec;
  const coldReason = COLD_REASONS[spec.provider];
  if (coldReason) return { spec: cold, note: `cold: ${coldReason}` };
  if (!parent) return { spec: cold, note: 'cold: the template has no successful job yet' };
  if (parent.provider !== spec.provider) return { spec: cold, note: `cold: the last good job ${parent.jobId} ran on ${parent.provider}` };
  if (parent.status !== 'succeeded') return { spec: cold, note: `cold: the last good job ${parent.jobId} is ${parent.status}` };
  const how = spec.provider === 'mlengine' ? 'resumePreviousJobId' : 'WarmStartConfig TransferLearning';
  return { spec: { ...cold, warmStart: { from: [parent.jobId], type: 'transfer_learning' } }, note: `warm start from ${parent.jobId} (${how})` };
}

/**
 * Retune a template on its schedule.
 *
 * 1. Load the template and its latest version.
 * 2. Choose the warm start: the template's last successful job where the provider allows it
 *    (`retuneWarmStart`), cold otherwise, with the reason.
 * 3. Claim the running slot; if a job of the template is still running, record `skipped` and stop.
 * 4. Submit with idempotency key `retune:<slot>` (a redelivered schedule is the same job),
 *    announce Retune Requested, and record `submitted` with the warm-start note.
 *
 * Promotion then decides as for any job (promote-best on Tuning Job Finished): the retuned model
 * replaces the champion only if it beats it.
 */
export async function retune(deps: TemplateDependencies, input: RetuneInput): Promise<TemplateOutcome> {
  // the spec and triggers, not the webhook secret: a template whose secret cannot be opened still retunes
  const template = await deps.templates.getTemplateHead(input.template);
  const version = template && (await deps.templates.getVersion(template.name, template.latestVersion));
  if (!template || !version) return { outcome: 'ignored', detail: `template ${input.template} does not exist` };

  const at = deps.clock.now().toISOString();
  const parent = template.lastSuccessfulJobId ? await deps.ledger.getJob(template.lastSuccessfulJobId) : undefined;
  const { spec, note } = retuneWarmStart(version.spec, parent);
  const record = (decision: TriggerDecisionKind, reason: string, extra: Partial<TriggerDecision> = {}) =>
    deps.templates.recordDecision({ template: template.name, id: `schedule:${input.slot}`, at, decision, reason, source: 'schedule', version: version.version, warmStart: note, ...extra });

  const outcome = await startFromTemplate(deps, {
    template,
    spec,
    version: version.version,
    idempotencyKey: `retune:${input.slot}`,
    source: 'schedule',
    at,
    record,
    submittedReason: `scheduled retune (slot ${input.slot}), ${note}`,
    onHeld: async (holder) => {
      const reason = `job ${holder} of template ${template.name} is still running`;
      await record('skipped', reason);
      return { outcome: 'ignored', decision: 'skipped', detail: reason };
    },
  });
  if (outcome.decision === 'submitted') {
    await deps.bus.publish([makeEvent('retune.requested', eventIds.retune(template.name, input.slot), template.name, { template: template.name, reason: note }, deps.clock.now())]);
  }
  return outcome;
}
