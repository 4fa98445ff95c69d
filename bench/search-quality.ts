import { cpus, loadavg } from 'node:os';
import * as echarts from 'echarts';
import { MedianStoppingRule } from '../shared/adapters/local/early-stopping';
import { createRng, gridPoints, gridSize, randomPoints, type ParameterPoint, type Rng } from '../shared/adapters/local/search';
import { TpeSampler, type TrialResult } from '../shared/adapters/local/tpe';
import type { Goal, ParameterSpec } from '../shared/domain/spec';
import { median, percentile } from './stats';
import { BRANIN, gaussian, HARTMANN6, HARTMANN6_OPTIMUM, IRIS_FOREST, irisMatchesScript, NOISY_BRANIN, type TestFunction } from './test-functions';

/**
 * The search-quality benchmark of issue 14, in process: random, grid (where the space has one)
 * and bayesian (TpeSampler) on Branin, Hartmann-6, a noisy Branin and the iris forest, 20 seeds
 * each; the TPE's suggestion time at 1,000 finished trials; and what the median stopping rule
 * saves on simulated learning curves.
 */

export const SEEDS = 20;
export const TRIALS = 50;
/** Parallel trials of the constant-liar check. */
export const PARALLEL = 3;
/** Bayesian's targets, on the median curve: reach random's median best-of-50 within this many trials. */
export const REACH_TARGETS: Readonly<Record<string, number>> = { [BRANIN.name]: 25, [HARTMANN6.name]: 30 };
export const OVERHEAD_TARGET_MS = 5;
export const STOPPING_SAVING_TARGET = 0.3;

export type StrategyLabel = 'random' | 'grid' | 'bayesian' | `bayesian, ${number} in parallel`;

export interface StrategyFigures {
  readonly strategy: StrategyLabel;
  /** Why it was not run (grid over doubles); the curves are empty then. */
  readonly notApplicable?: string;
  /** Best-so-far per seed: curves[seed][n - 1] is the best after n trials. */
  readonly curves: readonly (readonly number[])[];
  readonly median: readonly number[];
  readonly q25: readonly number[];
  readonly q75: readonly number[];
  /** The first trial count at which the median curve is at least as good as random's median best after all trials. */
  readonly trialsToReachRandom: number | undefined;
  readonly seconds: number;
}

export interface FunctionFigures {
  readonly name: string;
  readonly about: string;
  readonly goal: Goal;
  readonly optimum?: number;
  readonly trials: number;
  readonly strategies: readonly StrategyFigures[];
  /** Extra words for the method line (what was left out, and why). */
  readonly note?: string;
}

export interface OverheadFigures {
  readonly parameters: number;
  readonly finished: number;
  readonly rounds: number;
  readonly callsPerRound: number;
  /** Mean wall-clock ms per `suggest` call in each round at `finished` trials. */
  readonly msPerSuggest: readonly number[];
  readonly medianMs: number;
  /** The process's CPU time (user + system) per call in the same rounds: the sampler's work without the other processes on the machine. */
  readonly cpuMsPerSuggest: readonly number[];
  readonly cpuMedianMs: number;
  /** The 1-minute load average when the rounds ended, and the machine's cores. */
  readonly loadAverage: number;
  readonly cores: number;
  /** The same at `smallFinished` trials, measured in the same rounds (interleaved). */
  readonly smallFinished: number;
  readonly smallMsPerSuggest: readonly number[];
  readonly smallMedianMs: number;
}

export interface StoppingRow {
  readonly sampler: 'bayesian' | 'random';
  readonly stepsWithout: number;
  readonly stepsWith: number;
  /** 1 - stepsWith / stepsWithout, over all seeds. */
  readonly saved: number;
  readonly stoppedTrials: number;
  readonly trials: number;
  readonly medianBestWithout: number;
  readonly medianBestWith: number;
}

export interface EarlyStoppingFigures {
  readonly seeds: number;
  readonly trials: number;
  readonly steps: number;
  readonly start: number;
  readonly tauRange: readonly [number, number];
  readonly noise: number;
  /** "Equal median best": with stopping no worse than without by more than this. */
  readonly tolerance: number;
  readonly rows: readonly StoppingRow[];
}

export interface SearchQualityFigures {
  readonly seeds: number;
  readonly functions: readonly FunctionFigures[];
  readonly overhead: OverheadFigures;
  readonly earlyStopping: EarlyStoppingFigures;
  readonly seconds: number;
}

const better = (goal: Goal, a: number, b: number) => (goal === 'minimize' ? a < b : a > b);
const atLeastAsGood = (goal: Goal, a: number, b: number) => (goal === 'minimize' ? a <= b : a >= b);

/** The noise stream of one seed: every strategy draws the same sequence, one draw per trial in completion order. */
const noiseStream = (seed: number): Rng => createRng((seed ^ 0x5bd1e995) >>> 0);

/**
 * A best-so-far curve: the point with the best observed value so far, scored by its noiseless
 * value (for a noiseless function, simply the best value so far).
 */
class BestSoFar {
  private observed: number | undefined;
  private truth = Number.NaN;
  readonly curve: number[] = [];
  constructor(
    private readonly fn: TestFunction,
    private readonly noise: Rng,
  ) {}
  /** Runs the point, records the curve, and returns the value the sampler sees. */
  run(point: ParameterPoint): number {
    const value = this.fn.observe(point, this.noise);
    if (this.observed === undefined || better(this.fn.goal, value, this.observed)) {
      this.observed = value;
      this.truth = this.fn.truth(point);
    }
    this.curve.push(this.truth);
    return value;
  }
}

function fromSource(fn: TestFunction, seed: number, trials: number, source: Iterator<ParameterPoint>): number[] {
  const best = new BestSoFar(fn, noiseStream(seed));
  for (let i = 0; i < trials; i++) {
    const next = source.next();
    if (next.done) break;
    best.run(next.value);
  }
  return best.curve;
}

/** Sequential TPE: each suggestion sees every earlier trial finished. */
function bayesian(fn: TestFunction, seed: number, trials: number): number[] {
  const sampler = new TpeSampler(fn.parameters, { goal: fn.goal, seed });
  const best = new BestSoFar(fn, noiseStream(seed));
  const finished: TrialResult[] = [];
  for (let i = 0; i < trials; i++) {
    const point = sampler.suggest(finished, [], i);
    finished.push({ point, value: best.run(point) });
  }
  return best.curve;
}

/**
 * TPE with `parallel` trials running: the oldest running trial finishes next, and its slot gets a
 * suggestion that sees the others as pending (the constant liar).
 */
function bayesianParallel(fn: TestFunction, seed: number, trials: number, parallel: number): number[] {
  const sampler = new TpeSampler(fn.parameters, { goal: fn.goal, seed });
  const best = new BestSoFar(fn, noiseStream(seed));
  const finished: TrialResult[] = [];
  const running: ParameterPoint[] = [];
  let issued = 0;
  while (issued < Math.min(parallel, trials)) running.push(sampler.suggest(finished, running, issued++));
  while (running.length > 0) {
    const point = running.shift() as ParameterPoint;
    finished.push({ point, value: best.run(point) });
    if (issued < trials) running.push(sampler.suggest(finished, running, issued++));
  }
  return best.curve;
}

function quantileCurve(curves: readonly (readonly number[])[], p: number): number[] {
  const length = Math.min(...curves.map((c) => c.length));
  return Array.from({ length }, (_, i) => percentile(curves.map((c) => c[i] as number), p));
}

function trialsToReach(goal: Goal, curve: readonly number[], target: number | undefined): number | undefined {
  if (target === undefined) return undefined;
  const i = curve.findIndex((v) => atLeastAsGood(goal, v, target));
  return i < 0 ? undefined : i + 1;
}

function strategyFigures(strategy: StrategyLabel, curves: number[][], seconds: number): Omit<StrategyFigures, 'trialsToReachRandom'> {
  return { strategy, curves, median: quantileCurve(curves, 50), q25: quantileCurve(curves, 25), q75: quantileCurve(curves, 75), seconds };
}

function timed(run: () => number[][]): { curves: number[][]; seconds: number } {
  const started = performance.now();
  const curves = run();
  return { curves, seconds: (performance.now() - started) / 1000 };
}

function measureFunction(fn: TestFunction, options: { trials: number; parallel: boolean; note?: string }): FunctionFigures {
  const seeds = Array.from({ length: SEEDS }, (_, s) => s + 1);
  const { trials } = options;
  const rows: Omit<StrategyFigures, 'trialsToReachRandom'>[] = [];
  const random = timed(() => seeds.map((seed) => fromSource(fn, seed, trials, randomPoints(fn.parameters, createRng(seed)))));
  rows.push(strategyFigures('random', random.curves, random.seconds));
  const gridless = gridlessReason(fn.parameters);
  if (gridless) rows.push({ strategy: 'grid', notApplicable: gridless, curves: [], median: [], q25: [], q75: [], seconds: 0 });
  else {
    // The grid has no seed; the noise stream still differs by seed.
    const grid = timed(() => seeds.map((seed) => fromSource(fn, seed, trials, gridPoints(fn.parameters))));
    rows.push(strategyFigures('grid', grid.curves, grid.seconds));
  }
  const tpe = timed(() => seeds.map((seed) => bayesian(fn, seed, trials)));
  rows.push(strategyFigures('bayesian', tpe.curves, tpe.seconds));
  if (options.parallel) {
    const par = timed(() => seeds.map((seed) => bayesianParallel(fn, seed, trials, PARALLEL)));
    rows.push(strategyFigures(`bayesian, ${PARALLEL} in parallel`, par.curves, par.seconds));
  }
  const randomBest = rows[0]?.median.at(-1);
  return {
    name: fn.name,
    about: fn.about,
    goal: fn.goal,
    ...(fn.optimum === undefined ? {} : { optimum: fn.optimum }),
    trials,
    strategies: rows.map((r) => ({ ...r, trialsToReachRandom: r.notApplicable ? undefined : trialsToReach(fn.goal, r.median, randomBest) })),
    ...(options.note ? { note: options.note } : {}),
  };
}

function gridlessReason(parameters: readonly ParameterSpec[]): string | undefined {
  const doubles = parameters.filter((p) => p.type === 'double').map((p) => p.name);
  if (doubles.length) return `n/a: ${doubles.join(', ')} ${doubles.length === 1 ? 'is a double' : 'are doubles'} (no grid)`;
  return gridSize(parameters) > 0 ? undefined : 'n/a: empty grid';
}

/**
 * TPE's `suggest` time with 1,000 finished trials of Hartmann-6's six doubles. Each round times a
 * batch of calls at 1,000 finished trials and a batch at 100, interleaved, so a slow spell of the
 * machine lands on both; the figure is the median round.
 */
function measureOverhead(): OverheadFigures {
  const finishedCount = 1000;
  const smallCount = 100;
  const rounds = 7;
  const calls = 10;
  const rng = createRng(2026);
  const points = randomPoints(HARTMANN6.parameters, rng);
  const history: TrialResult[] = Array.from({ length: finishedCount }, () => {
    const point = points.next().value as ParameterPoint;
    return { point, value: HARTMANN6.truth(point) };
  });
  const small = history.slice(0, smallCount);
  const sampler = new TpeSampler(HARTMANN6.parameters, { goal: 'minimize', seed: 7 });
  const batch = (finished: readonly TrialResult[], round: number) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < calls; i++) sampler.suggest(finished, [], finished.length + round * calls + i);
    const wall = (performance.now() - started) / calls;
    const used = process.cpuUsage(cpu);
    return { wall, cpu: (used.user + used.system) / 1000 / calls };
  };
  batch(history, -2); // warm-up: the JIT compiles the hot loops
  batch(small, -1);
  const large: number[] = [];
  const largeCpu: number[] = [];
  const smallMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const l = batch(history, round);
    large.push(l.wall);
    largeCpu.push(l.cpu);
    smallMs.push(batch(small, round).wall);
  }
  return {
    parameters: HARTMANN6.parameters.length,
    finished: finishedCount,
    rounds,
    callsPerRound: calls,
    msPerSuggest: large,
    medianMs: median(large),
    cpuMsPerSuggest: largeCpu,
    cpuMedianMs: median(largeCpu),
    loadAverage: loadavg()[0] ?? Number.NaN,
    cores: cpus().length,
    smallFinished: smallCount,
    smallMsPerSuggest: smallMs,
    smallMedianMs: median(smallMs),
  };
}

/** Learning curves: a loss falling from `start` toward the configuration's Hartmann-6 value. */
const CURVE = { steps: 25, start: 0.5, tau: [2, 8] as const, noise: 0.01 };
/** 1% of Hartmann-6's optimum's magnitude. */
const STOPPING_TOLERANCE = 0.01 * Math.abs(HARTMANN6_OPTIMUM);

/** A configuration's own stream: the same point learns the same way (its τ and its noise) in both runs. */
function pointHash(point: ParameterPoint, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0; // FNV-1a
  for (const ch of JSON.stringify(point)) hash = Math.imul(hash ^ (ch.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  return hash;
}

/** The curve of one trial: value after each step 1..steps. */
function learningCurve(point: ParameterPoint, seed: number): number[] {
  const rng = createRng(pointHash(point, seed));
  const asymptote = HARTMANN6.truth(point);
  const tau = CURVE.tau[0] + (CURVE.tau[1] - CURVE.tau[0]) * rng();
  return Array.from({ length: CURVE.steps }, (_, i) => asymptote + (CURVE.start - asymptote) * Math.exp(-(i + 1) / tau) + CURVE.noise * gaussian(rng));
}

interface StoppingRun {
  readonly steps: number;
  readonly stopped: number;
  readonly best: number;
}

/** One seed's 50 trials, one at a time, each trial's value the last it reported (where it stopped, if stopped). */
function curveRun(sampler: 'bayesian' | 'random', seed: number, stopping: boolean): StoppingRun {
  const tpe = new TpeSampler(HARTMANN6.parameters, { goal: 'minimize', seed });
  const random = randomPoints(HARTMANN6.parameters, createRng(seed));
  const rule = stopping ? new MedianStoppingRule({ goal: 'minimize' }) : undefined;
  const finished: TrialResult[] = [];
  let steps = 0;
  let stopped = 0;
  let best = Infinity;
  for (let i = 0; i < TRIALS; i++) {
    const point = sampler === 'bayesian' ? tpe.suggest(finished, [], i) : (random.next().value as ParameterPoint);
    const curve = learningCurve(point, seed);
    const id = `trial-${i}`;
    let value = Number.NaN;
    let stoppedHere = false;
    for (const [k, v] of curve.entries()) {
      steps++;
      value = v;
      if (rule?.report(id, k + 1, v)) {
        stoppedHere = true;
        break;
      }
    }
    // As the engine does: a completed curve sets the bar, a stopped one is dropped.
    if (stoppedHere) {
      stopped++;
      rule?.discard(id);
    } else rule?.complete(id);
    finished.push({ point, value });
    best = Math.min(best, value);
  }
  return { steps, stopped, best };
}

function measureEarlyStopping(): EarlyStoppingFigures {
  const seeds = Array.from({ length: SEEDS }, (_, s) => s + 1);
  const rows = (['bayesian', 'random'] as const).map((sampler): StoppingRow => {
    const without = seeds.map((seed) => curveRun(sampler, seed, false));
    const withRule = seeds.map((seed) => curveRun(sampler, seed, true));
    const sum = (runs: readonly StoppingRun[], key: 'steps' | 'stopped') => runs.reduce((a, r) => a + r[key], 0);
    return {
      sampler,
      stepsWithout: sum(without, 'steps'),
      stepsWith: sum(withRule, 'steps'),
      saved: 1 - sum(withRule, 'steps') / sum(without, 'steps'),
      stoppedTrials: sum(withRule, 'stopped'),
      trials: SEEDS * TRIALS,
      medianBestWithout: median(without.map((r) => r.best)),
      medianBestWith: median(withRule.map((r) => r.best)),
    };
  });
  return { seeds: SEEDS, trials: TRIALS, steps: CURVE.steps, start: CURVE.start, tauRange: CURVE.tau, noise: CURVE.noise, tolerance: STOPPING_TOLERANCE, rows };
}

/**
 * Every figure of the search-quality benchmark; `log` hears of each step (a few minutes in all,
 * most of it the iris forest's training).
 */
export async function measureSearchQuality(log: (line: string) => void = () => undefined): Promise<SearchQualityFigures> {
  const started = performance.now();
  const functions: FunctionFigures[] = [];
  for (const fn of [BRANIN, HARTMANN6, NOISY_BRANIN]) {
    log(`search quality: ${fn.name}`);
    functions.push(measureFunction(fn, { trials: TRIALS, parallel: true }));
    await yieldToLoop();
  }
  log(`search quality: ${IRIS_FOREST.name}, the in-process objective checked against train.mjs`);
  const checked = irisMatchesScript(IRIS_SCRIPT_CHECKS);
  log(`search quality: ${IRIS_FOREST.name} (trains forests; the slow part)`);
  functions.push(
    measureFunction(IRIS_FOREST, {
      trials: TRIALS,
      parallel: false,
      note: `checked equal to \`node train.mjs\` on ${checked} random points before the run; the ${PARALLEL}-in-parallel run is left out here (each evaluation trains 5 forests; it would add half again to the benchmark's time)`,
    }),
  );
  log('search quality: suggestion overhead');
  const overhead = measureOverhead();
  log('search quality: median stopping on learning curves');
  const earlyStopping = measureEarlyStopping();
  return { seeds: SEEDS, functions, overhead, earlyStopping, seconds: (performance.now() - started) / 1000 };
}

/** Points on which the in-process iris objective is compared with train.mjs run as a trial runs it. */
const IRIS_SCRIPT_CHECKS = 3;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether bayesian's median best after all trials is at least as good as random's. */
export function bayesianNotWorse(f: FunctionFigures): { pass: boolean; bayesian: number; random: number } {
  const b = f.strategies.find((s) => s.strategy === 'bayesian')?.median.at(-1) ?? Number.NaN;
  const r = f.strategies.find((s) => s.strategy === 'random')?.median.at(-1) ?? Number.NaN;
  return { pass: atLeastAsGood(f.goal, b, r), bayesian: b, random: r };
}

const COLOURS: Readonly<Record<string, string>> = { random: '#7f7f7f', grid: '#2ca02c', bayesian: '#1f77b4', parallel: '#ff7f0e' };
const colourOf = (s: StrategyLabel) => COLOURS[s.startsWith('bayesian, ') ? 'parallel' : s] ?? '#000000';

/**
 * The plot: best-so-far against trials, one panel per function, per strategy its median (line)
 * and 25-75% band (ECharts, rendered server-side to SVG).
 */
export function searchQualitySvg(f: SearchQualityFigures): string {
  const width = 1200;
  const panelHeight = 340;
  const columns = 2;
  const rows = Math.ceil(f.functions.length / columns);
  const height = 70 + rows * panelHeight;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  const grid: echarts.GridComponentOption[] = [];
  const xAxis: echarts.XAXisComponentOption[] = [];
  const yAxis: echarts.YAXisComponentOption[] = [];
  const title: echarts.TitleComponentOption[] = [{ text: `Best so far against trials: median and 25–75% band over ${f.seeds} seeds`, left: 'center', top: 4, textStyle: { fontSize: 15 } }];
  const series: echarts.SeriesOption[] = [];
  const names = new Set<string>();
  f.functions.forEach((fn, k) => {
    const left = (k % columns) * (width / columns);
    const top = 70 + Math.floor(k / columns) * panelHeight;
    grid.push({ left: left + 70, top: top + 30, width: width / columns - 110, height: panelHeight - 80 });
    title.push({ text: fn.name + (fn.goal === 'maximize' ? ' (higher is better)' : ''), left: left + width / columns / 2, top, textAlign: 'center', textStyle: { fontSize: 13 } });
    const shown = fn.strategies.filter((s) => !s.notApplicable);
    // Keep the informative part: the axis ends at the worst median after 5 trials; earlier bands are clipped.
    const early = shown.map((s) => s.median[Math.min(4, s.median.length - 1)] as number);
    const late = shown.flatMap((s) => [...s.q25, ...s.q75]);
    const [lo, hi] = fn.goal === 'minimize' ? [Math.min(...late, fn.optimum ?? Infinity), Math.max(...early)] : [Math.min(...early), Math.max(...late)];
    const [axisMin, axisMax, interval] = niceRange(lo, hi);
    xAxis.push({ type: 'category', gridIndex: k, data: Array.from({ length: fn.trials }, (_, i) => String(i + 1)), name: 'trials', nameLocation: 'middle', nameGap: 26, boundaryGap: false, axisLabel: { interval: 4 } });
    yAxis.push({ type: 'value', gridIndex: k, min: axisMin, max: axisMax, interval, scale: true, splitLine: { lineStyle: { color: '#eeeeee' } } });
    for (const s of shown) {
      const colour = colourOf(s.strategy);
      const stack = `${fn.name} ${s.strategy}`;
      names.add(s.strategy);
      series.push(
        { type: 'line', xAxisIndex: k, yAxisIndex: k, data: [...s.q25], stack, stackStrategy: 'all', symbol: 'none', lineStyle: { opacity: 0 }, silent: true },
        { type: 'line', xAxisIndex: k, yAxisIndex: k, data: s.q75.map((v, i) => v - (s.q25[i] as number)), stack, stackStrategy: 'all', symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color: colour, opacity: 0.15 }, silent: true },
        { type: 'line', name: s.strategy, xAxisIndex: k, yAxisIndex: k, data: [...s.median], symbol: 'none', lineStyle: { color: colour, width: 2 }, itemStyle: { color: colour } },
      );
    }
    if (fn.optimum !== undefined) {
      series.push({ type: 'line', xAxisIndex: k, yAxisIndex: k, data: [], markLine: { silent: true, symbol: 'none', label: { formatter: `optimum ${fn.optimum}`, position: 'insideStartTop' }, lineStyle: { color: '#999999', type: 'dashed' }, data: [{ yAxis: fn.optimum }] } });
    }
  });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    title,
    legend: { top: 30, data: [...names], itemStyle: {} },
    grid,
    xAxis,
    yAxis,
    series,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

/**
 * A round tick interval (2, 1, 0.5 or 0.2 times a power of ten) giving 4 to 10 ticks over [lo, hi],
 * and axis ends on it just outside; set explicitly, since ECharts' own ticks crowd a fixed min's label.
 */
function niceRange(lo: number, hi: number): [number, number, number] {
  const range = Math.max(hi - lo, 1e-9);
  const power = 10 ** Math.floor(Math.log10(range));
  const at = (v: number) => Number(v.toPrecision(12));
  const interval = [2, 1, 0.5, 0.2].map((k) => at(k * power)).find((step) => range / step >= 4) ?? at(0.1 * power);
  return [at(Math.floor(lo / interval) * interval), at(Math.ceil(hi / interval) * interval), interval];
}
