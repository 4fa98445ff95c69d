import { describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  EventValidationError,
  JobNotFoundError,
  ProviderError,
  SpecValidationError,
  TunewireError,
  UnknownProviderError,
  ValidationError,
  isRetryable,
} from '../../../shared/domain/errors';

const ISSUES = [
  { path: 'parameters[1].max', message: 'must be at least min (10)' },
  { path: 'budget.parallelTrials', message: 'must not exceed maxTrials (2)' },
  { path: '', message: 'must be a mapping (a YAML or JSON object)' },
];

describe('ValidationError', () => {
  it('lists every field in its message, one line each, root as (root)', () => {
    const error = new ValidationError('churn.yaml', ISSUES);

    expect(error.message).toBe(
      [
        'churn.yaml is invalid:',
        '  - parameters[1].max: must be at least min (10)',
        '  - budget.parallelTrials: must not exceed maxTrials (2)',
        '  - (root): must be a mapping (a YAML or JSON object)',
      ].join('\n'),
    );
  });

  it('keeps the subject, the issues and the cause', () => {
    const cause = new Error('zod said no');
    const error = new ValidationError('request', ISSUES, { cause });

    expect(error.subject).toBe('request');
    expect(error.issues).toEqual(ISSUES);
    expect(error.cause).toBe(cause);
  });

  it('is named for its class', () => {
    expect(new ValidationError('x', ISSUES).name).toBe('ValidationError');
    expect(new SpecValidationError('x', ISSUES).name).toBe('SpecValidationError');
    expect(new EventValidationError('x', ISSUES).name).toBe('EventValidationError');
  });

  it('has a stable code per kind of input', () => {
    expect(new ValidationError('x', ISSUES).code).toBe('INPUT.INVALID');
    expect(new SpecValidationError('x', ISSUES).code).toBe('SPEC.INVALID');
    expect(new EventValidationError('x', ISSUES).code).toBe('EVENT.INVALID');
  });

  it('lets callers branch with instanceof', () => {
    const spec = new SpecValidationError('x', ISSUES);

    expect(spec).toBeInstanceOf(SpecValidationError);
    expect(spec).toBeInstanceOf(ValidationError);
    expect(spec).toBeInstanceOf(TunewireError);
    expect(spec).toBeInstanceOf(Error);
    expect(spec).not.toBeInstanceOf(EventValidationError);
  });
});

describe('retryable', () => {
  for (const { error, retryable, code } of [
    { error: new ValidationError('x', ISSUES), retryable: false, code: 'INPUT.INVALID' },
    { error: new SpecValidationError('x', ISSUES), retryable: false, code: 'SPEC.INVALID' },
    { error: new EventValidationError('x', ISSUES), retryable: false, code: 'EVENT.INVALID' },
    { error: new JobNotFoundError('churn-xgb-abcdefghjk'), retryable: false, code: 'JOB.NOT_FOUND' },
    { error: new UnknownProviderError('azure', ['local', 'sagemaker']), retryable: false, code: 'PROVIDER.UNKNOWN' },
    { error: new ProviderError('sagemaker', 'describe', 'throttled', { retryable: true }), retryable: true, code: 'PROVIDER.FAILED' },
    {
      error: new ProviderError('vertex', 'create', 'quota', { retryable: false, code: 'PROVIDER.QUOTA' }),
      retryable: false,
      code: 'PROVIDER.QUOTA',
    },
    { error: new ConcurrencyError('lost 8 races'), retryable: true, code: 'LEDGER.CONTENDED' },
  ]) {
    it(`marks ${error.name} ${code} as ${retryable ? 'retryable' : 'not retryable'}`, () => {
      expect(error.retryable).toBe(retryable);
      expect(error.code).toBe(code);
      expect(isRetryable(error)).toBe(retryable);
    });
  }
});

describe('JobNotFoundError', () => {
  it('names the job', () => {
    const error = new JobNotFoundError('churn-xgb-abcdefghjk');

    expect(error.jobId).toBe('churn-xgb-abcdefghjk');
    expect(error.message).toBe('job churn-xgb-abcdefghjk was not found');
  });
});

describe('UnknownProviderError', () => {
  it('names the provider and the ones that are configured', () => {
    const error = new UnknownProviderError('azure', ['local', 'sagemaker']);

    expect(error.message).toBe('provider "azure" is not configured here (known: local, sagemaker)');
    expect(error.known).toEqual(['local', 'sagemaker']);
  });
});

describe('ProviderError', () => {
  it('names the provider and the operation, and keeps the cause', () => {
    const cause = new Error('ThrottlingException');
    const error = new ProviderError('sagemaker', 'createHyperParameterTuningJob', 'Rate exceeded', { retryable: true, cause });

    expect(error.message).toBe('sagemaker createHyperParameterTuningJob failed: Rate exceeded');
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('ProviderError');
  });
});

describe('isRetryable', () => {
  for (const { what, error } of [
    { what: 'a plain Error', error: new Error('socket hang up') },
    { what: 'a TypeError', error: new TypeError('fetch failed') },
    { what: 'a thrown string', error: 'boom' },
    { what: 'undefined', error: undefined },
  ]) {
    it(`treats ${what} as retryable (unknown failures may be transient)`, () => {
      expect(isRetryable(error)).toBe(true);
    });
  }
});
