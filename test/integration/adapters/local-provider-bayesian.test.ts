import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalProvider, type LocalProviderEvent, type LocalProviderOptions } from '../../../shared/adapters/local/local-provider';
import { SpecValidationError } from '../../../shared/domain/errors';
import type { ProviderJobRef } from '../../../shared/domain/job';
import { parseSpec, type TuningSpec } from '../../../shared/domain/spec';
import type { Trial } from '../../../shared/domain/trial';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const node = process.execPath;

// ---- helpers ---------------------------------------------------------------------------------

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunewire-bayesian-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Harness {
  readonly provider: LocalProvider;
  readonly events: LocalProviderEvent[];
  readonly workDir: string;
}

function harness(options: Partial<LocalProviderOptions> = {}): Harness {
  const events: LocalProviderEvent[] = [];
  const workDir = options.workDir ?? tempDir();
  const provider = new LocalProvider({
    workDir,
    cwd: repoRoot,
    emit: async (event) => {
      events.push(event);
    },
    log: () => undefined,
    killGraceSeconds: 1,
    ...options,
  });
  cleanups.push(() => provider.close());
  return { provider, events, workDir };
}

/** A spec whose trials run `script` with node -e; the script sees its values in `hp` and its number in `n`. */
function inlineSpec(script: string, overrides: Record<string, unknown> = {}, regex = 'score=([-0-9.e]+)'): TuningSpec {
  const prelude = 'const hp = JSON.parse(process.env.TUNEWIRE_HYPERPARAMETERS); const n = Number(process.env.TUNEWIRE_TRIAL_ID.slice(-3));';
  return parseSpec({
    name: 'bayesian',
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [
      { name: 'x', type: 'double', min: 0, max: 1 },
      { name: 'k', type: 'categorical', values: ['a', 'b'] },
    ],
    strategy: 'bayesian',
    budget: { maxTrials: 4, parallelTrials: 1 },
    trial: { command: [node, '-e', `${prelude}\n${script}`], metrics: [{ name: 'score', regex }], timeoutSeconds: 60 },
    labels: { seed: '7' },
    ...overrides,
  });
}

let jobCounter = 0;
async function run(h: Harness, spec: TuningSpec): Promise<{ ref: ProviderJobRef; trials: readonly Trial[] }> {
  const jobId = `bayes-${process.pid}-${++jobCounter}`;
  const { ref, adopted } = await h.provider.create({ jobId, providerJobName: h.provider.providerJobName(jobId), spec });
  expect(adopted).toBe(false);
  await h.provider.waitForJob(ref.providerJobName);
  const { trials } = await h.provider.listTrials(ref, undefined, spec);
  return { ref, trials: [...trials].sort((a, b) => a.trialId.localeCompare(b.trialId)) };
}

function issues(provider: LocalProvider, spec: TuningSpec): { path: string; message: string }[] {
  try {
    provider.validate(spec);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(SpecValidationError);
    return (error as SpecValidationError).issues.map((i) => ({ path: i.path, message: i.message }));
  }
}

/**
 * Trials 1-5 and 7 report 0.9 at four steps and exit; trial 6 reports 0.1 at four steps, then
 * waits until it is ended: only the early-stopping rule (or its 60 s timeout, a failure) ends it,
 * so nothing here depends on which of two processes is faster.
 */
const CURVES = `const v = n === 6 ? 0.1 : 0.9;
for (const step of [10, 20, 30, 40]) console.log("score=" + v + " step=" + step);
if (n === 6) setInterval(() => {}, 1000);`;

// ---- tests -----------------------------------------------------------------------------------

describe('LocalProvider: bayesian search and early stopping', () => {
  describe('validate', () => {
    const { provider } = harness({ workDir: join(tmpdir(), 'tunewire-validate-unused') });

    it('accepts bayesian, and early stopping with every local strategy', () => {
      expect(issues(provider, inlineSpec('', { earlyStopping: 'auto' }))).toEqual([]);
      expect(issues(provider, inlineSpec('', { strategy: 'random', earlyStopping: 'auto' }))).toEqual([]);
    });

    it('refuses hyperband at strategy, naming the provider that has it', () => {
      expect(issues(provider, inlineSpec('', { strategy: 'hyperband' }))).toEqual([
        { path: 'strategy', message: expect.stringMatching(/^hyperband runs on SageMaker only \(its Hyperband strategy\); the local engine searches with grid, random, bayesian/) as string },
      ]);
    });
  });

  it('runs a bayesian job to its budget, one suggestion per trial, repeatable from labels.seed', async () => {
    const h = harness();
    const spec = inlineSpec('console.log("score=" + Number(hp.x).toFixed(4));');
    const first = await run(h, spec);
    const second = await run(h, spec);
    expect(first.trials).toHaveLength(4);
    expect(first.trials.every((t) => t.status === 'succeeded' && t.objectiveStatus === 'succeeded')).toBe(true);
    expect(new Set(first.trials.map((t) => JSON.stringify(t.hyperparameters))).size).toBe(4);
    expect(second.trials.map((t) => t.hyperparameters)).toEqual(first.trials.map((t) => t.hyperparameters));
    expect(await h.provider.describe(first.ref)).toMatchObject({ status: 'succeeded', endReason: 'budget.maxTrials (4) used' });
  }, 30_000);

  it('resumes a bayesian job from its journal: finished trials kept, the lost trial\'s point not replayed', async () => {
    const h = harness();
    const spec = inlineSpec('console.log("score=" + hp.x);');
    const { ref, trials: original } = await run(h, spec);
    // As if the engine had died while it ran the third trial: two finished, the third running.
    const file = join(h.workDir, 'jobs', `${ref.providerJobName}.json`);
    const deadPid = spawnSync(node, ['-e', '']).pid ?? 999_999;
    const state = JSON.parse(readFileSync(file, 'utf8')) as { trials: Record<string, unknown>[] } & Record<string, unknown>;
    const [first, second, third] = state.trials;
    const cut = { ...state, status: 'RUNNING', enginePid: deadPid, endReason: undefined, endedAt: undefined, trials: [first, second, { ...third, status: 'RUNNING', objectiveStatus: 'pending', pid: deadPid, endedAt: undefined, objectiveValue: undefined }] };
    writeFileSync(file, JSON.stringify(cut));

    const fresh = harness({ workDir: h.workDir });
    expect(await fresh.provider.recoverInterrupted()).toEqual([ref.providerJobName]);
    expect(await fresh.provider.resume(ref.providerJobName)).toEqual({ resumed: true });
    await fresh.provider.waitForJob(ref.providerJobName);
    const { trials } = await fresh.provider.listTrials(ref, undefined, spec);
    const id = (k: number) => `${ref.providerJobName}-t00${k}`;
    expect([...trials].sort((a, b) => a.trialId.localeCompare(b.trialId)).map((t) => [t.trialId, t.status])).toEqual([
      [id(1), 'succeeded'],
      [id(2), 'succeeded'],
      [id(3), 'stopped'],
      [id(4), 'succeeded'],
      [id(5), 'succeeded'],
    ]);
    const resumed = trials.filter((t) => t.trialId === id(4) || t.trialId === id(5)).map((t) => t.hyperparameters);
    expect(resumed).not.toContainEqual(original[2]?.hyperparameters);
    expect(trials.filter((t) => t.trialId <= id(2)).map((t) => t.hyperparameters)).toEqual(original.slice(0, 2).map((t) => t.hyperparameters));
    expect(await fresh.provider.describe(ref)).toMatchObject({ status: 'succeeded', trialCounts: { succeeded: 4, stopped: 1 } });
  }, 30_000);

  it('stops a trial that falls behind the median, records it stopped early with its value, and does not count it as failed', async () => {
    const h = harness();
    // maxFailedTrials 0: a stopped-early trial counted as a failure would fail the job
    const spec = inlineSpec(CURVES, { earlyStopping: 'auto', budget: { maxTrials: 7, parallelTrials: 1, maxFailedTrials: 0 } }, 'score=([-0-9.e]+)(?: step=(?<step>\\d+))?');
    const { ref, trials } = await run(h, spec);
    const stopped = trials.filter((t) => t.status === 'stopped');
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({
      trialId: `${ref.providerJobName}-t006`,
      stoppedEarly: true,
      objectiveValue: 0.1,
      objectiveStatus: 'succeeded',
      failureReason: 'stopped early (earlyStopping: auto): at step 40 its best 0.1 was worse than the median 0.9 of 5 completed trial(s)',
    });
    expect(trials.filter((t) => t.status === 'succeeded' && !t.stoppedEarly)).toHaveLength(6);
    const observation = await h.provider.describe(ref);
    expect(observation).toMatchObject({ status: 'succeeded', trialCounts: { succeeded: 6, stopped: 1 }, endReason: 'budget.maxTrials (7) used' });
    // the trial event says so too, in the engine's words
    const event = h.events.find((e) => e.detail.trial?.trialId === `${ref.providerJobName}-t006`);
    expect(event?.detail.trial).toMatchObject({ status: 'STOPPED', stoppedEarly: true, objectiveValue: 0.1 });
  }, 60_000);

  it('counts reports as steps when the regex names none, and never stops during the warm-up', async () => {
    const h = harness();
    // trial 6 reports three low values, then waits for its gate: within the warm-up, so it must run on
    const gate = join(tempDir(), 'gate');
    const script = `const fs = require("node:fs");
const v = n === 6 ? 0.1 : 0.9;
for (let s = 0; s < (n === 6 ? 3 : 4); s++) console.log("score=" + v);
if (n === 6) { const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(gate)})) clearInterval(t); }, 20); }`;
    const spec = inlineSpec(script, { earlyStopping: 'auto', budget: { maxTrials: 6, parallelTrials: 1 } });
    const jobId = `bayes-${process.pid}-${++jobCounter}`;
    const { ref } = await h.provider.create({ jobId, providerJobName: jobId, spec });
    // The engine logs a line right after judging it: once the log shows all three, they were judged.
    const log = join(h.workDir, 'jobs', jobId, 'logs', `${jobId}-t006.log`);
    const judged = (): boolean => existsSync(log) && readFileSync(log, 'utf8').split('score=').length - 1 >= 3;
    const deadline = Date.now() + 30_000;
    while (!judged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    writeFileSync(gate, '');
    await h.provider.waitForJob(ref.providerJobName);
    const { trials } = await h.provider.listTrials(ref, undefined, spec);
    expect(trials.map((t) => t.status)).toEqual(Array.from({ length: 6 }, () => 'succeeded'));
    expect(trials.find((t) => t.trialId.endsWith('-t006'))).toMatchObject({ stoppedEarly: false, objectiveValue: 0.1 });
  }, 60_000);

  it('stops with counted steps: a fourth report past the warm-up is judged', async () => {
    const h = harness();
    const spec = inlineSpec(CURVES.replace(' + " step=" + step', ''), { earlyStopping: 'auto', budget: { maxTrials: 7, parallelTrials: 1 } });
    const { trials } = await run(h, spec);
    expect(trials.find((t) => t.trialId.endsWith('-t006'))).toMatchObject({
      status: 'stopped',
      stoppedEarly: true,
      failureReason: expect.stringContaining('at step 4 its best 0.1') as string,
    });
  }, 60_000);
});
