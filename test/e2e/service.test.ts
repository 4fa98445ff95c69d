import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningLocalJobs } from '../../shared/adapters/local/local-provider';
import { isAlive, lockOwner, readServiceFile } from '../../shared/local-stack/service';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tunewire.mjs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// Every command here finds or starts the state directory's own service: no shared DynamoDB.
const { TUNEWIRE_DYNAMODB_ENDPOINT: _endpoint, AWS_ENDPOINT_URL_DYNAMODB: _awsEndpoint, TUNEWIRE_TABLE: _table, ...baseEnv } = process.env;

/** Runs the real CLI in a child process, as a user would, on its own state directory. */
function tunewire(home: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...baseEnv, TUNEWIRE_HOME: home, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Polls a condition a bounded number of times (3 min by default, for a loaded machine); the interval only paces the polling. */
async function eventually(condition: () => boolean | Promise<boolean>, what: string, attempts = 1_800): Promise<void> {
  for (let i = 0; i < attempts; i += 1) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`never happened: ${what}`);
}

function quickSpec(dir: string, model: string, command?: string[]): string {
  const file = join(dir, `${model}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: model,
      provider: 'local',
      objective: { metric: 'score', goal: 'maximize' },
      parameters: [{ name: 'x', type: 'discrete', values: [1, 2, 3, 4] }],
      strategy: 'grid',
      budget: { maxTrials: command ? 1 : 4, parallelTrials: command ? 1 : 2 },
      trial: {
        command: command ?? [process.execPath, '-e', 'console.log("score=" + (Number(process.argv[1]) / 10))', '{{x}}'],
        metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }],
      },
      ...(command ? {} : { promotion: { model } }),
    }),
  );
  return file;
}

const serviceOf = (home: string) => readServiceFile(join(home, 'service.json'));
const starts = (home: string) => (existsSync(join(home, 'service.log')) ? readFileSync(join(home, 'service.log'), 'utf8').split('\n').filter((l) => l.includes('started DynamoDB Local')).length : 0);

describe('the shared local service', () => {
  let dir: string;
  const homes: string[] = [];
  const newHome = (name: string) => {
    const home = join(dir, name);
    homes.push(home);
    return home;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tunewire-service-'));
  });

  afterAll(async () => {
    // leave no JVM behind, whatever a failed test left running; gated trials a killed service
    // orphaned end when their gate opens
    for (const gate of ['orphan-release', 'ctrl-c-never', 'killed-release']) writeFileSync(join(dir, gate), '');
    await Promise.all(homes.map((home) => tunewire(home, ['down', '--force'])));
  }, 120_000);

  describe('two submits started together', () => {
    let home: string;
    const jobs: string[] = [];

    it('both succeed and promote, on one service and one DynamoDB Local', async () => {
      home = newHome('together');
      const env = { TUNEWIRE_SERVICE_IDLE_SECONDS: '120' };
      const [a, b] = await Promise.all([
        tunewire(home, ['submit', quickSpec(dir, 'together-a'), '--json'], env),
        tunewire(home, ['submit', quickSpec(dir, 'together-b'), '--json'], env),
      ]);
      for (const [result, model] of [[a, 'together-a'], [b, 'together-b']] as const) {
        expect(result.code, result.stderr).toBe(0);
        const job = JSON.parse(result.stdout) as { jobId: string; status: string };
        expect(job.status).toBe('succeeded');
        jobs.push(job.jobId);
        const champion = await tunewire(home, ['champion', model, '--json'], env);
        expect((JSON.parse(champion.stdout) as { champion: { jobId: string } }).champion.jobId).toBe(job.jobId);
      }
      expect(starts(home)).toBe(1);
      const service = serviceOf(home);
      expect(service && isAlive(service.pid)).toBe(true);
    }, 180_000);

    it('answers a warm status from the running service, starting none', async () => {
      const before = serviceOf(home);
      expect(before).toBeDefined();
      const status = await tunewire(home, ['status', jobs[0] as string, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ jobId: jobs[0], status: 'succeeded' });
      expect(serviceOf(home)?.pid).toBe(before?.pid);
      expect(starts(home)).toBe(1);
    }, 60_000);
  });

  it('refuses a missing spec with exit 2 and starts nothing', async () => {
    const home = newHome('nope');
    const result = await tunewire(home, ['submit', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot be read');
    for (const file of ['service.json', 'service.lock', 'service.log', 'dynamodb']) expect(existsSync(join(home, file)), file).toBe(false);
  });

  describe('up and down', () => {
    let home: string;
    let pid: number;

    it('recovers the lock and pid file of a killed service', async () => {
      home = newHome('stale');
      const dead = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => dead.once('exit', resolve));
      const deadPid = dead.pid as number;
      // as a service killed with -9 leaves them: a lock and a pid file naming a dead process
      mkdirSync(home, { recursive: true, mode: 0o700 });
      writeFileSync(join(home, 'service.lock'), String(deadPid));
      writeFileSync(join(home, 'service.json'), JSON.stringify({ pid: deadPid, dynamoEndpoint: 'http://127.0.0.1:1', startedAt: '2026-01-01T00:00:00Z' }));

      const up = await tunewire(home, ['up', '--json']);
      expect(up.code, up.stderr).toBe(0);
      const info = JSON.parse(up.stdout) as { pid: number; started: boolean; dynamoEndpoint: string };
      expect(info.started).toBe(true);
      expect(info.pid).not.toBe(deadPid);
      expect(isAlive(info.pid)).toBe(true);
      expect(lockOwner(join(home, 'service.lock'))).toBe(info.pid);
      expect(serviceOf(home)?.pid).toBe(info.pid);
      pid = info.pid;
    }, 90_000);

    it('reports the running service on a second up, and stops it on down', async () => {
      const again = await tunewire(home, ['up', '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ pid, started: false });

      const down = await tunewire(home, ['down']);
      expect(down.code, down.stderr).toBe(0);
      expect(down.stdout).toContain(`stopped the tunewire service (pid ${pid})`);
      expect(isAlive(pid)).toBe(false);
      expect(existsSync(join(home, 'service.json'))).toBe(false);
      expect(existsSync(join(home, 'service.lock'))).toBe(false);

      const none = await tunewire(home, ['down']);
      expect(none.code).toBe(0);
      expect(none.stdout).toContain('no tunewire service runs');
    }, 90_000);
  });

  it('stops by itself once idle', async () => {
    const home = newHome('idle');
    const up = await tunewire(home, ['up', '--json'], { TUNEWIRE_SERVICE_IDLE_SECONDS: '1' });
    expect(up.code, up.stderr).toBe(0);
    const { pid } = JSON.parse(up.stdout) as { pid: number };
    await eventually(() => !isAlive(pid), `service ${pid} stopped`);
    expect(existsSync(join(home, 'service.json'))).toBe(false);
    expect(existsSync(join(home, 'service.lock'))).toBe(false);
    expect(readFileSync(join(home, 'service.log'), 'utf8')).toMatch(/stopping: idle/);
  }, 90_000);

  it('will not go down under a running local job unless forced, and then stops the job first', async () => {
    const home = newHome('busy');
    const release = join(dir, 'never-released');
    // the trial waits for a file nobody writes: it runs until it is stopped
    const spec = quickSpec(dir, 'busy', [process.execPath, '-e', "setInterval(() => { if (require('fs').existsSync(process.argv[1])) { console.log('score=1'); process.exit(0); } }, 100)", release]);
    const submit = tunewire(home, ['submit', spec, '--json']);
    await eventually(async () => (await runningLocalJobs(join(home, 'local'))).length === 1, 'the job runs');
    const [job] = await runningLocalJobs(join(home, 'local'));

    const refused = await tunewire(home, ['down']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is in use');
    expect(refused.stderr).toContain(job?.jobId);

    const forced = await tunewire(home, ['down', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`asked local job ${job?.jobId} to stop`);
    const submitted = await submit;
    // a job that was stopped exits 4 (README: exit codes)
    expect(submitted.code, submitted.stderr).toBe(4);
    expect(JSON.parse(submitted.stdout)).toMatchObject({ status: 'stopped' });
    expect(existsSync(join(home, 'service.json'))).toBe(false);
  }, 180_000);

  describe('local jobs belong to the service, not to the command', () => {
    /** A spec whose trials wait for `release` to exist (x=1 does not wait), then report score=x. */
    function gatedSpec(model: string, release: string, maxTrials = 3): string {
      const file = join(dir, `${model}.json`);
      const script = "const [x, gate] = process.argv.slice(1); const done = () => { console.log('score=' + x); process.exit(0); }; if (x === '1') done(); setInterval(() => require('fs').existsSync(gate) && done(), 100);";
      writeFileSync(
        file,
        JSON.stringify({
          name: model,
          provider: 'local',
          objective: { metric: 'score', goal: 'maximize' },
          parameters: [{ name: 'x', type: 'discrete', values: [1, 2, 3] }],
          strategy: 'grid',
          budget: { maxTrials, parallelTrials: 1 },
          trial: { command: [process.execPath, '-e', script, '{{x}}', release], metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }] },
          promotion: { model },
        }),
      );
      return file;
    }

    /** The job's state file as the engine wrote it. */
    const engineState = (home: string, jobId: string) =>
      JSON.parse(readFileSync(join(home, 'local', 'jobs', `${jobId}.json`), 'utf8')) as { status: string; enginePid: number; trials: { trialId: string; status: string }[] };

    /** Starts a CLI command in its own process, collecting its output. */
    function start(home: string, args: string[], env: Record<string, string> = {}) {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...baseEnv, TUNEWIRE_HOME: home, ...env } });
      const out = { stdout: '', stderr: '' };
      child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, out, exit };
    }

    async function runningJob(home: string): Promise<string> {
      await eventually(async () => (await runningLocalJobs(join(home, 'local'))).length === 1, 'the job runs');
      const [job] = await runningLocalJobs(join(home, 'local'));
      return (job as { jobId: string }).jobId;
    }

    it('keeps running when the submitting command is killed (kill -9), and tunewire wait follows it to its end', async () => {
      const home = newHome('orphan');
      const release = join(dir, 'orphan-release');
      const submit = start(home, ['submit', gatedSpec('orphan', release)]);
      const jobId = await runningJob(home);
      await eventually(() => engineState(home, jobId).trials.some((t) => t.status === 'RUNNING' && t.trialId.endsWith('t002')), 'the second trial runs');
      // the command has done its own part (it drains its handlers before it reads the ledger): what is killed is only the waiting
      await eventually(() => submit.out.stdout.includes(`${jobId}-t001 succeeded`), 'the command follows the job');
      submit.child.kill('SIGKILL');
      await submit.exit;

      // the engine is the service, not the command that was killed
      const service = serviceOf(home);
      expect(engineState(home, jobId).enginePid).toBe(service?.pid);
      writeFileSync(release, '');
      const waited = await tunewire(home, ['wait', jobId]);
      expect(waited.code, waited.stderr).toBe(0);
      expect(waited.stdout).toContain(`job ${jobId} succeeded`);
      expect(waited.stdout).toContain('promotion: PROMOTED for model orphan');
      expect(engineState(home, jobId).trials.map((t) => t.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    }, 180_000);

    it('detaches on Ctrl-C (exit 130), and a second Ctrl-C stops the job (exit 4)', async () => {
      const home = newHome('ctrl-c');
      const release = join(dir, 'ctrl-c-never');
      const submit = start(home, ['submit', gatedSpec('ctrl-c', release)], { TUNEWIRE_DETACH_GRACE_SECONDS: '0' });
      const jobId = await runningJob(home);
      await eventually(() => submit.out.stdout.includes(`submitted: ${jobId}`), 'submit said so');
      submit.child.kill('SIGINT');
      expect(await submit.exit).toBe(130);
      expect(submit.out.stderr).toContain(`detached from ${jobId}: it goes on under the tunewire service. Follow it: tunewire wait ${jobId}`);
      expect(engineState(home, jobId).status).toBe('RUNNING');

      // a grace period longer than any test: only the second Ctrl-C ends the wait
      const wait = start(home, ['wait', jobId], { TUNEWIRE_DETACH_GRACE_SECONDS: '600' });
      await eventually(() => wait.out.stdout.includes(`${jobId}-t001 succeeded`), 'wait follows the job');
      wait.child.kill('SIGINT');
      await eventually(() => wait.out.stderr.includes('Ctrl-C again'), 'wait detached');
      wait.child.kill('SIGINT');
      expect(await wait.exit, wait.out.stderr).toBe(4);
      expect(wait.out.stderr).toContain(`stopping ${jobId}`);
      expect(wait.out.stdout).toContain(`job ${jobId} stopped: stopped by hand`);
      expect(engineState(home, jobId).status).toBe('STOPPED');
    }, 180_000);

    it('after the service is killed (kill -9) mid-job, says the job is interrupted (exit 6), and resume finishes it keeping its finished trials', async () => {
      const home = newHome('killed');
      const release = join(dir, 'killed-release');
      const spec = gatedSpec('killed', release);
      const submit = start(home, ['submit', spec, '--idempotency-key', 'killed-once']);
      const jobId = await runningJob(home);
      await eventually(() => engineState(home, jobId).trials.some((t) => t.status === 'RUNNING' && t.trialId.endsWith('t002')), 'the second trial runs');
      // the command is waiting (not still submitting: a service killed under a submit is a failed command, exit 1)
      await eventually(() => submit.out.stdout.includes(`${jobId}-t001 succeeded`), 'the command follows the job');
      const service = serviceOf(home) as { pid: number };
      process.kill(service.pid, 'SIGKILL');

      expect(await submit.exit, submit.out.stderr).toBe(6);
      expect(submit.out.stderr).toContain(`job ${jobId} is interrupted`);
      expect(submit.out.stderr).toContain(`tunewire resume ${jobId}`);

      // the next command starts a new service, which marks the running trial lost; submitting again
      // with the same key finds the same job and says the same, at once
      const again = await tunewire(home, ['submit', spec, '--idempotency-key', 'killed-once']);
      expect(again.code, again.stderr).toBe(6);
      expect(again.stdout).toContain(`already submitted: ${jobId}`);
      expect(again.stderr).toContain(`tunewire resume ${jobId}`);
      const status = await tunewire(home, ['status', jobId, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ status: 'paused', providerStatus: 'INTERRUPTED' });
      expect(serviceOf(home)?.pid).not.toBe(service.pid);
      const trials = await tunewire(home, ['trials', jobId, '--json']);
      const lost = (JSON.parse(trials.stdout) as { trialId: string; status: string; failureReason?: string }[]).find((t) => t.trialId === `${jobId}-t002`);
      expect(lost).toMatchObject({ status: 'stopped', failureReason: expect.stringContaining(`lost: the local engine (pid ${service.pid}) exited`) });

      writeFileSync(release, '');
      const resumed = await tunewire(home, ['resume', jobId]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toContain(`resumed ${jobId}`);
      expect(resumed.stdout).toContain('promotion: PROMOTED for model killed');
      const final = JSON.parse((await tunewire(home, ['trials', jobId, '--json'])).stdout) as { trialId: string; status: string; hyperparameters: { x: number } }[];
      // `--json` types hyperparameters by the spec: x is discrete, so a number
      expect(final.map((t) => [t.trialId.slice(-4), t.status, t.hyperparameters.x])).toEqual([
        ['t001', 'succeeded', 1],
        ['t002', 'stopped', 2],
        ['t003', 'succeeded', 2],
        ['t004', 'succeeded', 3],
      ]);
      const finished = await tunewire(home, ['resume', jobId]);
      expect(finished.code).toBe(2);
      expect(finished.stderr).toContain('has already succeeded; there is nothing to resume');
    }, 240_000);
  });
});
