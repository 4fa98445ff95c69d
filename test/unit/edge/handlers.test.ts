import { beforeEach, describe, expect, it } from 'vitest';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import { detailTypeOf, EVENT_SOURCE } from '../../../shared/domain/events';
import type { JobRecord } from '../../../shared/domain/job';
import { parseSpec } from '../../../shared/domain/spec';
import { handlePromoteEvent, handleStatusChangeEvent, handleSubmitEvent, handleTrialFanOutEvent } from '../../../shared/edge/handlers';
import { systemClock } from '../../../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../../../shared/use-cases/dependencies';
import type { HandledEvent } from '../../../shared/use-cases/provider-events';
import { submitJob } from '../../../shared/use-cases/submit-job';
import { freshLedger } from '../../support/dynamodb';
import { loadEvent } from '../../support/fixtures';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

/**
 * Poison events: input that used to fail in a way that looks transient (a DynamoDB
 * ValidationException, a stack overflow), so the transport retried it into the dead-letter queue.
 * Each is now a `rejected` outcome naming the field, and nothing reaches the ledger.
 */

/** A Pub/Sub push of `data` (JSON text as is when a string: a value too deep to stringify here). */
const push = (data: unknown, message: Record<string, unknown> = {}) => ({
  message: { data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64'), messageId: '13092283547681726', ...message },
  subscription: 'projects/p/subscriptions/s',
});

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('edge handlers refuse hostile events without writing', () => {
  let deps: Dependencies;
  let ledger: DynamoDbLedger;
  let itemCount: () => Promise<number>;
  let job: JobRecord;
  let sagemakerJob: JobRecord;

  beforeEach(async () => {
    ({ ledger, itemCount } = await freshLedger('edge-handlers'));
    deps = {
      ledger,
      bus: new RecordingBus(),
      clock: systemClock,
      providers: new ProviderCatalog({
        local: { provider: new ScriptedProvider('local'), registry: new RecordingRegistry() },
        sagemaker: { provider: new ScriptedProvider('sagemaker'), registry: new RecordingRegistry() },
      }),
    };
    const spec = (provider: 'local' | 'sagemaker') =>
      parseSpec({
        name: 'churn-xgb',
        provider,
        objective: { metric: 'validation:auc', goal: 'maximize' },
        parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
        budget: { maxTrials: 4 },
        trial: {},
      });
    ({ job } = await submitJob(deps, { spec: spec('local'), idempotencyKey: 'k1' }));
    ({ job: sagemakerJob } = await submitJob(deps, { spec: spec('sagemaker'), idempotencyKey: 'k2' }));
  });

  async function expectRejected(handled: Promise<HandledEvent>, field: string): Promise<void> {
    const before = await itemCount();
    const outcome = await handled;
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.detail).toContain(`${field}:`);
    expect(await itemCount()).toBe(before);
  }

  const localJobEvent = (id: string, jobName = job.providerJobName) => ({ ...loadEvent('local/tuning-job-state-change.running.json'), id, detail: { jobName, status: 'RUNNING', seq: 1 } });

  it('status-change: an event id over 512 bytes (a ledger key part) is rejected, naming id', async () => {
    await expectRejected(handleStatusChangeEvent(deps, localJobEvent('e'.repeat(2000))), 'id');
  });

  it('status-change: an event id just within the limit is applied', async () => {
    expect((await handleStatusChangeEvent(deps, localJobEvent('e'.repeat(512)))).outcome).toBe('applied');
  });

  it('status-change: a provider job name of 3,000 characters is rejected, naming detail.jobName', async () => {
    await expectRejected(handleStatusChangeEvent(deps, localJobEvent('e1', 'n'.repeat(3000))), 'detail.jobName');
  });

  it('status-change: a Pub/Sub message id over the limit is rejected, naming message.messageId', async () => {
    const envelope = localJobEvent('e2');
    await expectRejected(handleStatusChangeEvent(deps, push(envelope, { messageId: 'm'.repeat(2000) })), 'message.messageId');
  });

  it('status-change: a Logging sink entry whose insertId is over the limit is rejected, naming it', async () => {
    const entry = { insertId: 'i'.repeat(2000), logName: 'projects/p/logs/ml', resource: { type: 'ml_job', labels: { job_id: 'census_1' } } };
    await expectRejected(handleStatusChangeEvent(deps, push(entry)), 'message.data.insertId');
  });

  it('status-change: an event nested 5,000 deep is rejected at its field, not overflowed', async () => {
    await expectRejected(handleStatusChangeEvent(deps, { ...localJobEvent('e3'), detail: { jobName: job.providerJobName, status: 'RUNNING', seq: 1, extra: nested(5000) } }), 'detail');
  });

  it('status-change: Pub/Sub data nested 5,000 deep is rejected, naming message.data', async () => {
    const envelope = JSON.stringify({ ...localJobEvent('e4'), detail: {} });
    const deep = `${envelope.slice(0, -3)}{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    await expectRejected(handleStatusChangeEvent(deps, push(deep)), 'message.data.detail');
  });

  it('status-change: an event over 1 MB is rejected', async () => {
    const outcome = handleStatusChangeEvent(deps, { ...localJobEvent('e5'), detail: { jobName: job.providerJobName, status: 'RUNNING', seq: 1, pad: 'x'.repeat(1_100_000) } });
    await expectRejected(outcome, '(root)');
    expect((await outcome).detail).toContain('an event may be at most 1024 KB');
  });

  it('trial-fan-out: a Tuning Job Status Changed whose job id is 3,000 characters is rejected, naming detail.jobId', async () => {
    const event = { id: 'own-1', source: EVENT_SOURCE, 'detail-type': detailTypeOf('job.status_changed'), detail: { jobId: 'j'.repeat(3000), status: 'running' } };
    await expectRejected(handleTrialFanOutEvent(deps, event), 'detail.jobId');
  });

  it('trial-fan-out: a SageMaker training job named with 3,000 characters is rejected, naming detail.TrainingJobName', async () => {
    const sample = loadEvent('sagemaker/training-job-state-change.completed.json');
    const detail = { ...(sample['detail'] as Record<string, unknown>), TrainingJobName: 't'.repeat(3000), Tags: { 'tunewire:job-id': sagemakerJob.jobId } };
    await expectRejected(handleTrialFanOutEvent(deps, { ...sample, detail }), 'detail.TrainingJobName');
  });

  it('promote-best: a Tuning Job Finished whose job id is 3,000 characters is rejected, naming detail.jobId', async () => {
    const event = { id: 'own-2', source: EVENT_SOURCE, 'detail-type': detailTypeOf('job.finished'), detail: { jobId: 'j'.repeat(3000) } };
    await expectRejected(handlePromoteEvent(deps, event), 'detail.jobId');
  });

  it('submit: a spec nested 5,000 deep is rejected at detail, not a RangeError', async () => {
    const sample = loadEvent('tunewire/tuning-job-requested.json');
    const detail = sample['detail'] as { spec: Record<string, unknown> };
    const outcome = handleSubmitEvent(deps, { ...sample, detail: { ...detail, spec: { ...detail.spec, trial: nested(5000) } } });
    await expectRejected(outcome, 'detail');
    expect((await outcome).detail).toContain('(at detail.spec.trial.a.a');
  });

  for (const name of ['__proto__', 'constructor', 'prototype']) {
    it(`submit: a parameter named ${name} is rejected at parameters[0].name, and no job is made`, async () => {
      const sample = loadEvent('tunewire/tuning-job-requested.json');
      const detail = sample['detail'] as { spec: Record<string, unknown> };
      const parameters = [JSON.parse(`{ "name": "${name}", "type": "integer", "min": 2, "max": 40 }`) as unknown];
      await expectRejected(handleSubmitEvent(deps, { ...sample, detail: { ...detail, spec: { ...detail.spec, parameters } } }), 'parameters[0].name');
    });
  }

  it('submit: an idempotency key over 256 bytes of UTF-8 is rejected, naming detail.idempotencyKey', async () => {
    const sample = loadEvent('tunewire/tuning-job-requested.json');
    const detail = sample['detail'] as Record<string, unknown>;
    await expectRejected(handleSubmitEvent(deps, { ...sample, detail: { ...detail, idempotencyKey: '日'.repeat(100) } }), 'detail.idempotencyKey');
  });
});
