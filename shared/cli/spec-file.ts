import { dirname, isAbsolute, resolve } from 'node:path';
import type { TuningSpec } from '../domain/spec';

/**
 * A local spec read from a file runs its trials from the file's folder: a spec beside its own
 * script names it `train.mjs`, wherever tunewire is started. `trial.cwd`, when given, is taken
 * relative to that folder. Specs of other providers, and specs that arrive without a file (the
 * HTTP API, templates), are unchanged: their local trials run from the repository root.
 *
 * @example anchorTrialCwd(spec, 'examples/iris-forest/spec.yaml').trial.cwd // '/repo/examples/iris-forest'
 */
export function anchorTrialCwd(spec: TuningSpec, file: string): TuningSpec {
  if (spec.provider !== 'local') return spec;
  const folder = dirname(resolve(file));
  const given = spec.trial['cwd'];
  // a cwd of the wrong type is left for validation to name
  if (given !== undefined && typeof given !== 'string') return spec;
  const cwd = given === undefined ? folder : isAbsolute(given) ? given : resolve(folder, given);
  return { ...spec, trial: { ...spec.trial, cwd } };
}
