/**
 * One status vocabulary for every provider. Vendor enums stop at the adapters, which map into
 * these. A job's status only moves forward: the rank decides, so events that arrive late or twice
 * cannot move a job back.
 */
export const JOB_STATUSES = ['submitting', 'pending', 'running', 'paused', 'stopping', 'succeeded', 'failed', 'stopped'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'stopped']);

/**
 * submitting < pending < running = paused < stopping < terminal. A paused Vertex job can resume,
 * so running and paused share a rank and may alternate; every terminal status shares the top rank,
 * so once finished a job never changes its outcome.
 */
const JOB_RANK: Readonly<Record<JobStatus, number>> = {
  submitting: 0,
  pending: 1,
  running: 2,
  paused: 2,
  stopping: 3,
  succeeded: 4,
  failed: 4,
  stopped: 4,
};

export function jobStatusRank(status: JobStatus): number {
  return JOB_RANK[status];
}

export function isTerminalJobStatus(status: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.has(status);
}

export type TransitionVerdict = 'advance' | 'same' | 'stale';

/**
 * The transition table. `advance` means the observation is news; `same` that it repeats what we
 * know; `stale` that it is older than what we know and must change nothing.
 */
export function judgeJobTransition(
  from: JobStatus,
  to: JobStatus,
  times: { known?: string; observed?: string } = {},
): TransitionVerdict {
  if (from === to) return 'same';
  if (isTerminalJobStatus(from)) return 'stale';
  const [a, b] = [jobStatusRank(from), jobStatusRank(to)];
  if (b > a) return 'advance';
  // running <-> paused share a rank: a pause or a resume is news only if observed after what we know.
  if (b === a) return !times.known || !times.observed || times.observed > times.known ? 'advance' : 'stale';
  return 'stale';
}

export const TRIAL_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'stopped', 'infeasible'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

const TRIAL_RANK: Readonly<Record<TrialStatus, number>> = {
  pending: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  stopped: 2,
  infeasible: 2,
};

export function isTerminalTrialStatus(status: TrialStatus): boolean {
  return TRIAL_RANK[status] === 2;
}

export function trialStatusRank(status: TrialStatus): number {
  return TRIAL_RANK[status];
}
