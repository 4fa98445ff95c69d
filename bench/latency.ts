import { submitJob } from '../shared/use-cases/submit-job';
import { countSageMakerPolling, countVertexPolling } from './polling';
import { countingDynamoClient, freshLedger, sageMakerWorld, settle, spec } from './stack';
import { percentile } from './stats';
import { jobTimeline } from './timeline';

export interface LatencyFigures {
  readonly trial: { readonly p50: number; readonly p99: number; readonly n: number };
  readonly job: { readonly p50: number; readonly p99: number; readonly n: number };
  readonly polling: { readonly sagemaker: { p50: number; p99: number; n: number }; readonly vertex: { p50: number; p99: number; n: number } };
}

const TRIALS = 200;
const JOBS = 30;

/**
 * Detection latency, measured in real time on the production event path: from the moment the
 * fake SageMaker emits its EventBridge event, through the local bus and the handler (ledger write
 * included), to the moment our event is handed to the bus. One change at a time (the bus drained
 * between), so the figure is latency, not queueing. Pollers: on the same kind of timeline, on a
 * virtual clock, the wait from each change to the poll that sees it.
 */
export async function measureLatency(endpoint: string): Promise<LatencyFigures> {
  const { client } = countingDynamoClient(endpoint);
  const { ledger } = await freshLedger(client, 'latency');
  const world = await sageMakerWorld(ledger);
  const pending = new Map<string, number>();
  const trialMs: number[] = [];
  const jobMs: number[] = [];
  world.bus.onPublish = (event, at) => {
    if (event.kind === 'trial.finished') take(pending, `trial:${event.detail.trial.trialId}`, at, trialMs);
    if (event.kind === 'job.status_changed') take(pending, `job:${event.detail.providerJobName}:${event.detail.status}`, at, jobMs);
  };
  try {
    // trials: one job, its training jobs finishing one by one
    const { job } = await submitJob(world.deps, { spec, idempotencyKey: `latency-${Date.now()}` });
    await settle(world);
    for (let i = 0; i < TRIALS; i++) {
      const name = world.fake.addTrainingJob(job.providerJobName, { status: 'InProgress' });
      pending.set(`trial:${name}`, performance.now());
      world.fake.setTrainingJobStatus(name, 'Completed', { objective: 0.5 + i / 1000 });
      await settle(world);
    }
    // job status: jobs going InProgress -> Completed (running -> succeeded)
    for (let i = 0; i < JOBS; i++) {
      const { job: other } = await submitJob(world.deps, { spec, idempotencyKey: `latency-job-${i}-${Date.now()}` });
      await settle(world);
      pending.set(`job:${other.providerJobName}:succeeded`, performance.now());
      world.fake.setStatus(other.providerJobName, 'Completed');
      await settle(world);
    }
  } finally {
    await world.stop();
    client.destroy();
  }
  const timeline = jobTimeline(500);
  const sageMakerPolls = countSageMakerPolling(timeline).latenciesMs;
  const vertexPolls = countVertexPolling(timeline).latenciesMs;
  return {
    trial: summary(trialMs),
    job: summary(jobMs),
    polling: { sagemaker: summary(sageMakerPolls), vertex: summary(vertexPolls) },
  };
}

function take(pending: Map<string, number>, key: string, at: number, into: number[]): void {
  const since = pending.get(key);
  if (since === undefined) return;
  pending.delete(key);
  into.push(at - since);
}

function summary(values: readonly number[]): { p50: number; p99: number; n: number } {
  return { p50: percentile(values, 50), p99: percentile(values, 99), n: values.length };
}
