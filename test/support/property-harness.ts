import { join } from 'node:path';
import type { EventBridgeEnvelope } from '../../shared/edge/envelopes';
import { loadBusRules } from '../../shared/adapters/bus/serverless-rules';
import { matchesEventPattern } from '../../shared/adapters/bus/event-pattern';
import { toEnvelope } from '../../shared/adapters/bus/local-bus';
import type { AnyTunewireEvent } from '../../shared/domain/events';
import type { JobObservation, ProviderJobRef } from '../../shared/domain/job';
import { parseSpec, type Goal, type TuningSpec } from '../../shared/domain/spec';
import type { TrialStatus } from '../../shared/domain/status';
import type { Trial } from '../../shared/domain/trial';
import type { EventBus } from '../../shared/ports/bus';
import { createRng } from '../../shared/adapters/local/search';
import type { Ledger } from '../../shared/ports/ledger';
import type { CreateJobRequest, CreateJobResult, TrialPage, TuningProvider } from '../../shared/ports/provider';

/** A small seeded generator (the local engine's mulberry32): property tests draw their shuffles from it. */
export const mulberry32 = createRng;

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export const ROOT = join(import.meta.dirname, '..', '..');

/** The routing of serverless.yml, as the local bus applies it. */
const RULES = loadBusRules(join(ROOT, 'serverless.yml'));
export function routeOf(envelope: EventBridgeEnvelope): string[] {
  return [...new Set(RULES.filter((r) => matchesEventPattern(r.pattern, envelope)).map((r) => r.functionName))];
}

export function propertySpec(name: string, goal: Goal = 'maximize', extra: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name,
    provider: 'local',
    objective: { metric: 'validation:auc', goal },
    parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
    strategy: 'random',
    budget: { maxTrials: 100, parallelTrials: 4 },
    trial: {},
    ...extra,
  });
}

/**
 * A provider that behaves like a real tuning service where it matters here:
 * - job names are unique: a second create of a name adopts (never a second job), atomically;
 * - trials are read incrementally from a change log (cursor = last change seq covered), 100 per
 *   page, each in its current state, as the local engine and SageMaker's sort-by-time do.
 */
export class ChangeLogProvider implements TuningProvider {
  readonly name = 'local' as const;
  readonly eventsNeedConfirmation = false;
  /** Jobs the service really made (a second create of a name is not one). */
  created = 0;
  createCalls = 0;
  readonly calls = { describe: 0, listTrials: 0 };
  private readonly jobs = new Map<string, { observation: JobObservation; trials: Map<string, { trial: Trial; seq: number }>; seq: number }>();
  /** Time the create call takes before the service decides (widens submit races). */
  createLatency: () => Promise<void> = async () => undefined;

  validate(): void {}
  render(spec: TuningSpec, job: { jobId: string; providerJobName: string }): unknown {
    return { name: job.providerJobName, maxTrials: spec.budget.maxTrials };
  }
  providerJobName(jobId: string): string {
    return jobId;
  }

  async create(request: CreateJobRequest): Promise<CreateJobResult> {
    this.createCalls++;
    await this.createLatency();
    const ref: ProviderJobRef = { provider: 'local', providerJobName: request.providerJobName, providerJobId: `arn:test:${request.providerJobName}` };
    if (this.jobs.has(request.providerJobName)) return { ref, adopted: true };
    this.created++;
    this.jobs.set(request.providerJobName, { observation: { status: 'pending', providerStatus: 'PENDING', observedAt: new Date(0).toISOString() }, trials: new Map(), seq: 0 });
    return { ref, adopted: false };
  }

  get jobCount(): number {
    return this.jobs.size;
  }

  setObservation(name: string, observation: JobObservation): void {
    this.job(name).observation = observation;
  }

  /** Records a change of one trial (its new current state). */
  changeTrial(name: string, trial: Trial): void {
    const job = this.job(name);
    job.seq++;
    job.trials.set(trial.trialId, { trial, seq: job.seq });
  }

  trialsOf(name: string): Trial[] {
    return [...this.job(name).trials.values()].map((t) => t.trial);
  }

  async describe(ref: ProviderJobRef): Promise<JobObservation> {
    this.calls.describe++;
    return this.job(ref.providerJobName).observation;
  }

  async listTrials(ref: ProviderJobRef, cursor: string | undefined): Promise<TrialPage> {
    this.calls.listTrials++;
    const from = cursor === undefined ? 0 : Number(cursor);
    const page = [...this.job(ref.providerJobName).trials.values()]
      .filter((t) => t.seq > from)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, 100);
    const last = page.at(-1);
    return { trials: page.map((t) => t.trial), cursor: last ? String(last.seq) : cursor };
  }

  async stop(): Promise<void> {}

  private job(name: string) {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`change-log provider has no job ${name}`);
    return job;
  }
}

/** A local engine job event, as the engine puts it on the bus. */
export function localJobEnvelope(jobName: string, word: string, seq: number): EventBridgeEnvelope {
  return {
    version: '0',
    id: `${jobName}:${seq}`,
    'detail-type': 'Local Tuning Job State Change',
    source: 'tunewire.local',
    account: 'local',
    time: new Date(Date.UTC(2026, 10, 23, 10, 0, 0, seq)).toISOString(),
    region: 'local',
    resources: [],
    detail: { jobName, status: word, seq },
  };
}

export function localTrialEnvelope(jobName: string, trialId: string, word: string, seq: number, extra: Record<string, unknown> = {}): EventBridgeEnvelope {
  return {
    version: '0',
    id: `${jobName}:${seq}`,
    'detail-type': 'Local Trial State Change',
    source: 'tunewire.local',
    account: 'local',
    time: new Date(Date.UTC(2026, 10, 23, 10, 0, 0, seq)).toISOString(),
    region: 'local',
    resources: [],
    detail: { jobName, status: 'RUNNING', seq, trial: { trialId, status: word, ...extra } },
  };
}

export function trialOf(trialId: string, status: TrialStatus, objectiveValue: number | undefined, endedAt?: string, hyperparameters: Record<string, string> = { eta: '0.1' }): Trial {
  return {
    trialId,
    status,
    hyperparameters,
    stoppedEarly: false,
    ...(objectiveValue !== undefined ? { objectiveValue } : {}),
    ...(endedAt ? { endedAt } : {}),
  };
}

/** A bus that keeps what was published and hands our own events to a sink (the "rules"). */
export class SinkBus implements EventBus {
  readonly events: AnyTunewireEvent[] = [];
  constructor(private readonly sink: (envelope: EventBridgeEnvelope) => void = () => undefined) {}
  async publish(events: readonly AnyTunewireEvent[]): Promise<void> {
    for (const event of events) {
      this.events.push(event);
      this.sink(toEnvelope(event));
    }
  }
  ofKind<K extends AnyTunewireEvent['kind']>(kind: K): Extract<AnyTunewireEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<AnyTunewireEvent, { kind: K }> => e.kind === kind);
  }
  distinctIds(kind?: AnyTunewireEvent['kind']): Set<string> {
    return new Set(this.events.filter((e) => !kind || e.kind === kind).map((e) => e.id));
  }
}

/** What must be the same however events were delivered: everything but timestamps, versions and cursors. */
export async function ledgerSnapshot(ledger: Ledger, jobIds: readonly string[]): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const jobId of jobIds) {
    const job = await ledger.getJob(jobId);
    const trials = (await ledger.listTrials(jobId)).sort((a, b) => (a.trialId < b.trialId ? -1 : 1));
    out[jobId] = {
      status: job?.status,
      providerStatus: job?.providerStatus,
      failureReason: job?.failureReason,
      announcedStatus: job?.announcedStatus,
      bestTrial: job?.bestTrial,
      trials: trials.map((t) => ({ trialId: t.trialId, status: t.status, objectiveValue: t.objectiveValue, endedAt: t.endedAt, announced: t.announced })),
    };
  }
  return out;
}

/** The crash a test injects: a function instance dying at one point of its run. */
export class InjectedCrash extends Error {
  constructor(readonly at: string) {
    super(`injected crash ${at}`);
    this.name = 'InjectedCrash';
  }
}

/**
 * Wraps an object so each method call counts as one external call; the `crashAt`-th call throws
 * before it reaches the target or after it returned (its effect done, its answer lost).
 */
export class CrashInjector {
  count = 0;
  crashAt = 0;
  mode: 'before' | 'after' = 'before';
  crashed: string | undefined;
  readonly log: string[] = [];

  wrap<T extends object>(label: string, target: T): T {
    return new Proxy(target, {
      get: (obj, key, receiver) => {
        const value = Reflect.get(obj, key, receiver) as unknown;
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        if (key === 'validate' || key === 'render' || key === 'providerJobName') return (value as (...a: unknown[]) => unknown).bind(obj);
        return async (...args: unknown[]) => {
          const n = ++this.count;
          const name = `${label}.${key}`;
          this.log.push(name);
          if (n === this.crashAt && this.mode === 'before') throw this.crash(`before #${n} ${name}`);
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          if (n === this.crashAt && this.mode === 'after') throw this.crash(`after #${n} ${name}`);
          return result;
        };
      },
    });
  }

  private crash(at: string): InjectedCrash {
    this.crashed = at;
    return new InjectedCrash(at);
  }
}
