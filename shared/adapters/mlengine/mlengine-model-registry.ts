import { ProviderError } from '../../domain/errors';
import type { ModelRegistry } from '../../ports/provider';

/**
 * The registry for ML Engine winners: the ledger's champion pointer, as for the local provider.
 *
 * Why not ML Engine models: the reference this adapter follows covers `projects.jobs` only, not
 * `projects.models` / `projects.models.versions` (create with `deploymentUri`, `setDefault`), so
 * nothing here calls them. A version names the job and trial; the model stays where the trial
 * wrote it, `<trial.jobDir>/<trialId>`, which every promotable trial must have (validation
 * requires `trial.jobDir` when the spec promotes).
 *
 * @example const { version } = await registry.registerVersion({ model, jobId, ref, trial, spec }); // 'census-4k2m/7'
 */
export class MlEngineModelRegistry implements ModelRegistry {
  async registerVersion(input: Parameters<ModelRegistry['registerVersion']>[0]): Promise<{ version: string }> {
    if (!input.trial.artifactUri) {
      throw new ProviderError('mlengine', 'registerVersion', `trial ${input.trial.trialId} of job ${input.jobId} has no model location (set trial.jobDir)`, {
        retryable: false,
        code: 'REGISTRY.NO_ARTIFACT',
      });
    }
    return { version: `${input.jobId}/${input.trial.trialId}` };
  }
}
