import { describe, expect, it } from 'vitest';
import type { Trial } from '../../../shared/domain/trial';
import type { Champion } from '../../../shared/ports/ledger';
import { decidePromotion } from '../../../shared/use-cases/promote-best';

const trial = (objectiveValue: number): Trial => ({ trialId: 't', status: 'succeeded', hyperparameters: {}, stoppedEarly: false, objectiveValue });
const champion = (objectiveValue: number, goal: Champion['goal'] = 'maximize'): Champion => ({
  model: 'm',
  jobId: 'old',
  trialId: 't0',
  objectiveValue,
  goal,
  version: 'v1',
  promotedAt: '2026-01-01T00:00:00Z',
  revision: 1,
});
const job = { jobId: 'new', status: 'succeeded' as const };

describe('decidePromotion', () => {
  it.each([
    ['maximize', 0.9, undefined, 0, undefined, 'promote'],
    ['maximize', 0.91, 0.9, 0.01, undefined, 'promote'],
    ['maximize', 0.905, 0.9, 0.01, undefined, 'skip'],
    ['maximize', 0.9, 0.9, 0, undefined, 'skip'],
    ['maximize', 0.8, undefined, 0, 0.85, 'skip'],
    ['maximize', 0.85, undefined, 0, 0.85, 'promote'],
    ['minimize', 0.1, 0.2, 0.05, undefined, 'promote'],
    ['minimize', 0.18, 0.2, 0.05, undefined, 'skip'],
    ['minimize', 0.3, undefined, 0, 0.25, 'skip'],
  ] as const)('%s: best %s vs champion %s by %s, threshold %s -> %s', (goal, value, current, minImprovement, threshold, expected) => {
    const decision = decidePromotion({
      job,
      best: trial(value),
      champion: current === undefined ? undefined : champion(current, goal),
      goal,
      minImprovement,
      ...(threshold !== undefined ? { threshold } : {}),
    });
    expect(decision.kind).toBe(expected);
  });

  it('skips a job that did not succeed, and one without an objective', () => {
    expect(decidePromotion({ job: { jobId: 'x', status: 'failed' }, best: trial(1), champion: undefined, goal: 'maximize', minImprovement: 0 })).toMatchObject({
      kind: 'skip',
      reason: 'job ended failed',
    });
    expect(decidePromotion({ job, best: undefined, champion: undefined, goal: 'maximize', minImprovement: 0 }).kind).toBe('skip');
  });

  it('knows a job that is champion already', () => {
    expect(decidePromotion({ job: { jobId: 'old', status: 'succeeded' }, best: trial(1), champion: champion(1), goal: 'maximize', minImprovement: 0 }).kind).toBe('already');
  });
});
