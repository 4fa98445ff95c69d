import { describe, expect, it } from 'vitest';
import { SpecValidationError } from '../../../../shared/domain/errors';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';
import {
  compileMetrics,
  fillPlaceholders,
  localTrialSpecIssues,
  parseLocalTrialSpec,
  placeholdersOf,
} from '../../../../shared/adapters/local/local-trial-spec';

const goodTrial = {
  command: ['node', 'train.mjs', '--trees', '{{trees}}', '--seed={{ seed }}'],
  metrics: [
    { name: 'validation:accuracy', regex: 'validation:accuracy=([0-9.]+)' },
    { name: 'train:accuracy', regex: 'train:accuracy=([0-9.]+)' },
  ],
  env: { DEPTH: '{{trees}}' },
  timeoutSeconds: 30,
};

function spec(trial: unknown): TuningSpec {
  return parseSpec({
    name: 'trial-spec-test',
    provider: 'local',
    objective: { metric: 'validation:accuracy', goal: 'maximize' },
    parameters: [{ name: 'trees', type: 'integer', min: 1, max: 50 }],
    staticHyperparameters: { seed: 7 },
    strategy: 'random',
    budget: { maxTrials: 4 },
    trial,
  });
}

function issuesOf(trial: unknown): { path: string; message: string }[] {
  return localTrialSpecIssues(spec(trial)).map((i) => ({ path: i.path, message: i.message }));
}

describe('local trial spec', () => {
  it('parses a valid trial section', () => {
    const trial = parseLocalTrialSpec(spec(goodTrial));
    expect(trial.command).toEqual(goodTrial.command);
    expect(trial.timeoutSeconds).toBe(30);
    expect(compileMetrics(trial)[0]?.pattern.exec('epoch 3 validation:accuracy=0.9333')?.[1]).toBe('0.9333');
  });

  it('throws SpecValidationError with trial-prefixed paths', () => {
    const bad = { ...goodTrial, metrics: [{ name: 'validation:accuracy', regex: 'acc=([0-9.]+' }] };
    let caught: unknown;
    try {
      parseLocalTrialSpec(spec(bad));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SpecValidationError);
    expect((caught as SpecValidationError).issues).toEqual([{ path: 'trial.metrics[0].regex', message: expect.stringContaining('not a valid regular expression') }]);
  });

  it('names missing and mistyped fields', () => {
    expect(issuesOf({ metrics: goodTrial.metrics }).map((i) => i.path)).toEqual(['trial.command']);
    expect(issuesOf({ ...goodTrial, command: [] }).map((i) => i.path)).toEqual(['trial.command']);
    expect(issuesOf({ ...goodTrial, command: ['node', ''] }).map((i) => i.path)).toEqual(['trial.command[1]']);
    expect(issuesOf({ ...goodTrial, timeoutSeconds: 0 }).map((i) => i.path)).toEqual(['trial.timeoutSeconds']);
    expect(issuesOf({ ...goodTrial, metrics: [{ name: 'validation:accuracy' }] }).map((i) => i.path)).toEqual(['trial.metrics[0].regex']);
    expect(issuesOf({ ...goodTrial, image: 'x' }).map((i) => i.path)).toEqual(['trial.image']);
  });

  it('needs exactly one capture group per regex', () => {
    expect(issuesOf({ ...goodTrial, metrics: [{ name: 'validation:accuracy', regex: 'accuracy=[0-9.]+' }] })).toEqual([
      { path: 'trial.metrics[0].regex', message: 'must have exactly one capture group for the value (has 0)' },
    ]);
    expect(issuesOf({ ...goodTrial, metrics: [{ name: 'validation:accuracy', regex: '(train|validation):accuracy=([0-9.]+)' }] })).toEqual([
      { path: 'trial.metrics[0].regex', message: 'must have exactly one capture group for the value (has 2)' },
    ]);
    expect(issuesOf({ ...goodTrial, metrics: [{ name: 'validation:accuracy', regex: '(?:train|validation):accuracy=([0-9.]+)' }] })).toEqual([]);
  });

  it('needs a metric for the objective', () => {
    expect(issuesOf({ ...goodTrial, metrics: [{ name: 'train:accuracy', regex: 'train:accuracy=([0-9.]+)' }] })).toEqual([
      { path: 'trial.metrics', message: 'must define the objective metric "validation:accuracy"' },
    ]);
  });

  it('refuses repeated metric names', () => {
    const metrics = [goodTrial.metrics[0], goodTrial.metrics[0]];
    expect(issuesOf({ ...goodTrial, metrics }).map((i) => i.path)).toEqual(['trial.metrics[1].name']);
  });

  it('refuses placeholders that name no parameter or static hyperparameter', () => {
    expect(issuesOf({ ...goodTrial, command: ['node', 'train.mjs', '--depth', '{{depth}}'], env: { X: '{{eta}}' } })).toEqual([
      { path: 'trial.command[3]', message: '{{depth}} is not a parameter or static hyperparameter' },
      { path: 'trial.env.X', message: '{{eta}} is not a parameter or static hyperparameter' },
    ]);
  });

  it('fills placeholders, spaces inside braces allowed', () => {
    expect(placeholdersOf('--a={{ trees }}/{{seed}}')).toEqual(['trees', 'seed']);
    expect(fillPlaceholders('--a={{ trees }}/{{seed}}', { trees: '12', seed: '7' })).toBe('--a=12/7');
  });

  it('puts a value in literally, `$` patterns included', () => {
    expect(fillPlaceholders('--data={{data}}', { data: "s3://b/$&$`$'$$/" })).toBe("--data=s3://b/$&$`$'$$/");
  });

  it('never fills a placeholder from a member the values inherit', () => {
    expect(fillPlaceholders('{{constructor}} {{toString}}', { eta: '0.1' })).toBe('{{constructor}} {{toString}}');
  });
});
