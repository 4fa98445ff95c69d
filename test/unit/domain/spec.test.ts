import { describe, expect, it } from 'vitest';
import { YAMLParseError } from 'yaml';
import { SpecValidationError, ValidationError } from '../../../shared/domain/errors';
import { NOTIFY_EVENTS, countHyperparameters, parseSpec, parseSpecText, type TuningSpec } from '../../../shared/domain/spec';

/** The spec sketched in docs/design.md, with a concrete trial section and warm-start parent. */
const DESIGN_EXAMPLE = `
name: churn-xgb
provider: sagemaker
objective: { metric: "validation:auc", goal: maximize }
parameters:
  - { name: eta, type: double, min: 0.001, max: 0.5, scale: log }
  - { name: max_depth, type: integer, min: 3, max: 10 }
  - { name: booster, type: categorical, values: [gbtree, dart] }
  - { name: subsample, type: discrete, values: [0.5, 0.75, 1.0] }
strategy: bayesian
budget: { maxTrials: 50, parallelTrials: 5, maxFailedTrials: 5, maxRuntimeSeconds: 86400, targetObjective: 0.97 }
earlyStopping: auto
measurementSelection: best
staticHyperparameters: { num_round: "200" }
warmStart: { from: [churn-xgb-aaaaaaaaaa], type: transfer_learning }
trial: {}
promotion: { model: churn, minImprovement: 0.002, threshold: 0.9, approval: auto }
notify: [{ url: https://hooks.example.com/tuning, events: [job.finished, model.promoted] }]
labels: { team: growth }
`;

/** The same spec with every optional field that has a default left out. */
const DESIGN_EXAMPLE_MINIMAL = `
name: churn-xgb
provider: sagemaker
objective: { metric: "validation:auc", goal: maximize }
parameters:
  - { name: eta, type: double, min: 0.001, max: 0.5, scale: log }
  - { name: max_depth, type: integer, min: 3, max: 10 }
  - { name: booster, type: categorical, values: [gbtree, dart] }
  - { name: subsample, type: discrete, values: [0.5, 0.75, 1.0] }
budget: { maxTrials: 50 }
staticHyperparameters: { num_round: "200" }
warmStart: { from: [churn-xgb-aaaaaaaaaa], type: transfer_learning }
trial: {}
promotion: { model: churn }
notify: [{ url: https://hooks.example.com/tuning }]
`;

/** A small valid spec object that each bad-input case breaks in one place. */
function validSpec() {
  return {
    name: 'churn-xgb',
    provider: 'local',
    objective: { metric: 'validation:auc', goal: 'maximize' },
    parameters: [
      { name: 'eta', type: 'double', min: 0.001, max: 0.5 },
      { name: 'max_depth', type: 'integer', min: 3, max: 10 },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
    ],
    budget: { maxTrials: 10 },
    trial: {},
  };
}

const [eta, maxDepth, booster] = validSpec().parameters;

function specError(parse: () => unknown): SpecValidationError {
  try {
    parse();
  } catch (error) {
    if (error instanceof SpecValidationError) return error;
    throw error;
  }
  throw new Error('expected a SpecValidationError, but the spec parsed');
}

function pathsOf(error: SpecValidationError): string[] {
  return error.issues.map((issue) => issue.path);
}

describe('parseSpecText', () => {
  it('parses the design-notes example as written', () => {
    const spec = parseSpecText(DESIGN_EXAMPLE, 'churn.yaml');

    expect(spec.name).toBe('churn-xgb');
    expect(spec.provider).toBe('sagemaker');
    expect(spec.objective).toEqual({ metric: 'validation:auc', goal: 'maximize' });
    expect(spec.parameters).toEqual([
      { name: 'eta', type: 'double', min: 0.001, max: 0.5, scale: 'log' },
      { name: 'max_depth', type: 'integer', min: 3, max: 10, scale: 'auto' },
      { name: 'booster', type: 'categorical', values: ['gbtree', 'dart'] },
      { name: 'subsample', type: 'discrete', values: [0.5, 0.75, 1.0] },
    ]);
    expect(spec.strategy).toBe('bayesian');
    expect(spec.budget).toEqual({ maxTrials: 50, parallelTrials: 5, maxFailedTrials: 5, maxRuntimeSeconds: 86400, targetObjective: 0.97 });
    expect(spec.earlyStopping).toBe('auto');
    expect(spec.measurementSelection).toBe('best');
    expect(spec.staticHyperparameters).toEqual({ num_round: '200' });
    expect(spec.warmStart).toEqual({ from: ['churn-xgb-aaaaaaaaaa'], type: 'transfer_learning' });
    expect(spec.trial).toEqual({});
    expect(spec.promotion).toEqual({ model: 'churn', minImprovement: 0.002, threshold: 0.9, approval: 'auto' });
    expect(spec.notify).toEqual([{ url: 'https://hooks.example.com/tuning', events: ['job.finished', 'model.promoted'] }]);
    expect(spec.labels).toEqual({ team: 'growth' });
  });

  it('applies the defaults when the design-notes example leaves them out', () => {
    const spec = parseSpecText(DESIGN_EXAMPLE_MINIMAL);

    expect(spec.strategy).toBe('bayesian');
    expect(spec.budget).toEqual({ maxTrials: 50, parallelTrials: 1 });
    expect(spec.earlyStopping).toBe('off');
    // each provider applies its own API's default
    expect(spec.measurementSelection).toBeUndefined();
    expect(spec.parameters[1]).toMatchObject({ name: 'max_depth', scale: 'auto' });
    expect(spec.promotion).toEqual({ model: 'churn', minImprovement: 0, approval: 'auto' });
    expect(spec.notify).toEqual([{ url: 'https://hooks.example.com/tuning', events: [...NOTIFY_EVENTS] }]);
    expect(spec.labels).toEqual({});
  });

  it('leaves optional sections without defaults absent', () => {
    const spec = parseSpecText(JSON.stringify(validSpec()));

    expect(spec.warmStart).toBeUndefined();
    expect(spec.promotion).toBeUndefined();
    expect(spec.staticHyperparameters).toEqual({});
    expect(spec.notify).toEqual([]);
  });

  it('reads JSON text as well as YAML', () => {
    const fromJson = parseSpecText(JSON.stringify(validSpec()));
    const fromObject = parseSpec(validSpec());

    expect(fromJson).toEqual(fromObject);
  });

  it('reports a YAML syntax error on the line where it is', () => {
    const text = ['name: churn-xgb', 'provider: local', 'objective:', '  metric: auc', ' goal: maximize', 'trial: {}'].join('\n');

    const error = specError(() => parseSpecText(text, 'churn.yaml'));

    expect(error.subject).toBe('churn.yaml');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toBe('line 5');
    expect(error.issues[0]?.message).toMatch(/^is not valid YAML or JSON: /);
    expect(error.cause).toBeInstanceOf(YAMLParseError);
  });

  it('reports an unclosed flow mapping on the line the parser stops at', () => {
    const text = ['name: churn-xgb', 'provider: local', 'objective: { metric: auc, goal: maximize', 'trial: {}'].join('\n');

    const error = specError(() => parseSpecText(text));

    expect(pathsOf(error)).toEqual(['line 4']);
  });

  for (const { what, text } of [
    { what: 'a JSON array', text: JSON.stringify([validSpec()]) },
    { what: 'a YAML sequence', text: '- name: churn-xgb\n- provider: local\n' },
    { what: 'a bare scalar', text: 'churn-xgb' },
    { what: 'an empty document', text: '' },
  ]) {
    it(`refuses ${what} at the root of the document`, () => {
      const error = specError(() => parseSpecText(text));

      expect(error.issues).toEqual([{ path: '', message: 'must be a mapping (a YAML or JSON object)' }]);
      expect(error.message).toContain('(root): must be a mapping');
    });
  }
});

describe('parseSpec', () => {
  it('accepts the valid base spec', () => {
    expect(parseSpec(validSpec()).name).toBe('churn-xgb');
  });

  it('turns categorical values into strings', () => {
    const spec = parseSpec({ ...validSpec(), parameters: [{ name: 'layers', type: 'categorical', values: [1, 2, true, 'x'] }] });

    expect(spec.parameters[0]).toEqual({ name: 'layers', type: 'categorical', values: ['1', '2', 'true', 'x'] });
  });

  it('turns static hyperparameter values into strings', () => {
    const spec = parseSpec({ ...validSpec(), staticHyperparameters: { num_round: 200, verbose: false, objective: 'binary:logistic' } });

    expect(spec.staticHyperparameters).toEqual({ num_round: '200', verbose: 'false', objective: 'binary:logistic' });
  });

  it('keeps the zod failure as the cause and names the source', () => {
    const error = specError(() => parseSpec({ ...validSpec(), provider: 'azure' }, 'spec.yaml'));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('SPEC.INVALID');
    expect(error.subject).toBe('spec.yaml');
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.message).toMatch(/^spec\.yaml is invalid:\n {2}- provider: /);
  });

  it('names every field in one error when several fields are bad', () => {
    const error = specError(() =>
      parseSpec({ ...validSpec(), provider: 'azure', objective: { metric: '', goal: 'max' }, budget: { maxTrials: 0 } }),
    );

    expect(pathsOf(error)).toEqual(expect.arrayContaining(['provider', 'objective.metric', 'objective.goal', 'budget.maxTrials']));
  });

  it('names a repeated parameter name and a tuned static hyperparameter even when another field is bad', () => {
    const error = specError(() =>
      parseSpec({ ...validSpec(), provider: 'azure', parameters: [eta, { ...maxDepth, name: 'eta' }], staticHyperparameters: { eta: '0.1' } }),
    );

    expect(pathsOf(error)).toEqual(expect.arrayContaining(['provider', 'parameters[1].name', 'staticHyperparameters.eta']));
  });

  it('accepts a parameter whose name is an inherited Object.prototype method', () => {
    // `in` on a plain object also sees inherited members such as `toString`.
    const spec = parseSpec({ ...validSpec(), parameters: [{ name: 'toString', type: 'integer', min: 1, max: 4 }] });

    expect(spec.parameters[0]?.name).toBe('toString');
  });

  for (const reserved of ['__proto__', 'constructor', 'prototype']) {
    it(`refuses a parameter named ${reserved} at parameters[i].name: every trial write of it would fail`, () => {
      const input = { ...validSpec(), parameters: [eta, JSON.parse(`{ "name": "${reserved}", "type": "integer", "min": 1, "max": 4 }`) as unknown] };

      const error = specError(() => parseSpec(input));

      expect(error.issues).toEqual([{ path: 'parameters[1].name', message: expect.stringContaining('must not be one of __proto__, constructor, prototype') }]);
      expect(error.retryable).toBe(false);
    });
  }

  it('refuses a reserved key in staticHyperparameters and labels, which a record schema would drop silently', () => {
    const input = JSON.parse('{ "staticHyperparameters": { "__proto__": "1", "constructor": "2" }, "labels": { "prototype": "x" } }') as Record<string, unknown>;

    const error = specError(() => parseSpec({ ...validSpec(), ...input }));

    expect(pathsOf(error)).toEqual(expect.arrayContaining(['staticHyperparameters.__proto__', 'staticHyperparameters.constructor', 'labels.prototype']));
  });

  for (const { name, why } of [
    { name: 'learning rate', why: 'whitespace (Vertex parameter ids)' },
    { name: 'lr=0.1', why: '"=" (ML Engine passes --name=value)' },
    { name: '-lr', why: 'a leading dash (a flag, not a name)' },
    { name: '{{lr}}', why: 'braces (local {{name}} placeholders)' },
    { name: 'l'.repeat(257), why: 'more than 256 characters (SageMaker)' },
    { name: 'taux_d\u2019apprentissage', why: 'a character outside ASCII letters, digits, "_", "." and "-"' },
  ]) {
    it(`refuses a parameter name with ${why}, naming parameters[i].name`, () => {
      const error = specError(() => parseSpec({ ...validSpec(), parameters: [{ ...eta, name }] }));

      expect(pathsOf(error)).toEqual(['parameters[0].name']);
    });
  }

  it('accepts parameter names every provider takes: letters, digits, "_", "." and "-"', () => {
    const names = ['eta', 'max_depth', 'first-layer-size', 'model.lr', '_private', '2nd_layer'];

    const spec = parseSpec({ ...validSpec(), parameters: names.map((name) => ({ ...eta, name })) });

    expect(spec.parameters.map((p) => p.name)).toEqual(names);
  });

  const cases: ReadonlyArray<{ field: string; why: string; input: unknown }> = [
    { field: 'name', why: 'the name is empty', input: { ...validSpec(), name: '' } },
    { field: 'name', why: 'the name has an underscore', input: { ...validSpec(), name: 'churn_xgb' } },
    { field: 'name', why: 'the name starts with a dash', input: { ...validSpec(), name: '-churn' } },
    { field: 'name', why: 'the name is longer than 63 characters', input: { ...validSpec(), name: 'c'.repeat(64) } },
    { field: 'name', why: 'the name is missing', input: { ...validSpec(), name: undefined } },
    { field: 'provider', why: 'the provider is unknown', input: { ...validSpec(), provider: 'azure' } },
    { field: 'objective.metric', why: 'the metric is empty', input: { ...validSpec(), objective: { metric: '', goal: 'maximize' } } },
    { field: 'objective.goal', why: 'the goal is neither maximize nor minimize', input: { ...validSpec(), objective: { metric: 'auc', goal: 'max' } } },
    { field: 'parameters', why: 'there are no parameters', input: { ...validSpec(), parameters: [] } },
    {
      field: 'parameters[0].type',
      why: 'the type is not one of the four',
      input: { ...validSpec(), parameters: [{ ...eta, type: 'float' }, maxDepth, booster] },
    },
    {
      field: 'parameters[1].max',
      why: 'max < min',
      input: { ...validSpec(), parameters: [eta, { ...maxDepth, min: 10, max: 3 }, booster] },
    },
    {
      field: 'parameters[1].min',
      why: 'an integer parameter has a fractional min',
      input: { ...validSpec(), parameters: [eta, { ...maxDepth, min: 2.5 }, booster] },
    },
    {
      field: 'parameters[0].max',
      why: 'a double parameter has an infinite max',
      input: { ...validSpec(), parameters: [{ ...eta, max: Number.POSITIVE_INFINITY }, maxDepth, booster] },
    },
    {
      field: 'parameters[0].scale',
      why: 'the scale is unknown',
      input: { ...validSpec(), parameters: [{ ...eta, scale: 'logarithmic' }, maxDepth, booster] },
    },
    {
      field: 'parameters[0].values',
      why: 'a parameter has a key its type does not take',
      input: { ...validSpec(), parameters: [{ ...eta, values: [1, 2] }, maxDepth, booster] },
    },
    {
      field: 'parameters[2].values',
      why: 'a categorical parameter has no values',
      input: { ...validSpec(), parameters: [eta, maxDepth, { ...booster, values: [] }] },
    },
    {
      field: 'parameters[2].values[2]',
      why: 'a categorical value repeats',
      input: { ...validSpec(), parameters: [eta, maxDepth, { ...booster, values: ['gbtree', 'dart', 'gbtree'] }] },
    },
    {
      field: 'parameters[2].values[1]',
      why: 'a discrete value repeats',
      input: { ...validSpec(), parameters: [eta, maxDepth, { name: 'subsample', type: 'discrete', values: [0.5, 0.5, 1] }] },
    },
    {
      field: 'parameters[2].name',
      why: 'the name repeats an earlier parameter',
      input: { ...validSpec(), parameters: [eta, maxDepth, { ...booster, name: 'eta' }] },
    },
    { field: 'strategy', why: 'the strategy is unknown', input: { ...validSpec(), strategy: 'genetic' } },
    { field: 'budget', why: 'the budget is missing', input: { ...validSpec(), budget: undefined } },
    { field: 'budget.maxTrials', why: 'maxTrials is 0', input: { ...validSpec(), budget: { maxTrials: 0 } } },
    {
      field: 'budget.parallelTrials',
      why: 'parallelTrials exceeds maxTrials',
      input: { ...validSpec(), budget: { maxTrials: 2, parallelTrials: 3 } },
    },
    { field: 'budget.parallelTrials', why: 'parallelTrials is 0', input: { ...validSpec(), budget: { maxTrials: 2, parallelTrials: 0 } } },
    { field: 'earlyStopping', why: 'earlyStopping is a boolean', input: { ...validSpec(), earlyStopping: true } },
    { field: 'measurementSelection', why: 'the selection is unknown', input: { ...validSpec(), measurementSelection: 'mean' } },
    {
      field: 'staticHyperparameters.eta',
      why: 'a static hyperparameter is also tuned',
      input: { ...validSpec(), staticHyperparameters: { eta: '0.1' } },
    },
    {
      field: 'staticHyperparameters.num_round',
      why: 'a static hyperparameter is an object',
      input: { ...validSpec(), staticHyperparameters: { num_round: { value: 200 } } },
    },
    {
      field: 'warmStart.from',
      why: 'warm start names more than 5 parents',
      input: { ...validSpec(), warmStart: { from: ['a', 'b', 'c', 'd', 'e', 'f'], type: 'transfer_learning' } },
    },
    {
      field: 'warmStart.type',
      why: 'the warm-start type is unknown',
      input: { ...validSpec(), warmStart: { from: ['a'], type: 'transfer' } },
    },
    { field: 'trial', why: 'the trial section is missing', input: { ...validSpec(), trial: undefined } },
    { field: 'promotion.model', why: 'the model name has a space', input: { ...validSpec(), promotion: { model: 'churn model' } } },
    { field: 'promotion.minImprovement', why: 'minImprovement is negative', input: { ...validSpec(), promotion: { model: 'churn', minImprovement: -0.1 } } },
    { field: 'promotion.approval', why: 'approval is unknown', input: { ...validSpec(), promotion: { model: 'churn', approval: 'always' } } },
    { field: 'notify[0].url', why: 'the webhook URL is not http(s)', input: { ...validSpec(), notify: [{ url: 'ftp://hooks.example.com/tuning' }] } },
    { field: 'notify[0].url', why: 'the webhook URL is not a URL', input: { ...validSpec(), notify: [{ url: 'hooks example com' }] } },
    {
      field: 'notify[1].events[1]',
      why: 'a webhook asks for an unknown event',
      input: { ...validSpec(), notify: [{ url: 'https://a.example.com' }, { url: 'https://b.example.com', events: ['job.finished', 'job.done'] }] },
    },
    { field: 'labels.team', why: 'a label value is a number', input: { ...validSpec(), labels: { team: 7 } } },
    { field: 'budgett', why: 'an unknown top-level key is present', input: { ...validSpec(), budgett: { maxTrials: 10 } } },
  ];

  for (const { field, why, input } of cases) {
    it(`names ${field} when ${why}`, () => {
      const error = specError(() => parseSpec(input));

      expect(pathsOf(error)).toContain(field);
      expect(error.message).toContain(`  - ${field}: `);
    });
  }
});

describe('countHyperparameters', () => {
  const spec = (parameters: unknown, staticHyperparameters: Record<string, string> = {}): TuningSpec =>
    parseSpec({ ...validSpec(), parameters, staticHyperparameters });

  it('counts a double, an integer and a discrete parameter once each', () => {
    expect(
      countHyperparameters(
        spec([
          { name: 'eta', type: 'double', min: 0.01, max: 0.3 },
          { name: 'depth', type: 'integer', min: 1, max: 9 },
          { name: 'subsample', type: 'discrete', values: [0.5, 0.75, 1] },
        ]),
      ),
    ).toBe(3);
  });

  it('counts each categorical value', () => {
    expect(
      countHyperparameters(
        spec([
          { name: 'booster', type: 'categorical', values: ['gbtree', 'dart', 'gblinear'] },
          { name: 'optimizer', type: 'categorical', values: ['adam', 'sgd'] },
          { name: 'eta', type: 'double', min: 0.01, max: 0.3 },
        ]),
      ),
    ).toBe(6);
  });

  it('counts the design-notes example: 4 tuned entries with 2 categorical values', () => {
    expect(countHyperparameters(parseSpecText(DESIGN_EXAMPLE))).toBe(5);
  });

  it('does not count static hyperparameters: they are not searched', () => {
    expect(countHyperparameters(spec([{ name: 'eta', type: 'double', min: 0.01, max: 0.3 }], { num_round: '200', verbose: '0' }))).toBe(1);
  });
});

describe('hostile specs', () => {
  /** `{ a: { a: ... } }`, `depth` objects deep, built without recursion. */
  function nested(depth: number): Record<string, unknown> {
    let value: Record<string, unknown> = {};
    for (let i = 1; i < depth; i++) value = { a: value };
    return value;
  }

  it('refuses a spec nested 5,000 deep with a field error at the field, not a stack overflow', () => {
    const error = specError(() => parseSpec({ ...validSpec(), trial: nested(5000) }));

    expect(pathsOf(error)).toEqual(['trial']);
    expect(error.issues[0]?.message).toMatch(/^nests deeper than 64 levels/);
    expect(error.retryable).toBe(false);
  });

  it('accepts a trial section nested within the limit', () => {
    expect(parseSpec({ ...validSpec(), trial: nested(60) }).trial).toBeDefined();
  });

  it('refuses YAML nested 20,000 deep before the YAML reader recurses, naming the document', () => {
    const text = `${JSON.stringify(validSpec()).slice(0, -1)}, "labels": { "deep": ${'['.repeat(20_000)}${']'.repeat(20_000)} } }`;

    const error = specError(() => parseSpecText(text));

    expect(error.issues).toEqual([{ path: '(document)', message: 'nests deeper than 64 levels of objects and arrays' }]);
  });

  it('refuses deep block YAML (nested "- " items) the same way', () => {
    const error = specError(() => parseSpecText(`name: x\ntrial:\n  a: ${'- '.repeat(5000)}x\n`));

    expect(error.issues[0]?.message).toMatch(/nests deeper than 64 levels/);
  });

  it('reads a 242 KB document of 23,000 keys in linear time, and names a repeated key by its line', () => {
    const keys = Array.from({ length: 23_000 }, (_, i) => `  key_${String(i).padStart(5, '0')}: value`);
    const text = ['name: churn-xgb', 'provider: local', 'labels:', ...keys, '  key_00000: again', 'trial: {}'].join('\n');
    expect(text.length).toBeGreaterThan(240_000);

    const started = performance.now();
    const error = specError(() => parseSpecText(text));
    const elapsed = performance.now() - started;

    // the yaml package's own check compares each key with every earlier one: 8 to 14 s here
    expect(elapsed).toBeLessThan(5_000);
    expect(error.issues).toEqual([{ path: 'line 23004', message: 'repeats the key "key_00000": keys must be unique in a mapping' }]);
  });

  it('refuses a key repeated as another scalar type: both become the same property', () => {
    const error = specError(() => parseSpecText('name: churn-xgb\nlabels:\n  1: a\n  "1": b\n'));

    expect(pathsOf(error)).toEqual(['line 4']);
  });

  it('refuses a warm-start parent id over the job id limit, naming it (it is a ledger key)', () => {
    const error = specError(() => parseSpec({ ...validSpec(), warmStart: { from: ['j'.repeat(3000)], type: 'transfer_learning' } }));

    expect(error.issues).toEqual([{ path: 'warmStart.from[0]', message: 'is 3000 bytes long; at most 256 bytes (UTF-8) are allowed' }]);
  });

  it('refuses an alias bomb as invalid YAML rather than expanding it', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);

    const error = specError(() => parseSpecText(lines.join('\n')));

    expect(error.issues[0]?.path).toBe('(document)');
  });
});

describe('parseSpec notify', () => {
  it('refuses a notify URL with credentials at its field, without repeating them', () => {
    const base = { name: 'n', provider: 'local', objective: { metric: 'm', goal: 'maximize' }, parameters: [{ name: 'x', type: 'integer', min: 1, max: 2 }], budget: { maxTrials: 2 }, trial: {} };
    const error = (() => {
      try {
        parseSpec({ ...base, notify: [{ url: 'https://hooks.example.com/ok' }, { url: 'https://user:s3cret@hooks.example.com/x' }] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SpecValidationError);
    expect((error as SpecValidationError).issues.map((i) => i.path)).toEqual(['notify[1].url']);
    expect((error as SpecValidationError).message).not.toContain('s3cret');
  });
});
