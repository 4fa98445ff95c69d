import { listenDevServer } from '../cli/dev-server';
import { engineRoutes } from './engine-api';
import { openEngineStack } from './embedded';
import type { RunningEngine } from './service';
import { readOrCreateApiToken } from './state-dir';
import { reconcileActiveJobs } from '../use-cases/reconcile-active-jobs';
import type { EmbeddedStack } from './embedded';
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
    const reconciler = startReconciler(stack, options.log);
    return {
      url: server.url,
      async close() {
        await reconciler.stop();
        await server.close();
        await stack.close();
      },
    };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** How often the service reconciles its local jobs, as the deployed `reconcile` function does every 15 minutes. */
export const LOCAL_RECONCILE_MS = 15_000;

/**
 * The local reconciler: every LOCAL_RECONCILE_MS, the local jobs the ledger holds as active (running,
 * or finished but not yet announced) are read from the engine and fed through status-change and
 * fan-out, so a command killed in the middle of an announcement (its claim left behind) delays it
 * by a lease at most. One pass at a time; a failed pass is logged and the next one tries again.
 */
function startReconciler(stack: EmbeddedStack, log: (line: string) => void): { stop(): Promise<void> } {
  let pass: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    pass = pass.then(async () => {
      try {
        const result = await reconcileActiveJobs(stack.deps, { providers: ['local'] });
        await stack.bus.drain({ except: ['notify'] });
        if (result.repaired > 0 || result.failures.length > 0) log(`reconciled ${result.checked} local job(s): ${result.repaired} repaired, ${result.failures.length} failed`);
      } catch (error) {
        log(`reconciling local jobs failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }, LOCAL_RECONCILE_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await pass;
    },
  };
}
