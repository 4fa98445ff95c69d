import type { ModelRegistry } from '../../ports/provider';

/**
 * The local provider's registry is the ledger's champion pointer itself; a version names the job
 * and trial, and the artifact stays where the trial wrote it.
 */
export class LedgerModelRegistry implements ModelRegistry {
  async registerVersion(input: Parameters<ModelRegistry['registerVersion']>[0]): Promise<{ version: string }> {
    return { version: `${input.jobId}/${input.trial.trialId}` };
  }
}
