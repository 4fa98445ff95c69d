import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../domain/errors';
import { dashboardAsset, DASHBOARD_PATHS } from '../dashboard/assets';
import { openEmbeddedStack, type EmbeddedStack } from '../local-stack/embedded';
import { findService, isAlive } from '../local-stack/service';
import { readOrCreateApiToken } from '../local-stack/state-dir';
import { apiForwarder } from './api-forwarder';
import { listenDevServer, type DevServer } from './dev-server';
import type { Output } from './output';

export interface DashboardContext {
  readonly io: Output;
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  /** The repository root (serverless.yml, trial commands). */
  readonly root: string;
  /** The exit code the command sets (1 when the service it showed exited under it). */
  readonly result: { code: number };
}

/**
 * The address that opens the dashboard signed in: the page takes the token from the fragment
 * (which browsers never send to a server) and drops it from the address at once.
 *
 * @example signInAddress('http://127.0.0.1:43117', 'abc') // 'http://127.0.0.1:43117/#token=abc'
 */
export function signInAddress(url: string, token: string): string {
  return `${url}/#token=${encodeURIComponent(token)}`;
}

/**
 * The command that opens a URL in the user's browser: $BROWSER when set, else the platform's
 * opener (open, xdg-open, start) when it is there; undefined when there is none (a server, CI).
 */
export function browserCommand(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): readonly string[] | undefined {
  if (env.BROWSER) return [env.BROWSER];
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['cmd', '/c', 'start', '""'];
  return onPath('xdg-open', env) ? ['xdg-open'] : undefined;
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Opens `address` in a browser; `onFailed` is called when there is no opener, it cannot start or
 * it exits with a failure (xdg-open without a desktop). The opener is left to run on its own.
 */
function openInBrowser(address: string, env: NodeJS.ProcessEnv, onFailed: () => void): void {
  const command = browserCommand(env);
  if (!command) return onFailed();
  const [program, ...args] = command as [string, ...string[]];
  const child = spawn(program, [...args, address], { stdio: 'ignore', detached: true, env });
  child.once('error', onFailed);
  child.once('exit', (code) => {
    if (code !== 0) onFailed();
  });
  child.unref();
}

/** How often a dashboard command looks whether the service serving the page still runs. */
const SERVICE_CHECK_MS = 2_000;

/**
 * Until Ctrl-C (or SIGTERM), or until the service serving the page exits. The timer also keeps
 * this process alive while the service, not this process, serves the page.
 */
function untilStopped(servicePid: number | undefined): Promise<'signal' | 'service exited'> {
  return new Promise((resolveStop) => {
    const timer = setInterval(() => {
      if (servicePid !== undefined && !isAlive(servicePid)) finish('service exited');
    }, SERVICE_CHECK_MS);
    const onSignal = () => finish('signal');
    function finish(how: 'signal' | 'service exited'): void {
      clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveStop(how);
    }
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

/**
 * `tunewire dashboard`: the local service serves the dashboard (started when none runs, and kept
 * up while this command runs); with TUNEWIRE_DYNAMODB_ENDPOINT there is no service, and this
 * command serves it itself. Opens the page signed in, or prints the address when no browser can
 * be opened; stays until Ctrl-C.
 */
export function registerDashboardCommand(program: Command, ctx: DashboardContext): void {
  program
    .command('dashboard')
    .description("open the dashboard in a browser: jobs, trials, plots and champions from the ledger, live; stays until Ctrl-C (the local service serves it)")
    .option('--no-open', 'print the address instead of opening a browser')
    .option('--port <port>', 'where this command serves the page itself (with --api, or TUNEWIRE_DYNAMODB_ENDPOINT): the port; 0 picks a free one', (v) => {
      const port = Number(v);
      if (!/^\d+$/.test(v) || port > 65_535) throw new ValidationError('--port', [{ path: '--port', message: `must be a port number (0-65535), not ${v}` }]);
      return port;
    }, 0)
    .option('--api <url>', "a deployed stack's HTTP API (https://<id>.execute-api.<region>.amazonaws.com[/<stage>]): the page's requests go there, signed with your AWS credentials")
    .option('--region <region>', 'with --api behind a custom domain: the API\'s region (default: from its host name, else AWS_REGION)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  npm start && npx tunewire dashboard',
        '  tunewire dashboard --no-open     # print the sign-in address (it carries the API token)',
        '  tunewire dashboard --api https://abc123.execute-api.eu-west-1.amazonaws.com',
      ].join('\n'),
    )
    .action(async (opts: { open: boolean; port: number; api?: string; region?: string }) => {
      const { io } = ctx;
      if (opts.api) return showDeployed(ctx, { ...opts, api: opts.api });
      if (opts.region) throw new ValidationError('--region', [{ path: '--region', message: 'goes with --api' }]);
      const { token } = readOrCreateApiToken(ctx.home);
      // the first page load needs the bundle; building it now (or finding it cached) makes that load quick
      await dashboardAsset(DASHBOARD_PATHS.script);
      let stack: EmbeddedStack | undefined;
      let server: DevServer | undefined;
      try {
        stack = await openEmbeddedStack({ home: ctx.home, root: ctx.root }, ctx.env);
        const service = stack.servicePid === undefined ? undefined : await findService(ctx.home);
        let url = service?.apiUrl;
        if (!url) {
          server = await listenDevServer({ port: opts.port, token });
          server.serve(stack.deps);
          url = server.url;
        }
        announce(ctx, url, token, opts.open, service ? `served by the local service, pid ${service.pid}` : 'served by this command');
        const ended = await untilStopped(service?.pid);
        if (ended === 'service exited') {
          io.error(`the local service (pid ${service?.pid}) exited, and the dashboard with it; \`tunewire dashboard\` starts it again`);
          ctx.result.code = 1;
        }
      } finally {
        await server?.close();
        await stack?.close();
      }
    });
}

/** Says where the dashboard is, and opens it signed in (or prints the sign-in address). */
function announce(ctx: DashboardContext, url: string, token: string, open: boolean, servedBy: string): void {
  const address = signInAddress(url, token);
  const printAddress = () => ctx.io.line(`open ${address} (the address carries the API token: treat it as a password)`);
  ctx.io.line(`dashboard: ${url}/ (${servedBy})`);
  if (open) openInBrowser(address, ctx.env, printAddress);
  else printAddress();
  ctx.io.line('Ctrl-C to stop');
}

/**
 * `tunewire dashboard --api <url>`: a deployed stack's dashboard. The page is served here, on
 * loopback behind a token made for this run, and its API requests go to the deployed API signed
 * with the caller's AWS credentials (api-forwarder.ts). No local stack starts.
 */
async function showDeployed(ctx: DashboardContext, opts: { open: boolean; port: number; api: string; region?: string }): Promise<void> {
  // bad input (the address, the region) is refused before anything listens
  const forwarder = apiForwarder({ apiUrl: opts.api, env: ctx.env, ...(opts.region ? { region: opts.region } : {}) });
  await dashboardAsset(DASHBOARD_PATHS.script);
  const token = randomBytes(32).toString('base64url');
  const server = await listenDevServer({ port: opts.port, token });
  try {
    server.forwardAll(forwarder);
    announce(ctx, server.url, token, opts.open, `the page here, its data from ${new URL(opts.api).host}`);
    await untilStopped(undefined);
  } finally {
    await server.close();
  }
}
