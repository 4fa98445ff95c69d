import { describe, expect, it } from 'vitest';
import { MEDIAN_STOPPING_DEFAULTS, MedianStoppingRule } from '../../../../shared/adapters/local/early-stopping';
import { compileMetrics, localTrialSpecIssues, parseLocalTrialSpec, readMetric, type CompiledMetric } from '../../../../shared/adapters/local/local-trial-spec';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';

/** Feeds a whole curve (steps 1..n) for a trial, then completes it. */
function completeCurve(rule: MedianStoppingRule, trialId: string, values: readonly number[]): void {
  values.forEach((value, i) => rule.report(trialId, i + 1, value));
  rule.complete(trialId);
}

describe('MedianStoppingRule', () => {
  it('has the documented defaults: 5 completed trials, 3 warm-up reports', () => {
    expect(MEDIAN_STOPPING_DEFAULTS).toEqual({ minTrials: 5, warmupSteps: 3 });
  });

  it('stops a trial whose best so far is worse than the median of the completed trials at its step', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 3, warmupSteps: 1 });
    completeCurve(rule, 'a', [0.5, 0.6, 0.7]);
    completeCurve(rule, 'b', [0.6, 0.7, 0.8]);
    completeCurve(rule, 'c', [0.7, 0.8, 0.9]);
    expect(rule.report('d', 1, 0.1)).toBeUndefined(); // warm-up
    // running averages at step 2, after each curve's one warm-up report: a 0.6, b 0.7, c 0.8 → median 0.7
    expect(rule.report('d', 2, 0.2)).toEqual({ step: 2, best: 0.2, median: expect.closeTo(0.7, 10) as number, trials: 3 });
  });

  it('leaves a completed curve warm-up out of its running average', () => {
    const rule = new MedianStoppingRule({ goal: 'minimize', minTrials: 3, warmupSteps: 2 });
    completeCurve(rule, 'a', [1.0, 0.8, 0.4, 0.4]);
    completeCurve(rule, 'b', [1.0, 0.8, 0.5, 0.5]);
    completeCurve(rule, 'c', [1.0, 0.8, 0.6, 0.6]);
    rule.report('d', 1, 0.9);
    rule.report('d', 2, 0.7);
    // at step 3: a 0.4, b 0.5, c 0.6 → median 0.5 (from step 1, b's 0.77 would let 0.55 run)
    expect(rule.report('d', 3, 0.55)).toEqual({ step: 3, best: 0.55, median: 0.5, trials: 3 });
    rule.report('e', 1, 0.9);
    rule.report('e', 2, 0.7);
    expect(rule.report('e', 3, 0.45)).toBeUndefined();
  });

  it('lets a trial run whose best so far beats the median, or equals it', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 3, warmupSteps: 0 });
    completeCurve(rule, 'a', [0.5, 0.6]);
    completeCurve(rule, 'b', [0.6, 0.7]);
    completeCurve(rule, 'c', [0.7, 0.8]);
    expect(rule.report('d', 1, 0.6)).toBeUndefined(); // equal to the median 0.6: not worse
    // its best so far (0.9 at step 1) is judged, not its latest value
    const rule2 = new MedianStoppingRule({ goal: 'maximize', minTrials: 3, warmupSteps: 0 });
    completeCurve(rule2, 'a', [0.5, 0.6]);
    completeCurve(rule2, 'b', [0.6, 0.7]);
    completeCurve(rule2, 'c', [0.7, 0.8]);
    expect(rule2.report('e', 1, 0.9)).toBeUndefined();
    expect(rule2.report('e', 2, 0.1)).toBeUndefined();
  });

  it('minimizes: a higher loss than the median is worse', () => {
    const rule = new MedianStoppingRule({ goal: 'minimize', minTrials: 3, warmupSteps: 0 });
    completeCurve(rule, 'a', [1.0, 0.8]);
    completeCurve(rule, 'b', [1.2, 1.0]);
    completeCurve(rule, 'c', [1.4, 1.2]);
    expect(rule.report('d', 1, 1.1)).toBeUndefined();
    // its best so far (1.1) equals the median of the running averages 0.9, 1.1, 1.3: it runs on
    expect(rule.report('d', 2, 1.3)).toBeUndefined();
    expect(rule.report('x', 1, 1.5)).toMatchObject({ step: 1, best: 1.5, median: 1.2 });
  });

  it('never judges before minTrials completed trials reached the step', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 3, warmupSteps: 0 });
    completeCurve(rule, 'a', [0.9, 0.9, 0.9, 0.9]);
    completeCurve(rule, 'b', [0.9, 0.9, 0.9, 0.9]);
    completeCurve(rule, 'short', [0.9]); // reached step 1 only
    expect(rule.report('d', 1, 0.1)).toMatchObject({ step: 1, trials: 3 });
    expect(rule.report('e', 1, 0.95)).toBeUndefined();
    expect(rule.report('e', 2, 0.1)).toBeUndefined(); // only two completed trials reached step 2
  });

  it('never judges during a trial warm-up, counted in reports whatever the step numbers', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 1, warmupSteps: 2 });
    completeCurve(rule, 'a', [0.9, 0.9, 0.9, 0.9]);
    expect(rule.report('d', 1, 0.1)).toBeUndefined();
    expect(rule.report('d', 2, 0.1)).toBeUndefined();
    expect(rule.report('d', 3, 0.1)).toMatchObject({ step: 3, median: 0.9 });
  });

  it('averages a completed curve up to the step, over the steps it reported (sparse steps)', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 1, warmupSteps: 0 });
    rule.report('a', 10, 0.2);
    rule.report('a', 20, 0.4);
    rule.report('a', 30, 0.9);
    rule.complete('a');
    // at step 25: the mean of its values at 10 and 20
    expect(rule.report('d', 25, 0.25)).toMatchObject({ median: expect.closeTo(0.3, 10) as number });
    // a step past its last one: it did not reach it
    expect(rule.report('e', 31, 0.1)).toBeUndefined();
  });

  it('keeps the last value of a step reported twice', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 1, warmupSteps: 0 });
    rule.report('a', 1, 0.1);
    rule.report('a', 1, 0.8);
    rule.complete('a');
    expect(rule.report('d', 1, 0.5)).toMatchObject({ median: 0.8 });
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 4, warmupSteps: 0 });
    for (const [id, v] of [['a', 0.1], ['b', 0.2], ['c', 0.6], ['d', 0.9]] as const) completeCurve(rule, id, [v]);
    expect(rule.report('x', 1, 0.3)).toMatchObject({ median: expect.closeTo(0.4, 10) as number, trials: 4 });
  });

  it('sets the bar with completed trials only: discarded curves (stopped early, failed) never count', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 1, warmupSteps: 0 });
    rule.report('failed', 1, 0.99);
    rule.discard('failed');
    expect(rule.finishedTrials).toBe(0);
    expect(rule.report('d', 1, 0.1)).toBeUndefined();
    completeCurve(rule, 'a', [0.5]);
    expect(rule.finishedTrials).toBe(1);
    expect(rule.report('e', 1, 0.4)).toMatchObject({ median: 0.5 });
  });

  it('ignores values that are not finite numbers', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 1, warmupSteps: 0 });
    completeCurve(rule, 'a', [0.5]);
    expect(rule.report('d', 1, Number.NaN)).toBeUndefined();
    expect(rule.report('d', Number.POSITIVE_INFINITY, 0.1)).toBeUndefined();
  });

  it('a completed trial without reports sets no bar', () => {
    const rule = new MedianStoppingRule({ goal: 'maximize', minTrials: 1 });
    rule.complete('silent');
    expect(rule.finishedTrials).toBe(0);
  });
});

describe('intermediate values (local-trial-spec readMetric)', () => {
  function trialSpec(regex: string): TuningSpec {
    return parseSpec({
      name: 'steps-test',
      provider: 'local',
      objective: { metric: 'validation:accuracy', goal: 'maximize' },
      parameters: [{ name: 'trees', type: 'integer', min: 1, max: 50 }],
      strategy: 'random',
      budget: { maxTrials: 2 },
      earlyStopping: 'auto',
      trial: { command: ['node', 'train.mjs'], metrics: [{ name: 'validation:accuracy', regex }] },
    });
  }
  const compiled = (regex: string) => compileMetrics(parseLocalTrialSpec(trialSpec(regex)))[0] as CompiledMetric;

  it('reads the step from a named group (?<step>…), the value from the other group', () => {
    const metric = compiled('validation:accuracy=([0-9.]+)(?: step=(?<step>\\d+))?');
    expect(readMetric(metric, 'validation:accuracy=0.91 step=3')).toEqual({ value: 0.91, step: 3 });
    expect(readMetric(metric, 'validation:accuracy=0.93')).toEqual({ value: 0.93 });
    // the step may come first
    expect(readMetric(compiled('epoch (?<step>\\d+): acc ([0-9.]+)'), 'epoch 7: acc 0.5')).toEqual({ value: 0.5, step: 7 });
  });

  it('reads a value without a step from a regex without a step group, as before', () => {
    expect(readMetric(compiled('validation:accuracy=([0-9.]+)'), 'x validation:accuracy=0.8 step=3')).toEqual({ value: 0.8 });
    expect(readMetric(compiled('validation:accuracy=([0-9.]+)'), 'nothing here')).toBeUndefined();
  });

  it('accepts one value group beside the step group, and still refuses two value groups', () => {
    expect(localTrialSpecIssues(trialSpec('acc=([0-9.]+) step=(?<step>\\d+)'))).toEqual([]);
    expect(localTrialSpecIssues(trialSpec('acc=([0-9.]+) step=(\\d+)'))).toEqual([
      { path: 'trial.metrics[0].regex', message: 'must have exactly one capture group for the value (has 2)' },
    ]);
    expect(localTrialSpecIssues(trialSpec('step=(?<step>\\d+)'))).toEqual([
      { path: 'trial.metrics[0].regex', message: 'must have exactly one capture group for the value (has 0)' },
    ]);
  });
});
