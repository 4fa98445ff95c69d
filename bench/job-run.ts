import { submitJob } from '../shared/use-cases/submit-job';
import { callTotal, countingDynamoClient, freshLedger, sageMakerWorld, settle, spec } from './stack';
import type { Clock } from '../shared/ports/clock';
import type { TrainingJobEventShape } from '../test/support/fake-sagemaker';
import type { Timeline } from './timeline';

/** Deliveries in flight on the local bus (Lambda would run more), and trial ends per drained wave. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const WAVE = Number(process.env.BENCH_WAVE ?? 50);

export interface TunewireJobRun {
  readonly trials: number;
  /** What the fake's Training Job State Change events carried (`full`: every metric, as before). */
  readonly events: TrainingJobEventShape;
  /** Submit to settled: job succeeded and announced, every trial stored, the winner promoted. */
  readonly wallMs: number;
  readonly providerCalls: number;
  readonly callsByOperation: Readonly<Record<string, number>>;
  readonly ledgerWrites: number;
  readonly ledgerRequests: number;
  readonly trialsStored: number;
  readonly trialsAnnounced: number;
}

/**
 * One SageMaker job through tunewire's production event path, replaying `timeline` in order
 * without waiting (the fake emits each Training Job State Change as the trial ends; trial-fan-out
 * stores the trial the event carries). The bus is drained after every `WAVE` trial ends.
 *
 * With `events` other than `full` (AWS's documented event has no metrics), trial-fan-out must
 * fetch objectives from SageMaker, batched by its settle interval: that is a matter of time, so
 * the run keeps a virtual clock at each step's time on the timeline (tunewire's and the fake's)
 * and drains the bus after every trial end, so each event is handled at the time it happened.
 */
export async function runTunewireJob(endpoint: string, timeline: Timeline, options: { readonly events?: TrainingJobEventShape } = {}): Promise<TunewireJobRun> {
  const events = options.events ?? 'full';
  const onTimeline = events !== 'full';
  const clock = new TimelineClock();
  const { client, counter } = countingDynamoClient(endpoint);
  const { ledger } = await freshLedger(client, `job-${timeline.trials}-${events}`);
  const world = await sageMakerWorld(ledger, {
    concurrency: CONCURRENCY,
    fake: { trainingJobEvents: events, ...(onTimeline ? { now: () => clock.now().getTime() } : {}) },
    ...(onTimeline ? { clock } : {}),
  });
  const wave = onTimeline ? 1 : WAVE;
  const announced = new Set<string>();
  world.bus.onPublish = (event) => {
    if (event.kind === 'trial.finished') announced.add(event.id);
  };
  try {
    counter.reset();
    const started = performance.now();
    const { job } = await submitJob(world.deps, { spec, idempotencyKey: `bench-${timeline.trials}-${Date.now()}` });
    await settle(world);
    const name = job.providerJobName;
    const trainingJobs: string[] = [];
    let ends = 0;
    for (const step of timeline.steps) {
      clock.at(step.at);
      if (step.kind === 'trial-start') trainingJobs[step.trial] = world.fake.addTrainingJob(name, { status: 'InProgress' });
      else if (step.kind === 'trial-end') {
        world.fake.setTrainingJobStatus(trainingJobs[step.trial] as string, 'Completed', { objective: step.objective });
        if (++ends % wave === 0) await settle(world);
      } else world.fake.setStatus(name, 'Completed');
    }
    for (let i = 0; ; i++) {
      await settle(world);
      const done = await ledger.getJob(job.jobId);
      if (done?.status === 'succeeded' && done.announcedStatus === 'succeeded' && (await ledger.getChampion(spec.promotion?.model ?? ''))) break;
      if (i > 400) throw new Error(`job of ${timeline.trials} trials did not settle`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const wallMs = performance.now() - started;
    const ledgerWrites = counter.writes;
    const ledgerRequests = counter.total;
    const trialsStored = (await ledger.listTrials(job.jobId)).length;
    if (world.bus.deadLetters.length > 0) throw new Error(`${world.bus.deadLetters.length} dead letters: ${String(world.bus.deadLetters[0]?.error)}`);
    return {
      trials: timeline.trials,
      events,
      wallMs,
      providerCalls: callTotal(world.fake.calls),
      callsByOperation: { ...world.fake.calls },
      ledgerWrites,
      ledgerRequests,
      trialsStored,
      trialsAnnounced: announced.size,
    };
  } finally {
    await world.stop();
    client.destroy();
  }
}

/** Now is the job's start plus the time on the timeline of the step being replayed. */
class TimelineClock implements Clock {
  private readonly start = Date.now();
  private offset = 0;
  at(offsetMs: number): void {
    this.offset = Math.max(this.offset, offsetMs);
  }
  now(): Date {
    return new Date(this.start + this.offset);
  }
}
