import type { Goal, ParameterSpec } from '../../domain/spec';
import { createRng, formatDouble, sampleParameter, type ParameterPoint, type Rng } from './search';

/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011, "Algorithms for Hyper-Parameter
 * Optimization"), following Optuna's TPESampler with `multivariate=True`: the best
 * min(ceil(0.1 n), 25) observations model l(x), the rest (with failed and running trials) g(x).
 * Each observation is one kernel over all parameters at once (a product of truncated Gaussians and
 * categorical kernels), so a good region that couples parameters stays coupled: 24 candidates are
 * drawn from l(x), the one with the largest joint log l(x) - log g(x) wins. `multivariate: false`
 * models each parameter on its own (Optuna's default; weaker where parameters interact).
 * Pure: no I/O, no clock; the same history, seed and index give the same point.
 */

/** A finished trial as the sampler learns from it; value undefined: it failed or reported no objective. */
export interface TrialResult {
  readonly point: ParameterPoint;
  readonly value: number | undefined;
}

export interface TpeOptions {
  readonly goal: Goal;
  readonly seed: number;
  /** Random points before the model is used; default 10 (Optuna's n_startup_trials). */
  readonly startupTrials?: number;
  /** Candidates drawn from l(x) per suggestion (per parameter when not multivariate); default 24 (Optuna's n_ei_candidates). */
  readonly candidates?: number;
  /** One kernel per observation over all parameters jointly (default true), or one model per parameter. */
  readonly multivariate?: boolean;
}

const DEFAULT_STARTUP_TRIALS = 10;
const DEFAULT_CANDIDATES = 24;
/** Weight of the prior kernel against an observation's 1 (Optuna's prior_weight). */
const PRIOR_WEIGHT = 1;
/** Observations weighted flat before older ones ramp down (Optuna's default_weights). */
const FLAT_RECENT = 25;
const MAX_BELOW = 25;
/** The most kernels a mixture holds, and how many recent observations are never thinned (see `thin`). */
const MAX_KERNELS = 300;
const KEEP_RECENT = 100;
const SQRT_2PI = Math.sqrt(2 * Math.PI);

/** The number of observations that model the good region, l(x). */
function tpeGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), MAX_BELOW);
}

/**
 * Mixture weights of observations in trial order: the most recent 25 count 1, older ones ramp
 * linearly from 1/n up, so a long history adapts to where the search is now.
 */
function tpeWeights(n: number): number[] {
  if (n < FLAT_RECENT) return Array.from({ length: n }, () => 1);
  const ramp = n - FLAT_RECENT;
  const weights: number[] = [];
  for (let i = 0; i < ramp; i++) weights.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < FLAT_RECENT; i++) weights.push(1);
  return weights;
}

/**
 * How a numeric parameter maps into the space its kernels live in: the identity, log(x) for a log
 * scale, log(1 - x) for reverse_log. Integers widen half a step each side (as `sampleParameter`
 * does) and are scored by the mass of their rounding bin.
 */
interface NumericAxis {
  readonly kind: 'numeric';
  readonly name: string;
  readonly lo: number;
  readonly hi: number;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly toInternal: (x: number) => number;
  readonly fromInternal: (t: number) => number;
}

interface ChoiceAxis {
  readonly kind: 'choice';
  readonly name: string;
  readonly labels: readonly string[];
  /** The index of an observed value, or -1 when it is not one of the spec's values. */
  readonly indexOf: (value: string) => number;
}

interface FixedAxis {
  readonly kind: 'fixed';
  readonly name: string;
  readonly value: string;
}

type Axis = NumericAxis | ChoiceAxis | FixedAxis;

const identity = (x: number): number => x;

function numericAxis(p: ParameterSpec & { readonly type: 'double' | 'integer' }): Axis {
  if (p.min === p.max) return { kind: 'fixed', name: p.name, value: String(p.min) };
  const integer = p.type === 'integer';
  const [xlo, xhi] = integer ? [p.min - 0.5, p.max + 0.5] : [p.min, p.max];
  // An invalid scale (log with min <= 0, reverse_log outside [0, 1)) falls back to linear rather
  // than producing NaN; `searchIssues` refuses such specs before a search starts.
  let toInternal = identity;
  let fromInternal = identity;
  if (p.scale === 'log' && xlo > 0) {
    toInternal = Math.log;
    fromInternal = Math.exp;
  } else if (p.scale === 'reverse_log' && p.min >= 0 && p.max < 1 && xhi < 1) {
    toInternal = (x) => Math.log(1 - x);
    fromInternal = (t) => 1 - Math.exp(t);
  }
  const a = toInternal(xlo);
  const b = toInternal(xhi);
  return { kind: 'numeric', name: p.name, lo: Math.min(a, b), hi: Math.max(a, b), integer, min: p.min, max: p.max, toInternal, fromInternal };
}

function toAxis(p: ParameterSpec): Axis {
  switch (p.type) {
    case 'double':
    case 'integer':
      return numericAxis(p);
    case 'categorical': {
      const index = new Map(p.values.map((v, i) => [v, i]));
      return { kind: 'choice', name: p.name, labels: p.values, indexOf: (v) => index.get(v) ?? -1 };
    }
    case 'discrete': {
      const labels = p.values.map(String);
      const index = new Map(labels.map((v, i) => [v, i]));
      return {
        kind: 'choice',
        name: p.name,
        labels,
        indexOf: (v) => {
          const exact = index.get(v);
          if (exact !== undefined) return exact;
          // Written differently ("1.0" for 1): the numerically equal value, when there is one.
          const n = Number(v);
          return Number.isFinite(n) ? p.values.indexOf(n) : -1;
        },
      };
    }
  }
}

/** The stream for trial `index`: its own seed, so a suggestion does not depend on earlier calls. */
function suggestionSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z in [a, b]) for a standard normal, accurate in either tail. */
function normalMass(a: number, b: number): number {
  if (a >= 0) return 0.5 * (erfc(a / Math.SQRT2) - erfc(b / Math.SQRT2));
  if (b <= 0) return 0.5 * (erfc(-b / Math.SQRT2) - erfc(-a / Math.SQRT2));
  return 1 - 0.5 * (erfc(-a / Math.SQRT2) + erfc(b / Math.SQRT2));
}

function standardNormal(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]: log stays finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Index drawn in proportion to `cumulative` (ascending, last entry the total). */
function drawIndex(cumulative: Float64Array, rng: Rng): number {
  const target = rng() * (cumulative[cumulative.length - 1] ?? 0);
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cumulative[mid] ?? 0) > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulativeOf(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] ?? 0;
    out[i] = sum;
  }
  return out;
}

/** A parameter the model spans (fixed ones take no part) and its column in a point's coordinates. */
interface Dimension {
  readonly axis: NumericAxis | ChoiceAxis;
  readonly column: number;
}

/**
 * How numeric kernels get their widths: 'scott' is Optuna's multivariate rule, one width per
 * dimension, 0.2 · n^(−1/(d+4)) · range for n observations (kernels, once thinned) over d
 * dimensions; 'neighbour' its per-parameter rule, each kernel as wide as the larger gap to a sorted
 * neighbour (the outermost kernels take their inner gap only). Both clipped to [range / min(100, kernels + 1), range].
 */
type Bandwidth = 'scott' | 'neighbour';

const SCOTT_MAGNITUDE = 0.2;

/** One group's observations: coordinates per trial (NaN where unknown), in trial order, with their mixture weights. */
interface Observations {
  readonly rows: readonly Float64Array[];
  readonly weights: Float64Array;
}

/** A numeric dimension of every kernel; the last kernel is the prior (mid-range, sigma = range). */
interface NumericKernels {
  readonly kind: 'numeric';
  readonly axis: NumericAxis;
  readonly mus: Float64Array;
  readonly sigmas: Float64Array;
  readonly invSigmas: Float64Array;
  /** −log Z, Z the kernel's mass inside [lo, hi]: added to a bin's log mass. */
  readonly logMassNorm: Float64Array;
  /** −log(sigma sqrt(2 pi) Z): added to the log density. */
  readonly logPdfNorm: Float64Array;
}

/** A choice dimension of every kernel: kernel k's probability of value c at k · size + c. */
interface ChoiceKernels {
  readonly kind: 'choice';
  readonly axis: ChoiceAxis;
  readonly size: number;
  readonly probs: Float64Array;
  readonly logProbs: Float64Array;
}

function numericKernels(axis: NumericAxis, values: Float64Array, bandwidth: Bandwidth, dimensions: number): NumericKernels {
  const { lo, hi } = axis;
  const n = values.length;
  const range = hi - lo;
  const prior = 0.5 * (lo + hi);
  const minSigma = range / Math.min(100, n + 2);
  const scott = SCOTT_MAGNITUDE * Math.max(n, 1) ** (-1 / (dimensions + 4)) * range;
  const sorted = bandwidth === 'neighbour' ? knownSorted(values, prior) : undefined;
  const mus = new Float64Array(n + 1);
  const sigmas = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) {
    const v = values[k] ?? Number.NaN;
    // A trial that lacks this parameter says nothing about it: its kernel takes the prior's shape here.
    if (Number.isNaN(v)) {
      mus[k] = prior;
      sigmas[k] = range;
      continue;
    }
    mus[k] = v;
    const sigma = sorted === undefined ? scott : neighbourGap(sorted, v, lo, hi);
    sigmas[k] = Math.min(range, Math.max(minSigma, sigma));
  }
  mus[n] = prior;
  sigmas[n] = range;

  const invSigmas = new Float64Array(n + 1);
  const logMassNorm = new Float64Array(n + 1);
  const logPdfNorm = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) {
    const mu = mus[k] ?? prior;
    const sigma = sigmas[k] ?? range;
    // A kernel more than 9 sigma from both ends keeps all but 1e-19 of its mass: skip the erfc calls.
    const z = mu - lo > 9 * sigma && hi - mu > 9 * sigma ? 1 : normalMass((lo - mu) / sigma, (hi - mu) / sigma);
    invSigmas[k] = 1 / sigma;
    logMassNorm[k] = -Math.log(z);
    logPdfNorm[k] = -Math.log(z * sigma * SQRT_2PI);
  }
  return { kind: 'numeric', axis, mus, sigmas, invSigmas, logMassNorm, logPdfNorm };
}

/** The known values and the prior's mean, ascending. */
function knownSorted(values: Float64Array, prior: number): Float64Array {
  const out = new Float64Array(values.length + 1);
  let m = 0;
  for (const v of values) if (!Number.isNaN(v)) out[m++] = v;
  out[m++] = prior;
  return out.subarray(0, m).sort();
}

/** The larger gap from `mu` to its distinct neighbours in `sorted` (the range's ends count as neighbours); the smallest and largest take their inner gap only. */
function neighbourGap(sorted: Float64Array, mu: number, lo: number, hi: number): number {
  const first = lowerBound(sorted, mu);
  const after = upperBound(sorted, mu, first);
  const leftGap = mu - (first === 0 ? lo : (sorted[first - 1] ?? lo));
  const rightGap = (after === sorted.length ? hi : (sorted[after] ?? hi)) - mu;
  if (first === 0 && after < sorted.length) return rightGap;
  if (after === sorted.length && first > 0) return leftGap;
  return Math.max(leftGap, rightGap);
}

/**
 * Each observation's kernel puts most mass on its value and prior_weight / kernels on every value
 * (Optuna's smoothing); the prior kernel, and an observation that lacks the parameter, are uniform.
 */
function choiceKernels(axis: ChoiceAxis, values: Float64Array): ChoiceKernels {
  const size = axis.labels.length;
  const n = values.length;
  const spread = PRIOR_WEIGHT / (n + 1);
  const rowTotal = spread * size + 1;
  const probs = new Float64Array((n + 1) * size).fill(1 / size);
  for (let k = 0; k < n; k++) {
    const c = values[k] ?? Number.NaN;
    if (Number.isNaN(c)) continue;
    probs.fill(spread / rowTotal, k * size, (k + 1) * size);
    probs[k * size + c] = (spread + 1) / rowTotal;
  }
  return { kind: 'choice', axis, size, probs, logProbs: probs.map(Math.log) };
}

/**
 * A mixture of product kernels over some dimensions: one kernel per observation (a truncated
 * Gaussian per numeric dimension, a smoothed categorical per choice), plus the prior kernel, weighted
 * as the observations are and prior_weight. A candidate holds, per dimension, the internal value of
 * a double, the integer itself, or a choice's index.
 */
class ParzenEstimator {
  private readonly logWeights: Float64Array;
  private readonly cumulative: Float64Array;
  private readonly dims: readonly (NumericKernels | ChoiceKernels)[];
  /** Scratch: each kernel's log term while a density is summed. */
  private readonly terms: Float64Array;

  constructor(dimensions: readonly Dimension[], observations: Observations, bandwidth: Bandwidth) {
    const { rows, weights } = observations;
    const n = rows.length;
    let total = PRIOR_WEIGHT;
    for (let i = 0; i < n; i++) total += weights[i] ?? 0;
    const w = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) w[i] = (weights[i] ?? 0) / total;
    w[n] = PRIOR_WEIGHT / total;
    this.logWeights = w.map(Math.log);
    this.cumulative = cumulativeOf(w);
    this.terms = new Float64Array(n + 1);
    this.dims = dimensions.map(({ axis, column }) => {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = rows[i]?.[column] ?? Number.NaN;
      return axis.kind === 'numeric' ? numericKernels(axis, values, bandwidth, dimensions.length) : choiceKernels(axis, values);
    });
  }

  /** One candidate: a kernel drawn by weight, then each dimension from that kernel. */
  sample(rng: Rng): Float64Array {
    const k = drawIndex(this.cumulative, rng);
    return Float64Array.from(this.dims, (d) => (d.kind === 'numeric' ? sampleNumeric(d, k, rng) : sampleChoice(d, k, rng)));
  }

  /**
   * log density (log mass along integer and choice dimensions) of a candidate: log Σ_k w_k Π_d f_kd(x_d),
   * summed from the largest term, so narrow kernels far away underflow harmlessly.
   */
  logPdf(candidate: Float64Array): number {
    const terms = this.terms;
    terms.set(this.logWeights);
    const kernels = terms.length;
    this.dims.forEach((d, j) => {
      const x = candidate[j] ?? Number.NaN;
      if (d.kind === 'choice') {
        const { logProbs, size } = d;
        for (let k = 0; k < kernels; k++) terms[k] = (terms[k] ?? 0) + (logProbs[k * size + x] ?? -Infinity);
      } else if (d.axis.integer) {
        const [a, b] = bin(d.axis, x);
        for (let k = 0; k < kernels; k++) terms[k] = (terms[k] ?? 0) + logBinMass(d, k, a, b);
      } else {
        const { mus, invSigmas, logPdfNorm } = d;
        for (let k = 0; k < kernels; k++) {
          const z = (x - (mus[k] ?? 0)) * (invSigmas[k] ?? 0);
          terms[k] = (terms[k] ?? 0) + (logPdfNorm[k] ?? 0) - 0.5 * z * z;
        }
      }
    });
    let max = -Infinity;
    for (let k = 0; k < kernels; k++) max = Math.max(max, terms[k] ?? -Infinity);
    // Terms 40 below the largest add under 4e-18 of it each: skip their exp.
    const floor = max - 40;
    let sum = 0;
    for (let k = 0; k < kernels; k++) {
      const term = terms[k] ?? -Infinity;
      if (term > floor) sum += Math.exp(term - max);
    }
    return max + Math.log(sum);
  }
}

function sampleNumeric(d: NumericKernels, k: number, rng: Rng): number {
  const { lo, hi, integer, min, max, fromInternal } = d.axis;
  const mu = d.mus[k] ?? 0.5 * (lo + hi);
  const sigma = d.sigmas[k] ?? hi - lo;
  let t = mu;
  // The mean lies inside and sigma <= range, so at least a third of draws land inside.
  for (let attempt = 0; attempt < 100; attempt++) {
    const x = mu + sigma * standardNormal(rng);
    if (x >= lo && x <= hi) {
      t = x;
      break;
    }
  }
  return integer ? Math.min(max, Math.max(min, Math.round(fromInternal(t)))) : t;
}

function sampleChoice(d: ChoiceKernels, k: number, rng: Rng): number {
  let target = rng();
  for (let c = 0; c < d.size - 1; c++) {
    target -= d.probs[k * d.size + c] ?? 0;
    if (target < 0) return c;
  }
  return d.size - 1;
}

/**
 * log of kernel k's mass on [a, b] (an integer's rounding bin). A bin 9 sigma or more away counts as
 * no mass: under 1e-19 of the kernel, and the prior kernel (within one sigma of every bin) keeps the
 * sum finite.
 */
function logBinMass(d: NumericKernels, k: number, a: number, b: number): number {
  const mu = d.mus[k] ?? 0;
  const inv = d.invSigmas[k] ?? 0;
  const za = (a - mu) * inv;
  const zb = (b - mu) * inv;
  if (za >= 9 || zb <= -9) return -Infinity;
  const norm = d.logMassNorm[k] ?? 0;
  // A bin narrow against sigma: the midpoint rule (relative error (zb - za)^2 / 24) is cheaper
  // and, unlike a difference of two erfc values, keeps its precision.
  if (zb - za < 0.05) {
    const zm = 0.5 * (za + zb);
    return norm + Math.log((zb - za) / SQRT_2PI) - 0.5 * zm * zm;
  }
  return norm + Math.log(normalMass(za, zb));
}

/** The first index of a sorted array whose value is >= x. */
function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Infinity) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index of a sorted array whose value is > x, searching from `from`. */
function upperBound(sorted: Float64Array, x: number, from: number): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Infinity) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The rows that know at least one of the dimensions, weighted by trial order, thinned. */
function observe(rows: readonly Float64Array[], dimensions: readonly Dimension[]): Observations {
  const known = rows.filter((row) => dimensions.some(({ column }) => !Number.isNaN(row[column] ?? Number.NaN)));
  return thin(known, Float64Array.from(tpeWeights(known.length)));
}

/**
 * At most MAX_KERNELS observations (Optuna keeps all; thousands of kernels cost milliseconds per
 * suggestion): the most recent KEEP_RECENT stay, older ones are grouped into runs of consecutive
 * trials, each kept as its latest member carrying the run's total weight. The weight over time is
 * unchanged; old regions keep a presence.
 */
function thin(rows: readonly Float64Array[], weights: Float64Array): Observations {
  const n = rows.length;
  if (n <= MAX_KERNELS) return { rows, weights };
  const old = n - KEEP_RECENT;
  const slots = MAX_KERNELS - KEEP_RECENT;
  const kept: Float64Array[] = [];
  const w = new Float64Array(MAX_KERNELS);
  for (let s = 0; s < slots; s++) {
    const from = Math.floor((s * old) / slots);
    const to = Math.floor(((s + 1) * old) / slots);
    let sum = 0;
    for (let i = from; i < to; i++) sum += weights[i] ?? 0;
    const last = rows[to - 1];
    if (last !== undefined) kept.push(last);
    w[s] = sum;
  }
  kept.push(...rows.slice(old));
  w.set(weights.subarray(old), slots);
  return { rows: kept, weights: w };
}

/** A point's coordinate on an axis: the internal value of a numeric parameter, a choice's index; NaN when missing or invalid. */
function coordinate(axis: Axis, raw: string | undefined): number {
  if (raw === undefined) return Number.NaN;
  switch (axis.kind) {
    case 'fixed':
      return Number.NaN;
    case 'choice': {
      const i = axis.indexOf(raw);
      return i < 0 ? Number.NaN : i;
    }
    case 'numeric': {
      const x = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(x)) return Number.NaN;
      const t = axis.toInternal(x);
      // Observed outside today's range (the spec changed): it still says which side is good.
      return Number.isFinite(t) ? Math.min(axis.hi, Math.max(axis.lo, t)) : Number.NaN;
    }
  }
}

/**
 * Suggests points for the local engine's `bayesian` strategy.
 *
 * @example
 * const tpe = new TpeSampler(spec.parameters, { goal: spec.objective.goal, seed: resolveSeed(spec) });
 * const point = tpe.suggest(finished, running.map((t) => t.point), trialNumber);
 */
export class TpeSampler {
  private readonly axes: readonly Axis[];
  /** The groups of dimensions modelled together: all of them (multivariate), or one each. */
  private readonly groups: readonly (readonly Dimension[])[];
  private readonly bandwidth: Bandwidth;
  private readonly startupTrials: number;
  private readonly candidates: number;
  /** Parsed coordinates per point object: a long history is parsed once, not on every suggestion. */
  private readonly parsed = new WeakMap<ParameterPoint, Float64Array>();

  constructor(
    private readonly parameters: readonly ParameterSpec[],
    private readonly options: TpeOptions,
  ) {
    const startup = options.startupTrials ?? DEFAULT_STARTUP_TRIALS;
    const candidates = options.candidates ?? DEFAULT_CANDIDATES;
    if (!Number.isInteger(startup) || startup < 0) throw new RangeError(`startupTrials must be a whole number >= 0, got ${startup}`);
    if (!Number.isInteger(candidates) || candidates < 1) throw new RangeError(`candidates must be a whole number >= 1, got ${candidates}`);
    this.startupTrials = startup;
    this.candidates = candidates;
    this.axes = parameters.map(toAxis);
    const dimensions = this.axes.flatMap((axis, column): Dimension[] => (axis.kind === 'fixed' ? [] : [{ axis, column }]));
    const multivariate = options.multivariate ?? true;
    this.groups = multivariate ? [dimensions] : dimensions.map((d) => [d]);
    this.bandwidth = multivariate ? 'scott' : 'neighbour';
  }

  /** The point for trial number `index` (0-based; it seeds this suggestion, so the same history gives the same point), given the finished trials and the points of trials still running (constant liar: they count as bad observations so two running trials are not given the same region). */
  suggest(finished: readonly TrialResult[], pending: readonly ParameterPoint[], index: number): ParameterPoint {
    const rng = createRng(suggestionSeed(this.options.seed, index));
    const n = finished.length + pending.length;
    if (n < this.startupTrials) return Object.fromEntries(this.parameters.map((p) => [p.name, sampleParameter(p, rng)]));

    // 1. Rank the trials that have a value, best first (ties: the earlier trial).
    const sign = this.options.goal === 'maximize' ? -1 : 1;
    const scored: { readonly order: number; readonly loss: number }[] = [];
    finished.forEach((t, order) => {
      if (t.value !== undefined && !Number.isNaN(t.value)) scored.push({ order, loss: sign * t.value });
    });
    scored.sort((a, b) => a.loss - b.loss || a.order - b.order);
    // 2. The best gamma(n) model l(x); the rest, failed trials and running ones (the liar) model g(x).
    const good = new Set(scored.slice(0, tpeGamma(n)).map((s) => s.order));
    const below: Float64Array[] = [];
    const above: Float64Array[] = [];
    finished.forEach((t, order) => (good.has(order) ? below : above).push(this.coordinatesOf(t.point)));
    for (const point of pending) above.push(this.coordinatesOf(point));
    // 3. Per group of dimensions, draw candidates from l(x) and keep the one with the largest l(x) / g(x).
    const chosen = new Float64Array(this.axes.length).fill(Number.NaN);
    for (const dimensions of this.groups) {
      const l = new ParzenEstimator(dimensions, observe(below, dimensions), this.bandwidth);
      const g = new ParzenEstimator(dimensions, observe(above, dimensions), this.bandwidth);
      let best: Float64Array | undefined;
      let bestScore = -Infinity;
      for (let i = 0; i < this.candidates; i++) {
        const candidate = l.sample(rng);
        const score = l.logPdf(candidate) - g.logPdf(candidate);
        if (best === undefined || score > bestScore) [best, bestScore] = [candidate, score];
      }
      dimensions.forEach(({ column }, j) => (chosen[column] = best?.[j] ?? Number.NaN));
    }
    return Object.fromEntries(this.axes.map((axis, column) => [axis.name, render(axis, chosen[column] ?? Number.NaN)]));
  }

  private coordinatesOf(point: ParameterPoint): Float64Array {
    let c = this.parsed.get(point);
    if (c === undefined) {
      c = Float64Array.from(this.axes, (axis) => coordinate(axis, point[axis.name]));
      this.parsed.set(point, c);
    }
    return c;
  }
}

/** A candidate's value of one axis as the point writes it. */
function render(axis: Axis, x: number): string {
  switch (axis.kind) {
    case 'fixed':
      return axis.value;
    case 'choice':
      return axis.labels[x] ?? axis.labels[0] ?? '';
    case 'numeric':
      return axis.integer ? String(x) : formatDouble(axis.fromInternal(x), axis.min, axis.max);
  }
}

/** The rounding bin of integer k in the internal space, inside [lo, hi]. */
function bin(axis: NumericAxis, k: number): readonly [number, number] {
  const a = axis.toInternal(k - 0.5);
  const b = axis.toInternal(k + 0.5);
  return [Math.max(axis.lo, Math.min(a, b)), Math.min(axis.hi, Math.max(a, b))];
}
