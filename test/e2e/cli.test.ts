import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT, runCli } from '../support/cli';
import { deriveJobId } from '../../shared/domain/job';


/** Runs the real CLI in a child process, as a user would. */
const tunewire = (args: string[], env: Record<string, string> = {}) => runCli(args, env);

/** A spec of fast inline trials: the score is a function of x, so the best is known. */
function quickSpec(dir: string, model: string): string {
  const file = join(dir, `${model}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: 'quick',
      provider: 'local',
      objective: { metric: 'score', goal: 'maximize' },
      parameters: [{ name: 'x', type: 'discrete', values: [1, 2, 3, 4] }],
      strategy: 'grid',
      budget: { maxTrials: 4, parallelTrials: 2 },
      trial: {
        command: [process.execPath, '-e', 'console.log("score=" + (Number(process.argv[1]) / 10))', '{{x}}'],
        metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }],
      },
      promotion: { model },
    }),
  );
  return file;
}

/** A spec of inline trials running `script` (node -e) for x in 1..4 on a grid; `x` is argv[1]. */
function scriptSpec(dir: string, name: string, script: string, budget: Record<string, number> = { maxTrials: 4, parallelTrials: 1 }): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      provider: 'local',
      objective: { metric: 'score', goal: 'maximize' },
      parameters: [{ name: 'x', type: 'discrete', values: [1, 2, 3, 4] }],
      strategy: 'grid',
      budget,
      trial: { command: [process.execPath, '-e', script, '{{x}}'], metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }] },
    }),
  );
  return file;
}

describe('tunewire CLI', () => {
  let env: Record<string, string>;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tunewire-cli-'));
    env = { TUNEWIRE_HOME: join(dir, 'home'), TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'), TUNEWIRE_TABLE: `cli-${Date.now()}`, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };
  });

  it('validates the demo spec', async () => {
    const result = await tunewire(['validate', 'examples/iris-forest/spec.yaml'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid for local');
  });

  it('refuses a bad spec with exit 2, naming the fields', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: bad\nprovider: local\nobjective: { metric: m, goal: up }\nparameters: []\nbudget: { maxTrials: 0 }\ntrial: {}\n');
    const result = await tunewire(['validate', file], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('objective.goal');
    expect(result.stderr).toContain('parameters');
    expect(result.stderr).toContain('budget.maxTrials');
  });

  it('refuses a trial command that does not exist before anything runs', async () => {
    const file = join(dir, 'no-binary.json');
    writeFileSync(file, readFileSync(quickSpec(dir, 'no-binary'), 'utf8').replace(JSON.stringify(process.execPath), '"no-such-binary"'));
    const result = await tunewire(['submit', file], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('trial.command[0]: "no-such-binary" was not found on PATH');
  });

  it('refuses an unknown provider and a missing file with exit 2', async () => {
    expect((await tunewire(['validate', 'examples/iris-forest/spec.yaml', '--provider', 'azure'], env)).code).toBe(2);
    const missing = await tunewire(['validate', join(dir, 'nope.yaml')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot be read');
  });

  it('renders the local plan as JSON', async () => {
    const result = await tunewire(['render', 'examples/iris-forest/spec.yaml', '--provider', 'local'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ strategy: 'bayesian', maxTrials: 12, parallelTrials: 3 });
  });

  it('submits, then shows status, trials, champion and replays events against the ledger', async () => {
    const submitted = await tunewire(['submit', quickSpec(dir, 'quick-model'), '--json'], env);
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout) as { jobId: string; providerJobName: string; status: string };
    expect(job.status).toBe('succeeded');

    const status = JSON.parse((await tunewire(['status', job.jobId, '--json'], env)).stdout) as { status: string; bestTrial: { objectiveValue: number } };
    expect(status).toMatchObject({ status: 'succeeded', bestTrial: { objectiveValue: 0.4 } });

    const trials = JSON.parse((await tunewire(['trials', job.jobId, '--json'], env)).stdout) as unknown[];
    expect(trials).toHaveLength(4);

    const champion = JSON.parse((await tunewire(['champion', 'quick-model', '--json'], env)).stdout) as { champion: { jobId: string } };
    expect(champion.champion.jobId).toBe(job.jobId);

    const events = join(dir, 'replay.jsonl');
    const event = (id: string, status: string, seq: number) =>
      JSON.stringify({ version: '0', id, 'detail-type': 'Local Tuning Job State Change', source: 'tunewire.local', time: '2026-11-23T10:00:00Z', detail: { jobName: job.providerJobName, status, seq } });
    writeFileSync(events, [event('late-1', 'RUNNING', 1), event('late-1', 'RUNNING', 1), event('other', 'RUNNING', 1).replace(job.providerJobName, 'not-ours'), '{"source":"tunewire.local"}'].join('\n'));
    const replay = await tunewire(['replay', events, '--json'], env);
    // every event is reported; the rejected one makes it bad input
    expect(replay.code).toBe(2);
    const outcomes = (JSON.parse(replay.stdout) as Array<{ outcome: string }>).map((r) => r.outcome);
    expect(outcomes).toEqual(['stale', 'duplicate', 'ignored', 'rejected']);
    expect(replay.stderr).toContain('has rejected events (4 events: 1 stale, 1 duplicate, 1 ignored, 1 rejected)');

    writeFileSync(events, event('late-2', 'RUNNING', 1));
    const clean = await tunewire(['replay', events], env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('1 event: 1 stale');

    writeFileSync(events, '');
    const empty = await tunewire(['replay', events], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('holds no event');
  });

  it('shows trials with a column per parameter, sorted, filtered, as CSV and as typed JSON; reports progress counts off a TTY', async () => {
    const submitted = await tunewire(['submit', quickSpec(dir, 'views-model'), '--wait'], env);
    expect(submitted.code, submitted.stderr).toBe(0);
    // off a TTY each finished trial's line carries the counts
    expect(submitted.stdout).toMatch(/\[1\/4, \d running, 0 failed, best 0\.\d000\]/);
    expect(submitted.stdout).toMatch(/\[4\/4, \d running, 0 failed, best 0\.4000\]/);
    const jobId = /submitted: (\S+)/.exec(submitted.stdout)?.[1] as string;

    const table = await tunewire(['trials', jobId, '--sort', '-objective'], env);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+trial\s+x\s+objective\s+status\s+duration\s+failure$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['*', expect.stringMatching(/t004$/), '4'],
      ['', expect.stringMatching(/t003$/), '3'],
      ['', expect.stringMatching(/t002$/), '2'],
      ['', expect.stringMatching(/t001$/), '1'],
    ]);

    const json = JSON.parse((await tunewire(['trials', jobId, '--json'], env)).stdout) as { trialId: string; hyperparameters: { x: unknown }; objectiveValue: number; best: boolean; durationSeconds?: number }[];
    expect(json.map((t) => [t.trialId.slice(-4), t.hyperparameters.x, t.objectiveValue, t.best])).toEqual([
      ['t001', 1, 0.1, false],
      ['t002', 2, 0.2, false],
      ['t003', 3, 0.3, false],
      ['t004', 4, 0.4, true],
    ]);
    expect(json.every((t) => typeof t.durationSeconds === 'number')).toBe(true);

    const csv = await tunewire(['trials', jobId, '--csv', '--sort', 'x'], env);
    expect(csv.code, csv.stderr).toBe(0);
    const records = csv.stdout.trimEnd().split('\n');
    expect(records[0]).toBe('trial,x,objective,status,stoppedEarly,durationSeconds,failureReason,best');
    expect(records[4]).toMatch(new RegExp(`^${jobId}-t004,4,0\\.4,succeeded,false,[0-9.]+,,true$`));

    expect((await tunewire(['trials', jobId, '--status', 'failed'], env)).stdout).toBe('no failed trials\n');
    const badSort = await tunewire(['trials', jobId, '--sort', 'speed'], env);
    expect(badSort.code).toBe(2);
    expect(badSort.stderr).toContain('--sort: must be one of trial, objective, duration, status, x');
    const badStatus = await tunewire(['trials', jobId, '--status', 'done'], env);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('--status: must be one of pending, running, succeeded, failed, stopped, infeasible');
    expect((await tunewire(['trials', jobId, '--csv', '--json'], env)).code).toBe(2);
  });

  it('prints its version, and examples under --help', async () => {
    const version = await tunewire(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const help = await tunewire(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('tunewire trials <job> --sort -objective');
    expect(help.stdout).toContain('tunewire submit examples/iris-forest/spec.yaml');
  });

  it('manages templates with a short line or table, and JSON with --json', async () => {
    const file = join(ROOT, 'examples', 'iris-forest', 'template.yaml');
    const put = await tunewire(['templates', 'put', 'views-iris', file], env);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toMatch(/^stored template views-iris version 1 \(.+ on local\); triggers: /);
    const putJson = await tunewire(['templates', 'put', 'views-iris', file, '--json'], env);
    expect(JSON.parse(putJson.stdout)).toMatchObject({ name: 'views-iris', latestVersion: 2, version: 2 });

    const list = await tunewire(['templates', 'list'], env);
    expect(list.stdout).toMatch(/^template\s+version\s+policy\s+triggers\s+running\s+updated\n/);
    expect(list.stdout).toMatch(/\nviews-iris\s+2\s/);
    const listJson = JSON.parse((await tunewire(['templates', 'list', '--json'], env)).stdout) as { name: string }[];
    expect(listJson.map((t) => t.name)).toContain('views-iris');

    const get = await tunewire(['templates', 'get', 'views-iris', '--version', '1'], env);
    expect(get.stdout).toContain('version    1 of 2');
    expect(JSON.parse((await tunewire(['templates', 'get', 'views-iris', '--json'], env)).stdout)).toMatchObject({ name: 'views-iris', version: 2, spec: { provider: 'local' } });

    expect(JSON.parse((await tunewire(['templates', 'delete', 'views-iris', '--json'], env)).stdout)).toEqual({ name: 'views-iris', deleted: true });
    const gone = await tunewire(['templates', 'delete', 'views-iris'], env);
    expect(gone.code).toBe(2);
  });

  it('replays the sample files as a transport delivers them', async () => {
    const push = await tunewire(['replay', 'events/pubsub/push.local-job-state-change.json', '--json'], env);
    expect(push.code, push.stderr).toBe(0);
    expect(JSON.parse(push.stdout)).toEqual([expect.objectContaining({ function: 'status-change', outcome: 'ignored', eventId: 'iris-forest-demo000001:1' })]);
    const bad = await tunewire(['replay', 'events/tunewire/tuning-job-requested.bad-spec.json'], env);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/submit: rejected .*objective\.goal/);
  });

  it('says a job does not exist with exit 2', async () => {
    const result = await tunewire(['status', 'no-such-job'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no-such-job was not found');
  });

  it('keeps the ledger under TUNEWIRE_HOME across calls with its own DynamoDB Local', async () => {
    const home = { ...env, TUNEWIRE_HOME: join(dir, 'persisted') } as Record<string, string>;
    delete home.TUNEWIRE_DYNAMODB_ENDPOINT;
    delete home.TUNEWIRE_TABLE;
    const submitted = await tunewire(['submit', quickSpec(dir, 'persisted-model'), '--json'], home);
    expect(submitted.code, submitted.stderr).toBe(0);
    const { jobId } = JSON.parse(submitted.stdout) as { jobId: string };
    const status = await tunewire(['status', jobId, '--json'], home);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ jobId, status: 'succeeded' });
    // its service would otherwise wait out its idle period
    expect((await tunewire(['down'], home)).code).toBe(0);
  }, 120_000);
  it('exits 3 when the job it waited for failed, saying why', async () => {
    const file = scriptSpec(dir, 'fails', 'process.exit(1)', { maxTrials: 4, parallelTrials: 1, maxFailedTrials: 1 });
    const result = await tunewire(['submit', file, '--wait'], env);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toMatch(/job \S+ failed: too many failed trials: 1 trial\(s\) failed, budget\.maxFailedTrials is 1/);
    // the engine's trial counts reach the ledger through its job events
    expect(result.stdout).toMatch(/trials\s+1 trial: 1 failed/);
  });

  it('exits 5 when the job succeeded without any objective value', async () => {
    const result = await tunewire(['submit', scriptSpec(dir, 'silent', 'console.log("no metric here")'), '--wait', '--json'], env);
    expect(result.code, result.stderr).toBe(5);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
  });

  it('exits 0 for a job that succeeded with an objective, and never claims to keep a missing champion', async () => {
    const result = await tunewire(['submit', quickSpec(dir, 'fresh-model'), '--wait'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('KEPT the champion');
  });

  it('lists jobs newest first with filters, and waits on a finished job with its outcome as the exit code', async () => {
    const succeeded = await tunewire(['submit', scriptSpec(dir, 'listed-ok', 'console.log("score=0.5")'), '--json'], env);
    const failed = await tunewire(['submit', scriptSpec(dir, 'listed-bad', 'process.exit(1)', { maxTrials: 1, parallelTrials: 1, maxFailedTrials: 1 }), '--json'], env);
    expect(succeeded.code, succeeded.stderr).toBe(0);
    expect(failed.code, failed.stderr).toBe(3);
    const ok = (JSON.parse(succeeded.stdout) as { jobId: string }).jobId;
    const bad = (JSON.parse(failed.stdout) as { jobId: string }).jobId;
    const listed = async (...filters: string[]) => {
      const result = await tunewire(['jobs', '--json', ...filters], env);
      expect(result.code, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as { jobId: string }[]).map((j) => j.jobId);
    };

    expect(await listed('--name', 'listed-')).toEqual([bad, ok]);
    expect(await listed('--name', 'listed-', '--status', 'failed')).toEqual([bad]);
    expect(await listed('--name', 'listed-', '--provider', 'local', '--limit', '1')).toEqual([bad]);
    expect(await listed('--name', 'listed-', '--provider', 'sagemaker')).toEqual([]);
    const table = await tunewire(['jobs', '--name', 'listed-'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^job\s+name\s+provider\s+status\s+best\s+trials\s+age$/);
    expect(table.stdout).toMatch(new RegExp(`${bad}\\s+listed-bad\\s+local\\s+failed\\s+-\\s+1: 1 failed\\s+\\d+[smhd]`));
    const refused = await tunewire(['jobs', '--status', 'done'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--status: must be one of');

    const waitOk = await tunewire(['wait', ok], env);
    expect(waitOk.code, waitOk.stderr).toBe(0);
    expect(waitOk.stdout).toContain(`job ${ok} succeeded`);
    const waitBad = await tunewire(['wait', bad], env);
    expect(waitBad.code, waitBad.stderr).toBe(3);
    expect(waitBad.stdout).toMatch(new RegExp(`job ${bad} failed: too many failed trials`));
    const watched = await tunewire(['status', bad, '--watch', '--json'], env);
    expect(watched.code, watched.stderr).toBe(3);
    expect(JSON.parse(watched.stdout)).toMatchObject({ jobId: bad, status: 'failed' });
    expect((await tunewire(['wait', 'no-such-job'], env)).code).toBe(2);
  }, 180_000);

  it('renders with the spec\'s own provider when --provider is not given', async () => {
    const result = await tunewire(['render', 'examples/iris-forest/spec.yaml'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ strategy: 'bayesian', cwd: join(ROOT, 'examples', 'iris-forest') });
  });

  it('runs trial commands from the spec file\'s folder', async () => {
    const folder = join(dir, 'beside');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'train.js'), 'console.log("score=" + (Number(process.argv[2]) / 10));');
    const file = join(folder, 'spec.json');
    writeFileSync(file, readFileSync(scriptSpec(dir, 'beside', '')).toString().replace(/"command":\[[^\]]*\]/, `"command":[${JSON.stringify(process.execPath)},"train.js","{{x}}"]`));
    const result = await tunewire(['submit', file, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded', bestTrial: { objectiveValue: 0.4 } });
  });

  it('warns when a grid is larger than maxTrials', async () => {
    const result = await tunewire(['validate', scriptSpec(dir, 'big-grid', 'console.log("score=1")', { maxTrials: 2, parallelTrials: 1 })], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: grid has 4 points, maxTrials is 2: only the first 2 run');
  });

  it('says in one line which credentials to set, and records the job failed', async () => {
    const home: Record<string, string> = {
      ...env,
      TUNEWIRE_HOME: join(dir, 'no-credentials'),
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-such-credentials'),
      AWS_CONFIG_FILE: join(dir, 'no-such-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
      AWS_ENDPOINT_URL_SAGEMAKER: 'http://127.0.0.1:9',
    };
    delete home.TUNEWIRE_DYNAMODB_ENDPOINT;
    delete home.TUNEWIRE_TABLE;
    const result = await tunewire(['submit', 'examples/sagemaker-xgboost/spec.yaml', '--idempotency-key', 'no-credentials'], home);
    expect(result.code).toBe(1);
    const errors = result.stderr.trim().split('\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('AWS_ACCESS_KEY_ID');
    const status = await tunewire(['status', deriveJobId('churn-xgb', 'no-credentials'), '--json'], home);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'failed' });
    expect((await tunewire(['down'], home)).code).toBe(0);
  }, 120_000);
});
