import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LOCAL_JOB_STATUS_WORDS,
  LocalProvider,
  mapLocalJobStatus,
  mapLocalTrialStatus,
  localJobObservation,
  type LocalProviderEvent,
  type LocalProviderOptions,
} from '../../../shared/adapters/local/local-provider';
import { ProviderError, SpecValidationError } from '../../../shared/domain/errors';
import type { ProviderJobRef } from '../../../shared/domain/job';
import { parseSpec, parseSpecText, type TuningSpec } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';
import { anchorTrialCwd } from '../../../shared/cli/spec-file';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const node = process.execPath;

// ---- helpers ---------------------------------------------------------------------------------

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunewire-local-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Harness {
  readonly provider: LocalProvider;
  readonly events: LocalProviderEvent[];
  readonly logs: string[];
  readonly workDir: string;
}

function harness(options: Partial<LocalProviderOptions> = {}): Harness {
  const events: LocalProviderEvent[] = [];
  const logs: string[] = [];
  const workDir = options.workDir ?? tempDir();
  const provider = new LocalProvider({
    workDir,
    cwd: repoRoot,
    emit: async (event) => {
      events.push(event);
    },
    log: (line) => logs.push(line),
    ...options,
  });
  cleanups.push(() => provider.close());
  return { provider, events, logs, workDir };
}

/** A spec whose trials run `script` with node -e; the script sees its values in `hp`. */
function inlineSpec(script: string, overrides: Record<string, unknown> = {}, trial: Record<string, unknown> = {}): TuningSpec {
  const prelude = 'const hp = JSON.parse(process.env.TUNEWIRE_HYPERPARAMETERS); const fs = require("node:fs"); const path = require("node:path");';
  return parseSpec({
    name: 'inline',
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [{ name: 'x', type: 'integer', min: 1, max: 3 }],
    strategy: 'grid',
    budget: { maxTrials: 3 },
    trial: { command: [node, '-e', `${prelude}\n${script}`], metrics: [{ name: 'score', regex: 'score=([-0-9.e]+)' }], ...trial },
    labels: { seed: '1' },
    ...overrides,
  });
}

let jobCounter = 0;
async function run(h: Harness, spec: TuningSpec): Promise<{ ref: ProviderJobRef; trials: readonly Trial[] }> {
  const jobId = `job-${process.pid}-${++jobCounter}`;
  const { ref, adopted } = await h.provider.create({ jobId, providerJobName: h.provider.providerJobName(jobId), spec });
  expect(adopted).toBe(false);
  await h.provider.waitForJob(ref.providerJobName);
  const { trials } = await h.provider.listTrials(ref, undefined, spec);
  return { ref, trials };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const byId = (trials: readonly Trial[]): Trial[] => [...trials].sort((a, b) => a.trialId.localeCompare(b.trialId));
const jobEvents = (events: readonly LocalProviderEvent[]) => events.filter((e) => e['detail-type'] === 'Local Tuning Job State Change');
/** The job's status words in order; the events that only move its trial counts repeat a word, and are counted apart. */
const jobWords = (events: readonly LocalProviderEvent[]): string[] =>
  jobEvents(events)
    .map((e) => e.detail.status as string)
    .filter((word, i, words) => word !== words[i - 1]);

// ---- tests -----------------------------------------------------------------------------------

describe('LocalProvider', () => {
  describe('validate', () => {
    const { provider } = harness({ workDir: join(tmpdir(), 'tunewire-validate-unused') });

    function issues(spec: TuningSpec): string[] {
      try {
        provider.validate(spec);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(SpecValidationError);
        return (error as SpecValidationError).issues.map((i) => i.path);
      }
    }

    it('accepts a valid spec', () => {
      expect(issues(inlineSpec('console.log("score=1")'))).toEqual([]);
    });

    it('searches with grid, random and bayesian, and refuses hyperband', () => {
      expect(issues(inlineSpec('', { strategy: 'bayesian' }))).toEqual([]);
      expect(issues(inlineSpec('', { strategy: 'hyperband' }))).toEqual(['strategy']);
      expect(issues(inlineSpec('', { strategy: 'random' }))).toEqual([]);
    });

    it('takes early stopping, and refuses warm start', () => {
      expect(issues(inlineSpec('', { earlyStopping: 'auto' }))).toEqual([]);
      expect(issues(inlineSpec('', { warmStart: { from: ['parent'], type: 'transfer_learning' } }))).toEqual(['warmStart']);
    });

    it('applies the search rules', () => {
      expect(issues(inlineSpec('', { parameters: [{ name: 'x', type: 'double', min: 0, max: 1 }] }))).toEqual(['parameters[0].type']);
    });

    it('applies the trial-section rules', () => {
      expect(issues(inlineSpec('', {}, { metrics: [{ name: 'loss', regex: 'loss=(.*)' }] }))).toEqual(['trial.metrics']);
    });

    it('needs the executable to exist, as a path or on PATH', () => {
      expect(issues(inlineSpec('', {}, { command: ['./no/such/trainer', '{{x}}'] }))).toEqual(['trial.command[0]']);
      expect(issues(inlineSpec('', {}, { command: ['no-such-trainer-on-path', '{{x}}'] }))).toEqual(['trial.command[0]']);
      expect(issues(inlineSpec('', {}, { command: ['node', 'examples/iris-forest/train.mjs', '{{x}}'] }))).toEqual([]);
      expect(issues(inlineSpec('', {}, { command: [node, '{{x}}'], cwd: 'no/such/dir' }))).toEqual(['trial.cwd']);
    });
  });

  it('refuses to create a job its search cannot run, writing nothing', async () => {
    const h = harness();
    const spec = inlineSpec('', { parameters: [{ name: 'x', type: 'double', min: 0, max: 1 }] });
    await expect(h.provider.create({ jobId: 'bad', providerJobName: 'bad', spec })).rejects.toBeInstanceOf(SpecValidationError);
    expect(existsSync(join(h.workDir, 'jobs', 'bad.json'))).toBe(false);
    expect(h.events).toEqual([]);
  });

  it('maps its status words into the common vocabulary', () => {
    expect(LOCAL_JOB_STATUS_WORDS.map(mapLocalJobStatus)).toEqual(['pending', 'running', 'paused', 'stopping', 'succeeded', 'failed', 'stopped']);
    expect(['RUNNING', 'COMPLETED', 'FAILED', 'STOPPED'].map(mapLocalTrialStatus)).toEqual(['running', 'succeeded', 'failed', 'stopped']);
    expect(() => mapLocalJobStatus('DONE')).toThrow(ProviderError);
    expect(() => mapLocalTrialStatus('PENDING')).toThrow(ProviderError);
  });

  it('renders its plan', () => {
    const { provider } = harness();
    const spec = inlineSpec('', { budget: { maxTrials: 3, parallelTrials: 2, maxFailedTrials: 1 } });
    expect(provider.render(spec, { jobId: 'j1', providerJobName: 'j1' })).toMatchObject({
      jobName: 'j1',
      strategy: 'grid',
      maxTrials: 3,
      parallelTrials: 2,
      maxFailedTrials: 1,
      command: [node, '-e', expect.any(String)],
      metrics: [{ name: 'score', regex: 'score=([-0-9.e]+)' }],
    });
  });

  it('runs at most parallelTrials at once, each with its values, id and model dir', async () => {
    const h = harness();
    const marks = tempDir();
    const spec = inlineSpec(
      `const mark = (what) => fs.writeFileSync(path.join(${JSON.stringify(marks)}, process.env.TUNEWIRE_TRIAL_ID + '.' + what), String(Date.now()));
       mark('start');
       setTimeout(() => {
         fs.writeFileSync(path.join(process.env.TUNEWIRE_MODEL_DIR, 'model.json'), JSON.stringify(hp));
         mark('end');
         console.log('score=' + hp.x);
       }, 300);`,
      { parameters: [{ name: 'x', type: 'integer', min: 1, max: 6 }], staticHyperparameters: { extra: 'yes' }, budget: { maxTrials: 6, parallelTrials: 2 } },
    );
    const { ref, trials } = await run(h, spec);

    expect(trials).toHaveLength(6);
    const intervals = trials.map((t) => [Number(readFileSync(join(marks, `${t.trialId}.start`), 'utf8')), Number(readFileSync(join(marks, `${t.trialId}.end`), 'utf8'))] as const);
    const overlapAt = (time: number): number => intervals.filter(([s, e]) => s <= time && time < e).length;
    const maxConcurrent = Math.max(...intervals.map(([s]) => overlapAt(s)));
    expect(maxConcurrent).toBe(2);

    for (const trial of byId(trials)) {
      expect(trial.trialId).toMatch(new RegExp(`^${ref.providerJobName}-t00[1-6]$`));
      expect(trial.status).toBe('succeeded');
      expect(trial.objectiveValue).toBe(Number(trial.hyperparameters.x));
      expect(trial.artifactUri).toBe(`file://${h.workDir}/jobs/${ref.providerJobName}/${trial.trialId}/`);
      const model = JSON.parse(readFileSync(join(fileURLToPath(trial.artifactUri ?? ''), 'model.json'), 'utf8')) as Record<string, string>;
      expect(model).toEqual({ extra: 'yes', x: trial.hyperparameters.x });
    }
    expect(byId(trials).map((t) => t.hyperparameters.x)).toEqual(['1', '2', '3', '4', '5', '6']);
    const observation = await h.provider.describe(ref);
    expect(observation).toMatchObject({ status: 'succeeded', providerStatus: 'COMPLETED', trialCounts: { succeeded: 6 } });
    expect(observation.providerBestTrialId).toBe(trials.find((t) => t.hyperparameters.x === '6')?.trialId);
  }, 20_000);

  it('turns crashes, signals, timeouts and silence into failed or metric-less trials, never a hung job', async () => {
    const h = harness();
    const spec = inlineSpec(
      `switch (hp.mode) {
         case 'ok': console.log('score=0.5'); console.log('score=0.9'); console.log('score=0.7'); break;
         case 'stderr': console.error('score=0.42'); break;
         case 'crash': console.log('score=0.99'); throw new Error('boom');
         case 'signal': process.kill(process.pid, 'SIGKILL'); break;
         case 'silent': console.log('no metric here'); break;
         case 'hang': setInterval(() => {}, 1000); break;
       }`,
      { parameters: [{ name: 'mode', type: 'categorical', values: ['ok', 'stderr', 'crash', 'signal', 'silent', 'hang'] }], budget: { maxTrials: 10, parallelTrials: 6 } },
      { timeoutSeconds: 1 },
    );
    const started = Date.now();
    const { ref, trials } = await run(h, spec);
    expect(Date.now() - started).toBeLessThan(8_000);
    const byMode = Object.fromEntries(trials.map((t) => [t.hyperparameters.mode, t]));

    expect(byMode.ok).toMatchObject({ status: 'succeeded', objectiveStatus: 'succeeded', objectiveValue: 0.9, metrics: { score: 0.7 } });
    expect(byMode.stderr).toMatchObject({ status: 'succeeded', objectiveValue: 0.42 });
    expect(byMode.crash).toMatchObject({ status: 'failed', objectiveStatus: 'failed', failureReason: expect.stringMatching(/^exited with code 1: .*boom/) });
    expect(byMode.crash?.objectiveValue).toBeUndefined();
    expect(byMode.signal).toMatchObject({ status: 'failed', failureReason: expect.stringMatching(/^killed by signal SIGKILL/) });
    expect(byMode.silent).toMatchObject({ status: 'succeeded', objectiveStatus: 'failed' });
    expect(byMode.silent?.objectiveValue).toBeUndefined();
    expect(byMode.hang).toMatchObject({ status: 'failed', failureReason: expect.stringContaining('timed out after 1 s') });

    expect(await h.provider.describe(ref)).toMatchObject({ status: 'succeeded', trialCounts: { succeeded: 3, failed: 3 }, providerBestTrialId: byMode.ok?.trialId });
    const log = readFileSync(join(h.workDir, 'jobs', ref.providerJobName, 'logs', `${byMode.crash?.trialId}.log`), 'utf8');
    expect(log).toContain('boom');
  }, 20_000);

  it('takes the last reported value under measurementSelection last', async () => {
    const h = harness();
    const spec = inlineSpec('console.log("score=0.5"); console.log("score=0.9"); console.log("score=0.7");', {
      measurementSelection: 'last',
      budget: { maxTrials: 1 },
    });
    const { trials } = await run(h, spec);
    expect(trials[0]).toMatchObject({ objectiveValue: 0.7 });
  }, 10_000);

  it('fails a trial that cannot be spawned', async () => {
    const h = harness();
    const spec = inlineSpec('', { budget: { maxTrials: 2 } }, { command: ['/no/such/trainer', '{{x}}'] });
    const { ref, trials } = await run(h, spec);
    expect(trials).toHaveLength(2);
    for (const trial of trials) expect(trial).toMatchObject({ status: 'failed', failureReason: expect.stringContaining('ENOENT') });
    expect(await h.provider.describe(ref)).toMatchObject({ status: 'failed', failureReason: 'no trial succeeded (2 failed)' });
  }, 10_000);

  it('stops scheduling at maxFailedTrials and fails the job', async () => {
    const h = harness();
    const spec = inlineSpec('process.exit(3)', {
      parameters: [{ name: 'x', type: 'integer', min: 1, max: 10 }],
      budget: { maxTrials: 10, parallelTrials: 1, maxFailedTrials: 2 },
    });
    const { ref, trials } = await run(h, spec);
    expect(trials).toHaveLength(2);
    expect(trials.every((t) => t.status === 'failed' && t.failureReason === 'exited with code 3')).toBe(true);
    const observation = await h.provider.describe(ref);
    expect(observation).toMatchObject({ status: 'failed', providerStatus: 'FAILED', failureReason: expect.stringContaining('maxFailedTrials') });
    expect(jobWords(h.events)).toEqual(['PENDING', 'RUNNING', 'FAILED']);
    expect(h.events.at(-1)?.detail.failureReason).toBe(observation.failureReason);
  }, 10_000);

  it('stops at the target objective and succeeds', async () => {
    const h = harness();
    const spec = inlineSpec('console.log("score=" + hp.x)', {
      parameters: [{ name: 'x', type: 'integer', min: 1, max: 10 }],
      budget: { maxTrials: 10, parallelTrials: 1, targetObjective: 3 },
    });
    const { ref, trials } = await run(h, spec);
    expect(byId(trials).map((t) => t.objectiveValue)).toEqual([1, 2, 3]);
    expect(await h.provider.describe(ref)).toMatchObject({ status: 'succeeded' });
  }, 10_000);

  it('stops: SIGTERM, SIGKILL after the grace period, trials stopped, no process left', async () => {
    const h = harness({ killGraceSeconds: 0.5 });
    const spec = inlineSpec(
      `const { spawn } = require('node:child_process');
       const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
       if (hp.mode === 'stubborn') process.on('SIGTERM', () => console.log('not now'));
       fs.writeFileSync(path.join(process.env.TUNEWIRE_MODEL_DIR, 'pids'), process.pid + ' ' + child.pid);
       console.log('score=0.1');
       setInterval(() => {}, 1000);`,
      {
        parameters: [
          { name: 'k', type: 'integer', min: 1, max: 3 },
          { name: 'mode', type: 'categorical', values: ['polite', 'stubborn'] },
        ],
        budget: { maxTrials: 6, parallelTrials: 2 },
      },
    );
    const jobId = `stop-${process.pid}`;
    const { ref } = await h.provider.create({ jobId, providerJobName: jobId, spec });
    const jobDir = join(h.workDir, 'jobs', jobId);
    const pidFiles = [`${jobId}-t001`, `${jobId}-t002`].map((t) => join(jobDir, t, 'pids'));
    await waitFor(() => pidFiles.every((f) => existsSync(f) && readFileSync(f, 'utf8').includes(' ')));
    // the engine has read each trial's score before the stop: on a loaded machine the line can lag the pid file
    const logs = [`${jobId}-t001`, `${jobId}-t002`].map((t) => join(jobDir, 'logs', `${t}.log`));
    await waitFor(() => logs.every((f) => existsSync(f) && readFileSync(f, 'utf8').includes('score=0.1')));
    const pids = pidFiles.flatMap((f) => readFileSync(f, 'utf8').trim().split(' ').map(Number));
    expect(pids.every(alive)).toBe(true);

    await h.provider.stop(ref);
    expect((await h.provider.describe(ref)).status).toBe('stopping');
    await h.provider.waitForJob(jobId);

    expect(await h.provider.describe(ref)).toMatchObject({ status: 'stopped', providerStatus: 'STOPPED', trialCounts: { stopped: 2 } });
    const { trials } = await h.provider.listTrials(ref, undefined, spec);
    expect(trials).toHaveLength(2);
    for (const trial of trials) expect(trial).toMatchObject({ status: 'stopped', stoppedEarly: false, objectiveValue: 0.1 });
    await waitFor(() => !pids.some(alive));
    // the stubborn trial shrugged off SIGTERM and needed the SIGKILL
    expect(readFileSync(join(jobDir, 'logs', `${jobId}-t002.log`), 'utf8')).toContain('not now');
    expect(jobWords(h.events)).toEqual(['PENDING', 'RUNNING', 'STOPPING', 'STOPPED']);
    await h.provider.stop(ref); // stopping a finished job changes nothing
    expect(jobWords(h.events)).toHaveLength(4);
  }, 20_000);

  it('honours budget.maxRuntimeSeconds', async () => {
    const h = harness();
    const spec = inlineSpec('setInterval(() => {}, 1000)', { budget: { maxTrials: 3, parallelTrials: 2, maxRuntimeSeconds: 1 } });
    const started = Date.now();
    const { ref, trials } = await run(h, spec);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(trials.map((t) => t.status)).toEqual(['stopped', 'stopped']);
    expect(await h.provider.describe(ref)).toMatchObject({ status: 'stopped', failureReason: expect.stringContaining('maxRuntimeSeconds') });
  }, 10_000);

  it('adopts a job that exists instead of starting a second run', async () => {
    const h = harness();
    const other = harness({ workDir: h.workDir });
    const spec = inlineSpec('setTimeout(() => console.log("score=" + hp.x), 100)');
    const request = { jobId: 'twice', providerJobName: 'twice', spec };
    const [first, second] = await Promise.all([h.provider.create(request), h.provider.create(request)]);
    expect([first.adopted, second.adopted].sort()).toEqual([false, true]);
    expect((await other.provider.create(request)).adopted).toBe(true);
    await h.provider.waitForJob('twice');
    await other.provider.waitForJob('twice');
    const { trials } = await other.provider.listTrials(first.ref, undefined, spec);
    expect(trials).toHaveLength(3);
    expect(other.events).toEqual([]);
    expect(readdirSync(join(h.workDir, 'jobs')).filter((f) => f.endsWith('.json'))).toEqual(['twice.json']);
  }, 10_000);

  it('stops a job run by another engine through its stop file', async () => {
    const h = harness();
    const other = harness({ workDir: h.workDir });
    const spec = inlineSpec('setInterval(() => {}, 1000)', { budget: { maxTrials: 3, parallelTrials: 1 } });
    const { ref } = await h.provider.create({ jobId: 'remote', providerJobName: 'remote', spec });
    await waitFor(() => h.events.length >= 2);
    await other.provider.stop(ref);
    await h.provider.waitForJob('remote');
    expect(await other.provider.describe(ref)).toMatchObject({ status: 'stopped' });
  }, 10_000);

  it('reports a job whose engine died as paused (interrupted), and can still stop it', async () => {
    const h = harness();
    const spec = inlineSpec('console.log("score=1")', { budget: { maxTrials: 1 } });
    const { ref } = await run(h, spec);
    const file = join(h.workDir, 'jobs', `${ref.providerJobName}.json`);
    const deadPid = spawnSync(node, ['-e', '']).pid ?? 999_999;
    const state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...state, status: 'RUNNING', enginePid: deadPid }));

    const fresh = harness({ workDir: h.workDir });
    expect(await fresh.provider.describe(ref)).toMatchObject({ status: 'paused', providerStatus: 'INTERRUPTED', flags: ['engine_lost'] });
    await fresh.provider.stop(ref);
    expect(await fresh.provider.describe(ref)).toMatchObject({ status: 'stopped' });
    expect(jobWords(fresh.events)).toEqual(['STOPPING', 'STOPPED']);
  }, 10_000);

  it('marks an interrupted job\'s running trials lost, then resumes it with the rest of its budget', async () => {
    const h = harness();
    const spec = inlineSpec('console.log("score=" + hp.x * 10)', { strategy: 'random', parameters: [{ name: 'x', type: 'integer', min: 1, max: 1000 }], budget: { maxTrials: 4, parallelTrials: 1 } });
    const { ref, trials: original } = await run(h, spec);
    // As if the engine had died while it ran the third trial: two finished, the third running, the fourth never started.
    const file = join(h.workDir, 'jobs', `${ref.providerJobName}.json`);
    const deadPid = spawnSync(node, ['-e', '']).pid ?? 999_999;
    const state = JSON.parse(readFileSync(file, 'utf8')) as { trials: Record<string, unknown>[] } & Record<string, unknown>;
    const [first, second, third] = state.trials;
    const cut = { ...state, status: 'RUNNING', enginePid: deadPid, endReason: undefined, endedAt: undefined, trials: [first, second, { ...third, status: 'RUNNING', objectiveStatus: 'pending', pid: deadPid, endedAt: undefined, objectiveValue: undefined }] };
    writeFileSync(file, JSON.stringify(cut));

    const fresh = harness({ workDir: h.workDir });
    expect(await fresh.provider.recoverInterrupted()).toEqual([ref.providerJobName]);
    expect(await fresh.provider.recoverInterrupted()).toEqual([]);
    expect(await fresh.provider.describe(ref)).toMatchObject({ status: 'paused', providerStatus: 'INTERRUPTED' });
    expect(jobWords(fresh.events)).toEqual(['INTERRUPTED']);
    const lost = (await fresh.provider.listTrials(ref, undefined, spec)).trials.find((t) => t.trialId === original[2]?.trialId);
    expect(lost).toMatchObject({ status: 'stopped', failureReason: expect.stringContaining(`lost: the local engine (pid ${deadPid}) exited`) });

    expect(await fresh.provider.resume(ref.providerJobName)).toEqual({ resumed: true });
    expect(await fresh.provider.resume(ref.providerJobName)).toEqual({ resumed: false });
    await fresh.provider.waitForJob(ref.providerJobName);
    const { trials } = await fresh.provider.listTrials(ref, undefined, spec);
    const id = (n: number) => `${ref.providerJobName}-t00${n}`;
    expect(trials.map((t) => [t.trialId, t.status])).toEqual([
      [id(1), 'succeeded'],
      [id(2), 'succeeded'],
      [id(3), 'stopped'],
      [id(4), 'succeeded'],
      [id(5), 'succeeded'],
    ]);
    // the lost trial's point ran again, then the search went on where it was: the same points as the uninterrupted run
    expect(trials.filter((t) => t.status === 'succeeded').map((t) => t.hyperparameters)).toEqual(original.map((t) => t.hyperparameters));
    expect(await fresh.provider.describe(ref)).toMatchObject({ status: 'succeeded', trialCounts: { succeeded: 4, stopped: 1 } });
    expect(jobWords(fresh.events)).toEqual(['INTERRUPTED', 'RUNNING', 'COMPLETED']);
    await expect(fresh.provider.resume(ref.providerJobName)).rejects.toMatchObject({ code: 'PROVIDER.JOB_ENDED' });
  }, 20_000);

  it('refuses to resume a job another live engine runs', async () => {
    const h = harness();
    const other = harness({ workDir: h.workDir });
    const spec = inlineSpec('setInterval(() => {}, 1000)', { budget: { maxTrials: 2, parallelTrials: 1 } });
    const { ref } = await h.provider.create({ jobId: 'owned', providerJobName: 'owned', spec });
    await waitFor(() => h.events.length >= 2);
    await expect(other.provider.recoverInterrupted()).resolves.toEqual([]);
    await expect(other.provider.resume('owned')).rejects.toMatchObject({ code: 'PROVIDER.JOB_RUNNING' });
    await h.provider.stop(ref);
    await h.provider.waitForJob('owned');
    expect(await other.provider.describe(ref)).toMatchObject({ status: 'stopped' });
  }, 10_000);

  it('announces the job\'s trial counts after every finished trial', async () => {
    const h = harness();
    const spec = inlineSpec('console.log("score=" + hp.x)', { budget: { maxTrials: 3, parallelTrials: 1 } });
    await run(h, spec);
    const counts = jobEvents(h.events).map((e) => [e.detail.status, e.detail.trialCounts]);
    expect(counts).toEqual([
      ['PENDING', {}],
      ['RUNNING', {}],
      ['RUNNING', { COMPLETED: 1 }],
      ['RUNNING', { COMPLETED: 2 }],
      ['RUNNING', { COMPLETED: 3 }],
      ['COMPLETED', { COMPLETED: 3 }],
    ]);
    // each after its trial's own event
    const order = h.events.map((e) => (e['detail-type'] === 'Local Trial State Change' ? `trial:${e.detail.trial?.trialId.slice(-4)}` : `job:${JSON.stringify(e.detail.trialCounts)}`));
    expect(order.indexOf('trial:t001')).toBeLessThan(order.indexOf('job:{"COMPLETED":1}'));
  }, 10_000);

  it('lists trials incrementally from a cursor', async () => {
    const seen: { trialId: string; status: string }[][] = [];
    let cursor: string | undefined;
    let reads = Promise.resolve();
    const spec = inlineSpec('setTimeout(() => console.log("score=" + hp.x), 150)', { budget: { maxTrials: 3, parallelTrials: 1 } });
    const h: Harness = harness({
      emit: async (event) => {
        if (event['detail-type'] !== 'Local Trial State Change') return;
        reads = reads.then(async () => {
          const page = await h.provider.listTrials({ provider: 'local', providerJobName: event.detail.jobName }, cursor, spec);
          seen.push(page.trials.map((t) => ({ trialId: t.trialId, status: t.status })));
          cursor = page.cursor;
        });
        await reads;
      },
    });
    const { ref, trials } = await run(h, spec);
    await reads;

    expect(trials).toHaveLength(3);
    const flat = seen.flat();
    // every change shows up once: each trial's finish exactly once across the pages
    for (const trial of trials) expect(flat.filter((t) => t.trialId === trial.trialId && t.status === 'succeeded')).toHaveLength(1);
    expect(new Set(flat.map((t) => JSON.stringify(t))).size).toBe(flat.length);
    // the job's own last change moved the cursor on, with no trial news
    const last = await h.provider.listTrials(ref, cursor, spec);
    expect(last.trials).toEqual([]);
    const again = await h.provider.listTrials(ref, last.cursor, spec);
    expect(again).toEqual({ trials: [], cursor: last.cursor, complete: true });
    expect((await h.provider.listTrials(ref, undefined, spec)).trials).toHaveLength(3);
    await expect(h.provider.listTrials(ref, 'nonsense', spec)).rejects.toBeInstanceOf(ProviderError);
  }, 10_000);

  it('announces every job change and every finished trial, with deterministic ids', async () => {
    const spec = inlineSpec('console.log("score=" + hp.x)', { budget: { maxTrials: 3, parallelTrials: 1 } });
    const runs = await Promise.all(
      [harness(), harness()].map(async (h) => {
        const { ref } = await h.provider.create({ jobId: 'same-job', providerJobName: 'same-job', spec });
        await h.provider.waitForJob(ref.providerJobName);
        return h.events;
      }),
    );
    const [events = [], again = []] = runs;
    expect(again.map((e) => [e.id, e['detail-type'], e.detail.status, e.detail.trial?.status])).toEqual(
      events.map((e) => [e.id, e['detail-type'], e.detail.status, e.detail.trial?.status]),
    );

    const seqs = events.map((e) => e.detail.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const event of events) {
      expect(event).toMatchObject({ version: '0', id: `same-job:${event.detail.seq}`, source: 'tunewire.local', account: 'local', region: 'local', resources: [] });
      expect(new Date(event.time).toISOString()).toBe(event.time);
    }
    expect(jobWords(events)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    const trialEvents = events.filter((e) => e['detail-type'] === 'Local Trial State Change');
    expect(trialEvents.map((e) => [e.detail.trial?.trialId, e.detail.trial?.status, e.detail.trial?.objectiveValue])).toEqual([
      ['same-job-t001', 'COMPLETED', 1],
      ['same-job-t002', 'COMPLETED', 2],
      ['same-job-t003', 'COMPLETED', 3],
    ]);
    expect(events.at(-1)?.detail.trialCounts).toEqual({ COMPLETED: 3 });
  }, 10_000);

  it('goes on when emit throws', async () => {
    const h = harness({
      emit: async () => {
        throw new Error('bus down');
      },
    });
    const { ref, trials } = await run(h, inlineSpec('console.log("score=1")'));
    expect(trials).toHaveLength(3);
    expect((await h.provider.describe(ref)).status).toBe('succeeded');
    expect(h.logs.length).toBeGreaterThanOrEqual(6);
    expect(h.logs.every((l) => l.includes('bus down'))).toBe(true);
  }, 10_000);

  it('says a job it does not know does not exist', async () => {
    const { provider } = harness();
    const ref = { provider: 'local' as const, providerJobName: 'never-created' };
    await expect(provider.describe(ref)).rejects.toMatchObject({ code: 'PROVIDER.NOT_FOUND', retryable: false });
    await expect(provider.describe({ ...ref, providerJobName: '../escape' })).rejects.toBeInstanceOf(ProviderError);
  });

  it('tunes the iris example end to end: the best accuracy beats the worst', async () => {
    const h = harness();
    const file = join(repoRoot, 'examples/iris-forest/spec.yaml');
    // as the CLI reads it: trials run from the spec's folder
    const spec = anchorTrialCwd(parseSpecText(readFileSync(file, 'utf8'), file), file);
    h.provider.validate(spec);
    const started = Date.now();
    const { ref, trials } = await run(h, spec);
    const elapsed = Date.now() - started;

    expect(trials).toHaveLength(12);
    expect(trials.every((t) => t.status === 'succeeded' && t.objectiveStatus === 'succeeded')).toBe(true);
    const scores = trials.map((t) => t.objectiveValue ?? NaN);
    const [best, worst] = [Math.max(...scores), Math.min(...scores)];
    expect(best).toBeGreaterThan(worst);
    expect(best).toBeGreaterThan(0.9);
    const observation = await h.provider.describe(ref);
    expect(observation).toMatchObject({ status: 'succeeded', trialCounts: { succeeded: 12 } });
    const bestTrial = trials.find((t) => t.trialId === observation.providerBestTrialId);
    expect(bestTrial?.objectiveValue).toBe(best);
    expect(existsSync(join(fileURLToPath(bestTrial?.artifactUri ?? ''), 'model.json'))).toBe(true);
    console.info(`iris-forest: 12 trials, 3 in parallel, ${elapsed} ms; accuracy ${worst} .. ${best}`);
  }, 60_000);
  describe('job outcome facts', () => {
    it('counts trials and trials without objective, and keeps the last line and log of such a trial', async () => {
      const h = harness();
      // x=2 prints no score: it exits 0 without its objective
      const spec = inlineSpec('if (hp.x === "2") console.log("done, but no metric"); else console.log("score=" + hp.x);');
      const { ref, trials } = await run(h, spec);
      const silent = trials.find((t) => t.hyperparameters['x'] === '2');
      expect(silent).toMatchObject({ status: 'succeeded', objectiveStatus: 'failed' });
      expect(silent?.failureReason).toContain('last output: done, but no metric');
      expect(silent?.failureReason).toMatch(/log: .*logs[\\/]job-.*-t00\d\.log$/);
      const observation = await h.provider.describe(ref);
      expect(observation).toMatchObject({ status: 'succeeded', trialCounts: { succeeded: 3 }, endReason: 'budget.maxTrials (3) used' });
      expect(observation.flags).toEqual(expect.arrayContaining(['objective-succeeded:2', 'objective-failed:1', 'succeeded-without-objective:1']));
      // the job event carries the same facts, in the engine's words
      const last = h.events.filter((e) => e['detail-type'] === 'Local Tuning Job State Change').at(-1);
      expect(last?.detail).toMatchObject({ status: 'COMPLETED', trialCounts: { COMPLETED: 3 }, completedWithoutObjective: 1, endReason: 'budget.maxTrials (3) used' });
    });

    it('says the target objective ended the job, after how many trials', async () => {
      const h = harness();
      const spec = inlineSpec('console.log("score=" + hp.x);', { budget: { maxTrials: 3, parallelTrials: 1, targetObjective: 1 } });
      const { ref } = await run(h, spec);
      expect((await h.provider.describe(ref)).endReason).toBe('target objective 1 reached after 1 of 3 trial(s) (budget.targetObjective)');
    });

    it('says too many failed trials ended the job', async () => {
      const h = harness();
      const spec = inlineSpec('process.exit(1);', { budget: { maxTrials: 3, parallelTrials: 1, maxFailedTrials: 1 } });
      const { ref } = await run(h, spec);
      expect(await h.provider.describe(ref)).toMatchObject({ status: 'failed', endReason: 'too many failed trials: 1 trial(s) failed, budget.maxFailedTrials is 1' });
    });

    it('maps a job event detail to an observation with counts, flags and the end reason', () => {
      const observation = localJobObservation(
        { status: 'COMPLETED', endReason: 'budget.maxTrials (12) used', trialCounts: { COMPLETED: 10, FAILED: 2 }, objectiveCounts: { succeeded: 8, failed: 4 }, completedWithoutObjective: 2 },
        '2026-01-01T00:00:00.000Z',
      );
      expect(observation).toEqual({
        status: 'succeeded',
        providerStatus: 'COMPLETED',
        observedAt: '2026-01-01T00:00:00.000Z',
        trialCounts: { succeeded: 10, failed: 2 },
        endReason: 'budget.maxTrials (12) used',
        flags: ['objective-succeeded:8', 'objective-failed:4', 'succeeded-without-objective:2'],
      });
      // an event without counts says nothing about them
      expect(localJobObservation({ status: 'RUNNING' }, '2026-01-01T00:00:00.000Z')).not.toHaveProperty('trialCounts');
    });
  });
});
