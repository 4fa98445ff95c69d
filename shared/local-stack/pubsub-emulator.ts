import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalServiceError, startService, type RunningService } from './ports';

export interface PubSubEmulatorOptions {
  /** Without one, a free port is picked. */
  readonly port?: number;
  /** How long to wait for the port; 30 s by default (about 1.2 s here through the script, 2.4 s through gcloud). */
  readonly startTimeoutMs?: number;
  /** Where CLOUDSDK_ROOT_DIR and PATH are read from, and the emulator's environment. Defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Told why, when the emulator is not installed and the result is null. */
  readonly onUnavailable?: (reason: string) => void;
}

type Launcher = { readonly kind: 'script'; readonly script: string } | { readonly kind: 'gcloud' } | { readonly kind: 'unavailable'; readonly reason: string };

const SCRIPT = join('platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');

/**
 * Starts the Google Cloud Pub/Sub emulator on 127.0.0.1 and resolves once its port accepts connections, or resolves null when
 * gcloud or its emulator component is not installed (the caller decides whether that means skip or fail).
 *
 * Runs the emulator's own start script under the SDK root (ready in about 1.2 s), else
 * `gcloud beta emulators pubsub start` (about 2.4 s). Topics and subscriptions live in memory.
 *
 * @example
 *   const pubsub = await startPubSubEmulator({ onUnavailable: (why) => console.warn(why) });
 *   if (pubsub) new PubSub({ projectId: 'tunewire-local', apiEndpoint: pubsub.endpoint });
 */
export async function startPubSubEmulator(options: PubSubEmulatorOptions = {}): Promise<RunningService | null> {
  const env = options.env ?? process.env;
  const launcher = await locate(env);
  if (launcher.kind === 'unavailable') {
    options.onUnavailable?.(launcher.reason);
    return null;
  }
  const common = {
    service: 'Pub/Sub emulator',
    port: options.port,
    startTimeoutMs: options.startTimeoutMs,
    endpoint: (port: number) => `127.0.0.1:${port}`,
  };
  if (launcher.kind === 'script') {
    // detached: the script execs java today, but its own process group lets stop() take whatever it spawns.
    return startService({
      ...common,
      spawn: (port) => spawn(launcher.script, ['--host=127.0.0.1', `--port=${port}`], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
    });
  }
  try {
    return await startService({
      ...common,
      // gcloud (python) starts the script, which starts java: three processes, one group.
      spawn: (port) =>
        spawn('gcloud', ['beta', 'emulators', 'pubsub', 'start', `--host-port=127.0.0.1:${port}`, '--quiet'], {
          env: { ...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
    });
  } catch (error) {
    // gcloud without the beta or pubsub-emulator component exits at once; that is "not installed", not a failure.
    if (error instanceof LocalServiceError && error.code === 'LOCAL_STACK.EXITED_EARLY') {
      options.onUnavailable?.(`\`gcloud beta emulators pubsub start\` failed; is the pubsub-emulator component installed?\n${error.message}`);
      return null;
    }
    throw error;
  }
}

async function locate(env: NodeJS.ProcessEnv): Promise<Launcher> {
  const fromEnv = env.CLOUDSDK_ROOT_DIR;
  const root = fromEnv || (await sdkRootFromGcloud(env));
  if (root === undefined) {
    return { kind: 'unavailable', reason: 'gcloud is not on PATH and CLOUDSDK_ROOT_DIR is not set, so the Google Cloud SDK and its Pub/Sub emulator were not found.' };
  }
  const script = join(root, SCRIPT);
  if (await isExecutable(script)) return { kind: 'script', script };
  if (fromEnv && (await sdkRootFromGcloud(env)) === undefined) {
    return { kind: 'unavailable', reason: `no Pub/Sub emulator at ${script} (CLOUDSDK_ROOT_DIR) and no gcloud on PATH.` };
  }
  return { kind: 'gcloud' };
}

const execFileAsync = promisify(execFile);

/** `gcloud info` answers in about 0.7 s; undefined when gcloud is missing or broken. */
async function sdkRootFromGcloud(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('gcloud', ['info', '--format=value(installation.sdk_root)'], { env, timeout: 20_000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
