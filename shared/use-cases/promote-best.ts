import { ConcurrencyError } from '../domain/errors';
import { eventIds, jobRefOf, makeEvent, trialPayloadOf, type AnyTunewireEvent } from '../domain/events';
import { refOf, type JobRecord } from '../domain/job';
import type { Goal } from '../domain/spec';
import { isBetter, isEligibleForBest, sameTrial, selectBestTrial, type Trial } from '../domain/trial';
import type { Champion } from '../ports/ledger';
import { publishClaimed, type AnnouncingDependencies } from './announce';
import type { HandledEvent } from './provider-events';

const MAX_RACES = 5;

export type PromotionDecision =
  | { readonly kind: 'promote'; readonly trial: Trial; readonly previous: Champion | undefined }
  | { readonly kind: 'skip'; readonly reason: string; readonly trial?: Trial }
  /** This job's trial is the champion already: a repeated Tuning Job Finished. */
  | { readonly kind: 'already'; readonly champion: Champion };

/**
 * The promotion rule, pure: the best trial must reach the threshold and beat the champion by at
 * least `minImprovement`. Equal is not better.
 */
export function decidePromotion(input: {
  readonly job: Pick<JobRecord, 'jobId' | 'status'>;
  readonly best: Trial | undefined;
  readonly champion: Champion | undefined;
  readonly goal: Goal;
  readonly minImprovement: number;
  readonly threshold?: number;
}): PromotionDecision {
  const { job, best, champion, goal, minImprovement, threshold } = input;
  if (champion && champion.jobId === job.jobId) return { kind: 'already', champion };
  if (job.status !== 'succeeded') return { kind: 'skip', reason: `job ended ${job.status}` };
  if (!best || best.objectiveValue === undefined) return { kind: 'skip', reason: 'no trial finished with an objective value' };
  const value = best.objectiveValue;
  if (threshold !== undefined && value !== threshold && !isBetter(goal, value, threshold)) {
    return { kind: 'skip', trial: best, reason: `best ${value} does not reach the threshold ${threshold}` };
  }
  if (champion) {
    const needed = goal === 'maximize' ? champion.objectiveValue + minImprovement : champion.objectiveValue - minImprovement;
    const enough = minImprovement === 0 ? isBetter(goal, value, champion.objectiveValue) : value === needed || isBetter(goal, value, needed);
    if (!enough) {
      return {
        kind: 'skip',
        trial: best,
        reason: `best ${value} does not beat the champion ${champion.objectiveValue} (job ${champion.jobId}) by ${minImprovement || 'anything'}`,
      };
    }
  }
  return { kind: 'promote', trial: best, previous: champion };
}

/**
 * Promote a finished job's best trial if it beats the champion.
 *
 * 1. Read the job and its trials from the ledger; a job without `promotion` is ignored.
 * 2. Check the ledger's best against the provider's own best (`checkWithProvider`).
 * 3. Decide against the current champion (`decidePromotion`).
 * 4. Register the winner as a new model version in the provider's registry.
 * 5. Move the champion pointer with a conditional write on the champion read in 3; if another
 *    promotion won the race, decide again against the new champion.
 * 6. Record the decision and announce Model Promoted or Model Promotion Skipped, under a ledger
 *    claim on the job's promotion event id: a repeated Tuning Job Finished announces nothing new.
 *    The event's time is the decision's (the champion's `promotedAt` for a promotion).
 */
export async function promoteBest(deps: AnnouncingDependencies, input: { readonly jobId: string }): Promise<HandledEvent & { decision?: PromotionDecision }> {
  const job = await deps.ledger.getJob(input.jobId);
  if (!job) return { outcome: 'ignored', detail: `job ${input.jobId} is not in the ledger` };
  const promotion = job.spec.promotion;
  if (!promotion) return { outcome: 'ignored', jobId: job.jobId, detail: 'the spec asks for no promotion' };
  const goal = job.spec.objective.goal;
  const trials = await deps.ledger.listTrials(job.jobId);
  let best: Trial | undefined = selectBestTrial(trials, goal);
  let checked = false;
  const base = { ...jobRefOf(job, deps), model: promotion.model };
  const eventId = eventIds.promotion(job.jobId, promotion.model);
  const payload = (trial: Trial) => trialPayloadOf(job.spec, trial);
  const announce = (event: AnyTunewireEvent) =>
    publishClaimed(deps, { jobId: job.jobId, key: eventId, sequence: 1, events: [event], marks: {}, holder: `promote:${job.jobId}` });

  for (let race = 0; race < MAX_RACES; race++) {
    const champion = await deps.ledger.getChampion(promotion.model);
    if (!checked && job.status === 'succeeded' && champion?.jobId !== job.jobId) {
      best = await checkWithProvider(deps, job, trials, best);
      checked = true;
    }
    const decision = decidePromotion({
      job,
      best,
      champion,
      goal,
      minImprovement: promotion.minImprovement,
      ...(promotion.threshold !== undefined ? { threshold: promotion.threshold } : {}),
    });
    const now = deps.clock.now();

    if (decision.kind === 'already') {
      // a crash between the champion write and the announcement: announce it now, as decided then
      const { champion: won } = decision;
      const trial: Trial = trials.find((t) => t.trialId === won.trialId) ?? best ?? { trialId: won.trialId, status: 'succeeded', hyperparameters: {}, stoppedEarly: false };
      const decidedAt = new Date(won.promotedAt);
      await announce(
        makeEvent('model.promoted', eventId, job.jobId, { ...base, trial: payload(trial), objectiveValue: won.objectiveValue, version: won.version, decidedAt: decidedAt.toISOString() }, decidedAt),
      );
      return { outcome: 'duplicate', jobId: job.jobId, detail: `already champion of ${promotion.model}`, decision };
    }

    if (decision.kind === 'skip') {
      const recorded = await deps.ledger.recordPromotion({
        model: promotion.model,
        jobId: job.jobId,
        decidedAt: now.toISOString(),
        decision: 'skipped',
        reason: decision.reason,
        ...(decision.trial ? { trialId: decision.trial.trialId, objectiveValue: decision.trial.objectiveValue } : {}),
      });
      await announce(
        makeEvent(
          'model.promotion_skipped',
          eventId,
          job.jobId,
          { ...base, reason: decision.reason, ...(decision.trial ? { trial: payload(decision.trial) } : {}), decidedAt: now.toISOString() },
          now,
        ),
      );
      return { outcome: recorded === 'recorded' ? 'applied' : 'duplicate', jobId: job.jobId, detail: `skipped: ${decision.reason}`, decision };
    }

    const value = decision.trial.objectiveValue as number;
    const { registry } = deps.providers.get(job.provider);
    const { version } = await registry.registerVersion({ model: promotion.model, jobId: job.jobId, ref: refOf(job), trial: decision.trial, spec: job.spec });
    const result = await deps.ledger.promoteChampion({
      candidate: { model: promotion.model, jobId: job.jobId, trialId: decision.trial.trialId, objectiveValue: value, goal, version, promotedAt: now.toISOString() },
      expected: champion,
      record: {
        model: promotion.model,
        jobId: job.jobId,
        decidedAt: now.toISOString(),
        decision: 'promoted',
        reason: champion ? `beats ${champion.objectiveValue} (job ${champion.jobId})` : 'first champion',
        trialId: decision.trial.trialId,
        objectiveValue: value,
      },
    });
    if (result.kind === 'conflict') continue;
    const previous = champion ? { previous: { jobId: champion.jobId, trialId: champion.trialId, objectiveValue: champion.objectiveValue } } : {};
    await announce(
      makeEvent('model.promoted', eventId, job.jobId, { ...base, trial: payload(decision.trial), objectiveValue: value, version, ...previous, decidedAt: now.toISOString() }, now),
    );
    return { outcome: 'applied', jobId: job.jobId, detail: `promoted ${decision.trial.trialId} (${value}) to ${promotion.model} ${version}`, decision, counts: { promotions: 1 } };
  }
  throw new ConcurrencyError(`model ${promotion.model}: lost ${MAX_RACES} promotion races for job ${job.jobId}`);
}

/**
 * The trial to promote: the ledger's best, checked against the one the provider itself names
 * (`TuningProvider.bestTrial`; none for the local engine, whose ledger is the truth).
 *
 * 1. Ask the provider for its best trial and merge that reading into the ledger: it is the
 *    provider's word, so it corrects whatever an event told us of that trial.
 * 2. Choose again with the corrected trial. Agreement ends here.
 * 3. Still different: follow the provider, and say why in the job's history.
 * The job's best trial is set to the answer either way.
 */
async function checkWithProvider(deps: AnnouncingDependencies, job: JobRecord, trials: readonly Trial[], ledgerBest: Trial | undefined): Promise<Trial | undefined> {
  const { provider } = deps.providers.get(job.provider);
  const named = provider.bestTrial ? await provider.bestTrial(refOf(job), job.spec) : undefined;
  if (!named) return ledgerBest;
  const goal = job.spec.objective.goal;
  const now = deps.clock.now().toISOString();
  const { stored } = await deps.ledger.putTrial(job.jobId, { trial: named, source: 'provider', observedAt: now });
  const { announced: _announced, ...reread } = stored;
  const corrected = selectBestTrial([...trials.filter((t) => t.trialId !== reread.trialId), reread], goal);
  let chosen = corrected;
  if (corrected?.trialId !== reread.trialId && isEligibleForBest(reread)) {
    chosen = reread;
    const ours = corrected ? `trial ${corrected.trialId} (${corrected.objectiveValue})` : 'no trial';
    await deps.ledger.recordArrival(job.jobId, {
      eventId: `best-check:${job.jobId}:${reread.trialId}`,
      receivedAt: now,
      source: 'promote-best',
      outcome: 'applied',
      detail: `${job.provider} names trial ${reread.trialId} (${reread.objectiveValue}) as the best; the ledger's best was ${ours}; promoting the provider's`,
    });
  }
  const current = (await deps.ledger.getJob(job.jobId))?.bestTrial;
  if (chosen && !(current && sameTrial(current, chosen))) await deps.ledger.setBestTrial(job.jobId, chosen);
  return chosen;
}
