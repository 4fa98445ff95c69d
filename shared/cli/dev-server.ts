import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TunewireError, ValidationError } from '../domain/errors';
import { DASHBOARD_CSP, dashboardAsset, isDashboardPath } from '../dashboard/assets';
import { streamChanges, topicFromSearch, type LiveTopic } from '../dashboard/live';
import { bodyTooLarge, handleHttpRequest, MAX_BODY_BYTES, type HttpRequest, type HttpResponse } from '../edge/http-api';

/** What the HTTP API runs on: the use cases' dependencies, with the webhook and template stores where there are some. */
export type DevApiDependencies = Parameters<typeof handleHttpRequest>[0];

/** Loopback only: the dev server runs local trial commands, so nothing off this machine may reach it. */
export const DEV_HOST = '127.0.0.1';

/** The media types a POST, PUT or PATCH body may have: what the API parses (JSON, and YAML for specs and templates). */
export const DEV_BODY_TYPES: readonly string[] = ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml'];

/** `tunewire dev --port N` when something already listens on N. */
export class DevPortInUseError extends TunewireError {
  readonly code = 'DEV.PORT_IN_USE';
  readonly retryable = false;

  constructor(
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(`port ${port} on ${host} is already in use; stop what listens there or pass another with --port`, options);
  }
}

export interface DevGuard {
  /** The port the server listens on: Host and Origin must name it. */
  readonly port: number;
  /** The state directory's API token; see readOrCreateApiToken. */
  readonly token: string;
}

/** The part of a request the guard reads: lower-case header names, as node:http gives them. */
export interface DevRequestHead {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

const problem = (statusCode: number, code: string, message: string, headers: Record<string, string> = {}): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ error: { code, message } }, null, 2),
});

/**
 * Decides from the request line and headers alone whether a request may reach the HTTP API; undefined means it may.
 * Each check stands on its own, so a leaked token still does not let a web page in, and a page that gets past the
 * browser's rules still has no token:
 *
 * 1. Host must be 127.0.0.1, localhost or [::1] with our port (403): a DNS-rebinding page sends its own name.
 * 2. An Origin, when sent, must be our own origin (403): browsers send it with every cross-origin request.
 * 3. `Authorization: Bearer <token>` (401).
 * 4. A POST, PUT or PATCH body must be JSON or YAML by its Content-Type (415): a page can send text/plain,
 *    form or multipart bodies without asking the server first (a CORS "simple request"). A request with no body may
 *    omit the Content-Type.
 *
 * `tokenFree` (the dashboard's static files, which carry no data) skips 3 and 4; 1 and 2 still hold.
 *
 * @example
 *   const refused = refuseDevRequest({ method: 'POST', headers: { host: 'evil.example' } }, { port: 8787, token });
 *   // refused?.statusCode === 403
 */
export function refuseDevRequest(req: DevRequestHead, guard: DevGuard, options: { readonly tokenFree?: boolean } = {}): HttpResponse | undefined {
  const { headers } = req;
  const host = headers.host?.toLowerCase();
  const hosts = [`127.0.0.1:${guard.port}`, `localhost:${guard.port}`, `[::1]:${guard.port}`];
  if (host === undefined || !hosts.includes(host)) {
    return problem(403, 'DEV.HOST_REFUSED', `the Host header must be one of ${hosts.join(', ')}`);
  }
  const origin = headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
    return problem(403, 'DEV.ORIGIN_REFUSED', `requests from other origins are refused (Origin: ${origin})`);
  }
  // the dashboard's page, script and style hold no data: a browser loads them before it has the token
  if (options.tokenFree) return undefined;
  if (!carriesToken(headers.authorization, guard.token)) {
    return problem(401, 'DEV.UNAUTHORIZED', 'send the API token of this state directory as `Authorization: Bearer <token>` (tunewire dev prints where it is kept)', {
      'www-authenticate': 'Bearer realm="tunewire dev"',
    });
  }
  const method = req.method.toUpperCase();
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const type = headers['content-type'];
    const mediaType = type?.split(';')[0]?.trim().toLowerCase();
    if (type === undefined ? hasBody(headers) : !DEV_BODY_TYPES.includes(mediaType ?? '')) {
      return problem(415, 'DEV.UNSUPPORTED_MEDIA_TYPE', `a ${method} body must be sent as one of ${DEV_BODY_TYPES.join(', ')}${type === undefined ? '' : ` (not ${type})`}`);
    }
  }
  return undefined;
}

function carriesToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  if (!match) return false;
  // Digests have one length, so timingSafeEqual compares in constant time without first leaking the token's length.
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(match[1] as string), digest(token));
}

function hasBody(headers: DevRequestHead['headers']): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0');
}

export interface DevServer {
  /** `http://127.0.0.1:<port>`; the port the OS gave when 0 was asked for. */
  readonly url: string;
  readonly port: number;
  /**
   * Starts passing guarded requests to the HTTP API; until then they are answered 503. `routes`,
   * when given, answers first; a request it returns undefined for goes on to the API.
   */
  serve(deps: DevApiDependencies, routes?: ExtraRoutes): void;
  /**
   * Starts passing guarded requests to `routes` alone, with no ledger here: `tunewire dashboard
   * --api` forwards them to a deployed API. A request it answers undefined for is a 404.
   */
  forwardAll(routes: ExtraRoutes): void;
  /** Stops listening and drops open connections; calling it again returns the same promise. */
  close(): Promise<void>;
}

/** Routes a server offers beside the HTTP API (the local service's engine routes). */
export type ExtraRoutes = (req: HttpRequest) => Promise<HttpResponse | undefined>;

export interface DevServerOptions {
  /** 0 lets the OS pick one. */
  readonly port: number;
  /** Every request must carry it as `Authorization: Bearer <token>`. */
  readonly token: string;
}

/**
 * Binds the HTTP API for `tunewire dev` on 127.0.0.1 before anything else starts, so a busy port fails at once
 * (DevPortInUseError) with no DynamoDB Local to clean up. Requests go through refuseDevRequest, then to the same handler
 * API Gateway calls; a refused request is answered from its headers, and its body is discarded unparsed.
 *
 * @example
 *   const dev = await listenDevServer({ port: 8787, token });
 *   const stack = await openEmbeddedStack({ home, root });
 *   dev.serve(stack.deps);
 */
export async function listenDevServer(options: DevServerOptions): Promise<DevServer> {
  let target: { readonly deps?: DevApiDependencies; readonly routes?: ExtraRoutes } | undefined;
  let port = options.port;
  const streams = new AbortController();
  const server = createServer((req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const asset = (method === 'GET' || method === 'HEAD') && isDashboardPath(path);
    const refused = refuseDevRequest({ method, headers: headersOf(req) }, { port, token: options.token }, { tokenFree: asset });
    if (refused) return answer(req, res, refused, { close: true });
    if (asset) return void serveAsset(path, req, res);
    if (!target) return answer(req, res, problem(503, 'DEV.STARTING', 'the local stack is still starting', { 'retry-after': '1' }), { close: true });
    if (target.deps && path === '/events' && method === 'GET') return void serveEvents(target.deps, req, res, streams.signal);
    forward(target, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new DevPortInUseError(DEV_HOST, options.port, { cause: error }) : error));
    server.listen(options.port, DEV_HOST, () => resolve());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${DEV_HOST}:${port}`,
    port,
    serve: (ready, extra) => {
      target = { deps: ready, ...(extra ? { routes: extra } : {}) };
    },
    forwardAll: (routes) => {
      target = { routes };
    },
    close: () => {
      streams.abort();
      return (closing ??= closeServer(server));
    },
  };
}

/** Binds and serves at once, for callers whose dependencies are ready. */
export async function startDevServer(deps: DevApiDependencies, options: DevServerOptions): Promise<DevServer> {
  const dev = await listenDevServer(options);
  dev.serve(deps);
  return dev;
}

/** What `tunewire dev` prints on start: where the API is and how to call it, reading the token from its file (never the token). */
export function devBanner(url: string, tokenFile: string): string[] {
  const quoted = `'${tokenFile.replaceAll("'", `'\\''`)}'`;
  return [
    `tunewire dev: HTTP API on ${url} (POST /jobs, GET /jobs, GET /jobs/{id}, …/trials, …/history, GET /models/{model}; see the README)`,
    `dashboard: ${url}/ (it asks once for the API token below)`,
    `API token: ${tokenFile}; send it as \`Authorization: Bearer <token>\`, e.g.`,
    `  curl -H "Authorization: Bearer $(cat ${quoted})" ${url}/jobs/<job id>`,
    `Pub/Sub push authentication is off here: push bodies come in unauthenticated through \`tunewire replay\` (a deployment refuses pushes without TUNEWIRE_PUSH_AUDIENCE and TUNEWIRE_PUSH_SERVICE_ACCOUNT)`,
  ];
}

/** The dashboard's page and files: served without the token (they hold no data), with a policy that lets them load nothing from elsewhere. */
async function serveAsset(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const asset = await dashboardAsset(path);
    if (!asset) return answer(req, res, problem(404, 'REQUEST.NOT_FOUND', `no dashboard file ${path}`));
    res.writeHead(200, {
      'content-type': asset.contentType,
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
    res.end(req.method?.toUpperCase() === 'HEAD' ? undefined : asset.body);
  } catch (error) {
    console.error(`tunewire dev: building the dashboard failed: ${error instanceof Error ? error.message : String(error)}`);
    answer(req, res, problem(500, 'DASHBOARD.BUILD_FAILED', 'the dashboard could not be built; see the tunewire dev output'));
  }
}

/** `GET /events`: the dashboard's live updates (server-sent events), until the page goes away or the server closes. */
async function serveEvents(deps: DevApiDependencies, req: IncomingMessage, res: ServerResponse, closing: AbortSignal): Promise<void> {
  let topic: LiveTopic;
  try {
    topic = topicFromSearch(new URL(req.url ?? '/', 'http://localhost').searchParams);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return answer(req, res, { statusCode: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: error.code, message: error.message, issues: error.issues } }, null, 2) });
  }
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  closing.addEventListener('abort', () => gone.abort(), { once: true });
  await streamChanges(deps.ledger, topic, res, { signal: gone.signal, log: (line) => console.error(`tunewire dev: ${line}`) });
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
}

function forward({ deps, routes }: { readonly deps?: DevApiDependencies; readonly routes?: ExtraRoutes }, req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    // keep no more than the limit in memory; the rest is only counted
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    // The dev token is this server's business; the API behind it never sees it.
    const { authorization: _token, ...headers } = headersOf(req);
    const request: HttpRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') };
    const response: Promise<HttpResponse> =
      size > MAX_BODY_BYTES
        ? Promise.resolve(bodyTooLarge())
        : (async () => (await routes?.(request)) ?? (deps ? handleHttpRequest(deps, request) : problem(404, 'REQUEST.NOT_FOUND', `no route for ${request.method} ${request.path.split('?')[0]}`)))();
    response
      .then((done) => answer(req, res, done))
      // handleHttpRequest answers its own failures; this is only a last guard, and tells no internals
      .catch((error: unknown) => {
        console.error(`tunewire dev: ${req.method ?? 'GET'} request failed: ${error instanceof Error ? error.message : String(error)}`);
        answer(req, res, problem(500, 'INTERNAL', 'the request failed; see the tunewire dev output'));
      });
  });
}

function answer(req: IncomingMessage, res: ServerResponse, response: HttpResponse, options: { close?: boolean } = {}): void {
  // A refused request's body is discarded unparsed, and the connection closes after the answer: nothing more comes on it.
  res.writeHead(response.statusCode, { ...response.headers, ...(options.close ? { connection: 'close' } : {}) });
  res.end(response.body);
  if (options.close) req.resume();
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
