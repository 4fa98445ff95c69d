import { createCloudDependencies } from '../shared/composition';
import { loadConfig } from '../shared/config';
import { cloudProviderEntries, providerSettingsFrom } from '../shared/provider-bindings';
import type { Dependencies } from '../shared/use-cases/dependencies';

let dependencies: Promise<Dependencies> | undefined;

/** The composition root, built once per cold start from the function's environment. */
export function cloudDependencies(): Promise<Dependencies> {
  dependencies ??= Promise.resolve().then(() => createCloudDependencies(loadConfig(process.env), cloudProviderEntries(providerSettingsFrom(process.env))));
  return dependencies;
}

/** One structured log line per handled event, with the job id as correlation id. */
export function logOutcome(fn: string, outcome: { outcome: string; jobId?: string; detail?: string }): void {
  console.log(JSON.stringify({ level: outcome.outcome === 'rejected' ? 'warn' : 'info', function: fn, ...outcome }));
}
