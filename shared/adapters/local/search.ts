import { randomBytes } from 'node:crypto';
import type { FieldIssue } from '../../domain/errors';
import type { Goal, ParameterSpec, Scale, TuningSpec } from '../../domain/spec';

/**
 * The local engine's search strategies. grid and random draw their points up front (a resumed run
 * skips the point indexes that finished); bayesian asks a `Sampler` for each next point, from the
 * results so far. hyperband belongs to SageMaker.
 */
export const LOCAL_STRATEGIES = ['grid', 'random', 'bayesian'] as const;
export type LocalStrategy = (typeof LOCAL_STRATEGIES)[number];

/** One trial's tuned values, as strings (the way every provider passes hyperparameters). */
export type ParameterPoint = Readonly<Record<string, string>>;

/** A finished trial as a sampler sees it; `value` undefined: it failed, or reported no objective. */
export interface TrialResult {
  readonly point: ParameterPoint;
  readonly value: number | undefined;
}

/**
 * A search that learns from results (TPE): asked for one point at a time, with the finished
 * trials and the points of the trials still running (so it does not suggest them twice).
 * `index` numbers the suggestion within the job (0-based), so a seeded sampler repeats.
 *
 * @example const point = sampler.suggest([{ point: { x: '2' }, value: 0.9 }], [{ x: '3' }], 2);
 */
export interface Sampler {
  suggest(finished: readonly TrialResult[], pending: readonly ParameterPoint[], index: number): ParameterPoint;
}

/** What a sampler is built from: the search space, the goal and the job's seed. */
export type SamplerFactory = (parameters: readonly ParameterSpec[], options: { readonly goal: Goal; readonly seed: number }) => Sampler;

/** The field issue of a strategy the local engine does not run; undefined for the ones it does. */
export function strategyIssue(spec: TuningSpec): FieldIssue | undefined {
  if ((LOCAL_STRATEGIES as readonly string[]).includes(spec.strategy)) return undefined;
  const local = `the local engine searches with ${LOCAL_STRATEGIES.join(', ')}`;
  if (spec.strategy === 'hyperband') {
    return { path: 'strategy', message: `hyperband runs on SageMaker only (its Hyperband strategy); ${local}, and stops trials that fall behind with earlyStopping: auto` };
  }
  return { path: 'strategy', message: `${local}, not ${spec.strategy}` };
}

/** A uniform number in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: small, fast, and good enough to spread trials over a search space. Not for secrets.
 * @example const rng = createRng(42); rng(); // 0.6011037519201636
 */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The search seed: `labels.seed` when the spec has one (a number, or other text, hashed), so runs
 * repeat; otherwise a fresh random one.
 */
export function resolveSeed(spec: TuningSpec): number {
  const label = spec.labels.seed;
  if (label === undefined) return randomBytes(4).readUInt32BE(0);
  const n = Number(label);
  if (Number.isSafeInteger(n)) return n >>> 0;
  let hash = 0x811c9dc5; // FNV-1a
  for (const ch of label) hash = Math.imul(hash ^ (ch.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  return hash;
}

/**
 * Field issues of the search rules: grid needs a finite grid (no double ranges); a log scale
 * needs min > 0; a reverse_log scale needs 0 <= min and max < 1 (it samples 1 - x log-uniformly).
 */
export function searchIssues(spec: TuningSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  spec.parameters.forEach((p, i) => {
    if (spec.strategy === 'grid' && p.type === 'double') {
      issues.push({ path: `parameters[${i}].type`, message: 'double has no grid: grid search takes integer, categorical and discrete parameters' });
    }
    if (p.type !== 'double' && p.type !== 'integer') return;
    if (p.scale === 'log' && p.min <= 0) {
      issues.push({ path: `parameters[${i}].min`, message: 'must be above 0 for scale log' });
    }
    if (p.scale === 'reverse_log') {
      if (p.min < 0) issues.push({ path: `parameters[${i}].min`, message: 'must be at least 0 for scale reverse_log' });
      if (p.max >= 1) issues.push({ path: `parameters[${i}].max`, message: 'must be below 1 for scale reverse_log' });
    }
  });
  return issues;
}

/** The values of one parameter on the grid, in spec order (integers: every integer of the range). */
function gridAxis(p: ParameterSpec): { readonly size: number; readonly at: (i: number) => string } {
  switch (p.type) {
    case 'integer':
      return { size: p.max - p.min + 1, at: (i) => String(p.min + i) };
    case 'categorical':
      return { size: p.values.length, at: (i) => p.values[i] ?? '' };
    case 'discrete':
      return { size: p.values.length, at: (i) => String(p.values[i]) };
    case 'double':
      throw new Error(`parameter ${p.name}: a double range has no grid (validate the spec first)`);
  }
}

/** Every point of the grid, the last parameter turning fastest (an odometer); lazy, so large grids cost nothing. */
export function* gridPoints(parameters: readonly ParameterSpec[]): Generator<ParameterPoint> {
  const axes = parameters.map(gridAxis);
  if (axes.some((a) => a.size <= 0)) return;
  const digits = axes.map(() => 0);
  for (;;) {
    yield Object.fromEntries(parameters.map((p, k) => [p.name, axes[k]!.at(digits[k]!)]));
    let k = axes.length - 1;
    for (; k >= 0; k--) {
      digits[k] = digits[k]! + 1;
      if (digits[k]! < axes[k]!.size) break;
      digits[k] = 0;
    }
    if (k < 0) return;
  }
}

function logUniform(rng: Rng, min: number, max: number): number {
  return Math.exp(Math.log(min) + rng() * (Math.log(max) - Math.log(min)));
}

/** A continuous draw in [min, max] under the scale; dense near min for log, near max for reverse_log. */
function drawScaled(rng: Rng, min: number, max: number, scale: Scale): number {
  if (min === max) return min;
  switch (scale) {
    case 'log':
      return logUniform(rng, min, max);
    case 'reverse_log':
      return 1 - logUniform(rng, 1 - max, 1 - min);
    default:
      return min + rng() * (max - min);
  }
}

function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}

/**
 * A double as the search writes it: six significant digits, clamped into [min, max] (the rule
 * `sampleParameter` applies; samplers that draw their own numbers format them with this).
 * @example formatDouble(0.123456789, 0, 1); // '0.123457'
 */
export function formatDouble(value: number, min: number, max: number): string {
  return String(clamp(Number(value.toPrecision(6)), min, max));
}

/** One random value of a parameter, as a string. */
export function sampleParameter(p: ParameterSpec, rng: Rng): string {
  switch (p.type) {
    case 'double':
      // Six significant digits: plenty for a search, and readable in argv, logs and the ledger.
      return String(clamp(Number(drawScaled(rng, p.min, p.max, p.scale).toPrecision(6)), p.min, p.max));
    case 'integer': {
      // Widen by half a step each side so rounding gives the end points their fair share (for a
      // log scale min >= 1, so the lower edge stays above 0). reverse_log leaves only {0} here.
      const [lo, hi] = p.scale === 'reverse_log' ? [p.min, p.max] : [p.min - 0.5, p.max + 0.5];
      return String(clamp(Math.round(drawScaled(rng, lo, hi, p.scale)), p.min, p.max));
    }
    case 'categorical':
      return p.values[Math.floor(rng() * p.values.length)] ?? p.values[0] ?? '';
    case 'discrete':
      return String(p.values[Math.floor(rng() * p.values.length)] ?? p.values[0]);
  }
}

export function* randomPoints(parameters: readonly ParameterSpec[], rng: Rng): Generator<ParameterPoint> {
  for (;;) yield Object.fromEntries(parameters.map((p) => [p.name, sampleParameter(p, rng)]));
}

/**
 * The points grid or random search will try, at most `budget.maxTrials`; a grid stops when exhausted.
 * Validate first (`searchIssues`): a double on a grid throws here.
 *
 * @example for (const point of searchPoints(spec, resolveSeed(spec))) run(point);
 */
export function* searchPoints(spec: TuningSpec, seed: number): Generator<ParameterPoint> {
  const source = spec.strategy === 'grid' ? gridPoints(spec.parameters) : randomPoints(spec.parameters, createRng(seed));
  for (let n = 0; n < spec.budget.maxTrials; n++) {
    const next = source.next();
    if (next.done) return;
    yield next.value;
  }
}

/** How many points the grid has (Infinity-safe for huge integer ranges: a plain number). */
export function gridSize(parameters: readonly ParameterSpec[]): number {
  return parameters.reduce((n, p) => n * (p.type === 'double' ? Infinity : gridAxis(p).size), 1);
}
