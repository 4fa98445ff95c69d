import { beforeEach, describe, expect, it } from 'vitest';
import { detailTypeOf, EVENT_SOURCE } from '../../../shared/domain/events';
import { handleTriggerEvent, type TriggerHandled } from '../../../shared/edge/trigger-events';
import { putTemplate } from '../../../shared/use-cases/manage-templates';
import { edgeFixture, edgeSpec, type EdgeFixture } from '../../support/edge-deps';
import { loadEvent } from '../../support/fixtures';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

describe('handleTriggerEvent refuses hostile triggers without writing', () => {
  let fixture: EdgeFixture;

  beforeEach(async () => {
    fixture = await edgeFixture('trigger-events');
    await putTemplate(fixture.deps, {
      name: 'churn',
      document: { spec: edgeSpec('local'), triggers: { s3Prefix: 's3://tunewire-data/churn/', datasetName: 'churn-daily' } },
    });
  });

  async function expectRejected(handled: Promise<TriggerHandled>, field: string): Promise<void> {
    const before = await fixture.itemCount();
    const outcome = await handled;
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.detail).toContain(`${field}:`);
    expect(await fixture.itemCount()).toBe(before);
    expect(fixture.providers.local.creates).toHaveLength(0);
  }

  it('an S3 object in a directory too long for the debounce key is rejected, naming detail.object.key', async () => {
    const sample = loadEvent('triggers/s3-object-created.json');
    const detail = { ...(sample['detail'] as Record<string, unknown>), object: { key: `churn/${'d'.repeat(2000)}/part-0.parquet` } };

    await expectRejected(handleTriggerEvent(fixture.deps, { ...sample, detail }), 'detail.object.key');
  });

  it('a Dataset Ready with a location over 700 bytes is rejected, naming detail.location', async () => {
    const sample = loadEvent('triggers/dataset-ready.json');
    const detail = { ...(sample['detail'] as Record<string, unknown>), location: `s3://tunewire-data/${'d'.repeat(2000)}/` };

    await expectRejected(handleTriggerEvent(fixture.deps, { ...sample, detail }), 'detail.location');
  });

  it('a Dataset Ready with a reserved label key is rejected, naming it', async () => {
    const sample = loadEvent('triggers/dataset-ready.json');
    const detail = { ...(sample['detail'] as Record<string, unknown>), labels: JSON.parse('{ "__proto__": "x" }') as unknown };

    await expectRejected(handleTriggerEvent(fixture.deps, { ...sample, detail }), 'detail.labels.__proto__');
  });

  it('a Pub/Sub data message whose message id or dataset is too long is rejected, naming each', async () => {
    const sample = loadEvent('triggers/pubsub-push.dataset.json') as { message: Record<string, unknown> };

    await expectRejected(handleTriggerEvent(fixture.deps, { ...sample, message: { ...sample.message, messageId: 'm'.repeat(2000) } }), 'message.messageId');
    await expectRejected(
      handleTriggerEvent(fixture.deps, { ...sample, message: { ...sample.message, attributes: { dataset: 'd'.repeat(2000) } } }),
      'message.attributes.dataset',
    );
  });

  it('a Pub/Sub data message whose data nests 5,000 deep is rejected, naming message.data', async () => {
    const sample = loadEvent('triggers/pubsub-push.dataset.json') as { message: Record<string, unknown> };
    const data = Buffer.from(`{"location": "s3://tunewire-data/churn/x/", "labels": ${'['.repeat(5000)}${']'.repeat(5000)}}`).toString('base64');

    await expectRejected(handleTriggerEvent(fixture.deps, { ...sample, message: { ...sample.message, data } }), 'message.data.labels');
  });

  it('a Tuning Job Finished whose job id is 3,000 characters is rejected, naming detail.jobId', async () => {
    const event = { id: 'own-1', source: EVENT_SOURCE, 'detail-type': detailTypeOf('job.finished'), detail: { jobId: 'j'.repeat(3000) } };

    await expectRejected(handleTriggerEvent(fixture.deps, event), 'detail.jobId');
  });

  it('submits a data location with `$` patterns into the local command literally', async () => {
    const sample = loadEvent('triggers/pubsub-push.dataset.json') as { message: Record<string, unknown> };
    const location = "s3://tunewire-data/churn/a$&b$`c$'d$$/";

    const outcome = await handleTriggerEvent(fixture.deps, { ...sample, message: { ...sample.message, data: b64({ location }) } });

    expect(outcome.outcome).toBe('applied');
    expect(fixture.providers.local.creates[0]?.spec.trial['command']).toEqual(['python', 'train.py', `--data=${location}`]);
  });
});
