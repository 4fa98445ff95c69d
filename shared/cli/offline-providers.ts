import { join } from 'node:path';
import { LedgerModelRegistry } from '../adapters/local/ledger-model-registry';
import { LocalProvider } from '../adapters/local/local-provider';
import { ProviderCatalog } from '../use-cases/dependencies';

/** Providers for `validate` and `render`: rules and request shapes only, nothing is sent. */
export function offlineProviders(home: string, root: string): ProviderCatalog {
  const local = new LocalProvider({ workDir: join(home, 'local'), cwd: root, emit: async () => undefined });
  return new ProviderCatalog({ local: { provider: local, registry: new LedgerModelRegistry() } });
}
