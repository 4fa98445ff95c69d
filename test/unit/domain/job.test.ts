import { describe, expect, it } from 'vitest';
import { deriveJobId, refOf } from '../../../shared/domain/job';

/** SageMaker's HyperParameterTuningJobName pattern (and its 32-character limit). */
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/;

function expectUsableId(id: string): void {
  expect(id.length).toBeLessThanOrEqual(29);
  expect(id).toMatch(/^[a-z0-9-]+$/);
  expect(id).toMatch(SAGEMAKER_NAME);
}

describe('deriveJobId', () => {
  it('gives the same id for the same spec name and key', () => {
    expect(deriveJobId('churn-xgb', 'req-42')).toBe(deriveJobId('churn-xgb', 'req-42'));
  });

  it('gives different ids for different keys', () => {
    const ids = Array.from({ length: 200 }, (_, i) => deriveJobId('churn-xgb', `req-${i}`));

    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives different ids for the same key under different spec names', () => {
    expect(deriveJobId('churn-xgb', 'req-42')).not.toBe(deriveJobId('churn-lgbm', 'req-42'));
    expect(deriveJobId('Churn', 'req-42')).not.toBe(deriveJobId('churn', 'req-42'));
  });

  it('gives different ids without a key', () => {
    const ids = Array.from({ length: 200 }, () => deriveJobId('churn-xgb'));

    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expectUsableId(id);
  });

  it('treats an empty key as no key', () => {
    expect(deriveJobId('churn-xgb', '')).not.toBe(deriveJobId('churn-xgb', ''));
  });

  it('is the spec name, a dash and 10 lowercase characters', () => {
    expect(deriveJobId('churn-xgb', 'req-42')).toMatch(/^churn-xgb-[0-9a-z]{10}$/);
  });

  for (const { what, name, stem } of [
    { what: 'a short name', name: 'a', stem: 'a' },
    { what: 'an upper-case name', name: 'ChurnXGB', stem: 'churnxgb' },
    { what: 'a name of exactly 18 characters', name: 'abcdefghijklmnopqr', stem: 'abcdefghijklmnopqr' },
    { what: 'a 63-character name', name: `churn-${'x'.repeat(57)}`, stem: `churn-${'x'.repeat(12)}` },
    { what: 'a name cut just before a dash', name: 'customer-churn-xgb-daily', stem: 'customer-churn-xgb' },
    { what: 'a name cut on a dash', name: 'customer-churn-lr-daily', stem: 'customer-churn-lr' },
    { what: 'a name cut inside a run of dashes', name: 'customer-churn-----xgb', stem: 'customer-churn' },
    { what: 'a name with doubled dashes', name: 'churn--xgb', stem: 'churn--xgb' },
    { what: 'digits only', name: '2025', stem: '2025' },
    { what: 'a name with characters outside [a-z0-9-]', name: 'churn_xgb.v2', stem: 'churn-xgb-v2' },
  ]) {
    it(`cuts ${what} cleanly`, () => {
      for (const id of [deriveJobId(name, 'req-42'), deriveJobId(name)]) {
        expectUsableId(id);
        expect(id.slice(0, -11)).toBe(stem);
        expect(id.slice(-11, -10)).toBe('-');
      }
    });
  }
});

describe('refOf', () => {
  it('carries the provider id only when it is known', () => {
    expect(refOf({ provider: 'sagemaker', providerJobName: 'churn-xgb-abcdefghjk' })).toEqual({
      provider: 'sagemaker',
      providerJobName: 'churn-xgb-abcdefghjk',
    });
    expect(
      refOf({ provider: 'sagemaker', providerJobName: 'churn-xgb-abcdefghjk', providerJobId: 'arn:aws:sagemaker:eu-west-1:1:hyper-parameter-tuning-job/x' }),
    ).toEqual({
      provider: 'sagemaker',
      providerJobName: 'churn-xgb-abcdefghjk',
      providerJobId: 'arn:aws:sagemaker:eu-west-1:1:hyper-parameter-tuning-job/x',
    });
  });
});
