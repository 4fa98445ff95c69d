import { describe, expect, it } from 'vitest';
import type { Goal } from '../../../shared/domain/spec';
import { isBetter, isEligibleForBest, selectBestTrial, type Trial } from '../../../shared/domain/trial';

function trial(trialId: string, objectiveValue: number | undefined, extra: Partial<Trial> = {}): Trial {
  return {
    trialId,
    status: 'succeeded',
    hyperparameters: { eta: '0.1' },
    stoppedEarly: false,
    endedAt: '2025-03-01T10:00:00.000Z',
    ...(objectiveValue !== undefined ? { objectiveValue, objectiveStatus: 'succeeded' as const } : {}),
    ...extra,
  };
}

/** Every ordering of a small list, so "regardless of input order" is checked exhaustively. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** A seeded shuffle (mulberry32 + Fisher–Yates) for lists too long to permute. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('isBetter', () => {
  const cases: ReadonlyArray<{ goal: Goal; a: number; b: number; better: boolean }> = [
    { goal: 'maximize', a: 0.9, b: 0.8, better: true },
    { goal: 'maximize', a: 0.8, b: 0.9, better: false },
    { goal: 'maximize', a: 0.8, b: 0.8, better: false },
    { goal: 'maximize', a: -1, b: -2, better: true },
    { goal: 'minimize', a: 0.1, b: 0.2, better: true },
    { goal: 'minimize', a: 0.2, b: 0.1, better: false },
    { goal: 'minimize', a: 0.2, b: 0.2, better: false },
    { goal: 'minimize', a: -2, b: -1, better: true },
  ];

  for (const { goal, a, b, better } of cases) {
    it(`says ${a} is ${better ? '' : 'not '}better than ${b} when we ${goal}`, () => {
      expect(isBetter(goal, a, b)).toBe(better);
    });
  }
});

describe('isEligibleForBest', () => {
  const cases: ReadonlyArray<{ why: string; t: Trial; eligible: boolean }> = [
    { why: 'a succeeded trial with a metric', t: trial('a', 0.8), eligible: true },
    { why: 'a trial stopped early with a metric', t: trial('a', 0.8, { status: 'stopped', stoppedEarly: true }), eligible: true },
    { why: 'a failed trial with a metric', t: trial('a', 0.8, { status: 'failed' }), eligible: false },
    { why: 'an infeasible trial with a metric', t: trial('a', 0.8, { status: 'infeasible' }), eligible: false },
    { why: 'a pending trial', t: trial('a', 0.8, { status: 'pending' }), eligible: false },
    { why: 'a running trial', t: trial('a', 0.8, { status: 'running' }), eligible: false },
    { why: 'a succeeded trial without a metric', t: trial('a', undefined), eligible: false },
    { why: 'a succeeded trial with a NaN metric', t: trial('a', Number.NaN), eligible: false },
    { why: 'a succeeded trial with an infinite metric', t: trial('a', Number.POSITIVE_INFINITY), eligible: false },
    { why: 'a succeeded trial whose objective failed', t: trial('a', 0.8, { objectiveStatus: 'failed' }), eligible: false },
  ];

  for (const { why, t, eligible } of cases) {
    it(`judges ${why} ${eligible ? 'eligible' : 'ineligible'}`, () => {
      expect(isEligibleForBest(t)).toBe(eligible);
    });
  }
});

describe('selectBestTrial', () => {
  it('returns undefined for no trials', () => {
    expect(selectBestTrial([], 'maximize')).toBeUndefined();
  });

  it('returns undefined when no trial is eligible', () => {
    const trials = [trial('a', 0.9, { status: 'failed' }), trial('b', undefined), trial('c', 0.5, { status: 'running' })];

    expect(selectBestTrial(trials, 'maximize')).toBeUndefined();
  });

  it('picks the highest objective when maximizing', () => {
    const trials = [trial('a', 0.71), trial('b', 0.93), trial('c', 0.88)];

    expect(selectBestTrial(trials, 'maximize')?.trialId).toBe('b');
  });

  it('picks the lowest objective when minimizing', () => {
    const trials = [trial('a', 0.71), trial('b', 0.93), trial('c', 0.18)];

    expect(selectBestTrial(trials, 'minimize')?.trialId).toBe('c');
  });

  it('handles negative objectives (e.g. a negated loss)', () => {
    const trials = [trial('a', -0.4), trial('b', -0.2), trial('c', -0.9)];

    expect(selectBestTrial(trials, 'maximize')?.trialId).toBe('b');
    expect(selectBestTrial(trials, 'minimize')?.trialId).toBe('c');
  });

  // Every one of these would win on value alone; none may be chosen.
  const ineligible: ReadonlyArray<{ why: string; maximize: Trial; minimize: Trial }> = [
    { why: 'a failed trial', maximize: trial('x', 99, { status: 'failed' }), minimize: trial('x', -99, { status: 'failed' }) },
    { why: 'an infeasible trial', maximize: trial('x', 99, { status: 'infeasible' }), minimize: trial('x', -99, { status: 'infeasible' }) },
    { why: 'a pending trial', maximize: trial('x', 99, { status: 'pending' }), minimize: trial('x', -99, { status: 'pending' }) },
    { why: 'a running trial', maximize: trial('x', 99, { status: 'running' }), minimize: trial('x', -99, { status: 'running' }) },
    {
      why: 'a trial whose objective failed',
      maximize: trial('x', 99, { objectiveStatus: 'failed' }),
      minimize: trial('x', -99, { objectiveStatus: 'failed' }),
    },
    { why: 'a trial with a NaN objective', maximize: trial('x', Number.NaN), minimize: trial('x', Number.NaN) },
    { why: 'a trial with no objective', maximize: trial('x', undefined), minimize: trial('x', undefined) },
    {
      why: 'a trial with an infinite objective',
      maximize: trial('x', Number.POSITIVE_INFINITY),
      minimize: trial('x', Number.NEGATIVE_INFINITY),
    },
  ];

  for (const { why, maximize, minimize } of ineligible) {
    it(`skips ${why} when maximizing`, () => {
      for (const order of permutations([trial('a', 0.5), maximize, trial('b', 0.7)])) {
        expect(selectBestTrial(order, 'maximize')?.trialId).toBe('b');
      }
    });

    it(`skips ${why} when minimizing`, () => {
      for (const order of permutations([trial('a', 0.5), minimize, trial('b', 0.7)])) {
        expect(selectBestTrial(order, 'minimize')?.trialId).toBe('a');
      }
    });
  }

  it('lets a trial stopped early with a metric win', () => {
    const stopped = trial('s', 0.95, { status: 'stopped', stoppedEarly: true });

    expect(selectBestTrial([trial('a', 0.9), stopped], 'maximize')).toBe(stopped);
    expect(selectBestTrial([stopped, trial('a', 0.99)], 'minimize')).toBe(stopped);
  });

  it('breaks a tie in favour of the trial that ended first, whatever the order', () => {
    const tied = [
      trial('c', 0.9, { endedAt: '2025-03-01T10:03:00.000Z' }),
      trial('a', 0.9, { endedAt: '2025-03-01T10:02:00.000Z' }),
      trial('b', 0.9, { endedAt: '2025-03-01T10:01:00.000Z' }),
      trial('d', 0.5, { endedAt: '2025-03-01T09:00:00.000Z' }),
    ];

    for (const goal of ['maximize', 'minimize'] as const) {
      const expected = goal === 'maximize' ? 'b' : 'd';
      for (const order of permutations(tied)) expect(selectBestTrial(order, goal)?.trialId).toBe(expected);
    }
  });

  it('breaks a tie on value and end time in favour of the smaller id, whatever the order', () => {
    const tied = ['trial-07', 'trial-03', 'trial-11', 'trial-05'].map((id) => trial(id, 0.9));

    for (const order of permutations(tied)) expect(selectBestTrial(order, 'maximize')?.trialId).toBe('trial-03');
  });

  it('gives the same answer for a shuffled mix of many trials', () => {
    const statuses = ['succeeded', 'failed', 'stopped', 'infeasible', 'running', 'pending'] as const;
    const trials = Array.from({ length: 60 }, (_, i) =>
      trial(`t${String(i).padStart(2, '0')}`, i % 7 === 0 ? undefined : Math.round(Math.sin(i) * 4) / 4, {
        status: statuses[i % statuses.length] ?? 'succeeded',
        endedAt: `2025-03-01T10:${String(i % 5).padStart(2, '0')}:00.000Z`,
      }),
    );

    for (const goal of ['maximize', 'minimize'] as const) {
      const reference = selectBestTrial(trials, goal);
      expect(reference).toBeDefined();
      for (let seed = 1; seed <= 50; seed++) expect(selectBestTrial(shuffled(trials, seed), goal)).toBe(reference);
    }
  });

  it('reads any iterable, not only arrays', () => {
    function* generate(): Generator<Trial> {
      yield trial('a', 0.2);
      yield trial('b', 0.4);
    }

    expect(selectBestTrial(generate(), 'maximize')?.trialId).toBe('b');
    expect(selectBestTrial(new Set([trial('a', 0.2), trial('b', 0.4)]), 'minimize')?.trialId).toBe('a');
  });

  it('returns the caller’s own trial type', () => {
    const trials = [{ ...trial('a', 0.3), jobId: 'job-1' }];

    expect(selectBestTrial(trials, 'maximize')?.jobId).toBe('job-1');
  });
});
