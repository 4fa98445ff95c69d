import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awaitsObjective, mergeTrial, type MergedTrial, type Trial, type TrialObservation } from '../../../shared/domain/trial';

const T = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute)).toISOString();

function trial(status: Trial['status'], extra: Partial<Trial> = {}): Trial {
  return { trialId: 'tj-3', status, hyperparameters: {}, stoppedEarly: false, ...extra };
}

const event = (t: Trial, minute = 5): TrialObservation => ({ trial: t, source: 'event', observedAt: T(minute) });
const listing = (t: Trial, minute = 10): TrialObservation => ({ trial: t, source: 'provider', observedAt: T(minute) });

function fold(observations: readonly TrialObservation[]): Trial {
  let merged: MergedTrial | undefined;
  for (const o of observations) merged = mergeTrial(merged, o);
  if (!merged) throw new Error('nothing observed');
  return merged.trial;
}

describe('mergeTrial', () => {
  it('takes the objective from a listing after an event without metrics (AWS documented event shape)', () => {
    const documented = event(trial('succeeded', { hyperparameters: { eta: '0.2', num_round: '200' }, artifactUri: 's3://m/tj-3/model.tar.gz', endedAt: T(4) }));
    const listed = listing(trial('succeeded', { hyperparameters: { eta: '0.2' }, objectiveValue: 0.93, objectiveStatus: 'succeeded', endedAt: T(4) }));

    const merged = fold([documented, listed]);

    expect(merged).toEqual({
      trialId: 'tj-3',
      status: 'succeeded',
      hyperparameters: { eta: '0.2', num_round: '200' },
      objectiveValue: 0.93,
      objectiveStatus: 'succeeded',
      endedAt: T(4),
      artifactUri: 's3://m/tj-3/model.tar.gz',
      stoppedEarly: false,
    });
    expect(fold([listed, documented])).toEqual(merged);
  });

  it('treats a finished trial without an objective as waiting, not failed', () => {
    const merged = fold([event(trial('succeeded'))]);
    expect(merged.objectiveStatus).toBeUndefined();
    expect(awaitsObjective(merged)).toBe(true);
    expect(awaitsObjective(fold([event(trial('failed', { objectiveStatus: 'failed' }))]))).toBe(false);
    expect(awaitsObjective(fold([listing(trial('succeeded', { objectiveStatus: 'failed' }))]))).toBe(false);
  });

  it("lets the provider's listing correct an event's value, whichever came first", () => {
    const fromEvent = event(trial('succeeded', { objectiveValue: 0.95, objectiveStatus: 'succeeded', metrics: { 'validation:auc': 0.95 } }), 20);
    const fromListing = listing(trial('succeeded', { objectiveValue: 0.93, objectiveStatus: 'succeeded', metrics: { 'validation:auc': 0.93 } }), 10);

    for (const order of [
      [fromEvent, fromListing],
      [fromListing, fromEvent],
    ]) {
      const merged = fold(order);
      expect(merged.objectiveValue).toBe(0.93);
      expect(merged.metrics).toEqual({ 'validation:auc': 0.93 });
    }
  });

  it('prefers the newer of two listings, and never loses a value a later one lacks', () => {
    const older = listing(trial('succeeded', { objectiveValue: 0.8, objectiveStatus: 'succeeded', failureReason: 'none' }), 10);
    const newer = listing(trial('succeeded', { objectiveValue: 0.82, objectiveStatus: 'succeeded' }), 11);
    expect(fold([newer, older])).toMatchObject({ objectiveValue: 0.82, failureReason: 'none' });
    expect(fold([older, newer])).toMatchObject({ objectiveValue: 0.82, failureReason: 'none' });
  });

  it('remembers a Vertex early stop: ACTIVE, STOPPING, then SUCCEEDED without the flag', () => {
    const active = listing(trial('running'), 1);
    const stopping = listing(trial('running', { stoppedEarly: true }), 2);
    const succeeded = listing(trial('succeeded', { objectiveValue: 0.7, objectiveStatus: 'succeeded' }), 3);

    expect(fold([active, stopping, succeeded])).toMatchObject({ status: 'succeeded', stoppedEarly: true, objectiveValue: 0.7 });
    expect(fold([succeeded, stopping, active])).toMatchObject({ status: 'succeeded', stoppedEarly: true, objectiveValue: 0.7 });
  });

  it('moves status forward only, and between finished statuses takes the provider’s', () => {
    expect(fold([listing(trial('succeeded'), 1), listing(trial('running'), 9)]).status).toBe('succeeded');
    expect(fold([event(trial('stopped'), 30), listing(trial('succeeded'), 10)]).status).toBe('succeeded');
    expect(fold([listing(trial('succeeded'), 10), event(trial('stopped'), 30)]).status).toBe('succeeded');
  });

  it('keeps an infeasible trial’s reason, and an objective once failed stays failed over a pending one', () => {
    const infeasible = listing(trial('infeasible', { failureReason: 'no final measurement', objectiveStatus: 'failed' }));
    expect(fold([infeasible, listing(trial('running', { objectiveStatus: 'pending' }), 1)])).toMatchObject({
      status: 'infeasible',
      failureReason: 'no final measurement',
      objectiveStatus: 'failed',
    });
  });

  it('is idempotent: the same observation twice changes nothing', () => {
    const once = mergeTrial(undefined, event(trial('succeeded', { objectiveValue: 0.5 })));
    expect(mergeTrial(once, event(trial('succeeded', { objectiveValue: 0.5 })))).toEqual(once);
  });
});

// ---- the property: any interleaving and duplication ends in the provider's final truth ----------

interface Truth {
  readonly status: 'succeeded' | 'stopped' | 'failed' | 'infeasible';
  readonly value: number | undefined;
  readonly stoppedEarly: boolean;
  readonly eventCarries: 'nothing' | 'metrics' | 'noisy-metrics';
  readonly eta: string;
  readonly trainAuc: number;
  readonly eventMinute: number;
}

const truths = fc.record({
  status: fc.constantFrom('succeeded', 'stopped', 'failed', 'infeasible'),
  value: fc.option(fc.double({ min: -10, max: 10, noNaN: true }), { nil: undefined }),
  stoppedEarly: fc.boolean(),
  eventCarries: fc.constantFrom('nothing', 'metrics', 'noisy-metrics'),
  eta: fc.constantFrom('0.01', '0.1', '0.3'),
  trainAuc: fc.double({ min: 0, max: 1, noNaN: true }),
  eventMinute: fc.integer({ min: 0, max: 59 }),
}) as fc.Arbitrary<Truth>;

const METRIC = 'validation:auc';

/** What each source would report of a trial whose truth is `t`: listings along the way, and its events. */
function observationsOf(t: Truth): { all: TrialObservation[]; expected: Trial } {
  const value = t.status === 'succeeded' || t.status === 'stopped' ? t.value : undefined;
  const objective = value !== undefined ? { objectiveValue: value, objectiveStatus: 'succeeded' as const } : { objectiveStatus: 'failed' as const };
  const reason = t.status === 'failed' || t.status === 'infeasible' ? { failureReason: `${t.status} because` } : {};
  const started = { startedAt: T(1) };
  const ended = { endedAt: T(40) };
  const base = { trialId: 'tj-7', hyperparameters: { eta: t.eta }, stoppedEarly: false };

  const all: TrialObservation[] = [listing({ ...base, status: 'running', objectiveStatus: 'pending', ...started }, 2)];
  if (t.stoppedEarly) all.push(listing({ ...base, status: 'running', objectiveStatus: 'pending', ...started, stoppedEarly: true }, 30));
  // The final listing does not repeat the early stop (Vertex's SUCCEEDED carries no flag).
  all.push(listing({ ...base, status: t.status, ...objective, ...started, ...ended, ...reason, ...(value !== undefined ? { metrics: { [METRIC]: value } } : {}) }, 45));

  const eventMetrics =
    t.eventCarries === 'nothing' ? undefined : { 'train:auc': t.trainAuc, ...(value !== undefined ? { [METRIC]: t.eventCarries === 'noisy-metrics' ? value + 0.5 : value } : {}) };
  if (t.status !== 'infeasible') {
    all.push(
      event(
        {
          ...base,
          hyperparameters: { eta: t.eta, num_round: '200' },
          status: t.status,
          ...(t.status === 'failed' ? { objectiveStatus: 'failed' as const } : {}),
          ...(eventMetrics?.[METRIC] !== undefined ? { objectiveValue: eventMetrics[METRIC] } : {}),
          ...started,
          ...ended,
          ...reason,
          artifactUri: 's3://models/tj-7/model.tar.gz',
          ...(eventMetrics ? { metrics: eventMetrics } : {}),
        },
        t.eventMinute,
      ),
    );
  }

  const metrics = { ...(eventMetrics && t.status !== 'infeasible' ? { 'train:auc': t.trainAuc } : {}), ...(value !== undefined ? { [METRIC]: value } : {}) };
  const expected: Trial = {
    trialId: 'tj-7',
    status: t.status,
    hyperparameters: t.status === 'infeasible' ? { eta: t.eta } : { eta: t.eta, num_round: '200' },
    ...objective,
    ...started,
    ...ended,
    ...reason,
    ...(t.status !== 'infeasible' ? { artifactUri: 's3://models/tj-7/model.tar.gz' } : {}),
    stoppedEarly: t.stoppedEarly,
    ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
  };
  return { all, expected };
}

describe('mergeTrial over any delivery', () => {
  it('ends in the provider’s final truth for every interleaving and duplication of events and listings', () => {
    fc.assert(
      fc.property(
        truths.chain((truth) => {
          const { all, expected } = observationsOf(truth);
          const deliveries = fc
            .tuple(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), fc.array(fc.nat(all.length - 1), { maxLength: 6 }), fc.nat())
            .chain(([order, repeats, seed]) => {
              const withRepeats = [...order];
              repeats.forEach((i, k) => withRepeats.splice((seed + k * 7) % (withRepeats.length + 1), 0, all[i] as TrialObservation));
              return fc.constant(withRepeats);
            });
          return fc.tuple(fc.constant(expected), deliveries);
        }),
        ([expected, deliveries]) => {
          expect(fold(deliveries)).toEqual(expected);
        },
      ),
      { seed: 9, numRuns: 2_000 },
    );
  });
});
