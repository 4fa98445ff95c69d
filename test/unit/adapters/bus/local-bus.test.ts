import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LocalBus, toEnvelope } from '../../../../shared/adapters/bus/local-bus';
import { busRulesFrom, loadBusRules } from '../../../../shared/adapters/bus/serverless-rules';
import { ValidationError } from '../../../../shared/domain/errors';
import { makeEvent } from '../../../../shared/domain/events';
import type { EventBridgeEnvelope } from '../../../../shared/edge/envelopes';
import { loadEvent } from '../../../support/fixtures';

const SERVERLESS_YML = join(import.meta.dirname, '..', '..', '..', '..', 'serverless.yml');
/** The functions an EventBridge pattern routes to (retune and reconcile are schedules, inbound-webhook is HTTP). */
const FUNCTIONS = ['submit', 'status-change', 'trial-fan-out', 'promote-best', 'notify', 'trigger'];

function recordingTargets() {
  const calls: Array<{ fn: string; id: string }> = [];
  const targets = Object.fromEntries(FUNCTIONS.map((fn) => [fn, async (e: EventBridgeEnvelope) => void calls.push({ fn, id: e.id })]));
  return { calls, targets };
}

const sample = (path: string) => loadEvent(path) as unknown as EventBridgeEnvelope;

describe('loadBusRules', () => {
  it('reads every EventBridge rule of serverless.yml with its function', () => {
    const rules = loadBusRules(SERVERLESS_YML);
    expect(rules.map((r) => r.functionName)).toEqual([
      'submit',
      'status-change',
      'status-change',
      'trial-fan-out',
      'trial-fan-out',
      'trial-fan-out',
      'promote-best',
      'notify',
      'trigger',
      'trigger',
      'trigger',
    ]);
    // the AWS service events: SageMaker (status-change, trial-fan-out) and S3 (trigger)
    expect(rules.filter((r) => r.eventBus === 'default').map((r) => r.functionName)).toEqual(['status-change', 'trial-fan-out', 'trigger']);
  });

  it('skips scheduled rules, which match no event, and still refuses a rule with neither pattern nor schedule', () => {
    const withSchedules = {
      functions: {
        reconcile: { handler: 'h', events: [{ eventBridge: { schedule: 'rate(15 minutes)', retryPolicy: { maximumRetryAttempts: 1 } } }] },
        retune: {
          handler: 'h',
          events: [{ eventBridge: { schedule: 'cron(0 3 ? * MON *)', inputTransformer: { inputPathsMap: { time: '$.time' }, inputTemplate: '{"slot": <time>}' } } }],
        },
        'promote-best': { handler: 'h', events: [{ eventBridge: { pattern: { source: ['tunewire'], 'detail-type': ['Tuning Job Finished'] } } }] },
      },
    };
    expect(busRulesFrom(withSchedules).map((r) => r.functionName)).toEqual(['promote-best']);
    const neither = { functions: { broken: { handler: 'h', events: [{ eventBridge: { eventBus: 'tunewire' } }] } } };
    expect(() => busRulesFrom(neither)).toThrow(ValidationError);
  });
});

describe('LocalBus', () => {
  it('routes each sample event to the function serverless.yml names', async () => {
    const { calls, targets } = recordingTargets();
    const bus = new LocalBus({ rules: loadBusRules(SERVERLESS_YML), targets });
    const cases: Array<[string, string[]]> = [
      ['local/tuning-job-state-change.running.json', ['status-change']],
      ['local/trial-state-change.completed.json', ['trial-fan-out']],
      // every one of our events (source tunewire) also goes to notify
      ['tunewire/tuning-job-status-changed.json', ['trial-fan-out', 'notify']],
      ['tunewire/tuning-job-finished.json', ['promote-best', 'notify', 'trigger']],
      ['tunewire/tuning-job-requested.json', ['submit']],
      ['triggers/dataset-ready.json', ['trigger']],
    ];
    for (const [file, expected] of cases) expect(bus.route(sample(file)), file).toEqual(expected);

    bus.inject(sample('tunewire/tuning-job-finished.json'));
    await bus.drain();
    expect(calls.map((c) => c.fn).sort()).toEqual(['notify', 'promote-best', 'trigger']);
  });

  it('sends a finished training job of a tuning job to trial-fan-out, whether or not the event has TuningJobArn', () => {
    const bus = new LocalBus({ rules: loadBusRules(SERVERLESS_YML), targets: recordingTargets().targets });
    const training = (name: string) => sample(`sagemaker/training-job-state-change.${name}.json`);
    // TuningJobArn (some real events), the tunewire:job-id tag (AWS's documented shape), or both
    for (const name of ['completed', 'failed', 'stopped', 'documented', 'documented-with-tuning-job-arn']) {
      expect(bus.route(training(name)), name).toEqual(['trial-fan-out']);
    }
    const documented = training('documented');
    for (const TrainingJobStatus of ['Failed', 'Stopped']) {
      expect(bus.route({ ...documented, detail: { ...documented.detail, TrainingJobStatus } }), TrainingJobStatus).toEqual(['trial-fan-out']);
    }
    // neither tagged nor with a TuningJobArn: nothing says it is a tuning job's
    expect(bus.route(training('no-tuning-job'))).toEqual([]);
    expect(bus.route(training('documented-untagged'))).toEqual([]);
    expect(bus.route({ ...documented, detail: { ...documented.detail, Tags: { team: 'growth' } } })).toEqual([]);
    // still running
    expect(bus.route({ ...documented, detail: { ...documented.detail, TrainingJobStatus: 'InProgress' } })).toEqual([]);
  });

  it('follows a change to a rule in serverless.yml and nothing else', () => {
    const document = parse(readFileSync(SERVERLESS_YML, 'utf8'), { customTags: [] as never, logLevel: 'silent' }) as {
      functions: Record<string, { events: Array<{ eventBridge?: { pattern: Record<string, unknown> } }> }>;
    };
    const dir = mkdtempSync(join(tmpdir(), 'tunewire-rules-'));
    const write = () => {
      const file = join(dir, 'serverless.yml');
      writeFileSync(file, stringify(document));
      return new LocalBus({ rules: loadBusRules(file), targets: recordingTargets().targets });
    };
    const finished = sample('tunewire/tuning-job-finished.json');
    expect(write().route(finished)).toEqual(['promote-best', 'notify', 'trigger']);

    const promoteRule = document.functions['promote-best']?.events[0]?.eventBridge as { pattern: Record<string, unknown> };
    promoteRule.pattern = { source: ['tunewire'], 'detail-type': ['Tuning Job Finished'], detail: { status: ['succeeded'] } };
    const failed = { ...finished, detail: { ...finished.detail, status: 'failed' } };
    expect(write().route(finished)).toEqual(['promote-best', 'notify', 'trigger']);
    expect(write().route(failed)).toEqual(['notify', 'trigger']);
  });

  it('delivers our events with the deterministic id in the detail, as on EventBridge', async () => {
    const { calls, targets } = recordingTargets();
    const bus = new LocalBus({ rules: loadBusRules(SERVERLESS_YML), targets });
    const event = makeEvent('job.finished', 'j1:finished', 'j1', { jobId: 'j1', name: 'n', provider: 'local', status: 'succeeded' }, new Date(0));
    await bus.publish([event]);
    await bus.drain();
    expect(calls.sort((a, b) => a.fn.localeCompare(b.fn))).toEqual([
      { fn: 'notify', id: 'j1:finished' },
      { fn: 'promote-best', id: 'j1:finished' },
      { fn: 'trigger', id: 'j1:finished' },
    ]);
    expect(toEnvelope(event).detail).toMatchObject({ eventId: 'j1:finished', subject: 'j1', jobId: 'j1' });
  });

  it('retries a retryable failure and dead-letters one that keeps failing', async () => {
    let attempts = 0;
    const targets = {
      ...recordingTargets().targets,
      'promote-best': async () => {
        attempts++;
        throw new Error('throttled');
      },
    };
    const bus = new LocalBus({ rules: loadBusRules(SERVERLESS_YML), targets, maxAttempts: 3 });
    bus.inject(sample('tunewire/tuning-job-finished.json'));
    await bus.drain();
    expect(attempts).toBe(3);
    expect(bus.deadLetters).toHaveLength(1);
  });
  it('runs background functions beside the limit, and drain({ except }) does not wait for them', async () => {
    const { calls, targets } = recordingTargets();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const bus = new LocalBus({
      rules: loadBusRules(SERVERLESS_YML),
      targets: { ...targets, notify: () => held },
      background: ['notify'],
      concurrency: 1,
    });
    bus.inject(sample('tunewire/tuning-job-finished.json'));
    bus.inject(sample('tunewire/tuning-job-finished.json'));
    await bus.drain({ except: ['notify'] });
    // both notify deliveries hang, yet the one slot served every other delivery
    expect(calls.map((c) => c.fn).sort()).toEqual(['promote-best', 'promote-best', 'trigger', 'trigger']);
    let drained = false;
    const all = bus.drain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    release();
    await all;
    expect(drained).toBe(true);
  });
});
