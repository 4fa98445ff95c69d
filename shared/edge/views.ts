import type { JobRecord } from '../domain/job';
import type { Trial } from '../domain/trial';
import type { ArrivalRecord, PromotionRecord } from '../ports/ledger';

/** What the CLI's --json and the HTTP API show of a job: the record without the bulky spec. */
export function jobView(job: JobRecord) {
  const { spec, ...rest } = job;
  return { ...rest, objective: spec.objective, strategy: spec.strategy, budget: spec.budget, ...(spec.promotion ? { promotion: spec.promotion } : {}) };
}

export function trialView(trial: Trial) {
  const { announced: _announced, ...rest } = trial as Trial & { announced?: boolean };
  return rest;
}

/** Times first as instants (a time without milliseconds sorts with one that has them), then as text. */
function compareTimes(a: string, b: string): number {
  const [ta, tb] = [Date.parse(a), Date.parse(b)];
  if (ta !== tb && Number.isFinite(ta) && Number.isFinite(tb)) return ta - tb;
  return compareText(a, b);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A job's history oldest first: by arrival time, then event id. The DynamoDB ledger reads it in
 * sort-key order (`HIST#<receivedAt>#<eventId>#…`), which is nearly this; an event id with a
 * character below `#` in it would order otherwise, so the order is made here.
 */
export function historyView(history: readonly ArrivalRecord[]): ArrivalRecord[] {
  return [...history].sort((a, b) => compareTimes(a.receivedAt, b.receivedAt) || compareText(a.eventId, b.eventId));
}

/** A model's promotion decisions oldest first: by decision time, then job id. */
export function promotionsView(promotions: readonly PromotionRecord[]): PromotionRecord[] {
  return [...promotions].sort((a, b) => compareTimes(a.decidedAt, b.decidedAt) || compareText(a.jobId, b.jobId));
}
