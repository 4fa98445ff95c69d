import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { v1 } from '@google-cloud/aiplatform';
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../../shared/adapters/local/local-provider';
import { MlEngineClient } from '../../../shared/adapters/mlengine/mlengine-client';
import { MlEngineProvider } from '../../../shared/adapters/mlengine/mlengine-provider';
import { SageMakerProvider } from '../../../shared/adapters/sagemaker/sagemaker-provider';
import { VertexProvider } from '../../../shared/adapters/vertex/vertex-provider';
import { registerLogsCommand } from '../../../shared/cli/logs';
import type { JobCommandContext } from '../../../shared/cli/jobs';
import { JobNotFoundError, ValidationError } from '../../../shared/domain/errors';
import type { JobRecord } from '../../../shared/domain/job';
import { parseSpec, type ProviderName } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';
import { handleHttpRequest, type HttpRequest, type HttpResponse } from '../../../shared/edge/http-api';
import type { EmbeddedStack } from '../../../shared/local-stack/embedded';
import type { ArrivalRecord, PromotionRecord } from '../../../shared/ports/ledger';
import { ProviderCatalog } from '../../../shared/use-cases/dependencies';
import { LOG_TAIL_BYTES } from '../../../shared/adapters/local/log-tail';
import { edgeFixture, edgeSpec, type EdgeFixture } from '../../support/edge-deps';
import { listed } from '../../support/fixtures';
import { RecordingRegistry } from '../../support/scripted-provider';

/**
 * The HTTP API's read routes a dashboard needs (a job's spec and history, a model and its
 * promotions, a trial's logs), on DynamoDB Local, with the real provider adapters (none of them
 * calls its service for logs: the local engine reads its files, the cloud ones build links).
 */

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly { path: string }[] };
}

const get = (path: string): HttpRequest => ({ method: 'GET', path, headers: {} });
const bodyOf = <T>(response: HttpResponse): T => JSON.parse(response.body) as T;
const errorOf = (response: HttpResponse) => bodyOf<ErrorBody>(response).error;

interface LogsBody {
  readonly jobId: string;
  readonly trialId: string;
  readonly provider: string;
  readonly text?: string;
  readonly truncated?: boolean;
  readonly note?: string;
  readonly links: { label: string; url: string }[];
}

const REGION = 'eu-west-1';
const VERTEX_NAME = 'projects/tunewire-demo/locations/europe-west4/hyperparameterTuningJobs/4567890123';

let workDir: string;
let fixture: EdgeFixture;
let deps: EdgeFixture['deps'];
const call = (path: string) => handleHttpRequest(deps, get(path));

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'tunewire-logs-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

beforeEach(async () => {
  fixture = await edgeFixture('http-study');
  const registry = new RecordingRegistry();
  deps = {
    ...fixture.deps,
    providers: new ProviderCatalog({
      local: { provider: new LocalProvider({ workDir, emit: async () => undefined, log: () => undefined }), registry },
      sagemaker: {
        provider: new SageMakerProvider({ client: new SageMakerClient({ region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }) }),
        registry,
      },
      vertex: { provider: new VertexProvider({ jobClient: new v1.JobServiceClient({ apiEndpoint: '127.0.0.1', port: 9 }), checkCredentials: false }), registry },
      mlengine: { provider: new MlEngineProvider({ client: new MlEngineClient({ baseUrl: 'http://127.0.0.1:9', auth: 'none' }), project: 'tunewire-legacy' }), registry },
    }),
  };
});

let jobCount = 0;

/** A job in the ledger as a submit leaves it: created, then accepted by its provider under `providerJobId`. */
async function storedJob(provider: ProviderName, options: { providerJobName?: string; providerJobId?: string; trials?: readonly string[] } = {}): Promise<JobRecord> {
  const jobId = `study-${provider}-${++jobCount}-${Date.now().toString(36)}`;
  const spec = parseSpec(provider === 'local' || provider === 'sagemaker' ? edgeSpec(provider, 'study') : { ...edgeSpec('sagemaker', 'study'), provider });
  await deps.ledger.createJob({ jobId, name: 'study', provider, spec, providerJobName: options.providerJobName ?? jobId, createdAt: '2026-11-23T10:00:00.000Z' });
  const job = await deps.ledger.markSubmitted(jobId, options.providerJobId, '2026-11-23T10:00:01.000Z');
  for (const trialId of options.trials ?? []) await deps.ledger.putTrial(jobId, listed(trial(trialId)));
  return job;
}

function trial(trialId: string): Trial {
  return { trialId, status: 'running', hyperparameters: { eta: '0.1' }, stoppedEarly: false };
}

function writeLog(providerJobName: string, trialId: string, text: string | Buffer): void {
  const dir = join(workDir, 'jobs', providerJobName, 'logs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${trialId}.log`), text);
}

/** `count` lines of exactly `width` bytes each (the newline included), numbered from 1. */
function lines(count: number, width: number): string[] {
  return Array.from({ length: count }, (_, i) => `line ${String(i + 1).padStart(6, '0')} `.padEnd(width - 1, 'x') + '\n');
}

describe('GET /jobs/{jobId}/spec', () => {
  it('answers the stored spec under the job id', async () => {
    const job = await storedJob('local');

    const response = await call(`/jobs/${job.jobId}/spec`);

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ jobId: job.jobId, spec: JSON.parse(JSON.stringify(job.spec)) });
  });

  it('answers 404 JOB.NOT_FOUND for a job the ledger does not have', async () => {
    const response = await call('/jobs/no-such-job/spec');

    expect(response.statusCode).toBe(404);
    expect(errorOf(response).code).toBe('JOB.NOT_FOUND');
  });

  for (const [what, id] of [
    ['malformed percent-encoding', '%ZZ'],
    ['an id too long for a key', 'j'.repeat(3000)],
  ] as const) {
    it(`answers ${what} with a 400 naming jobId`, async () => {
      const response = await call(`/jobs/${id}/spec`);

      expect(response.statusCode).toBe(400);
      expect(errorOf(response).issues?.map((i) => i.path)).toEqual(['jobId']);
    });
  }
});

describe('GET /jobs/{jobId}/history', () => {
  const arrival = (eventId: string, receivedAt: string): ArrivalRecord => ({ eventId, receivedAt, source: 'test', outcome: 'ignored' });

  it('answers the arrivals oldest first, by time and then event id, whatever order they were written in', async () => {
    const job = await storedJob('local');
    // `a!` sorts before `a` in the ledger's key (`!` is below the `#` after the id), after it by id
    const written = [
      arrival('evt-3', '2026-11-23T10:00:03.000Z'),
      arrival('a!', '2026-11-23T10:00:02.000Z'),
      arrival('evt-1', '2026-11-23T10:00:01.000Z'),
      arrival('a', '2026-11-23T10:00:02.000Z'),
    ];
    for (const a of written) await deps.ledger.recordArrival(job.jobId, a);

    const response = await call(`/jobs/${job.jobId}/history`);

    expect(response.statusCode).toBe(200);
    const body = bodyOf<{ jobId: string; history: ArrivalRecord[] }>(response);
    expect(body.jobId).toBe(job.jobId);
    expect(body.history.map((h) => h.eventId)).toEqual(['evt-1', 'a', 'a!', 'evt-3']);
    expect(body.history[0]).toEqual(arrival('evt-1', '2026-11-23T10:00:01.000Z'));
  });

  it('answers an empty history for a job nothing has happened to', async () => {
    const job = await storedJob('local');

    expect(bodyOf(await call(`/jobs/${job.jobId}/history`))).toEqual({ jobId: job.jobId, history: [] });
  });

  it('answers 404 JOB.NOT_FOUND for a job the ledger does not have, and 400 for a malformed id', async () => {
    const missing = await call('/jobs/no-such-job/history');
    const malformed = await call('/jobs/%E0%A4%A/history');

    expect([missing.statusCode, errorOf(missing).code]).toEqual([404, 'JOB.NOT_FOUND']);
    expect([malformed.statusCode, errorOf(malformed).issues?.map((i) => i.path)]).toEqual([400, ['jobId']]);
  });
});

describe('GET /models/{model}', () => {
  const record = (model: string, jobId: string, decidedAt: string, decision: PromotionRecord['decision']): PromotionRecord => ({
    model,
    jobId,
    decidedAt,
    decision,
    reason: decision === 'promoted' ? 'beats the champion' : 'does not beat the champion',
    trialId: 't1',
    objectiveValue: 0.9,
  });

  it('answers the champion and every promotion decision, oldest first', async () => {
    const model = `churn-${++jobCount}`;
    await deps.ledger.recordPromotion(record(model, 'job-b', '2026-11-23T10:02:00.000Z', 'skipped'));
    const promoted = await deps.ledger.promoteChampion({
      candidate: { model, jobId: 'job-a', trialId: 't1', objectiveValue: 0.9, goal: 'maximize', version: '1', promotedAt: '2026-11-23T10:01:00.000Z' },
      expected: undefined,
      record: record(model, 'job-a', '2026-11-23T10:01:00.000Z', 'promoted'),
    });
    if (promoted.kind !== 'promoted') throw new Error('the first promotion should win');

    const response = await call(`/models/${model}`);

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      model,
      champion: promoted.champion,
      promotions: [record(model, 'job-a', '2026-11-23T10:01:00.000Z', 'promoted'), record(model, 'job-b', '2026-11-23T10:02:00.000Z', 'skipped')],
    });
    // the champion route stays as it was
    expect(bodyOf(await call(`/models/${model}/champion`))).toEqual(promoted.champion);
  });

  it('answers champion null for a model whose only decision was to skip', async () => {
    const model = `fraud-${++jobCount}`;
    await deps.ledger.recordPromotion(record(model, 'job-c', '2026-11-23T10:03:00.000Z', 'skipped'));

    expect(bodyOf(await call(`/models/${model}`))).toEqual({ model, champion: null, promotions: [record(model, 'job-c', '2026-11-23T10:03:00.000Z', 'skipped')] });
  });

  it('answers a model never judged (its first job still running) with no champion and no decisions, and 400 naming model for a bad id', async () => {
    const unjudged = await call('/models/never-seen');
    const malformed = await call('/models/%C3%28');
    const long = await call(`/models/${'m'.repeat(3000)}`);

    expect([unjudged.statusCode, bodyOf(unjudged)]).toEqual([200, { model: 'never-seen', champion: null, promotions: [] }]);
    expect([malformed.statusCode, errorOf(malformed).issues?.map((i) => i.path)]).toEqual([400, ['model']]);
    expect([long.statusCode, errorOf(long).issues?.map((i) => i.path)]).toEqual([400, ['model']]);
  });
});

describe('GET /jobs/{jobId}/trials/{trialId}/logs', () => {
  describe('a local trial', () => {
    it("answers the trial's whole log as UTF-8 when it is short, with the file's link", async () => {
      const job = await storedJob('local', { trials: [] });
      const trialId = `${job.providerJobName}-t001`;
      await deps.ledger.putTrial(job.jobId, listed(trial(trialId)));
      writeLog(job.providerJobName, trialId, 'epoch 1 auc=0.81\nepoch 2 auc=0.84 ✓ 日本\n');

      const response = await call(`/jobs/${job.jobId}/trials/${trialId}/logs`);

      expect(response.statusCode).toBe(200);
      const body = bodyOf<LogsBody>(response);
      expect(body).toMatchObject({ jobId: job.jobId, trialId, provider: 'local', text: 'epoch 1 auc=0.81\nepoch 2 auc=0.84 ✓ 日本\n', truncated: false });
      expect(body.links).toEqual([{ label: 'log file', url: expect.stringMatching(new RegExp(`^file://.*/jobs/${job.providerJobName}/logs/${trialId}\\.log$`)) }]);
    });

    it('answers the last 256 KiB from the first whole line when the log is longer', async () => {
      const job = await storedJob('local');
      const trialId = `${job.providerJobName}-t002`;
      await deps.ledger.putTrial(job.jobId, listed(trial(trialId)));
      // 100-byte lines: the last 256 KiB start 44 bytes into a line, which is dropped
      const all = lines(3000, 100);
      writeLog(job.providerJobName, trialId, all.join(''));

      const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/${trialId}/logs`));

      expect(body.truncated).toBe(true);
      expect(body.text).toBe(all.slice(-Math.floor(LOG_TAIL_BYTES / 100)).join(''));
      expect(Buffer.byteLength(body.text ?? '')).toBeLessThanOrEqual(LOG_TAIL_BYTES);
    });

    it('keeps the first line of the window whole when the window starts exactly at a line', async () => {
      const job = await storedJob('local');
      const trialId = `${job.providerJobName}-t003`;
      await deps.ledger.putTrial(job.jobId, listed(trial(trialId)));
      // 128-byte lines: 256 KiB is exactly the last 2,048 of them
      const all = lines(2100, 128);
      writeLog(job.providerJobName, trialId, all.join(''));

      const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/${trialId}/logs`));

      expect(body.truncated).toBe(true);
      expect(body.text).toBe(all.slice(-2048).join(''));
    });

    it('answers exactly 256 KiB whole, untruncated', async () => {
      const job = await storedJob('local');
      const trialId = `${job.providerJobName}-t004`;
      await deps.ledger.putTrial(job.jobId, listed(trial(trialId)));
      const all = lines(2048, 128);
      writeLog(job.providerJobName, trialId, all.join(''));

      const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/${trialId}/logs`));

      expect([body.truncated, body.text?.length]).toEqual([false, LOG_TAIL_BYTES]);
    });

    it('answers empty text and a note for a trial that has not started writing', async () => {
      const job = await storedJob('local');
      const trialId = `${job.providerJobName}-t005`;
      await deps.ledger.putTrial(job.jobId, listed(trial(trialId)));

      const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/${trialId}/logs`));

      expect(body).toEqual({ jobId: job.jobId, trialId, provider: 'local', text: '', note: `trial ${trialId} has no output yet (it has not started)`, links: [] });
    });

    for (const [what, segment] of [
      ['an encoded path to /etc/passwd', '..%2F..%2Fetc%2Fpasswd'],
      ['an encoded parent directory', '%2E%2E'],
      ['a raw parent directory', '..'],
      ['an absolute path', '%2Fetc%2Fpasswd'],
      ['the trial number alone', 't001'],
    ] as const) {
      it(`answers 404 TRIAL.NOT_FOUND for ${what}: only trials the ledger has are read`, async () => {
        const job = await storedJob('local');
        await deps.ledger.putTrial(job.jobId, listed(trial(`${job.providerJobName}-t001`)));

        const response = await call(`/jobs/${job.jobId}/trials/${segment}/logs`);

        expect(response.statusCode).toBe(404);
        expect(errorOf(response).code).toBe('TRIAL.NOT_FOUND');
      });
    }

    it("answers 404 TRIAL.NOT_FOUND for another job's trial", async () => {
      const mine = await storedJob('local');
      const other = await storedJob('local');
      const theirs = `${other.providerJobName}-t001`;
      await deps.ledger.putTrial(other.jobId, listed(trial(theirs)));
      writeLog(other.providerJobName, theirs, 'not yours\n');

      const response = await call(`/jobs/${mine.jobId}/trials/${theirs}/logs`);

      expect([response.statusCode, errorOf(response).code]).toEqual([404, 'TRIAL.NOT_FOUND']);
    });

    it('refuses with 422 a trial id in the ledger that is not the engine\'s own form, and reads no file', async () => {
      const job = await storedJob('local');
      await deps.ledger.putTrial(job.jobId, listed(trial('../../../../etc/passwd')));

      const response = await call(`/jobs/${job.jobId}/trials/${encodeURIComponent('../../../../etc/passwd')}/logs`);

      expect([response.statusCode, errorOf(response).code]).toEqual([422, 'PROVIDER.BAD_TRIAL_ID']);
    });
  });

  it('answers 404 JOB.NOT_FOUND for an unknown job, and 400 naming the id for a malformed or too long one', async () => {
    const missing = await call('/jobs/no-such-job/trials/t1/logs');
    const badJob = await call('/jobs/%ZZ/trials/t1/logs');
    const badTrial = await call('/jobs/j/trials/%ZZ/logs');
    const longTrial = await call(`/jobs/j/trials/${'t'.repeat(3000)}/logs`);

    expect([missing.statusCode, errorOf(missing).code]).toEqual([404, 'JOB.NOT_FOUND']);
    expect([badJob.statusCode, errorOf(badJob).issues?.map((i) => i.path)]).toEqual([400, ['jobId']]);
    expect([badTrial.statusCode, errorOf(badTrial).issues?.map((i) => i.path)]).toEqual([400, ['trialId']]);
    expect([longTrial.statusCode, errorOf(longTrial).issues?.map((i) => i.path)]).toEqual([400, ['trialId']]);
  });

  it("links a SageMaker trial to its training job's log streams and page, in the tuning job's region", async () => {
    const job = await storedJob('sagemaker', { providerJobId: `arn:aws:sagemaker:${REGION}:123456789012:hyper-parameter-tuning-job/study`, trials: ['study-001-6f1b2c3d'] });

    const response = await call(`/jobs/${job.jobId}/trials/study-001-6f1b2c3d/logs`);

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      jobId: job.jobId,
      trialId: 'study-001-6f1b2c3d',
      provider: 'sagemaker',
      links: [
        {
          label: 'CloudWatch log streams of training job study-001-6f1b2c3d',
          url: `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs$3FlogStreamNameFilter$3Dstudy-001-6f1b2c3d`,
        },
        { label: 'SageMaker training job study-001-6f1b2c3d', url: `https://${REGION}.console.aws.amazon.com/sagemaker/home?region=${REGION}#/jobs/study-001-6f1b2c3d` },
      ],
    });
  });

  it("uses the SageMaker client's region for a job whose ARN is not known yet", async () => {
    const job = await storedJob('sagemaker', { trials: ['study-002-aa'] });

    const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/study-002-aa/logs`));

    expect(body.links.map((l) => new URL(l.url).searchParams.get('region'))).toEqual(['us-west-2', 'us-west-2']);
  });

  it('links a Vertex AI trial to the tuning job page and to Cloud Logging for the trial and the job', async () => {
    const job = await storedJob('vertex', { providerJobId: VERTEX_NAME, trials: ['4'] });

    const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/4/logs`));

    expect(body.provider).toBe('vertex');
    expect(body.text).toBeUndefined();
    expect(body.links.map((l) => l.url)).toEqual([
      'https://console.cloud.google.com/vertex-ai/locations/europe-west4/training/4567890123?project=tunewire-demo',
      `https://console.cloud.google.com/logs/query;query=${encodeURIComponent('resource.type="ml_job" resource.labels.job_id="4567890123" labels."ml.googleapis.com/trial_id"="4"')}?project=tunewire-demo`,
      `https://console.cloud.google.com/logs/query;query=${encodeURIComponent('resource.type="ml_job" resource.labels.job_id="4567890123"')}?project=tunewire-demo`,
    ]);
  });

  it('says a Vertex AI job without a resource name has no log address yet', async () => {
    const job = await storedJob('vertex', { trials: ['1'] });

    const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/1/logs`));

    expect(body.links).toEqual([]);
    expect(body.note).toMatch(/no Vertex AI resource name yet/);
  });

  it('links an ML Engine trial to the job page and to Cloud Logging for the trial', async () => {
    const job = await storedJob('mlengine', { providerJobName: 'study_mlengine_1', providerJobId: 'projects/tunewire-legacy/jobs/study_mlengine_1', trials: ['7'] });

    const body = bodyOf<LogsBody>(await call(`/jobs/${job.jobId}/trials/7/logs`));

    expect(body.links.map((l) => l.url).slice(0, 2)).toEqual([
      'https://console.cloud.google.com/ai-platform/jobs/study_mlengine_1?project=tunewire-legacy',
      `https://console.cloud.google.com/logs/query;query=${encodeURIComponent('resource.type="ml_job" resource.labels.job_id="study_mlengine_1" labels."ml.googleapis.com/trial_id"="7"')}?project=tunewire-legacy`,
    ]);
  });

  it('says so when the provider offers no logs', async () => {
    const scripted = await edgeFixture('http-study-scripted');
    const job = await scripted.deps.ledger.createJob({ jobId: 'plain-1', name: 'plain', provider: 'local', spec: parseSpec(edgeSpec()), providerJobName: 'plain-1', createdAt: '2026-11-23T10:00:00.000Z' });
    await scripted.deps.ledger.putTrial('plain-1', listed(trial('t1')));

    const response = await handleHttpRequest(scripted.deps, get(`/jobs/${job.job.jobId}/trials/t1/logs`));

    expect(bodyOf(response)).toEqual({ jobId: 'plain-1', trialId: 't1', provider: 'local', links: [], note: 'local offers no trial logs here' });
  });
});

describe('tunewire logs', () => {
  /** Runs the command against this file's dependencies; what it printed, and what it threw. */
  async function run(...args: string[]): Promise<{ out: string[]; err: string[]; json: unknown[]; error?: unknown }> {
    const out: string[] = [];
    const err: string[] = [];
    const json: unknown[] = [];
    const ctx: JobCommandContext = {
      io: { line: (text = '') => out.push(text), json: (value) => json.push(value), error: (text) => err.push(text) },
      env: {},
      result: { code: 0 },
      withStack: (work) => work({ deps } as unknown as EmbeddedStack),
    };
    const program = new Command('tunewire').exitOverride();
    registerLogsCommand(program, ctx);
    try {
      await program.parseAsync(['logs', ...args], { from: 'user' });
      return { out, err, json };
    } catch (error) {
      return { out, err, json, error };
    }
  }

  it("prints a local trial's output line by line", async () => {
    const job = await storedJob('local');
    const trialId = `${job.providerJobName}-t001`;
    await deps.ledger.putTrial(job.jobId, listed(trial(trialId)));
    writeLog(job.providerJobName, trialId, 'epoch 1\nepoch 2\n');

    const { out, err } = await run(job.jobId, trialId);

    expect(out).toEqual(['epoch 1', 'epoch 2']);
    expect(err).toEqual([]);
  });

  it('prints the links of a cloud trial, one a line, and the API shape with --json', async () => {
    const job = await storedJob('vertex', { providerJobId: VERTEX_NAME, trials: ['4'] });

    const text = await run(job.jobId, '4');
    const json = await run(job.jobId, '4', '--json');

    expect(text.out).toHaveLength(3);
    expect(text.out[0]).toBe('Vertex AI tuning job 4567890123: https://console.cloud.google.com/vertex-ai/locations/europe-west4/training/4567890123?project=tunewire-demo');
    expect(json.json).toEqual([bodyOf(await call(`/jobs/${job.jobId}/trials/4/logs`))]);
  });

  it('refuses an unknown trial as bad input naming the trials the job has, and an unknown job as not found', async () => {
    const job = await storedJob('local');
    await deps.ledger.putTrial(job.jobId, listed(trial(`${job.providerJobName}-t001`)));

    const unknownTrial = await run(job.jobId, '../../etc/passwd');
    const unknownJob = await run('no-such-job', 't1');

    expect(unknownTrial.error).toBeInstanceOf(ValidationError);
    expect((unknownTrial.error as ValidationError).issues[0]?.message).toBe(
      `job ${job.jobId} has no trial ../../etc/passwd; its trials: ${job.providerJobName}-t001 (tunewire trials ${job.jobId})`,
    );
    expect(unknownJob.error).toBeInstanceOf(JobNotFoundError);
  });
});
