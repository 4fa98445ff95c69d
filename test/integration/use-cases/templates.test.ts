import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTemplateStore } from '../../../shared/adapters/dynamodb/dynamodb-template-store';
import type { DynamoDbLedger } from '../../../shared/adapters/dynamodb/dynamodb-ledger';
import type { JobRecord } from '../../../shared/domain/job';
import type { JobStatus } from '../../../shared/domain/status';
import type { Trial } from '../../../shared/domain/trial';
import { handleInboundWebhook } from '../../../shared/edge/inbound-webhook';
import { handleTriggerEvent } from '../../../shared/edge/trigger-events';
import type { Clock } from '../../../shared/ports/clock';
import { ProviderCatalog } from '../../../shared/use-cases/dependencies';
import { getTemplate, listTemplates, putTemplate, deleteTemplate, type TemplateDependencies } from '../../../shared/use-cases/manage-templates';
import { promoteBest } from '../../../shared/use-cases/promote-best';
import { recordJobOutcome, retune } from '../../../shared/use-cases/retune';
import { freshLedger } from '../../support/dynamodb';
import { loadEvent, listed } from '../../support/fixtures';
import { RecordingBus } from '../../support/recording-bus';
import { RecordingRegistry, ScriptedProvider } from '../../support/scripted-provider';

const SECRET = `whsec_${Buffer.from('a-thirty-two-byte-secret-for-tst').toString('base64')}`;
const HMAC_SECRET = 'hmac-secret-of-the-data-platform';

const specOf = (provider: 'sagemaker' | 'vertex' | 'local', name = 'churn-xgb') => ({
  name,
  provider,
  objective: { metric: 'validation:auc', goal: 'maximize' },
  parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
  strategy: 'random',
  budget: { maxTrials: 4, parallelTrials: 2 },
  trial:
    provider === 'sagemaker'
      ? { inputs: [{ channel: 'train', s3Uri: 's3://tunewire-data/churn/base/' }] }
      : provider === 'vertex'
        ? { workerPoolSpecs: [{ container: { imageUri: 'us-docker.pkg.dev/p/train/churn:1', args: ['--epochs=2'] } }] }
        : { command: ['python', 'train.py', '--data={{data}}'] },
  promotion: { model: 'churn', minImprovement: 0.01 },
});

const trial = (trialId: string, objectiveValue: number): Trial => ({ trialId, status: 'succeeded', hyperparameters: { eta: '0.1' }, stoppedEarly: false, objectiveValue, endedAt: '2026-11-23T10:00:00.000Z' });

describe('tuning templates against DynamoDB Local', () => {
  let deps: TemplateDependencies;
  let ledger: DynamoDbLedger;
  let templates: DynamoDbTemplateStore;
  let bus: RecordingBus;
  let sagemaker: ScriptedProvider;
  let vertex: ScriptedProvider;
  let local: ScriptedProvider;
  let now: Date;

  beforeEach(async () => {
    const fresh = await freshLedger('templates');
    ledger = fresh.ledger;
    templates = new DynamoDbTemplateStore({ client: fresh.client, tableName: fresh.tableName });
    bus = new RecordingBus();
    sagemaker = new ScriptedProvider('sagemaker');
    vertex = new ScriptedProvider('vertex');
    local = new ScriptedProvider('local');
    // near real time: the standardwebhooks package checks its own tolerance against Date.now()
    now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const clock: Clock = { now: () => now };
    deps = {
      ledger,
      bus,
      clock,
      templates,
      providers: new ProviderCatalog({
        sagemaker: { provider: sagemaker, registry: new RecordingRegistry() },
        vertex: { provider: vertex, registry: new RecordingRegistry() },
        local: { provider: local, registry: new RecordingRegistry() },
      }),
    };
  });

  const put = (name: string, extra: Record<string, unknown> = {}, provider: 'sagemaker' | 'vertex' | 'local' = 'sagemaker') =>
    putTemplate(deps, {
      name,
      document: {
        spec: specOf(provider),
        policy: 'queue',
        debounceSeconds: 300,
        triggers: { s3Prefix: 's3://tunewire-data/churn/', datasetName: 'churn-daily', webhook: { kind: 'standard', secret: SECRET } },
        ...extra,
      },
    });

  async function finish(jobId: string, status: JobStatus, trials: Trial[] = []): Promise<JobRecord> {
    const job = (await ledger.getJob(jobId)) as JobRecord;
    for (const t of trials) await ledger.putTrial(jobId, listed(t));
    const observedAt = new Date(now.getTime() + 1000).toISOString();
    const result = await ledger.transitionJob({
      job,
      observation: { status, providerStatus: status.toUpperCase(), observedAt },
      arrival: { eventId: `${jobId}:${status}`, receivedAt: observedAt, source: 'test', outcome: 'applied' },
    });
    expect(result.kind).toBe('applied');
    return result.job;
  }

  const s3Event = (key: string, id: string) => {
    const sample = loadEvent('triggers/s3-object-created.json') as { detail: { object: Record<string, unknown> } };
    return { ...sample, id, time: now.toISOString(), detail: { ...sample.detail, object: { ...sample.detail.object, key } } };
  };

  describe('TemplateStore CRUD', () => {
    it('keeps every put as a new version and hides the webhook secret', async () => {
      const v1 = await put('churn');
      const v2 = await putTemplate(deps, { name: 'churn', document: { spec: { ...specOf('sagemaker'), budget: { maxTrials: 8, parallelTrials: 2 } }, policy: 'drop' } });
      expect(v1.version).toBe(1);
      expect(v2.version).toBe(2);
      expect(v2.policy).toBe('drop');
      expect((await getTemplate(deps, { name: 'churn' }))?.spec?.budget.maxTrials).toBe(8);
      expect((await getTemplate(deps, { name: 'churn', version: 1 }))?.spec?.budget.maxTrials).toBe(4);
      expect(await templates.listVersions('churn')).toHaveLength(2);
      await put('other');
      const listed = await listTemplates(deps);
      expect(listed.map((t) => t.name)).toEqual(['churn', 'other']);
      expect(listed[1]?.triggers.webhook?.secret).toBe('***');
      // the ledger's own scan of job heads is not confused by template items
      expect((await ledger.listJobs()).jobs).toEqual([]);
      expect(await deleteTemplate(deps, { name: 'churn' })).toBe(true);
      expect(await getTemplate(deps, { name: 'churn' })).toBeUndefined();
      expect(await deleteTemplate(deps, { name: 'churn' })).toBe(false);
    });

    it('names the bad field and writes nothing', async () => {
      await expect(putTemplate(deps, { name: 'churn', document: { spec: { ...specOf('sagemaker'), budget: {} }, policy: 'sometimes' } })).rejects.toThrow(/policy[\s\S]*spec\.budget\.maxTrials|spec\.budget\.maxTrials[\s\S]*policy/);
      expect(await listTemplates(deps)).toEqual([]);
    });

    it('gives racing puts distinct version numbers', async () => {
      const views = await Promise.all([put('churn'), put('churn'), put('churn')]);
      expect(views.map((v) => v.version).sort()).toEqual([1, 2, 3]);
    });
  });

  describe('data-pipeline triggers', () => {
    it('S3 Object Created under the prefix submits the template with the object directory as data', async () => {
      await put('churn');
      const outcome = await handleTriggerEvent(deps, s3Event('churn/2026-11-23/part-00000.parquet', 'e1'));
      expect(outcome.outcome).toBe('applied');
      expect(sagemaker.creates).toHaveLength(1);
      const trialSpec = sagemaker.creates[0]?.spec.trial as { inputs: { s3Uri: string }[] };
      expect(trialSpec.inputs[0]?.s3Uri).toBe('s3://tunewire-data/churn/2026-11-23/');
      expect((await ledger.getJob(outcome.jobId as string))?.trigger).toBe('template:churn:s3');
      expect((await templates.listDecisions('churn')).map((d) => d.decision)).toEqual(['submitted']);
    });

    it('ignores an object outside every prefix', async () => {
      await put('churn');
      const outcome = await handleTriggerEvent(deps, s3Event('fraud/2026-11-23/x.csv', 'e1'));
      expect(outcome.outcome).toBe('ignored');
      expect(sagemaker.creates).toHaveLength(0);
    });

    it('Dataset Ready submits with the location and labels', async () => {
      await put('churn');
      const outcome = await handleTriggerEvent(deps, loadEvent('triggers/dataset-ready.json'));
      expect(outcome.outcome).toBe('applied');
      const spec = sagemaker.creates[0]?.spec;
      expect((spec?.trial as { inputs: { s3Uri: string }[] }).inputs[0]?.s3Uri).toBe('s3://tunewire-data/churn/2026-11-23/');
      expect(spec?.labels).toEqual({ 'dataset-date': '2026-11-23' });
    });

    it('a Pub/Sub data message submits the template it names', async () => {
      await put('churn');
      const outcome = await handleTriggerEvent(deps, loadEvent('triggers/pubsub-push.dataset.json'));
      expect(outcome.outcome).toBe('applied');
      expect((await ledger.getJob(outcome.jobId as string))?.trigger).toBe('template:churn:pubsub');
      expect((sagemaker.creates[0]?.spec.trial as { inputs: { s3Uri: string }[] }).inputs[0]?.s3Uri).toBe('s3://tunewire-data/churn/2026-11-24/');
    });

    it('a burst of 50 S3 events for one dataset submits one job and records the rest as debounced', async () => {
      await put('churn');
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => handleTriggerEvent(deps, s3Event(`churn/2026-11-23/part-${String(i).padStart(5, '0')}.parquet`, `burst-${i}`))));
      expect(sagemaker.creates).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'applied')).toHaveLength(1);
      const decisions = await templates.listDecisions('churn');
      expect(decisions.filter((d) => d.decision === 'submitted')).toHaveLength(1);
      expect(decisions.filter((d) => d.decision === 'debounced')).toHaveLength(49);
    });

    it('queues a second trigger while a job runs and submits it when that job finishes', async () => {
      await put('churn');
      const first = await handleTriggerEvent(deps, s3Event('churn/2026-11-23/a.parquet', 'e1'));
      const second = await handleTriggerEvent(deps, s3Event('churn/2026-11-24/a.parquet', 'e2'));
      expect(second.results?.[0]?.decision).toBe('queued');
      expect(sagemaker.creates).toHaveLength(1);

      const done = await finish(first.jobId as string, 'succeeded');
      const after = await recordJobOutcome(deps, done);
      expect(after.decision).toBe('submitted');
      expect(sagemaker.creates).toHaveLength(2);
      expect((sagemaker.creates[1]?.spec.trial as { inputs: { s3Uri: string }[] }).inputs[0]?.s3Uri).toBe('s3://tunewire-data/churn/2026-11-24/');
      // a repeated finish event changes nothing
      expect((await recordJobOutcome(deps, done)).decision).toBeUndefined();
      expect(sagemaker.creates).toHaveLength(2);
      const head = await templates.getTemplate('churn');
      expect(head?.queued).toBeUndefined();
      expect(head?.lastSuccessfulJobId).toBe(first.jobId);
      expect(head?.runningJobId).toBe(after.jobId);
      expect((await templates.listDecisions('churn')).map((d) => d.decision).sort()).toEqual(['queued', 'submitted', 'submitted']);
    });

    it('drops a second trigger while a job runs under policy drop, and records why', async () => {
      await put('churn', { policy: 'drop' });
      await handleTriggerEvent(deps, s3Event('churn/2026-11-23/a.parquet', 'e1'));
      const second = await handleTriggerEvent(deps, s3Event('churn/2026-11-24/a.parquet', 'e2'));
      expect(second.results?.[0]?.decision).toBe('dropped');
      expect(sagemaker.creates).toHaveLength(1);
      const dropped = (await templates.listDecisions('churn')).find((d) => d.decision === 'dropped');
      expect(dropped?.reason).toMatch(/still running; policy drop/);
    });
  });

  describe('inbound webhooks', () => {
    const body = JSON.stringify({ location: 's3://tunewire-data/churn/2026-11-25/', labels: { 'dataset-date': '2026-11-25' } });
    const signed = (id: string, at: Date, payload = body) => ({
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(SECRET).sign(id, at, payload),
    });

    it('starts the template for a valid Standard Webhooks signature', async () => {
      await put('churn');
      const result = await handleInboundWebhook(deps, { template: 'churn', headers: signed('msg_1', now), body });
      expect(result.statusCode).toBe(202);
      expect(result.body.decision).toBe('submitted');
      expect((sagemaker.creates[0]?.spec.trial as { inputs: { s3Uri: string }[] }).inputs[0]?.s3Uri).toBe('s3://tunewire-data/churn/2026-11-25/');
    });

    it('refuses a bad signature and a stale timestamp, and answers a repeated id with its first result', async () => {
      await put('churn');
      const bad = await handleInboundWebhook(deps, { template: 'churn', headers: { ...signed('msg_1', now), 'webhook-signature': 'v1,AAAA' }, body });
      const tampered = await handleInboundWebhook(deps, { template: 'churn', headers: signed('msg_1', now), body: body.replace('25', '26') });
      const stale = await handleInboundWebhook(deps, { template: 'churn', headers: signed('msg_2', new Date(now.getTime() - 6 * 60_000)), body });
      expect([bad.statusCode, tampered.statusCode, stale.statusCode]).toEqual([401, 401, 401]);
      expect(stale.body.error?.code).toBe('WEBHOOK.STALE');
      expect(sagemaker.creates).toHaveLength(0);

      const first = await handleInboundWebhook(deps, { template: 'churn', headers: signed('msg_3', now), body });
      const replay = await handleInboundWebhook(deps, { template: 'churn', headers: signed('msg_3', now), body });
      expect(first.statusCode).toBe(202);
      expect(replay.statusCode).toBe(200);
      expect(replay.body.jobId).toBe(first.body.jobId);
      expect(sagemaker.creates).toHaveLength(1);
    });

    it('accepts an HMAC header of the raw body when the template asks for one', async () => {
      await put('churn', { triggers: { webhook: { kind: 'hmac', secret: HMAC_SECRET, header: 'x-platform-signature' } } });
      const signature = createHmac('sha256', HMAC_SECRET).update(body).digest('hex');
      const ok = await handleInboundWebhook(deps, { template: 'churn', headers: { 'x-platform-signature': `sha256=${signature}` }, body });
      const wrong = await handleInboundWebhook(deps, { template: 'churn', headers: { 'x-platform-signature': signature.replace(/^./, signature[0] === 'a' ? 'b' : 'a') }, body });
      const replay = await handleInboundWebhook(deps, { template: 'churn', headers: { 'x-platform-signature': signature }, body });
      expect([ok.statusCode, wrong.statusCode, replay.statusCode]).toEqual([202, 401, 200]);
      expect(sagemaker.creates).toHaveLength(1);
    });

    it('verifies the sample delivery in events/ (signed with the test secret) on our clock: stale after 5 minutes, accepted at its timestamp', async () => {
      await put('churn');
      const sample = loadEvent('triggers/inbound-webhook.standard.json') as { headers: Record<string, string>; body: string };
      const sentAt = new Date(Number(sample.headers['webhook-timestamp']) * 1000);
      expect(new Webhook(SECRET).sign(sample.headers['webhook-id'] as string, sentAt, sample.body)).toBe(sample.headers['webhook-signature']);
      now = new Date(sentAt.getTime() + 6 * 60_000);
      const late = await handleInboundWebhook(deps, { template: 'churn', headers: sample.headers, body: sample.body });
      expect(late.statusCode).toBe(401);
      expect(late.body.error?.code).toBe('WEBHOOK.STALE');
      now = sentAt;
      const onTime = await handleInboundWebhook(deps, { template: 'churn', headers: sample.headers, body: sample.body });
      expect(onTime.statusCode).toBe(202);
    });

    it('answers a template without a webhook as it answers a bad signature: 401', async () => {
      await put('churn', { triggers: {} });
      const result = await handleInboundWebhook(deps, { template: 'churn', headers: signed('msg_1', now), body });
      expect(result.statusCode).toBe(401);
      expect(result.body.error?.code).toBe('WEBHOOK.UNAUTHORIZED');
    });
  });

  describe('scheduled retuning', () => {
    it('warm-starts from the last good job, skips while a job runs, and lets promotion decide', async () => {
      await put('churn');
      const first = await retune(deps, { template: 'churn', slot: '2026-11-23T03:00:00Z' });
      expect(first.decision).toBe('submitted');
      expect(sagemaker.creates[0]?.spec.warmStart).toBeUndefined();

      const skipped = await retune(deps, { template: 'churn', slot: '2026-11-24T03:00:00Z' });
      expect(skipped.decision).toBe('skipped');
      expect(sagemaker.creates).toHaveLength(1);

      await recordJobOutcome(deps, await finish(first.jobId as string, 'succeeded', [trial('t1', 0.9)]));
      expect((await promoteBest(deps, { jobId: first.jobId as string })).decision?.kind).toBe('promote');

      const second = await retune(deps, { template: 'churn', slot: '2026-11-25T03:00:00Z' });
      expect(second.decision).toBe('submitted');
      expect(sagemaker.creates[1]?.spec.warmStart).toEqual({ from: [first.jobId], type: 'transfer_learning' });
      expect(sagemaker.creates[1]?.warmStartParents?.[0]?.providerJobName).toBe(first.jobId);
      expect(bus.ofKind('retune.requested').map((e) => e.detail.reason)).toEqual(['cold: the template has no successful job yet', `warm start from ${first.jobId} (WarmStartConfig TransferLearning)`]);

      // worse than the champion: kept
      await recordJobOutcome(deps, await finish(second.jobId as string, 'succeeded', [trial('t1', 0.85)]));
      expect((await promoteBest(deps, { jobId: second.jobId as string })).decision?.kind).toBe('skip');
      expect((await ledger.getChampion('churn'))?.jobId).toBe(first.jobId);

      // better: replaces it, and warm-started from the previous good job
      const third = await retune(deps, { template: 'churn', slot: '2026-11-26T03:00:00Z' });
      expect(sagemaker.creates[2]?.spec.warmStart?.from).toEqual([second.jobId]);
      await recordJobOutcome(deps, await finish(third.jobId as string, 'succeeded', [trial('t1', 0.95)]));
      expect((await promoteBest(deps, { jobId: third.jobId as string })).decision?.kind).toBe('promote');
      expect((await ledger.getChampion('churn'))?.jobId).toBe(third.jobId);

      const decisions = await templates.listDecisions('churn');
      expect(decisions.find((d) => d.decision === 'skipped')?.reason).toMatch(/still running/);
    });

    it('is one job per schedule slot however often the slot is delivered', async () => {
      await put('churn');
      const a = await retune(deps, { template: 'churn', slot: '2026-11-23T03:00:00Z' });
      const b = await retune(deps, { template: 'churn', slot: '2026-11-23T03:00:00Z' });
      expect(b.jobId).toBe(a.jobId);
      expect(sagemaker.jobCount).toBe(1);
    });

    it('runs cold on Vertex AI and records why', async () => {
      await put('churn', {}, 'vertex');
      const first = await retune(deps, { template: 'churn', slot: 's1' });
      await recordJobOutcome(deps, await finish(first.jobId as string, 'succeeded'));
      await retune(deps, { template: 'churn', slot: 's2' });
      expect(vertex.creates[1]?.spec.warmStart).toBeUndefined();
      const decision = (await templates.listDecisions('churn')).at(-1);
      expect(decision?.warmStart).toMatch(/^cold: Vertex AI HyperparameterTuningJob has no warm start/);
    });
  });
});
