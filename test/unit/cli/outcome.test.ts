import { describe, expect, it } from 'vitest';
import { EXIT, gridWarning, jobExitCode, promotionLine, trialCountsLine } from '../../../shared/cli/outcome';
import type { PromotionRecord } from '../../../shared/ports/ledger';

const best = { trialId: 't1', status: 'succeeded' as const, hyperparameters: {}, stoppedEarly: false, objectiveValue: 0.9 };

describe('jobExitCode', () => {
  it('is 0 for a job that succeeded with an objective', () => expect(jobExitCode({ status: 'succeeded', bestTrial: best })).toBe(EXIT.ok));
  it('is 5 for a job that succeeded without any objective', () => expect(jobExitCode({ status: 'succeeded' })).toBe(5));
  it('is 3 for a failed job', () => expect(jobExitCode({ status: 'failed' })).toBe(3));
  it('is 4 for a stopped job', () => expect(jobExitCode({ status: 'stopped', bestTrial: best })).toBe(4));
});

describe('trialCountsLine', () => {
  it('says how many succeeded without objective', () => {
    expect(trialCountsLine({ trialCounts: { succeeded: 10, failed: 2 }, flags: ['objective-failed:4', 'succeeded-without-objective:2'] })).toBe(
      '12 trials: 10 succeeded (2 without objective), 2 failed',
    );
  });
  it('is undefined when no counts are known', () => expect(trialCountsLine({})).toBeUndefined());
});

describe('promotionLine', () => {
  const skipped: PromotionRecord = { model: 'm', jobId: 'j', decidedAt: '2026-01-01T00:00:00.000Z', decision: 'skipped', reason: 'no trial has an objective value' };
  it('never says it kept a champion that does not exist', () => {
    expect(promotionLine(skipped, false)).toBe('promotion: no promotion for model m: no trial has an objective value');
  });
  it('says it kept the champion when there is one', () => expect(promotionLine(skipped, true)).toContain('KEPT the champion'));
});

describe('gridWarning', () => {
  it('warns when the grid is larger than maxTrials', () => {
    expect(gridWarning({ strategy: 'grid', budget: { maxTrials: 12, parallelTrials: 1 } }, 48)).toBe('grid has 48 points, maxTrials is 12: only the first 12 run');
  });
  it('is quiet when the grid fits', () => expect(gridWarning({ strategy: 'grid', budget: { maxTrials: 12, parallelTrials: 1 } }, 12)).toBeUndefined());
});
