import { join } from 'node:path';
import { LedgerModelRegistry } from '../adapters/local/ledger-model-registry';
import { LocalProvider } from '../adapters/local/local-provider';
import { cloudProviderEntries, providerSettingsFrom } from '../provider-bindings';
import { ProviderCatalog } from '../use-cases/dependencies';

/** Providers for `validate` and `render`: rules and request shapes only, nothing is sent. */
export function offlineProviders(home: string, root: string, env: NodeJS.ProcessEnv = process.env): ProviderCatalog {
  // Nothing is sent, so Google's clients need not look for a metadata server (and warn when none answers).
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const local = new LocalProvider({ workDir: join(home, 'local'), cwd: root, emit: async () => undefined });
  return new ProviderCatalog({ local: { provider: local, registry: new LedgerModelRegistry() }, ...cloudProviderEntries(providerSettingsFrom(env)) });
}
