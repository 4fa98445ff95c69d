import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TunewireError } from '../domain/errors';

/**
 * A local emulator we started and must stop: DynamoDB Local, the Pub/Sub emulator.
 *
 * @example
 *   const dynamo = await startDynamoDbLocal({});
 *   try { new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials }); }
 *   finally { await dynamo.stop(); }
 */
export interface RunningService {
  /** What clients are pointed at: `http://127.0.0.1:N` for DynamoDB Local, `127.0.0.1:N` for Pub/Sub (the PUBSUB_EMULATOR_HOST form). */
  readonly endpoint: string;
  /** The emulator's process, which leads its process group. */
  readonly pid?: number;
  /** Stops the emulator's whole process group and resolves once it is gone. Calling it again returns the same promise. */
  stop(): Promise<void>;
}

export type LocalServiceErrorCode =
  | 'LOCAL_STACK.JAVA_MISSING'
  | 'LOCAL_STACK.JDK_COMPILER_MISSING'
  | 'LOCAL_STACK.NOT_INSTALLED'
  | 'LOCAL_STACK.EXITED_EARLY'
  | 'LOCAL_STACK.START_TIMEOUT'
  | 'LOCAL_STACK.PORT_IN_USE'
  | 'LOCAL_STACK.SERVICE_FAILED'
  | 'LOCAL_STACK.SERVICE_TIMEOUT';

/** An emulator did not come up. `output` is the tail of what the process printed, for the message and for logs. */
export class LocalServiceError extends TunewireError {
  readonly retryable = false;

  constructor(
    readonly code: LocalServiceErrorCode,
    readonly service: string,
    message: string,
    readonly output = '',
    options?: { cause?: unknown },
  ) {
    super(`${service}: ${message}${output.trim() ? `\n--- last output of ${service} ---\n${output.trimEnd()}` : ''}`, options);
  }
}

const LOOPBACK = '127.0.0.1';

/** A port nothing listens on right now, on any interface. Another process may still take it before we bind it; startService retries for that. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    // No host: bind the wildcard address, so the port is free on every interface, not only on the loopback the emulators use.
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the OS gave no port'))));
    });
  });
}

export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * Polls until a TCP connection to host:port succeeds. Rejects with the signal's reason when `signal` aborts (the process died)
 * and with a timeout error after `timeoutMs`.
 */
export async function waitForPort(port: number, options: { host?: string; timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const { host = LOOPBACK, timeoutMs = 30_000, intervalMs = 100, signal } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (await canConnect(host, port)) return;
    if (Date.now() >= deadline) throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms`);
    await sleep(intervalMs, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
  }
}

/** Whether a TCP connection to host:port succeeds now (within a second). */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(1_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

export interface ServiceLaunch {
  /** For messages: `DynamoDB Local`. */
  readonly service: string;
  /** Fixed port; without it a free one is picked (and picked again if another process wins the race for it). */
  readonly port?: number;
  readonly startTimeoutMs?: number;
  readonly endpoint: (port: number) => string;
  /** Must spawn with `detached: true` so that the child leads its own process group, which stop() kills as a whole. */
  readonly spawn: (port: number) => ChildProcess;
}

const AUTO_PORT_ATTEMPTS = 3;

/** Spawns an emulator, waits for its port, and hands back a RunningService that cleans up after itself. */
export async function startService(launch: ServiceLaunch): Promise<RunningService> {
  if (launch.port !== undefined) {
    if (!(await isPortFree(launch.port))) {
      throw new LocalServiceError('LOCAL_STACK.PORT_IN_USE', launch.service, `port ${launch.port} is already in use; pass another port or none`);
    }
    return startOnce(launch, launch.port);
  }
  for (let attempt = 1; ; attempt += 1) {
    const port = await findFreePort();
    try {
      return await startOnce(launch, port);
    } catch (error) {
      // Lost the race for the port between findFreePort and the emulator's bind: try another one.
      const lostRace = error instanceof LocalServiceError && error.code === 'LOCAL_STACK.EXITED_EARLY' && !(await isPortFree(port));
      if (!lostRace || attempt >= AUTO_PORT_ATTEMPTS) throw error;
    }
  }
}

async function startOnce(launch: ServiceLaunch, port: number): Promise<RunningService> {
  const { service, startTimeoutMs = 30_000 } = launch;
  const supervised = supervise(launch.spawn(port));
  try {
    await waitForPort(port, { timeoutMs: startTimeoutMs, signal: supervised.died });
  } catch (error) {
    // Read how it died before stop(), which kills it too.
    const death: unknown = supervised.died.aborted ? supervised.died.reason : undefined;
    await supervised.stop();
    const output = supervised.output();
    if (death === undefined) {
      throw new LocalServiceError('LOCAL_STACK.START_TIMEOUT', service, `did not listen on port ${port} within ${startTimeoutMs} ms`, output, { cause: error });
    }
    if (!javaOnPath()) {
      throw new LocalServiceError(
        'LOCAL_STACK.JAVA_MISSING',
        service,
        `could not start (${String(death)}): it runs on Java 17 or newer and \`java\` is not on PATH. Install a JRE, e.g. apt-get install openjdk-17-jre-headless.`,
        output,
        { cause: death },
      );
    }
    throw new LocalServiceError('LOCAL_STACK.EXITED_EARLY', service, `exited before it listened on port ${port} (${String(death)})`, output, { cause: death });
  }
  return { endpoint: launch.endpoint(port), ...(supervised.pid !== undefined ? { pid: supervised.pid } : {}), stop: supervised.stop };
}

function javaOnPath(): boolean {
  return !spawnSync('java', ['-version'], { stdio: 'ignore' }).error;
}

interface Supervised {
  readonly pid?: number;
  /** Aborts when the process exits or fails to spawn; `reason` says how. */
  readonly died: AbortSignal;
  output(): string;
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 8_192;
const STOP_GRACE_MS = 5_000;

/**
 * Owns one detached child: keeps the tail of its output (draining the pipes, or a chatty JVM would block on a full pipe),
 * and makes sure its process group dies with us: on stop(), on our 'exit', and through a watchdog when we are killed
 * by a signal, which runs no 'exit' handler at all.
 */
function supervise(child: ChildProcess): Supervised {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const death = new AbortController();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      death.abort(new Error(signal ? `killed by ${signal}` : `exit code ${code}`));
      resolve();
    });
    child.on('error', (error) => {
      // A failed spawn emits 'error' and no 'exit'; a failed kill emits 'error' on a live child.
      if (child.pid !== undefined) return;
      exited = true;
      death.abort(error);
      resolve();
    });
  });

  const pgid = child.pid;
  if (pgid === undefined) {
    return { died: death.signal, output: () => tail, stop: () => exit };
  }
  live.add(pgid);
  ensureExitHook();
  const watchdog = startWatchdog(pgid);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      signalGroup(pgid, 'SIGTERM');
      const clean = await until(() => exited && !groupAlive(pgid), STOP_GRACE_MS);
      if (!clean) {
        signalGroup(pgid, 'SIGKILL');
        await until(() => exited && !groupAlive(pgid), STOP_GRACE_MS);
      }
      watchdog?.kill('SIGKILL');
      live.delete(pgid);
    })();
    return stopping;
  };
  return { pid: pgid, died: death.signal, output: () => tail, stop };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Process groups we started and have not stopped yet. */
const live = new Set<number>();
let exitHookInstalled = false;

function ensureExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: no graceful stop here, just make sure no JVM outlives us.
  process.on('exit', () => {
    for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  });
}

/**
 * A tiny detached shell that polls our pid and kills the emulator's group once we are gone, for the deaths that run no
 * 'exit' handler (SIGINT on a terminal, SIGKILL, an OOM kill). Its own group, so a Ctrl+C meant for us does not kill it first.
 */
function startWatchdog(pgid: number): ChildProcess | undefined {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'kill -s TERM -- "-$2" 2>/dev/null || exit 0',
    'i=0; while kill -0 -- "-$2" 2>/dev/null && [ $i -lt 10 ]; do sleep 0.5; i=$((i+1)); done',
    'kill -s KILL -- "-$2" 2>/dev/null',
  ].join('\n');
  try {
    const watchdog = spawn('/bin/sh', ['-c', script, 'tunewire-local-stack-watchdog', String(process.pid), String(pgid)], {
      detached: true,
      stdio: 'ignore',
    });
    watchdog.on('error', () => undefined);
    watchdog.unref();
    return watchdog;
  } catch {
    return undefined;
  }
}
