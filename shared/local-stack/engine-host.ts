import { listenDevServer } from '../cli/dev-server';
import { engineRoutes } from './engine-api';
import { openEngineStack } from './embedded';
import type { RunningEngine } from './service';
import { readOrCreateApiToken } from './state-dir';
import type { LocalProvider } from '../adapters/local/local-provider';

export interface EngineHostOptions {
  readonly home: string;
  /** The repository root: serverless.yml, and the base of trial commands given without a spec file. */
  readonly root: string;
  readonly dynamoEndpoint: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
}

/**
 * The local service's engine: the embedded stack's handlers and local engine on the service's
 * DynamoDB Local, served on a loopback port (the HTTP API and the engine routes, behind the state
 * directory's token). Jobs whose engine exited before they finished are marked interrupted first,
 * so the ledger hears at once which ones wait for `tunewire resume`.
 */
export async function startEngineHost(options: EngineHostOptions): Promise<RunningEngine> {
  const { token } = readOrCreateApiToken(options.home);
  const server = await listenDevServer({ port: 0, token });
  try {
    const stack = await openEngineStack({ home: options.home, root: options.root }, options.dynamoEndpoint, options.env);
    // The service's stack runs its engine itself (openEngineStack), so this is a LocalProvider.
    const engine = stack.localProvider as LocalProvider;
    const interrupted = await engine.recoverInterrupted();
    // the ledger hears it before any command can read it: service.json is written after this returns
    await stack.bus.drain({ except: ['notify'] });
    if (interrupted.length > 0) options.log(`interrupted (their engine had exited; \`tunewire resume <job>\` continues them): ${interrupted.join(', ')}`);
    server.serve(stack.deps, engineRoutes(engine));
    return {
      url: server.url,
      async close() {
        await server.close();
        await stack.close();
      },
    };
  } catch (error) {
    await server.close();
    throw error;
  }
}
