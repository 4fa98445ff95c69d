import { beforeEach, describe, expect, it } from 'vitest';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';
import { handlePromoteEvent, handleStatusChangeEvent, handleSubmitEvent, handleTrialFanOutEvent } from '../../../shared/edge/handlers';
import { handleHttpRequest } from '../../../shared/edge/http-api';
import { toEnvelope } from '../../../shared/adapters/bus/local-bus';
import { systemClock } from '../../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import { submitJob } from '../../../shared/use-cases/submit-job';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { freshLedger } from '../../support/dynamodb';
import { loadEvent, listed } from '../../support/fixtures';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

const baseSpec = (overrides: Partial<Record<string, unknown>> = {}): TuningSpec =>
  parseSpec({
    name: 'churn-xgb',
    provider: 'local',
    objective: { metric: 'validation:auc', goal: 'maximize' },
    parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
    strategy: 'random',
    budget: { maxTrials: 4, parallelTrials: 2 },
    trial: {},
    promotion: { model: 'churn', minImprovement: 0.01 },
    ...overrides,
  });

/** A local engine job event as the engine puts it on the bus (events/local/ sample, renamed). */
function jobEvent(jobName: string, status: string, seq: number, id = `${jobName}:${seq}`) {
  const sample = loadEvent('local/tuning-job-state-change.running.json');
  return { ...sample, id, time: new Date(Date.UTC(2026, 10, 23, 10, 0, seq)).toISOString(), detail: { jobName, status, seq } };
}

function trialEvent(jobName: string, trial: Trial, seq: number) {
  const sample = loadEvent('local/trial-state-change.completed.json');
  return { ...sample, id: `${jobName}:${seq}`, detail: { jobName, status: 'RUNNING', seq, trial: { trialId: trial.trialId, status: 'COMPLETED' } } };
}

const trial = (trialId: string, objectiveValue: number | undefined, status: Trial['status'] = 'succeeded'): Trial => ({
  trialId,
  status,
  hyperparameters: { eta: '0.1' },
  stoppedEarly: false,
  ...(objectiveValue !== undefined ? { objectiveValue } : {}),
  endedAt: '2026-11-23T10:00:00.000Z',
});

describe('the four handlers against DynamoDB Local', () => {
  let deps: Dependencies;
  let ledger: DynamoDbLedger;
  let itemCount: () => Promise<number>;
  let bus: RecordingBus;
  let provider: ScriptedProvider;

  beforeEach(async () => {
    ({ ledger, itemCount } = await freshLedger('invariants'));
    bus = new RecordingBus();
    provider = new ScriptedProvider('local');
    deps = { ledger, bus, clock: systemClock, providers: new ProviderCatalog({ local: { provider, registry: new RecordingRegistry() } }) };
  });

  async function submitted(spec = baseSpec(), key = 'k1') {
    const { job } = await submitJob(deps, { spec, idempotencyKey: key });
    return job;
  }

  describe('invariant 1: applying a provider event twice has the effect of applying it once', () => {
    it('records the second delivery as a duplicate and changes nothing', async () => {
      const job = await submitted();
      const event = jobEvent(job.providerJobName, 'RUNNING', 1);

      const first = await handleStatusChangeEvent(deps, event);
      const afterFirst = await ledger.getJob(job.jobId);
      const second = await handleStatusChangeEvent(deps, event);
      const afterSecond = await ledger.getJob(job.jobId);

      expect(first.outcome).toBe('applied');
      expect(second.outcome).toBe('duplicate');
      expect(afterSecond).toEqual(afterFirst);
      expect(afterSecond?.status).toBe('running');
      expect(bus.ofKind('job.status_changed').map((e) => e.id)).toEqual([`${job.jobId}:status:running`]);
      const history = await ledger.listHistory(job.jobId);
      expect(history.map((h) => h.outcome).sort()).toEqual(['applied', 'duplicate']);
    });

    it('applies ten concurrent deliveries of one event once', async () => {
      const job = await submitted();
      const event = jobEvent(job.providerJobName, 'RUNNING', 1);
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => handleStatusChangeEvent(deps, event)));
      expect(outcomes.filter((o) => o.outcome === 'applied')).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(9);
      expect((await ledger.getJob(job.jobId))?.version).toBe((await ledger.getJob(job.jobId))?.version);
      expect(bus.distinctIds('job.status_changed').size).toBe(1);
    });
  });

  describe('invariant 2: a status never moves backwards', () => {
    it('records a late RUNNING after COMPLETED as stale and keeps succeeded', async () => {
      const job = await submitted();
      expect((await handleStatusChangeEvent(deps, jobEvent(job.providerJobName, 'COMPLETED', 9))).outcome).toBe('applied');
      const stale = await handleStatusChangeEvent(deps, jobEvent(job.providerJobName, 'RUNNING', 1));

      expect(stale.outcome).toBe('stale');
      const stored = await ledger.getJob(job.jobId);
      expect(stored?.status).toBe('succeeded');
      expect((await ledger.listHistory(job.jobId)).map((h) => h.outcome).sort()).toEqual(['applied', 'stale']);
      expect(bus.ofKind('job.status_changed').map((e) => e.detail.status)).toEqual(['succeeded']);
    });

    it('ends in the same state whatever order running, stopping and stopped arrive in', async () => {
      const orders = [
        ['RUNNING', 'STOPPING', 'STOPPED'],
        ['STOPPED', 'STOPPING', 'RUNNING'],
        ['STOPPING', 'STOPPED', 'RUNNING'],
      ];
      for (const [i, order] of orders.entries()) {
        const job = await submitted(baseSpec(), `order-${i}`);
        for (const status of order) {
          const seq = ['RUNNING', 'STOPPING', 'STOPPED'].indexOf(status) + 1;
          await handleStatusChangeEvent(deps, jobEvent(job.providerJobName, status, seq));
        }
        expect((await ledger.getJob(job.jobId))?.status).toBe('stopped');
      }
    });
  });

  describe('invariant 3: each finished trial is stored once and announced once in effect', () => {
    it('stores and announces each trial once across repeated and concurrent fan-outs', async () => {
      const job = await submitted();
      const trials = [trial('t1', 0.81), trial('t2', 0.86), trial('t3', undefined, 'failed')];
      trials.forEach((t) => provider.putTrial(job.providerJobName, t));

      const events = trials.map((t, i) => trialEvent(job.providerJobName, t, i + 2));
      await Promise.all([...events, ...events, ...events].map((e) => handleTrialFanOutEvent(deps, e)));
      await handleTrialFanOutEvent(deps, events[0]);

      const stored = await ledger.listTrials(job.jobId);
      expect(stored.map((t) => t.trialId).sort()).toEqual(['t1', 't2', 't3']);
      expect(stored.every((t) => t.announced)).toBe(true);
      expect(bus.distinctIds('trial.finished')).toEqual(new Set(['t1', 't2', 't3'].map((t) => `${job.jobId}:trial:${t}`)));
      expect((await ledger.getJob(job.jobId))?.bestTrial?.trialId).toBe('t2');
    });

    it('reads only what is new since the cursor', async () => {
      const job = await submitted();
      provider.putTrial(job.providerJobName, trial('t1', 0.8));
      await handleTrialFanOutEvent(deps, trialEvent(job.providerJobName, trial('t1', 0.8), 2));
      provider.putTrial(job.providerJobName, trial('t2', 0.9));
      const second = await handleTrialFanOutEvent(deps, trialEvent(job.providerJobName, trial('t2', 0.9), 3));
      expect(second.detail).toBe('1 trial(s) stored, 1 announced');
      expect((await ledger.getJob(job.jobId))?.trialCursor).toBe('2');
    });

    it('announces a trial that a crashed fan-out stored but never announced', async () => {
      const job = await submitted();
      provider.putTrial(job.providerJobName, trial('t1', 0.8));
      await ledger.putTrial(job.jobId, listed(trial('t1', 0.8))); // the crashed call got this far
      await handleTrialFanOutEvent(deps, trialEvent(job.providerJobName, trial('t1', 0.8), 2));
      expect(bus.distinctIds('trial.finished')).toEqual(new Set([`${job.jobId}:trial:t1`]));
    });
  });

  describe('invariant 4: one champion per model, never replaced by a worse one', () => {
    async function finishedJob(key: string, value: number) {
      const job = await submitted(baseSpec(), key);
      provider.putTrial(job.providerJobName, trial(`${key}-t1`, value));
      await handleStatusChangeEvent(deps, jobEvent(job.providerJobName, 'COMPLETED', 5));
      return job;
    }
    const finishedEvent = (jobId: string) => {
      const event = bus.ofKind('job.finished').find((e) => e.subject === jobId);
      if (!event) throw new Error(`job ${jobId} was never announced as finished`);
      return toEnvelope(event);
    };

    it('promotes the first, keeps it against a worse and an equal job, and replaces it with a better one', async () => {
      const first = await finishedJob('a', 0.9);
      const worse = await finishedJob('b', 0.85);
      const barely = await finishedJob('c', 0.905);
      const better = await finishedJob('d', 0.95);

      expect((await handlePromoteEvent(deps, finishedEvent(first.jobId))).detail).toMatch(/^promoted/);
      expect((await handlePromoteEvent(deps, finishedEvent(worse.jobId))).detail).toMatch(/^skipped: best 0.85 does not beat the champion 0.9/);
      expect((await handlePromoteEvent(deps, finishedEvent(barely.jobId))).detail).toMatch(/^skipped/);
      expect((await handlePromoteEvent(deps, finishedEvent(better.jobId))).detail).toMatch(/^promoted/);

      expect(await ledger.getChampion('churn')).toMatchObject({ jobId: better.jobId, objectiveValue: 0.95 });
      expect(bus.ofKind('model.promotion_skipped').map((e) => e.subject)).toEqual([worse.jobId, barely.jobId]);
      expect(bus.ofKind('model.promoted').map((e) => e.subject)).toEqual([first.jobId, better.jobId]);
    });

    it('leaves the best of several concurrent promotions as the one champion', async () => {
      const jobs = await Promise.all([0.91, 0.97, 0.93, 0.95].map((v, i) => finishedJob(`p${i}`, v)));
      await Promise.all(jobs.map((j) => handlePromoteEvent(deps, finishedEvent(j.jobId))));
      expect(await ledger.getChampion('churn')).toMatchObject({ jobId: jobs[1]?.jobId, objectiveValue: 0.97 });
    });

    it('announces a repeated Tuning Job Finished with the same event id', async () => {
      const job = await finishedJob('r', 0.9);
      await handlePromoteEvent(deps, finishedEvent(job.jobId));
      const again = await handlePromoteEvent(deps, finishedEvent(job.jobId));
      expect(again.outcome).toBe('duplicate');
      expect(bus.distinctIds('model.promoted').size).toBe(1);
    });
  });

  describe('invariant 5: submit is idempotent', () => {
    it('makes one provider job for the same key, even when submits race', async () => {
      await Promise.all(Array.from({ length: 5 }, () => submitJob(deps, { spec: baseSpec(), idempotencyKey: 'same' })));
      expect(provider.jobCount).toBe(1);
    });

    it('adopts the provider job after a crash between create and the ledger update', async () => {
      provider.beforeCreate = async () => undefined;
      const spec = baseSpec();
      const original = provider.create.bind(provider);
      let crashed = false;
      provider.create = async (request) => {
        const result = await original(request);
        if (!crashed) {
          crashed = true;
          throw new Error('crash after create');
        }
        return result;
      };
      await expect(submitJob(deps, { spec, idempotencyKey: 'crash' })).rejects.toThrow('crash after create');
      const { job } = await submitJob(deps, { spec, idempotencyKey: 'crash' });
      expect(job.status).toBe('pending');
      expect(provider.jobCount).toBe(1);
    });
  });

  describe('invariant 6: bad input is refused with field-level messages and nothing is written', () => {
    it('rejects a Tuning Job Requested event whose spec is malformed', async () => {
      const outcome = await handleSubmitEvent(deps, loadEvent('tunewire/tuning-job-requested.bad-spec.json'));
      expect(outcome.outcome).toBe('rejected');
      expect(outcome.detail).toContain('objective.goal');
      expect(outcome.detail).toContain('parameters[0].max');
      expect(await itemCount()).toBe(0);
      expect(bus.events).toHaveLength(0);
    });

    it('rejects an event of the wrong shape, naming the field', async () => {
      const event = jobEvent('whatever', 'RUNNING', 1);
      const outcome = await handleStatusChangeEvent(deps, { ...event, detail: { jobName: 'x', status: 'SPINNING', seq: 1 } });
      expect(outcome.outcome).toBe('rejected');
      expect(outcome.detail).toContain('detail.status');
      const missing = await handleStatusChangeEvent(deps, { source: 'tunewire.local' });
      expect(missing.outcome).toBe('rejected');
      expect(missing.detail).toContain('detail-type');
      expect(await itemCount()).toBe(0);
    });

    it('answers a bad spec on the HTTP API with 400 and the field paths', async () => {
      const response = await handleHttpRequest(deps, { method: 'POST', path: '/jobs', headers: {}, body: 'name: x\nprovider: azure\n' });
      expect(response.statusCode).toBe(400);
      const body = JSON.parse(response.body) as { error: { issues: { path: string }[] } };
      expect(body.error.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['provider', 'objective', 'parameters', 'budget', 'trial']));
      expect(await itemCount()).toBe(0);
    });

    it('ignores events about jobs tunewire did not start, writing nothing', async () => {
      const outcome = await handleStatusChangeEvent(deps, jobEvent('not-ours', 'RUNNING', 1));
      expect(outcome.outcome).toBe('ignored');
      expect(await itemCount()).toBe(0);
    });
  });
});
