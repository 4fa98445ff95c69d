import { describe, expect, it } from 'vitest';
import { MlEngineClient } from '../../../../shared/adapters/mlengine/mlengine-client';
import { MlEngineModelRegistry } from '../../../../shared/adapters/mlengine/mlengine-model-registry';
import { decodeTrialCursor, encodeTrialCursor, MlEngineProvider } from '../../../../shared/adapters/mlengine/mlengine-provider';
import { ProviderError, SpecValidationError } from '../../../../shared/domain/errors';
import { parseSpec, type TuningSpec } from '../../../../shared/domain/spec';

function spec(trial: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): TuningSpec {
  return parseSpec({
    name: 'census',
    provider: 'mlengine',
    objective: { metric: 'accuracy', goal: 'maximize' },
    parameters: [{ name: 'layers', type: 'integer', min: 1, max: 4 }],
    strategy: 'random',
    budget: { maxTrials: 4 },
    trial: { region: 'us-central1', scaleTier: 'BASIC', packageUris: ['gs://b-1/t.tar.gz'], pythonModule: 'trainer.task', ...trial },
    ...overrides,
  });
}

// Nothing here reaches the network: validate, render and providerJobName are pure.
const offline = new MlEngineClient({ baseUrl: 'http://127.0.0.1:9/v1', auth: 'none' });

describe('MlEngineProvider (offline)', () => {
  it('needs a project from the spec or a default', () => {
    const provider = new MlEngineProvider({ client: offline });
    expect(() => provider.validate(spec())).toThrow(SpecValidationError);
    expect(() => provider.validate(spec({ project: 'tunewire-demo' }))).not.toThrow();
    expect(() => new MlEngineProvider({ client: offline, project: 'tunewire-demo' }).validate(spec())).not.toThrow();
  });

  it('refuses a spec for another provider', () => {
    const provider = new MlEngineProvider({ client: offline, project: 'tunewire-demo' });
    try {
      provider.validate({ ...spec(), provider: 'vertex' });
      expect.unreachable();
    } catch (error) {
      expect((error as SpecValidationError).issues.map((i) => i.path)).toEqual(['provider']);
    }
  });

  it('names provider jobs after the tunewire job id', () => {
    expect(new MlEngineProvider({ client: offline }).providerJobName('census-4k2m9x0abc')).toBe('census_4k2m9x0abc');
  });
});

describe('ML Engine trial cursor', () => {
  it('writes numeric ids as ranges, canonically', () => {
    expect(encodeTrialCursor(['3', '1', '2', '5', '7', '6', '10'])).toBe('t1:1-3,5-7,10');
    expect(encodeTrialCursor(['2', '1'])).toBe(encodeTrialCursor(['1', '2', '2']));
    expect(encodeTrialCursor([])).toBe('t1:');
  });

  it('keeps other ids whole', () => {
    const ids = ['1', 'trial,a', 'b~c', '007'];
    expect(decodeTrialCursor(encodeTrialCursor(ids))).toEqual(new Set(ids));
  });

  it('round-trips', () => {
    const ids = Array.from({ length: 500 }, (_, i) => String(i * 2 + 1));
    expect(decodeTrialCursor(encodeTrialCursor(ids))).toEqual(new Set(ids));
    expect(decodeTrialCursor(undefined)).toEqual(new Set());
  });

  it('refuses a cursor that is not one', () => {
    expect(() => decodeTrialCursor('42')).toThrow(ProviderError);
    expect(() => decodeTrialCursor('t1:5-2')).toThrow(ProviderError);
    expect(() => decodeTrialCursor('t1:x')).toThrow(ProviderError);
  });
});

describe('MlEngineModelRegistry', () => {
  const input = { model: 'census', jobId: 'census-1', ref: { provider: 'mlengine' as const, providerJobName: 'census_1' }, spec: spec() };

  it('names the job and trial as the version', async () => {
    const trial = { trialId: '7', status: 'succeeded' as const, hyperparameters: {}, stoppedEarly: false, artifactUri: 'gs://b-1/jobs/7' };
    await expect(new MlEngineModelRegistry().registerVersion({ ...input, trial })).resolves.toEqual({ version: 'census-1/7' });
  });

  it('refuses a trial without a model location', async () => {
    const trial = { trialId: '7', status: 'succeeded' as const, hyperparameters: {}, stoppedEarly: false };
    await expect(new MlEngineModelRegistry().registerVersion({ ...input, trial })).rejects.toThrow(ProviderError);
  });
});
