import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/domain/errors';
import { parseSpec } from '../../../shared/domain/spec';
import { applyOverrides, DATA_ENV, parseTemplateDocument } from '../../../shared/domain/template';

const localSpec = () =>
  parseSpec({
    name: 'churn-local',
    provider: 'local',
    objective: { metric: 'validation:auc', goal: 'maximize' },
    parameters: [{ name: 'eta', type: 'double', min: 0.01, max: 0.5 }],
    budget: { maxTrials: 4 },
    trial: { command: ['python', 'train.py', '--data={{data}}', '{{data}}/extra'] },
  });

describe('applyOverrides', () => {
  // String.prototype.replaceAll reads $&, $`, $' and $$ in its replacement as patterns
  for (const location of ['s3://bucket/a$&b/', 's3://bucket/$`/', "s3://bucket/$'/", 's3://bucket/$$/', 's3://bucket/$1/']) {
    it(`puts the data location ${location} into a local command literally`, () => {
      const spec = applyOverrides(localSpec(), { dataLocation: location });

      expect(spec.trial['command']).toEqual(['python', 'train.py', `--data=${location}`, `${location}/extra`]);
      expect((spec.trial['env'] as Record<string, string>)[DATA_ENV]).toBe(location);
    });
  }
});

describe('parseTemplateDocument', () => {
  it('names a reserved parameter name under spec.', () => {
    const spec = { ...localSpec(), parameters: [{ name: 'constructor', type: 'integer', min: 1, max: 3 }] };

    const error = (() => {
      try {
        parseTemplateDocument({ spec });
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).retryable).toBe(false);
    expect((error as ValidationError).issues).toEqual([{ path: 'spec.parameters[0].name', message: expect.stringContaining('must not be one of') }]);
  });
});
