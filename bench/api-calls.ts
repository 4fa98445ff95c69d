import type { TunewireJobRun } from './job-run';
import { countSageMakerPolling, countVertexPolling, runSageMakerPolling } from './polling';
import { jobTimeline } from './timeline';

export interface ApiCallRow {
  readonly trials: number;
  /** What tunewire's trial events carried: `full`, or AWS's documented shape without metrics. */
  readonly events: TunewireJobRun['events'];
  readonly tunewire: number;
  readonly tunewireByOperation: Readonly<Record<string, number>>;
  readonly sagemakerPolling: number;
  /** The poller run for real against the fake (only where it is quick); must equal the count. */
  readonly sagemakerPollingOnFake?: number;
  readonly vertexPolling: number;
  readonly jobHours: number;
}

/** Polling on the fake for real is only quick for small jobs: the fake's List sorts every trial per call. */
const ON_FAKE_UP_TO = 500;

/** Provider API calls per job: tunewire's counted by the fake, the pollers' over the same timeline. */
export async function compareApiCalls(runs: readonly TunewireJobRun[]): Promise<ApiCallRow[]> {
  const rows: ApiCallRow[] = [];
  const onFakeBySize = new Map<number, number>();
  for (const run of runs) {
    const timeline = jobTimeline(run.trials);
    const counted = countSageMakerPolling(timeline);
    // a poller never sees trial events: one run of it per job size serves every event shape
    let onFake = onFakeBySize.get(run.trials);
    if (onFake === undefined && run.trials <= ON_FAKE_UP_TO) onFakeBySize.set(run.trials, (onFake = await runSageMakerPolling(timeline)));
    if (onFake !== undefined && onFake !== counted.calls) throw new Error(`polling count ${counted.calls} disagrees with the fake's ${onFake} for ${run.trials} trials`);
    rows.push({
      trials: run.trials,
      events: run.events,
      tunewire: run.providerCalls,
      tunewireByOperation: run.callsByOperation,
      sagemakerPolling: counted.calls,
      ...(onFake !== undefined ? { sagemakerPollingOnFake: onFake } : {}),
      vertexPolling: countVertexPolling(timeline).calls,
      jobHours: timeline.endMs / 3_600_000,
    });
  }
  return rows;
}
