import { spawn } from 'node:child_process';
import { closeSync, linkSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { requestLocalStop, runningLocalJobs, type RunningLocalJob } from '../adapters/local/local-provider';
import { startDynamoDbLocal } from './dynamodb-local';
import { canConnect, LocalServiceError, type RunningService } from './ports';
import { ensurePrivateDir, writePrivateFile } from './state-dir';

// The state directory's shared stack, as files under <home>:
//   service.json   the running service: pid, DynamoDB Local's endpoint (0600; written once it answers)
//   service.lock   held by the service for its whole life; its content is the owner's pid
//   service.log    the service's stdout and stderr (0600, appended)
//   clients/<pid>  one lease per attached CLI process; a lease whose pid is dead does not count

const SERVICE_NAME = 'the tunewire service';
const SERVICE_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tunewire-service.mjs');
const LOOPBACK = '127.0.0.1';
const POLL_MS = 100;
const ATTACH_TIMEOUT_MS = 120_000;

export const DEFAULT_IDLE_SECONDS = 300;

export interface ServicePaths {
  readonly home: string;
  readonly file: string;
  readonly lock: string;
  readonly log: string;
  readonly clients: string;
}

export function servicePaths(home: string): ServicePaths {
  const root = resolve(home);
  return {
    home: root,
    file: join(root, 'service.json'),
    lock: join(root, 'service.lock'),
    log: join(root, 'service.log'),
    clients: join(root, 'clients'),
  };
}

/** What service.json holds. */
export interface ServiceInfo {
  readonly pid: number;
  readonly dynamoEndpoint: string;
  readonly startedAt: string;
  /** DynamoDB Local's process (the leader of its group): a successor ends it if it outlived its service. */
  readonly dynamoPid?: number;
  /** The service's HTTP API and engine routes on loopback (see engine-api.ts); absent from a service that runs no engine. */
  readonly apiUrl?: string;
}

/** A CLI process's hold on the service: while it is held, the service does not stop for idleness. */
export interface AttachedService {
  readonly info: ServiceInfo;
  /** True when this call started the service. */
  readonly started: boolean;
  readonly paths: ServicePaths;
  release(): void;
}

/**
 * The state directory's running service, or undefined: service.json names a live process and its
 * DynamoDB Local answers. Costs a file read and one loopback connect.
 */
export async function findService(home: string): Promise<ServiceInfo | undefined> {
  const info = readServiceFile(servicePaths(home).file);
  if (!info || !isAlive(info.pid)) return undefined;
  const { hostname, port } = new URL(info.dynamoEndpoint);
  return (await canConnect(hostname, Number(port))) ? info : undefined;
}

/**
 * Attaches this process to the state directory's service, starting it when none runs: a lease
 * first (so that a service deciding to stop sees us), then service.json. Starting spawns a
 * detached candidate; the candidate that takes service.lock opens DynamoDB Local, any other one
 * exits at once, so two commands started together share one.
 *
 * @example
 *   const service = await attachService('.tunewire');
 *   try { new DynamoDBClient({ endpoint: service.info.dynamoEndpoint, ... }); } finally { service.release(); }
 */
export async function attachService(home: string, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<AttachedService> {
  const paths = servicePaths(home);
  ensurePrivateDir(paths.home);
  const release = holdLease(paths);
  try {
    const { info, started } = await awaitService(paths, options.timeoutMs ?? ATTACH_TIMEOUT_MS, options.env ?? process.env);
    return { info, started, paths, release };
  } catch (error) {
    release();
    throw error;
  }
}

async function awaitService(paths: ServicePaths, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<{ info: ServiceInfo; started: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let candidate: Candidate | undefined;
  for (;;) {
    const info = await findService(paths.home);
    if (info) return { info, started: candidate !== undefined };
    if (liveHolder(paths.lock) === undefined) {
      // No live owner: start a candidate, unless ours is still on its way to the lock.
      if (candidate?.exit !== undefined && candidate.exit !== 0) throw candidate.failure();
      if (candidate === undefined || candidate.exit !== undefined) candidate = spawnCandidate(paths, env);
    }
    if (Date.now() > deadline) {
      throw new LocalServiceError('LOCAL_STACK.SERVICE_TIMEOUT', SERVICE_NAME, `did not come up within ${timeoutMs} ms; see ${paths.log}`, logSince(paths.log, candidate?.logOffset));
    }
    await sleep(POLL_MS);
  }
}

interface Candidate {
  readonly logOffset: number;
  exit: number | undefined;
  failure(): LocalServiceError;
}

function spawnCandidate(paths: ServicePaths, env: NodeJS.ProcessEnv): Candidate {
  const logOffset = sizeOf(paths.log);
  const log = openSync(paths.log, 'a', 0o600);
  try {
    // Its own process group and no pipe to us: it outlives this command, and a Ctrl-C meant for us does not reach it.
    const child = spawn(process.execPath, [SERVICE_BIN, paths.home], { cwd: dirname(SERVICE_BIN), env, detached: true, stdio: ['ignore', log, log] });
    const candidate: Candidate = {
      logOffset,
      exit: undefined,
      failure: () =>
        new LocalServiceError('LOCAL_STACK.SERVICE_FAILED', SERVICE_NAME, `could not start (exit code ${candidate.exit}); its log is ${paths.log}`, logSince(paths.log, logOffset)),
    };
    child.once('exit', (code) => (candidate.exit = code ?? 1));
    child.once('error', () => (candidate.exit = 1));
    child.unref();
    return candidate;
  } finally {
    closeSync(log);
  }
}

// --- leases ---------------------------------------------------------------------------------

const leases = new Map<string, number>();
let leaseHookInstalled = false;

/** One file per process, however often it attaches; removed on release and at exit, ignored once its pid is dead. */
function holdLease(paths: ServicePaths): () => void {
  const file = join(paths.clients, String(process.pid));
  const count = leases.get(file) ?? 0;
  if (count === 0) {
    ensurePrivateDir(paths.clients);
    writePrivateFile(file, holderText());
  }
  leases.set(file, count + 1);
  if (!leaseHookInstalled) {
    leaseHookInstalled = true;
    process.on('exit', () => {
      for (const held of leases.keys()) rmSync(held, { force: true });
    });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (leases.get(file) ?? 1) - 1;
    if (left > 0) leases.set(file, left);
    else {
      leases.delete(file);
      rmSync(file, { force: true });
    }
  };
}

/** The pids of live leases other than `except`; dead ones (a pid gone, or reused by another process) are removed on the way. */
export function liveClients(home: string, except?: number): number[] {
  const { clients } = servicePaths(home);
  let names: string[];
  try {
    names = readdirSync(clients);
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = liveHolder(join(clients, name));
    if (pid !== undefined) {
      if (pid !== except) live.push(pid);
    } else rmSync(join(clients, name), { force: true });
  }
  return live;
}

// --- the lock -------------------------------------------------------------------------------

/**
 * Takes service.lock for this process. The lock's content is written before it has its name (a
 * hard link of a finished temp file fails when the name exists), so a reader never sees an empty
 * lock. A lock whose pid is dead is stale: it is removed under a second lock, after reading it
 * again, so two processes recovering at once cannot remove each other's fresh lock.
 * Returns false when a live process holds it.
 */
export function acquireLock(lock: string): boolean {
  for (;;) {
    if (linkExclusive(lock, holderText())) return true;
    const seen = readText(lock);
    if (liveHolder(lock) !== undefined) return false;
    const recover = `${lock}.recover`;
    if (!linkExclusive(recover, holderText())) {
      // Its holder died in the few lines below: nobody else will clear it.
      if (liveHolder(recover) === undefined) rmSync(recover, { force: true });
      continue;
    }
    try {
      if (readText(lock) === seen && liveHolder(lock) === undefined) rmSync(lock, { force: true });
    } finally {
      rmSync(recover, { force: true });
    }
  }
}

/**
 * What a lock or lease says about its writer: the pid and, on Linux, a stamp of the boot and the
 * process's start time. Pids are reused (above all after a reboot), and a lock naming a reused pid
 * must not pass for held.
 */
function holderText(): string {
  const stamp = processStamp(process.pid);
  return stamp === undefined ? String(process.pid) : `${process.pid} ${stamp}`;
}

/** The pid a lock or lease names, when that very process still runs; undefined otherwise. */
export function liveHolder(file: string): number | undefined {
  const [pidText = '', stamp] = (readText(file) ?? '').trim().split(/\s+/);
  if (!/^\d+$/.test(pidText)) return undefined;
  const pid = Number(pidText);
  if (!isAlive(pid)) return undefined;
  if (stamp === undefined) return pid;
  const now = processStamp(pid);
  return now === undefined || now === stamp ? pid : undefined;
}

/** `<boot id>/<start time>` of a process (Linux /proc); undefined where there is no /proc. */
export function processStamp(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // after "pid (comm) " come the fields from the third on; the start time is the 22nd
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return start ? `${boot}/${start}` : undefined;
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function releaseLock(lock: string): void {
  if (lockOwner(lock) === process.pid) rmSync(lock, { force: true });
}

/** The pid written in a lock file, alive or not; undefined when there is none or it holds no pid. */
export function lockOwner(lock: string): number | undefined {
  const pid = (readText(lock) ?? '').trim().split(/\s+/)[0] ?? '';
  return /^\d+$/.test(pid) ? Number(pid) : undefined;
}

function linkExclusive(path: string, content: string): boolean {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, content, { mode: 0o600 });
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

// --- stopping it ----------------------------------------------------------------------------

export interface StopOptions {
  /** Stop even with local jobs running (they are asked to stop first) or other commands attached. */
  readonly force?: boolean;
  readonly timeoutMs?: number;
}

export type StopResult =
  | { readonly outcome: 'not-running' }
  | { readonly outcome: 'busy'; readonly info: ServiceInfo; readonly jobs: readonly RunningLocalJob[]; readonly clients: readonly number[] }
  | { readonly outcome: 'stopped'; readonly info: ServiceInfo; readonly stoppedJobs: readonly RunningLocalJob[] };

/**
 * Stops the state directory's service. Refuses (outcome `busy`) while local jobs run or other
 * commands are attached, unless forced; forced, it asks the jobs to stop, gives their commands a
 * moment to record it, then sends SIGTERM and waits until the service has let go of the lock.
 */
export async function stopService(home: string, options: StopOptions = {}): Promise<StopResult> {
  const paths = servicePaths(home);
  const info = readServiceFile(paths.file);
  const owner = liveHolder(paths.lock);
  const pid = owner ?? (info && isAlive(info.pid) ? info.pid : undefined);
  if (pid === undefined || !info) return { outcome: 'not-running' };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const workDir = join(paths.home, 'local');
  const jobs = await runningLocalJobs(workDir);
  const clients = liveClients(home, process.pid);
  if (!options.force && (jobs.length > 0 || clients.length > 0)) return { outcome: 'busy', info, jobs, clients };

  if (jobs.length > 0) {
    await Promise.all(jobs.map((job) => requestLocalStop(workDir, job.jobName)));
    await waitUntil(async () => (await runningLocalJobs(workDir)).length === 0, deadline);
    // The commands that ran them record the stop in the ledger before they let go.
    await waitUntil(async () => liveClients(home, process.pid).length === 0, Math.min(deadline, Date.now() + 15_000));
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const gone = await waitUntil(async () => !isAlive(pid), deadline);
  if (!gone) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return { outcome: 'stopped', info, stoppedJobs: jobs };
}

async function waitUntil(condition: () => Promise<boolean>, deadline: number): Promise<boolean> {
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
}

// --- the service process --------------------------------------------------------------------

export interface ServiceSettings {
  readonly home: string;
  /** Stop after this long with no live client and no running local job. */
  readonly idleMs: number;
  readonly log: (line: string) => void;
  /** For tests: another DynamoDB Local starter. */
  readonly startDynamo?: (dataDir: string) => Promise<RunningService>;
  /** Starts the local engine and its HTTP routes once DynamoDB Local answers (engine-host.ts); none in tests of the lifecycle alone. */
  readonly startEngine?: (dynamoEndpoint: string) => Promise<RunningEngine>;
}

/** The engine the service runs: where its routes listen, and how to stop it (its jobs are stopped and recorded). */
export interface RunningEngine {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The service's life: 1. take the lock, or leave when a live service holds it; 2. start DynamoDB
 * Local on <home>/dynamodb; 3. advertise it in service.json; 4. check every tick whether anyone
 * still needs it; 5. once idle long enough (or on SIGTERM), withdraw service.json, look once more
 * for a client that attached meanwhile, and stop. Resolves with the process's exit code.
 */
export async function runService(settings: ServiceSettings): Promise<number> {
  const paths = servicePaths(settings.home);
  ensurePrivateDir(paths.home);
  if (!acquireLock(paths.lock)) {
    settings.log(`pid ${lockOwner(paths.lock)} already runs the service for ${paths.home}; leaving`);
    return 0;
  }
  let dynamo: RunningService | undefined;
  let engine: RunningEngine | undefined;
  try {
    await retirePredecessor(readServiceFile(paths.file), settings.log);
    rmSync(paths.file, { force: true });
    const start = settings.startDynamo ?? ((dataDir: string) => startDynamoDbLocal({ dataDir }));
    dynamo = await start(join(paths.home, 'dynamodb'));
    engine = await settings.startEngine?.(dynamo.endpoint);
    const info: ServiceInfo = {
      pid: process.pid,
      dynamoEndpoint: dynamo.endpoint,
      startedAt: new Date().toISOString(),
      ...(dynamo.pid !== undefined ? { dynamoPid: dynamo.pid } : {}),
      ...(engine ? { apiUrl: engine.url } : {}),
    };
    writePrivateFile(paths.file, JSON.stringify(info));
    settings.log(`started DynamoDB Local at ${dynamo.endpoint}${engine ? ` and the local engine at ${engine.url}` : ''} for ${paths.home} (pid ${process.pid}; idle stop after ${settings.idleMs / 1000} s)`);

    const reason = await untilIdle(settings, paths, info);
    settings.log(`stopping: ${reason}`);
    return 0;
  } catch (error) {
    settings.log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    const file = readServiceFile(paths.file);
    if (file?.pid === process.pid) rmSync(paths.file, { force: true });
    // the engine first: its jobs' last events still go to the ledger
    await engine?.close().catch((error: unknown) => settings.log(`stopping the engine failed: ${error instanceof Error ? error.message : String(error)}`));
    await dynamo?.stop();
    releaseLock(paths.lock);
  }
}

async function untilIdle(settings: ServiceSettings, paths: ServicePaths, info: ServiceInfo): Promise<string> {
  let stopBy: string | undefined;
  let wake: () => void = () => undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stopBy = signal;
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const tickMs = Math.max(50, Math.min(1_000, settings.idleMs / 4));
  let lastBusy = Date.now();
  try {
    for (;;) {
      if (stopBy) return stopBy;
      if (await busy(paths)) lastBusy = Date.now();
      else if (Date.now() - lastBusy >= settings.idleMs) {
        // Withdraw first, then look again: a client writes its lease before it reads service.json,
        // so one that found us before the withdrawal is seen here.
        rmSync(paths.file, { force: true });
        if (!(await busy(paths))) return `idle for ${Math.round((Date.now() - lastBusy) / 1000)} s`;
        writePrivateFile(paths.file, JSON.stringify(info));
        lastBusy = Date.now();
      }
      await new Promise<void>((resolveTick) => {
        const timer = setTimeout(resolveTick, tickMs);
        wake = () => (clearTimeout(timer), resolveTick());
      });
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

async function busy(paths: ServicePaths): Promise<boolean> {
  if (liveClients(paths.home).length > 0) return true;
  return (await runningLocalJobs(join(paths.home, 'local'))).length > 0;
}

/**
 * A service killed outright (kill -9, an OOM kill) leaves its DynamoDB Local to a watchdog that
 * ends it within seconds; a successor must not open the same files before then. Waits for it to
 * go, and ends it when it lingers, after checking that the pid is still a Java process.
 */
async function retirePredecessor(previous: ServiceInfo | undefined, log: (line: string) => void): Promise<void> {
  const pid = previous?.dynamoPid;
  if (!previous || pid === undefined || previous.pid === process.pid || isAlive(previous.pid) || !isJava(pid)) return;
  log(`DynamoDB Local (pid ${pid}) of a service that exited (pid ${previous.pid}) still runs; ending it first`);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-pid, signal);
    } catch {
      return; // gone
    }
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && isJava(pid)) await sleep(POLL_MS);
    if (!isJava(pid)) return;
  }
}

/** True when pid is a live Java process (Linux: its command line; elsewhere: alive at all). */
function isJava(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('java');
  } catch {
    return process.platform !== 'linux';
  }
}

// --- small helpers --------------------------------------------------------------------------

export function readServiceFile(file: string): ServiceInfo | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServiceInfo>;
    if (typeof value.pid !== 'number' || typeof value.dynamoEndpoint !== 'string' || typeof value.startedAt !== 'string') return undefined;
    return {
      pid: value.pid,
      dynamoEndpoint: value.dynamoEndpoint,
      startedAt: value.startedAt,
      ...(typeof value.dynamoPid === 'number' ? { dynamoPid: value.dynamoPid } : {}),
      ...(typeof value.apiUrl === 'string' ? { apiUrl: value.apiUrl } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The process runs: it takes signals and is not a zombie (exited, not yet reaped by its parent). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function logSince(path: string, offset = 0): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8').slice(-8_192);
  } catch {
    return '';
  }
}

/** The idle period from TUNEWIRE_SERVICE_IDLE_SECONDS, 300 s by default. */
export function idleMsFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.TUNEWIRE_SERVICE_IDLE_SECONDS;
  const seconds = raw === undefined || raw === '' ? DEFAULT_IDLE_SECONDS : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`TUNEWIRE_SERVICE_IDLE_SECONDS must be a number of seconds, not ${raw}`);
  return seconds * 1000;
}
