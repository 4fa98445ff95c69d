import { describe, expect, it } from 'vitest';
import {
  JOB_STATUSES,
  TRIAL_STATUSES,
  isTerminalJobStatus,
  isTerminalTrialStatus,
  jobStatusRank,
  judgeJobTransition,
  trialStatusRank,
  type JobStatus,
  type TransitionVerdict,
} from '../../../shared/domain/status';

/**
 * The transition table as the design notes state it, written out by hand rather than derived from
 * the ranks: rows are the status the ledger holds, columns the status observed.
 * A = advance, = = same, S = stale, T = running/paused: decided by observation time.
 */
const TABLE = `
             submitting pending running paused stopping succeeded failed stopped
submitting       =         A       A       A      A        A        A       A
pending          S         =       A       A      A        A        A       A
running          S         S       =       T      A        A        A       A
paused           S         S       T       =      A        A        A       A
stopping         S         S       S       S      =        A        A       A
succeeded        S         S       S       S      S        =        S       S
failed           S         S       S       S      S        S        =       S
stopped          S         S       S       S      S        S        S       =
`;

type Cell = 'A' | '=' | 'S' | 'T';

const [header = [], ...rows] = TABLE.trim().split('\n').map((line) => line.trim().split(/\s+/));
const COLUMNS = header as JobStatus[];

const pairs: Array<{ from: JobStatus; to: JobStatus; cell: Cell }> = rows.flatMap(([from, ...cells]) =>
  COLUMNS.map((to, i) => ({ from: from as JobStatus, to, cell: cells[i] as Cell })),
);

const VERDICT: Readonly<Record<Exclude<Cell, 'T'>, TransitionVerdict>> = { A: 'advance', '=': 'same', S: 'stale' };

const EARLIER = '2025-03-01T10:00:00.000Z';
const LATER = '2025-03-01T10:05:00.000Z';

describe('judgeJobTransition', () => {
  it('has a row and a column for every job status, and a verdict in every cell', () => {
    expect([...COLUMNS].sort()).toEqual([...JOB_STATUSES].sort());
    expect(rows.map(([from]) => from).sort()).toEqual([...JOB_STATUSES].sort());
    for (const row of rows) expect(row).toHaveLength(COLUMNS.length + 1);
    expect(pairs).toHaveLength(JOB_STATUSES.length ** 2);
    for (const { cell } of pairs) expect(['A', '=', 'S', 'T']).toContain(cell);
  });

  const decided = pairs.filter((p): p is { from: JobStatus; to: JobStatus; cell: Exclude<Cell, 'T'> } => p.cell !== 'T');

  for (const { from, to, cell } of decided) {
    const verdict = VERDICT[cell];

    it(`judges ${from} → ${to} as ${verdict}`, () => {
      expect(judgeJobTransition(from, to)).toBe(verdict);
    });

    it(`judges ${from} → ${to} as ${verdict} whatever the observation times say`, () => {
      expect(judgeJobTransition(from, to, { known: LATER, observed: EARLIER })).toBe(verdict);
      expect(judgeJobTransition(from, to, { known: EARLIER, observed: LATER })).toBe(verdict);
    });
  }

  const sameRank = pairs.filter((p) => p.cell === 'T');

  it('leaves only running ↔ paused to the observation time', () => {
    expect(sameRank.map(({ from, to }) => `${from}→${to}`)).toEqual(['running→paused', 'paused→running']);
  });

  for (const { from, to } of sameRank) {
    it(`advances ${from} → ${to} observed after what the ledger knows`, () => {
      expect(judgeJobTransition(from, to, { known: EARLIER, observed: LATER })).toBe('advance');
    });

    it(`judges ${from} → ${to} observed before what the ledger knows as stale`, () => {
      expect(judgeJobTransition(from, to, { known: LATER, observed: EARLIER })).toBe('stale');
    });

    it(`judges ${from} → ${to} observed at the very time the ledger knows as stale`, () => {
      expect(judgeJobTransition(from, to, { known: LATER, observed: LATER })).toBe('stale');
    });

    it(`advances ${from} → ${to} when either time is unknown`, () => {
      expect(judgeJobTransition(from, to)).toBe('advance');
      expect(judgeJobTransition(from, to, { observed: EARLIER })).toBe('advance');
      expect(judgeJobTransition(from, to, { known: LATER })).toBe('advance');
    });
  }

  it('never lets a terminal job change its outcome', () => {
    for (const from of JOB_STATUSES.filter(isTerminalJobStatus)) {
      for (const to of JOB_STATUSES.filter((s) => s !== from)) {
        expect(judgeJobTransition(from, to, { known: EARLIER, observed: LATER }), `${from} → ${to}`).toBe('stale');
      }
    }
  });

  it('never advances to a lower rank', () => {
    for (const { from, to } of pairs) {
      if (jobStatusRank(to) < jobStatusRank(from)) expect(judgeJobTransition(from, to), `${from} → ${to}`).toBe('stale');
    }
  });
});

describe('jobStatusRank', () => {
  it('orders submitting < pending < running = paused < stopping < terminal', () => {
    const ranks = JOB_STATUSES.map((s) => [s, jobStatusRank(s)] as const);

    expect(Object.fromEntries(ranks)).toEqual({
      submitting: 0,
      pending: 1,
      running: 2,
      paused: 2,
      stopping: 3,
      succeeded: 4,
      failed: 4,
      stopped: 4,
    });
  });
});

describe('isTerminalJobStatus', () => {
  for (const status of JOB_STATUSES) {
    const terminal = ['succeeded', 'failed', 'stopped'].includes(status);
    it(`says ${status} is ${terminal ? '' : 'not '}terminal`, () => {
      expect(isTerminalJobStatus(status)).toBe(terminal);
    });
  }
});

describe('trialStatusRank', () => {
  it('orders pending < running < every finished status', () => {
    expect(trialStatusRank('pending')).toBeLessThan(trialStatusRank('running'));
    for (const finished of ['succeeded', 'failed', 'stopped', 'infeasible'] as const) {
      expect(trialStatusRank('running')).toBeLessThan(trialStatusRank(finished));
      expect(trialStatusRank(finished)).toBe(trialStatusRank('succeeded'));
    }
  });

  it('ranks every trial status', () => {
    for (const status of TRIAL_STATUSES) expect(Number.isInteger(trialStatusRank(status))).toBe(true);
  });
});

describe('isTerminalTrialStatus', () => {
  for (const status of TRIAL_STATUSES) {
    const terminal = !['pending', 'running'].includes(status);
    it(`says ${status} is ${terminal ? '' : 'not '}terminal`, () => {
      expect(isTerminalTrialStatus(status)).toBe(terminal);
    });
  }
});
