import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HeaderBag, QueryParameterBag } from '@smithy/types';
import { ValidationError } from '../domain/errors';
import type { HttpRequest, HttpResponse } from '../edge/http-api';
import type { ExtraRoutes } from './dev-server';

/** The signing name API Gateway checks an IAM-authorized route's signature against. */
const SIGNING_SERVICE = 'execute-api';

/**
 * The only request headers passed on: what the API reads. The rest belongs to this hop: the local dev token
 * (Authorization), Host, Cookie and Origin from the browser, Connection and the other hop-by-hop headers.
 */
const FORWARDED_HEADERS: readonly string[] = ['content-type', 'idempotency-key', 'accept'];

/** API Gateway gives up on an integration after 30 s; waiting a little longer lets its own 503 or 504 through first. */
const UPSTREAM_TIMEOUT_MS = 35_000;

/** http:// is refused except to these hosts, where a test stands in for API Gateway. */
const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost'];

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;
/** `{api-id}.execute-api.{region}.amazonaws.com`, the default endpoint of an HTTP API (`.com.cn` in China). */
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

export interface ApiForwarderOptions {
  /** The deployed API's base URL, with the stage path when there is one; see parseApiUrl. */
  readonly apiUrl: string;
  /** Default: the region in an execute-api host name, else AWS_REGION or AWS_DEFAULT_REGION from `env`. */
  readonly region?: string;
  /** Default: the AWS SDK's default chain (environment, shared config and SSO profiles, container and instance roles). */
  readonly credentials?: AwsCredentialIdentityProvider;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** The signing clock. Default: the system clock. */
  readonly now?: () => Date;
  /** Where AWS_REGION and AWS_DEFAULT_REGION are read. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Checks the `--api` address: https (http only to 127.0.0.1 or localhost), with no user name, password, query
 * string or fragment. The region is the one an execute-api host name carries; a custom domain carries none.
 *
 * @example
 *   parseApiUrl('https://abc123.execute-api.eu-west-1.amazonaws.com/prod').region // 'eu-west-1'
 */
export function parseApiUrl(text: string): { url: URL; region?: string } {
  const refuse = (message: string, cause?: unknown) =>
    new ValidationError('--api', [{ path: '--api', message }], cause === undefined ? undefined : { cause });
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch (error) {
    throw refuse(`must be the API's address, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod (not ${JSON.stringify(text)})`, error);
  }
  if (url.username !== '' || url.password !== '') {
    // the address is not echoed: what it carries may be a secret
    throw refuse('must not carry a user name or password: requests are signed with your AWS credentials');
  }
  const loopback = LOOPBACK_HOSTS.includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw refuse(`must be an https:// address (http:// only to 127.0.0.1 or localhost), not ${url.protocol}//${url.host}`);
  }
  // A bare `?` or `#` leaves search and hash empty, so the text itself is checked: in a parsed URL they only ever start those parts.
  if (text.includes('?') || text.includes('#')) {
    throw refuse('must not carry a query string or fragment: give the base address, with the stage path when there is one');
  }
  const region = EXECUTE_API_HOST.exec(url.hostname)?.[1];
  return region === undefined ? { url } : { url, region };
}

/**
 * Answers every request by sending it on to the deployed HTTP API, signed with SigV4 for execute-api (the API's
 * routes use the aws_iam authorizer), and answering with what the API answered: status, Content-Type and body.
 * `GET /events` is answered 404 here: API Gateway cannot stream, and the page polls instead. The address and
 * region are checked at once (ValidationError); credentials are resolved per request, so an expired SSO session
 * shows up as a 502 DASHBOARD.NO_CREDENTIALS that a new `aws sso login` fixes without a restart.
 *
 * Serve it only behind refuseDevRequest: it signs whatever reaches it with the user's credentials.
 *
 * @example
 *   const dev = await listenDevServer({ port: 0, token });
 *   dev.serve(deps, apiForwarder({ apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod' }));
 */
export function apiForwarder(options: ApiForwarderOptions): ExtraRoutes {
  const api = parseApiUrl(options.apiUrl);
  const region = apiRegion(options, api.region);
  const credentials = options.credentials ?? defaultCredentialChain();
  const send = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  const base = api.url;
  const basePath = base.pathname.replace(/\/+$/, '');

  return async (req) => {
    const target = splitTarget(req.path);
    const method = req.method.toUpperCase();
    if (target.path === '/events' && (method === 'GET' || method === 'HEAD')) return liveUpdatesNotForwarded();
    if (!target.path.startsWith('/')) return problem(400, 'REQUEST.INVALID', 'the request target must be a path');

    // Built through URL so that the path signed is the path fetch sends (URL removes dot segments and encodes
    // what must be); the setters keep the page's percent-encoding as it is, so nothing is encoded twice on the wire.
    const url = new URL(base.href);
    url.pathname = basePath + target.path;
    const query = queryOf(target.query);
    url.search = query.text;

    let identity: AwsCredentialIdentity;
    try {
      identity = await credentials();
    } catch (error) {
      return problem(502, 'DASHBOARD.NO_CREDENTIALS', `no AWS credentials to sign requests to ${base.host} with (${firstLine(error)}); sign in (e.g. aws sso login, or set AWS_PROFILE) and reload`);
    }

    const body = method === 'GET' || method === 'HEAD' || !req.body ? undefined : req.body;
    let signed: { headers: HeaderBag };
    try {
      signed = await new SignatureV4({ service: SIGNING_SERVICE, region, credentials: identity, sha256: Sha256 }).sign(
        {
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port === '' ? {} : { port: Number(url.port) }),
          // encoded once, as sent; uriEscapePath (on by default) encodes it again for the canonical request, as
          // SigV4 wants for every service but S3
          path: url.pathname,
          query: query.bag,
          headers: { ...forwardedHeaders(req), host: url.host },
          ...(body === undefined ? {} : { body }),
        },
        { signingDate: now() },
      );
    } catch (error) {
      // the signer throws only on credentials it cannot use (no key id or secret)
      return problem(502, 'DASHBOARD.NO_CREDENTIALS', `the AWS credentials found cannot sign requests to ${base.host} (${firstLine(error)})`);
    }

    // fetch sets Host from the URL, the same value that was signed
    const { host: _host, ...headers } = signed.headers;
    const timeout = AbortSignal.timeout(UPSTREAM_TIMEOUT_MS);
    let upstream: Response;
    let text: string;
    try {
      upstream = await send(url, { method, headers, body, redirect: 'manual', signal: timeout });
      text = await upstream.text();
    } catch (error) {
      const what = timeout.aborted ? `no answer within ${UPSTREAM_TIMEOUT_MS / 1000} s` : networkFailure(error);
      return problem(502, 'DASHBOARD.API_UNREACHABLE', `the API at ${base.host} could not be reached: ${what}`);
    }
    const contentType = upstream.headers.get('content-type');
    return { statusCode: upstream.status, headers: contentType === null ? {} : { 'content-type': contentType }, body: text };
  };
}

/** The SDK's default chain, loaded on the first request: commands that never forward do not pay for loading it. */
function defaultCredentialChain(): AwsCredentialIdentityProvider {
  let chain: Promise<AwsCredentialIdentityProvider> | undefined;
  return async (properties) => {
    chain ??= import('@aws-sdk/credential-providers').then(({ fromNodeProviderChain }) => fromNodeProviderChain());
    return (await chain)(properties);
  };
}

function apiRegion(options: ApiForwarderOptions, fromHost: string | undefined): string {
  if (options.region !== undefined) {
    if (!REGION.test(options.region)) {
      throw new ValidationError('--region', [{ path: '--region', message: `must be an AWS region such as eu-west-1, not ${JSON.stringify(options.region)}` }]);
    }
    return options.region;
  }
  const env = options.env ?? process.env;
  const region = fromHost ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined);
  if (region === undefined) {
    throw new ValidationError('--region', [
      { path: '--region', message: "the API's address names no AWS region (a custom domain); pass --region, or set AWS_REGION" },
    ]);
  }
  return region;
}

/** The raw request target split at the first `?`; both parts stay percent-encoded. */
function splitTarget(target: string): { path: string; query: string } {
  const mark = target.indexOf('?');
  return mark === -1 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}

/**
 * The query as the signer reads it (decoded names and values) and as it is sent: re-encoded the way the signer
 * encodes them for the canonical request, so API Gateway decodes and re-encodes to the same string. A `+` is a
 * space, as the page's URLSearchParams writes it.
 */
function queryOf(raw: string): { bag: QueryParameterBag; text: string } {
  // no prototype: a parameter named __proto__ stays a parameter
  const bag: Record<string, string[]> = Object.create(null);
  const pairs: string[] = [];
  for (const [name, value] of new URLSearchParams(raw)) {
    (bag[name] ??= []).push(value);
    pairs.push(`${escapeUri(name)}=${escapeUri(value)}`);
  }
  return { bag, text: pairs.join('&') };
}

/** RFC 3986 unreserved characters stay as they are; everything else is %XX, as SigV4 encodes. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function forwardedHeaders(req: HttpRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/** fetch rejects with "fetch failed" and puts what happened (ECONNREFUSED, ENOTFOUND, a TLS failure) in `cause`. */
function networkFailure(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return firstLine(cause);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

function liveUpdatesNotForwarded(): HttpResponse {
  return problem(404, 'REQUEST.NOT_FOUND', 'live updates are served by tunewire dev and the local service only; the page refreshes every 5 s');
}

function problem(statusCode: number, code: string, message: string): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code, message } }, null, 2) };
}
