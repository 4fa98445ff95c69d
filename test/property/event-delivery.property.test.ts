import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DynamoDbLedger } from '../../shared/adapters/dynamodb/dynamodb-ledger';
import { isRetryable } from '../../shared/domain/errors';
import type { AnyTunewireEvent } from '../../shared/domain/events';
import type { Goal } from '../../shared/domain/spec';
import { judgeJobTransition, jobStatusRank } from '../../shared/domain/status';
import { selectBestTrial, type Trial } from '../../shared/domain/trial';
import type { EventBridgeEnvelope } from '../../shared/edge/envelopes';
import { handleStatusChangeEvent, handleTrialFanOutEvent } from '../../shared/edge/handlers';
import { systemClock } from '../../shared/ports/clock';
import type { Ledger } from '../../shared/ports/ledger';
import { ProviderCatalog, type Dependencies } from '../../shared/use-cases/dependencies';
import { submitJob } from '../../shared/use-cases/submit-job';
import { freshLedger } from '../support/dynamodb';
import {
  ChangeLogProvider,
  ledgerSnapshot,
  localJobEnvelope,
  localTrialEnvelope,
  mulberry32,
  propertySpec,
  routeOf,
  SinkBus,
  trialOf,
} from '../support/property-harness';
import { RecordingRegistry } from '../support/scripted-provider';

/**
 * Invariants 1-3 at scale: ~1,000 provider events over 10 jobs, each delivered 1-3 times in a
 * random order to 2 and to 4 concurrent consumers running the production handlers against
 * DynamoDB Local, end in the ledger an ordered, sequential, exactly-once run produces; and what
 * tunewire publishes goes out once in effect: at most 1.05 publishes per announcement on average,
 * every repeat of an id byte-identical, and each job's announcements in sequence order.
 */

const SEED = 20_260_423;
const JOBS = 10;
const TRIALS_PER_JOB = 49;
const PARALLEL_TRIALS = 4;
const TERMINAL_WORDS = ['COMPLETED', 'FAILED', 'STOPPED'] as const;
const TERMINAL_STATUS = { COMPLETED: 'succeeded', FAILED: 'failed', STOPPED: 'stopped' } as const;

interface JobPlan {
  readonly terminal: (typeof TERMINAL_WORDS)[number];
  readonly stoppingFirst: boolean;
  readonly goal: Goal;
  /** Objectives on a coarse grid, so ties between trials are common. */
  readonly objectives: readonly number[];
  readonly failed: readonly boolean[];
  readonly finishSeed: number;
}

const jobPlan: fc.Arbitrary<JobPlan> = fc.record({
  terminal: fc.constantFrom(...TERMINAL_WORDS),
  stoppingFirst: fc.boolean(),
  goal: fc.constantFrom<Goal>('maximize', 'minimize'),
  objectives: fc.array(fc.integer({ min: 0, max: 40 }).map((n) => n / 40), { minLength: TRIALS_PER_JOB, maxLength: TRIALS_PER_JOB }),
  failed: fc.array(fc.integer({ min: 0, max: 9 }).map((x) => x === 0), { minLength: TRIALS_PER_JOB, maxLength: TRIALS_PER_JOB }),
  finishSeed: fc.integer(),
});

const scenario = fc.record({
  jobs: fc.array(jobPlan, { minLength: JOBS, maxLength: JOBS }),
  interleaveSeed: fc.integer(),
  deliverySeed: fc.integer(),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

type Effect = { readonly kind: 'trial'; readonly job: string; readonly trial: Trial } | { readonly kind: 'none' };
interface Emission {
  readonly envelope: EventBridgeEnvelope;
  readonly effect: Effect;
}

/** One job's provider events in the order the provider emits them, with what each changes. */
function jobTimeline(name: string, plan: JobPlan): Emission[] {
  const random = mulberry32(plan.finishSeed);
  const out: Emission[] = [];
  let seq = 0;
  const at = (s: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, 0, s)).toISOString();
  out.push({ envelope: localJobEnvelope(name, 'PENDING', ++seq), effect: { kind: 'none' } });
  out.push({ envelope: localJobEnvelope(name, 'RUNNING', ++seq), effect: { kind: 'none' } });
  const running: number[] = [];
  let next = 0;
  const finishOne = () => {
    const k = Math.floor(random() * running.length);
    const i = running.splice(k, 1)[0] as number;
    const s = ++seq;
    const failed = plan.failed[i] === true;
    const trial = trialOf(`${name}-t${String(i).padStart(3, '0')}`, failed ? 'failed' : 'succeeded', failed ? undefined : plan.objectives[i], at(s));
    out.push({ envelope: localTrialEnvelope(name, trial.trialId, failed ? 'FAILED' : 'COMPLETED', s), effect: { kind: 'trial', job: name, trial } });
  };
  while (next < TRIALS_PER_JOB) {
    const i = next++;
    const s = ++seq;
    const trial = trialOf(`${name}-t${String(i).padStart(3, '0')}`, 'running', undefined);
    running.push(i);
    out.push({ envelope: localTrialEnvelope(name, trial.trialId, 'RUNNING', s), effect: { kind: 'trial', job: name, trial } });
    if (running.length >= PARALLEL_TRIALS) finishOne();
  }
  while (running.length) finishOne();
  if (plan.terminal === 'STOPPED' && plan.stoppingFirst) out.push({ envelope: localJobEnvelope(name, 'STOPPING', ++seq), effect: { kind: 'none' } });
  out.push({ envelope: localJobEnvelope(name, plan.terminal, ++seq), effect: { kind: 'none' } });
  return out;
}

/** All jobs' timelines merged in a random order that keeps each job's own order. */
function mergedTimeline(names: readonly string[], s: Scenario): Emission[] {
  const random = mulberry32(s.interleaveSeed);
  const queues = names.map((n, i) => jobTimeline(n, s.jobs[i] as JobPlan));
  const out: Emission[] = [];
  while (queues.some((q) => q.length)) {
    const open = queues.filter((q) => q.length);
    out.push((open[Math.floor(random() * open.length)] as Emission[]).shift() as Emission);
  }
  return out;
}

interface Run {
  readonly ledger: DynamoDbLedger;
  readonly bus: SinkBus;
  readonly provider: ChangeLogProvider;
  readonly jobIds: string[];
  readonly backwards: string[];
  readonly deadLetters: { envelope: EventBridgeEnvelope; error: unknown }[];
  readonly deliveries: { count: number };
  deps: Dependencies;
}

/** A fresh table, the 10 jobs submitted, and a ledger that reports any status moving back. */
async function setUp(s: Scenario, sink: (e: EventBridgeEnvelope) => void): Promise<Run> {
  const { ledger } = await freshLedger('prop-delivery');
  const provider = new ChangeLogProvider();
  const bus = new SinkBus(sink);
  const backwards: string[] = [];
  const watched: Ledger = new Proxy(ledger, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (key !== 'transitionJob') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (input: Parameters<Ledger['transitionJob']>[0]) => {
        const before = input.job.status;
        const result = await target.transitionJob(input);
        if (result.kind === 'applied') {
          const [from, to] = [before, result.job.status];
          // a same-status observation may refresh provider status and counts; a status change must advance
          const back = jobStatusRank(to) < jobStatusRank(from) || (from !== to && judgeJobTransition(from, to) !== 'advance');
          if (back) backwards.push(`${input.job.jobId}: ${from} -> ${to} (v${input.job.version}; event ${input.arrival.eventId})`);
        }
        return result;
      };
    },
  });
  const deps: Dependencies = { ledger: watched, bus, clock: systemClock, providers: new ProviderCatalog({ local: { provider, registry: new RecordingRegistry() } }) };
  const jobIds: string[] = [];
  for (const [i, plan] of s.jobs.entries()) {
    const { job } = await submitJob(deps, { spec: propertySpec(`delivery-${i}`, plan.goal), idempotencyKey: `delivery-${i}` });
    jobIds.push(job.jobId);
  }
  return { ledger, bus, provider, jobIds, backwards, deadLetters: [], deliveries: { count: 0 }, deps };
}

function apply(run: Run, effect: Effect): void {
  if (effect.kind === 'trial') run.provider.changeTrial(effect.job, effect.trial);
}

/** One delivery to every function its rule routes it to, retried as Lambda's async retries are. */
async function deliver(run: Run, envelope: EventBridgeEnvelope): Promise<void> {
  for (const fn of routeOf(envelope)) {
    const handler = fn === 'status-change' ? handleStatusChangeEvent : fn === 'trial-fan-out' ? handleTrialFanOutEvent : undefined;
    if (!handler) continue; // promote-best and notify are not under test here
    run.deliveries.count++;
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(run.deps, envelope);
        break;
      } catch (error) {
        if (attempt < 3 && isRetryable(error)) continue;
        run.deadLetters.push({ envelope, error });
        break;
      }
    }
  }
}

async function sequentialRun(s: Scenario, timeline: (names: string[]) => Emission[]): Promise<Run> {
  const own: EventBridgeEnvelope[] = [];
  const run = await setUp(s, (e) => own.push(e));
  for (const emission of timeline(run.jobIds)) {
    apply(run, emission.effect);
    await deliver(run, emission.envelope);
    while (own.length) await deliver(run, own.shift() as EventBridgeEnvelope);
  }
  return run;
}

/**
 * The provider emits events in order (changing its state as it goes); each event lands in a pool
 * 1-3 times; `consumers` workers take pool items in random order. Our own events join the pool as
 * the bus would deliver them.
 */
async function concurrentRun(s: Scenario, timeline: (names: string[]) => Emission[], consumers: number): Promise<Run> {
  const random = mulberry32(s.deliverySeed ^ consumers);
  const pool: EventBridgeEnvelope[] = [];
  const copies = (e: EventBridgeEnvelope) => {
    const n = 1 + Math.floor(random() * 3);
    for (let i = 0; i < n; i++) pool.push(e);
  };
  const run = await setUp(s, copies);
  const emissions = timeline(run.jobIds);
  let emitted = 0;
  let busy = 0;
  const tick = () => new Promise<void>((r) => setImmediate(r));
  const emitter = async () => {
    while (emitted < emissions.length) {
      const burst = 1 + Math.floor(random() * 40);
      for (let k = 0; k < burst && emitted < emissions.length; k++) {
        const emission = emissions[emitted++] as Emission;
        apply(run, emission.effect);
        copies(emission.envelope);
      }
      await tick();
    }
  };
  const consumer = async () => {
    for (;;) {
      if (pool.length === 0) {
        if (emitted >= emissions.length && busy === 0) return;
        await tick();
        continue;
      }
      const j = Math.floor(random() * pool.length);
      const envelope = pool[j] as EventBridgeEnvelope;
      pool[j] = pool[pool.length - 1] as EventBridgeEnvelope;
      pool.pop();
      busy++;
      try {
        await deliver(run, envelope);
      } finally {
        busy--;
      }
    }
  };
  await Promise.all([emitter(), ...Array.from({ length: consumers }, consumer)]);
  return run;
}

function strip(t: Trial | undefined) {
  return t && { trialId: t.trialId, objectiveValue: t.objectiveValue };
}

describe('event delivery (property, DynamoDB Local)', () => {
  it('1,000 provider events, each delivered 1-3 times shuffled to 2 and 4 consumers, end in the sequential ledger', async () => {
    console.log(`event-delivery property: fast-check seed ${SEED}`);
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const timeline = (names: string[]) => mergedTimeline(names, s);
        // the reference and the two concurrent runs use tables of their own, so they run side by side
        const started = performance.now();
        const timed = async <T>(work: Promise<T>) => {
          const value = await work;
          return { value, seconds: ((performance.now() - started) / 1000).toFixed(1) };
        };
        const [ref, ...runs] = await Promise.all([
          timed(sequentialRun(s, timeline)),
          ...[2, 4].map((consumers) => timed(concurrentRun(s, timeline, consumers)).then((r) => ({ ...r, consumers }))),
        ]);
        const reference = (ref as { value: Run; seconds: string }).value;
        const expected = await ledgerSnapshot(reference.ledger, reference.jobIds);
        const events = timeline(reference.jobIds).length;
        console.log(`  ${events} provider events; sequential run: ${reference.deliveries.count} deliveries, done at ${ref?.seconds} s`);
        expect(events).toBeGreaterThanOrEqual(1000);
        expect(reference.deadLetters).toEqual([]);
        expect(reference.backwards).toEqual([]);

        for (const { value: run, seconds, consumers } of runs as { value: Run; seconds: string; consumers: number }[]) {
          const history = (await Promise.all(run.jobIds.map((id) => run.ledger.listHistory(id)))).flat();
          console.log(
            `  ${consumers} consumers: ${run.deliveries.count} deliveries, done at ${seconds} s; ` +
              `history outcomes ${JSON.stringify(countBy(history.map((h) => h.outcome)))}; trial.finished published ${run.bus.ofKind('trial.finished').length}×`,
          );
          expect(run.deadLetters.map((d) => String(d.error))).toEqual([]);
          expect(run.backwards).toEqual([]);

          // zero lost trials, each finished trial announced once in effect, one finish per job
          const finished = run.jobIds.flatMap((id) => run.provider.trialsOf(id));
          expect(finished).toHaveLength(JOBS * TRIALS_PER_JOB);
          expect(run.bus.distinctIds('trial.finished')).toEqual(new Set(run.jobIds.flatMap((id) => run.provider.trialsOf(id).map((t) => `${id}:trial:${t.trialId}`))));
          expect(run.bus.distinctIds('job.finished').size).toBe(JOBS);
          for (const [i, jobId] of run.jobIds.entries()) {
            const plan = s.jobs[i] as JobPlan;
            const job = await run.ledger.getJob(jobId);
            expect(job?.status).toBe(TERMINAL_STATUS[plan.terminal]);
            const stored = await run.ledger.listTrials(jobId);
            expect(stored.filter((t) => t.announced)).toHaveLength(TRIALS_PER_JOB);
            // the stored best is the domain's best of what the provider ran, whatever the order
            expect(strip(job?.bestTrial)).toEqual(strip(selectBestTrial(run.provider.trialsOf(jobId), plan.goal)));
          }

          expect(await ledgerSnapshot(run.ledger, run.jobIds)).toEqual(expected);

          // once in effect: publishes per announcement, and every repeat of an id the same bytes
          const bodies = new Map<string, string[]>();
          for (const event of run.bus.events) bodies.set(event.id, [...(bodies.get(event.id) ?? []), JSON.stringify(event)]);
          const ratio = run.bus.events.length / bodies.size;
          console.log(`  ${consumers} consumers: ${run.bus.events.length} publishes of ${bodies.size} announcements, delivery ratio ${ratio.toFixed(4)}`);
          expect(ratio).toBeLessThanOrEqual(1.05);
          const differing = [...bodies].filter(([, copies]) => new Set(copies).size > 1).map(([id]) => id);
          expect(differing).toEqual([]);

          // per job: submitted first, then status changes, then finished, numbered 1, 2, ... in publish order
          for (const jobId of run.jobIds) {
            const firsts = new Map<string, AnyTunewireEvent>();
            for (const event of run.bus.events) if (event.subject === jobId && isJobAnnouncement(event) && !firsts.has(event.id)) firsts.set(event.id, event);
            const chain = [...firsts.values()];
            expect(chain.map((e) => e.kind).join(' ')).toMatch(/^job\.submitted( job\.status_changed)+ job\.finished$/);
            expect(chain.map((e) => (e.detail as { sequence?: number }).sequence)).toEqual(chain.map((_, i) => i + 1));
          }
        }
      }),
      { seed: SEED, numRuns: 1, endOnFailure: true, verbose: 2 },
    );
  }, 170_000);
});

function isJobAnnouncement(event: AnyTunewireEvent): boolean {
  return event.kind === 'job.submitted' || event.kind === 'job.status_changed' || event.kind === 'job.finished';
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
