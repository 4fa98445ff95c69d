import type { TunewireJobRun } from './job-run';

export interface PerTrialRow {
  readonly trials: number;
  readonly msPerTrial: number;
  readonly callsPerTrial: number;
  readonly writesPerTrial: number;
  readonly requestsPerTrial: number;
}

/** Per-trial cost of whole jobs (submit to promoted), divided by their trials. */
export function perTrial(run: TunewireJobRun): PerTrialRow {
  return {
    trials: run.trials,
    msPerTrial: run.wallMs / run.trials,
    callsPerTrial: run.providerCalls / run.trials,
    writesPerTrial: run.ledgerWrites / run.trials,
    requestsPerTrial: run.ledgerRequests / run.trials,
  };
}
