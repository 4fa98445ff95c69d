import { describe, expect, it } from 'vitest';
import { progressBarText, progressCounts, progressOf, type BarPayload } from '../../../shared/cli/wait';
import { parseSpec } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';

const spec = parseSpec({
  name: 'forest',
  provider: 'local',
  objective: { metric: 'loss', goal: 'minimize' },
  parameters: [{ name: 'x', type: 'discrete', values: [1, 2, 3] }],
  budget: { maxTrials: 12, parallelTrials: 3 },
  trial: { command: ['train'] },
});

function trial(trialId: string, fields: Partial<Trial> = {}): Trial {
  return { trialId, status: 'succeeded', hyperparameters: {}, stoppedEarly: false, ...fields };
}

describe('progressOf', () => {
  it('counts finished, running and failed trials, and the best for the goal', () => {
    const trials = [trial('t1', { objectiveValue: 0.4 }), trial('t2', { objectiveValue: 0.2 }), trial('t3', { status: 'failed' }), trial('t4', { status: 'running' }), trial('t5', { status: 'pending' })];
    expect(progressOf({ spec }, trials)).toEqual({ done: 3, total: 12, running: 1, failed: 1, best: 0.2 });
  });

  it("has no best before a trial has an objective, and takes the provider's running count when it says more", () => {
    expect(progressOf({ spec, trialCounts: { running: 3 } }, [trial('t1', { status: 'failed' })])).toEqual({ done: 1, total: 12, running: 3, failed: 1 });
  });

  it('grows the total past the budget when more trials finished (a resumed job reruns lost ones)', () => {
    const trials = Array.from({ length: 13 }, (_, i) => trial(`t${i}`, { objectiveValue: i }));
    expect(progressOf({ spec }, trials)).toMatchObject({ done: 13, total: 13 });
  });

  it('starts at zero with no trials', () => {
    expect(progressOf({ spec }, [])).toEqual({ done: 0, total: 12, running: 0, failed: 0 });
  });
});

describe('progressCounts', () => {
  it('says done/total, running, failed and the best once there is one', () => {
    expect(progressCounts({ done: 5, total: 12, running: 2, failed: 1, best: 0.93 })).toBe('[5/12, 2 running, 1 failed, best 0.9300]');
    expect(progressCounts({ done: 1, total: 12, running: 3, failed: 1 })).toBe('[1/12, 3 running, 1 failed]');
  });
});

describe('progressBarText', () => {
  const payload: BarPayload = { done: 5, total: 12, running: 2, failed: 1, best: 0.93, status: 'running', startedAtMs: Date.parse('2026-11-23T10:00:00.000Z'), doneAtStart: 0 };
  const now = Date.parse('2026-11-23T10:03:05.000Z');

  it('shows the counts, the best, the time since the job started, the ETA and the status', () => {
    expect(progressBarText(payload, '##--', now, 250)).toBe(' trials ##-- 5/12 | 2 running | 1 failed | best 0.9300 | 3m05s elapsed | ETA 4m10s | running');
  });

  it('leaves out the best until one exists and the ETA until it can be estimated', () => {
    const { best: _best, ...none } = payload;
    expect(progressBarText(none, '----', now, undefined)).toBe(' trials ---- 5/12 | 2 running | 1 failed | 3m05s elapsed | running');
  });
});
