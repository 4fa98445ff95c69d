import { CreateHyperParameterTuningJobCommand, DescribeHyperParameterTuningJobCommand, ListTrainingJobsForHyperParameterTuningJobCommand } from '@aws-sdk/client-sagemaker';
import type { CreateHyperParameterTuningJobCommandInput } from '@aws-sdk/client-sagemaker';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { FakeSageMaker } from '../test/support/fake-sagemaker';
import { SageMakerProvider } from '../shared/adapters/sagemaker/sagemaker-provider';
import { callTotal, spec } from './stack';
import type { Timeline } from './timeline';

/** Airflow's defaults: SageMakerTuningOperator check_interval 30 s; Vertex's job sensors and deferrable triggers poll every 10 s. */
export const AIRFLOW_INTERVAL_MS = { sagemaker: 30_000, vertex: 10_000 } as const;
const PAGE = 100;

export interface PollingResult {
  readonly calls: number;
  readonly describes: number;
  readonly lists: number;
  /** For each trial end and the job end: time from the change to the poll that saw it. */
  readonly latenciesMs: readonly number[];
}

/**
 * A SageMaker poller on a virtual clock, counted by rule: one Create; every interval one
 * Describe; when anything changed since the last Describe, List newest first, 100 per page, down
 * to the oldest trial that was unfinished at the previous List (a watermark, as tunewire's own
 * cursor keeps, so the baseline is not a straw man that relists the whole job). The poll is
 * stopped by the Describe that sees the job finished.
 */
export function countSageMakerPolling(timeline: Timeline, intervalMs: number = AIRFLOW_INTERVAL_MS.sagemaker): PollingResult {
  let describes = 0;
  let lists = 0;
  const latencies: number[] = [];
  const running = new Set<number>();
  let started = 0;
  let watermark = 0;
  let next = 0;
  let finished = false;
  for (let poll = intervalMs; !finished; poll += intervalMs) {
    let changed = false;
    for (; next < timeline.steps.length && (timeline.steps[next]?.at ?? Infinity) <= poll; next++) {
      const step = timeline.steps[next];
      if (!step) break;
      changed = true;
      if (step.kind === 'trial-start') {
        running.add(step.trial);
        started++;
      } else {
        latencies.push(poll - step.at);
        if (step.kind === 'trial-end') running.delete(step.trial);
        else finished = true;
      }
    }
    describes++;
    if (!changed || started === 0) continue;
    // indices are creation order; the scan reads from the newest down to the watermark
    lists += Math.max(1, Math.ceil((started - watermark) / PAGE));
    watermark = running.size > 0 ? Math.min(...running) : started - 1;
  }
  return { calls: 1 + describes + lists, describes, lists, latenciesMs: latencies };
}

/** A Vertex poller: GetHyperparameterTuningJob returns the trials inline, so one call per poll. */
export function countVertexPolling(timeline: Timeline, intervalMs: number = AIRFLOW_INTERVAL_MS.vertex): PollingResult {
  const latencies = timeline.steps.filter((s) => s.kind !== 'trial-start').map((s) => Math.ceil(s.at / intervalMs) * intervalMs - s.at);
  const polls = Math.ceil(timeline.endMs / intervalMs);
  return { calls: 1 + polls, describes: polls, lists: 0, latenciesMs: latencies };
}

/**
 * The same SageMaker poller run for real: the SDK client against the wire-level fake, whose clock
 * is virtual, with the timeline's steps applied to the fake as the clock passes them. Returns the
 * calls the fake received; `countSageMakerPolling` must agree with it.
 */
export async function runSageMakerPolling(timeline: Timeline, intervalMs: number = AIRFLOW_INTERVAL_MS.sagemaker): Promise<number> {
  const base = Date.UTC(2025, 0, 1);
  let now = base;
  const fake = await new FakeSageMaker({ now: () => now }).start();
  try {
    const sdk = new SageMakerClient({ endpoint: fake.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    const name = `poll-${timeline.trials}`;
    const input = new SageMakerProvider({ client: sdk }).render(spec, { jobId: name, providerJobName: name }) as CreateHyperParameterTuningJobCommandInput;
    await sdk.send(new CreateHyperParameterTuningJobCommand(input));
    const trainingJobs: string[] = [];
    let seen = '';
    let watermark = -Infinity;
    let next = 0;
    for (let poll = intervalMs; ; poll += intervalMs) {
      for (; next < timeline.steps.length && (timeline.steps[next]?.at ?? Infinity) <= poll; next++) {
        const step = timeline.steps[next];
        if (!step) break;
        now = base + step.at;
        if (step.kind === 'trial-start') trainingJobs[step.trial] = fake.addTrainingJob(name, { status: 'InProgress' });
        else if (step.kind === 'trial-end') fake.setTrainingJobStatus(trainingJobs[step.trial] as string, 'Completed', { objective: step.objective });
        else fake.setStatus(name, 'Completed');
      }
      now = base + poll;
      const job = await sdk.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
      const state = JSON.stringify([job.HyperParameterTuningJobStatus, job.TrainingJobStatusCounters]);
      const counters = job.TrainingJobStatusCounters;
      const anyTrials = (counters?.Completed ?? 0) + (counters?.InProgress ?? 0) > 0;
      if (state !== seen && anyTrials) watermark = await scan(sdk, name, watermark);
      seen = state;
      if (job.HyperParameterTuningJobStatus === 'Completed') break;
    }
    return callTotal(fake.calls);
  } finally {
    await fake.stop();
  }
}

/** Lists newest first down to the watermark; returns the next watermark (oldest unfinished, or newest). */
async function scan(sdk: SageMakerClient, name: string, watermark: number): Promise<number> {
  let token: string | undefined;
  let oldestRunning = Infinity;
  let newest = -Infinity;
  for (;;) {
    const page = await sdk.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name, SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: PAGE, ...(token ? { NextToken: token } : {}) }),
    );
    const summaries = page.TrainingJobSummaries ?? [];
    for (const s of summaries) {
      const created = s.CreationTime?.getTime() ?? 0;
      newest = Math.max(newest, created);
      if (s.TrainingJobStatus === 'InProgress') oldestRunning = Math.min(oldestRunning, created);
    }
    const oldest = summaries[summaries.length - 1]?.CreationTime?.getTime() ?? -Infinity;
    token = page.NextToken;
    if (!token || oldest <= watermark) break;
  }
  return oldestRunning === Infinity ? newest : oldestRunning;
}
