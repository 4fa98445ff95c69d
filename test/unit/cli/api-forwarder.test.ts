import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiForwarder, parseApiUrl, type ApiForwarderOptions } from '../../../shared/cli/api-forwarder';
import { ValidationError } from '../../../shared/domain/errors';
import type { HttpRequest, HttpResponse } from '../../../shared/edge/http-api';

// The AWS documentation's example key pair and the SigV4 test suite's instant.
const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const NOW = new Date('2015-08-30T12:36:00Z');
const CREDENTIALS: AwsCredentialIdentity = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
const DEV_TOKEN = 'd'.repeat(43);

/** A request as API Gateway receives it: the raw request target, lower-case header names. */
interface Received {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

interface Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

// ---- SigV4, recomputed from the AWS documentation with node:crypto alone -------------------------------------

const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** URI-encode as SigV4 does: the unreserved characters A-Z a-z 0-9 - _ . ~ stay, everything else is %XX in upper case. */
const uriEncode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function parseAuthorization(header: string | undefined): Authorization {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) throw new Error(`not a SigV4 Authorization header: ${header}`);
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/**
 * The signature a request should carry, computed as the SigV4 documentation lays it out: canonical request,
 * string to sign, then the HMAC chain from the secret. Every service but S3 encodes each path segment twice: the
 * path arrives encoded once, so each segment is encoded once more here. The test paths have no `.`, `..` or empty
 * segments, so no normalization is needed.
 */
function expectedSignature(req: Received, secret: string): { signature: string; canonicalRequest: string } {
  const auth = parseAuthorization(req.headers.authorization);
  const [rawPath = '/', rawQuery = ''] = req.target.split('?', 2);
  const canonicalUri = rawPath.split('/').map(uriEncode).join('/') || '/';
  const canonicalQuery = rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      const [name, value] = at === -1 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
      return [uriEncode(decodeURIComponent(name)), uriEncode(decodeURIComponent(value))] as const;
    })
    .sort(([n1, v1], [n2, v2]) => (n1 === n2 ? (v1 < v2 ? -1 : v1 > v2 ? 1 : 0) : n1 < n2 ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = auth.signedHeaders.map((name) => `${name}:${(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = sha256Hex(req.body);
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, auth.signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'] ?? '', scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service), 'aws4_request');
  return { signature: createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'), canonicalRequest };
}

/** Asserts what API Gateway's IAM authorizer checks: the scope, the signed headers, the body hash and the signature. */
function expectSignedForExecuteApi(req: Received, region: string): Authorization {
  const auth = parseAuthorization(req.headers.authorization);
  expect(auth).toMatchObject({ accessKeyId: ACCESS_KEY_ID, date: '20150830', region, service: 'execute-api' });
  expect(req.headers['x-amz-date']).toBe('20150830T123600Z');
  expect(auth.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256']));
  expect(req.headers['x-amz-content-sha256']).toBe(sha256Hex(req.body));
  const { signature, canonicalRequest } = expectedSignature(req, SECRET);
  expect(auth.signature, `canonical request:\n${canonicalRequest}`).toBe(signature);
  return auth;
}

// ---- a stand-in for API Gateway ----------------------------------------------------------------------------------

type Answer = (req: Received) => { status: number; contentType?: string; body: string };

const echo: Answer = (req) => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ target: req.target }) });

let server: Server;
let serverUrl: string;
let received: Received[] = [];
let answer: Answer = echo;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
      const request: Received = { method: req.method ?? 'GET', target: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const reply = answer(request);
      res.writeHead(reply.status, reply.contentType === undefined ? {} : { 'content-type': reply.contentType });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
});

beforeEach(() => {
  received = [];
  answer = echo;
});

function forwarder(options: Partial<ApiForwarderOptions> = {}) {
  return apiForwarder({ apiUrl: `${serverUrl}/prod`, region: 'eu-west-1', credentials: async () => CREDENTIALS, now: () => NOW, env: {}, ...options });
}

/** A request as the dev server hands it on: the page's headers, with the browser's own and the dev token among them. */
function pageRequest(method: string, path: string, extra: { headers?: Record<string, string>; body?: string } = {}): HttpRequest {
  return {
    method,
    path,
    headers: { host: '127.0.0.1:8787', accept: 'application/json', authorization: `Bearer ${DEV_TOKEN}`, ...extra.headers },
    ...(extra.body === undefined ? {} : { body: extra.body }),
  };
}

async function forward(route: ReturnType<typeof apiForwarder>, req: HttpRequest): Promise<HttpResponse> {
  const response = await route(req);
  if (!response) throw new Error('the forwarder left a request unanswered');
  return response;
}

const errorOf = (response: HttpResponse) => (JSON.parse(response.body) as { error: { code: string; message: string } }).error;

/** A fetch that answers without a network and keeps what it was asked to send. */
function recordingFetch(sent: Received[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers: Record<string, string> = { host: url.host };
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    sent.push({ method: init?.method ?? 'GET', target: url.pathname + url.search, headers, body: typeof init?.body === 'string' ? init.body : '' });
    return new Response('{"items":[]}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

function validationIssue(run: () => unknown): { path: string; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const issue = (error as ValidationError).issues[0];
    if (!issue) throw new Error('a ValidationError without issues');
    return issue;
  }
  throw new Error('expected a ValidationError');
}

// ---- tests -------------------------------------------------------------------------------------------------------

describe('SigV4 verifier (test support)', () => {
  it("reproduces the AWS SigV4 test suite's get-vanilla signature", () => {
    const vanilla: Received = {
      method: 'GET',
      target: '/',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
      body: '',
    };
    expect(expectedSignature(vanilla, SECRET).signature).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });
});

describe('parseApiUrl', () => {
  it('reads the region from an execute-api host name and keeps the stage path', () => {
    const { url, region } = parseApiUrl('https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
    expect(region).toBe('eu-west-1');
    expect(url.host).toBe('abc123.execute-api.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/prod');
  });

  it('reads the region from a China execute-api host name', () => {
    expect(parseApiUrl('https://abc123.execute-api.cn-north-1.amazonaws.com.cn').region).toBe('cn-north-1');
  });

  it('finds no region in a custom domain', () => {
    expect(parseApiUrl('https://tuning.example.com/v1').region).toBeUndefined();
  });

  it.each(['http://127.0.0.1:4000/prod', 'http://localhost:4000'])('takes http:// to the loopback address %s', (text) => {
    expect(parseApiUrl(text).url.protocol).toBe('http:');
  });

  it.each([
    ['plain http', 'http://abc123.execute-api.eu-west-1.amazonaws.com/prod', /https/],
    ['another scheme', 'ftp://abc123.execute-api.eu-west-1.amazonaws.com/prod', /https/],
    ['a query string', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod?stage=prod', /query string/],
    ['a bare question mark', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod?', /query string/],
    ['a fragment', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod#jobs', /fragment/],
    ['not a URL', 'abc123.execute-api.eu-west-1.amazonaws.com', /address/],
  ])('refuses %s with a ValidationError on --api', (_case, text, message) => {
    const issue = validationIssue(() => parseApiUrl(text));
    expect(issue.path).toBe('--api');
    expect(issue.message).toMatch(message);
  });

  it('refuses a user name and password without repeating them', () => {
    const issue = validationIssue(() => parseApiUrl('https://admin:hunter2@abc123.execute-api.eu-west-1.amazonaws.com/prod'));
    expect(issue.path).toBe('--api');
    expect(issue.message).toMatch(/user name or password/);
    expect(issue.message).not.toContain('hunter2');
  });
});

describe('apiForwarder', () => {
  it('signs a GET for execute-api under the stage path, with an odd job id encoded once', async () => {
    const response = await forward(forwarder(), pageRequest('GET', '/jobs/a%20b/trials/t(1)~x'));

    expect(received).toHaveLength(1);
    const [req] = received as [Received];
    expect(req.method).toBe('GET');
    expect(req.target).toBe('/prod/jobs/a%20b/trials/t(1)~x');
    expect(req.headers.host).toBe(new URL(serverUrl).host);
    expectSignedForExecuteApi(req, 'eu-west-1');
    expect(response).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target: req.target }) });
  });

  it('takes a base address with a trailing slash or no stage', async () => {
    await forward(forwarder({ apiUrl: `${serverUrl}/prod/` }), pageRequest('GET', '/jobs'));
    await forward(forwarder({ apiUrl: serverUrl }), pageRequest('GET', '/jobs'));
    expect(received.map((r) => r.target)).toEqual(['/prod/jobs', '/jobs']);
    for (const req of received) expectSignedForExecuteApi(req, 'eu-west-1');
  });

  it('forwards the query string, encoded the way SigV4 canonicalizes it', async () => {
    await forward(forwarder(), pageRequest('GET', '/jobs?status=running&limit=5&q=a+b&tag=z&tag=a&sort=-objective&note=%C3%A9t%C3%A9'));

    const [req] = received as [Received];
    expect(req.target).toBe('/prod/jobs?status=running&limit=5&q=a%20b&tag=z&tag=a&sort=-objective&note=%C3%A9t%C3%A9');
    expectSignedForExecuteApi(req, 'eu-west-1');
  });

  it('forwards a POST body with its content type and idempotency key, all signed', async () => {
    answer = () => ({ status: 201, contentType: 'application/json', body: '{"jobId":"j-1"}' });
    const body = JSON.stringify({ name: 'xgb sweep', provider: 'sagemaker' });

    const response = await forward(
      forwarder(),
      pageRequest('POST', '/jobs', { headers: { 'content-type': 'application/json', 'idempotency-key': 'k-123' }, body }),
    );

    const [req] = received as [Received];
    expect(req).toMatchObject({ method: 'POST', target: '/prod/jobs', body });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('k-123');
    const auth = expectSignedForExecuteApi(req, 'eu-west-1');
    expect(auth.signedHeaders).toEqual(expect.arrayContaining(['content-type', 'idempotency-key']));
    expect(response).toEqual({ statusCode: 201, headers: { 'content-type': 'application/json' }, body: '{"jobId":"j-1"}' });
  });

  it('forwards neither the dev token nor the browser’s own headers', async () => {
    await forward(
      forwarder(),
      pageRequest('DELETE', '/jobs/j-1', {
        headers: {
          cookie: 'session=s3cr3t',
          origin: 'http://127.0.0.1:8787',
          referer: 'http://127.0.0.1:8787/',
          connection: 'keep-alive, x-hop',
          'x-hop': '1',
          'x-forwarded-for': '10.0.0.1',
          'x-amz-security-token': 'forged',
        },
      }),
    );

    const [req] = received as [Received];
    for (const name of ['cookie', 'origin', 'referer', 'x-hop', 'x-forwarded-for', 'x-amz-security-token']) expect(req.headers[name], name).toBeUndefined();
    expect(req.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(JSON.stringify(req.headers)).not.toContain(DEV_TOKEN);
    expect(req.headers.host).toBe(new URL(serverUrl).host);
    expect(expectSignedForExecuteApi(req, 'eu-west-1').signedHeaders).toEqual(['accept', 'host', 'x-amz-content-sha256', 'x-amz-date']);
  });

  it('signs a session token when the credentials carry one', async () => {
    await forward(forwarder({ credentials: async () => ({ ...CREDENTIALS, sessionToken: 'session-token' }) }), pageRequest('GET', '/jobs'));

    const [req] = received as [Received];
    expect(req.headers['x-amz-security-token']).toBe('session-token');
    expect(expectSignedForExecuteApi(req, 'eu-west-1').signedHeaders).toContain('x-amz-security-token');
  });

  it("answers with the API's status, content type and body, a refusal included", async () => {
    answer = () => ({ status: 403, contentType: 'application/json', body: '{"message":"Forbidden"}' });

    const response = await forward(forwarder(), pageRequest('GET', '/jobs'));

    expect(response).toEqual({ statusCode: 403, headers: { 'content-type': 'application/json' }, body: '{"message":"Forbidden"}' });
  });

  it('answers GET /events with a 404 and forwards nothing', async () => {
    const response = await forward(forwarder(), pageRequest('GET', '/events?job=j-1'));

    expect(received).toHaveLength(0);
    expect(response.statusCode).toBe(404);
    expect(errorOf(response)).toEqual({
      code: 'REQUEST.NOT_FOUND',
      message: 'live updates are served by tunewire dev and the local service only; the page refreshes every 5 s',
    });
  });

  it('answers 502 DASHBOARD.API_UNREACHABLE naming the host when the API cannot be reached', async () => {
    const unreachable: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND abc123.execute-api.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND' }) });
    };

    const response = await forward(
      forwarder({ apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod', region: undefined, fetch: unreachable }),
      pageRequest('GET', '/jobs'),
    );

    expect(response.statusCode).toBe(502);
    const error = errorOf(response);
    expect(error.code).toBe('DASHBOARD.API_UNREACHABLE');
    expect(error.message).toContain('abc123.execute-api.eu-west-1.amazonaws.com');
    expect(error.message).toContain('ENOTFOUND');
    expect(response.body).not.toContain(SECRET);
  });

  it('answers 502 DASHBOARD.NO_CREDENTIALS naming the host when no credentials load, and sends nothing', async () => {
    const sent: Received[] = [];
    const noCredentials = async (): Promise<AwsCredentialIdentity> => {
      throw new Error('The SSO session associated with this profile has expired');
    };

    const response = await forward(forwarder({ credentials: noCredentials, fetch: recordingFetch(sent) }), pageRequest('GET', '/jobs'));

    expect(sent).toHaveLength(0);
    expect(response.statusCode).toBe(502);
    const error = errorOf(response);
    expect(error.code).toBe('DASHBOARD.NO_CREDENTIALS');
    expect(error.message).toContain(new URL(serverUrl).host);
    expect(error.message).toContain('The SSO session associated with this profile has expired');
  });

  it('answers 502 DASHBOARD.NO_CREDENTIALS for credentials without a secret, and never shows the key', async () => {
    const sent: Received[] = [];
    const broken = async () => ({ accessKeyId: ACCESS_KEY_ID }) as AwsCredentialIdentity;

    const response = await forward(forwarder({ credentials: broken, fetch: recordingFetch(sent) }), pageRequest('GET', '/jobs'));

    expect(sent).toHaveLength(0);
    expect(response.statusCode).toBe(502);
    expect(errorOf(response).code).toBe('DASHBOARD.NO_CREDENTIALS');
  });

  describe('region', () => {
    it('signs for the region in the execute-api host name', async () => {
      const sent: Received[] = [];

      await forward(
        forwarder({ apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod', region: undefined, env: { AWS_REGION: 'us-east-1' }, fetch: recordingFetch(sent) }),
        pageRequest('GET', '/jobs/a%20b?limit=5'),
      );

      const [req] = sent as [Received];
      expect(req.target).toBe('/prod/jobs/a%20b?limit=5');
      expect(req.headers.host).toBe('abc123.execute-api.eu-west-1.amazonaws.com');
      expectSignedForExecuteApi(req, 'eu-west-1');
    });

    it('signs for AWS_REGION, then AWS_DEFAULT_REGION, behind a custom domain', async () => {
      const sent: Received[] = [];
      const custom = { apiUrl: 'https://tuning.example.com/v1', region: undefined, fetch: recordingFetch(sent) };

      await forward(forwarder({ ...custom, env: { AWS_REGION: 'ap-southeast-2', AWS_DEFAULT_REGION: 'us-west-2' } }), pageRequest('GET', '/jobs'));
      await forward(forwarder({ ...custom, env: { AWS_DEFAULT_REGION: 'us-west-2' } }), pageRequest('GET', '/jobs'));

      expect(sent.map((req) => parseAuthorization(req.headers.authorization).region)).toEqual(['ap-southeast-2', 'us-west-2']);
      for (const req of sent) expect(expectedSignature(req, SECRET).signature).toBe(parseAuthorization(req.headers.authorization).signature);
    });

    it('prefers --region to the host name', async () => {
      const sent: Received[] = [];

      await forward(forwarder({ apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com', region: 'eu-central-1', fetch: recordingFetch(sent) }), pageRequest('GET', '/jobs'));

      expectSignedForExecuteApi(sent[0] as Received, 'eu-central-1');
    });

    it('refuses to start without a region, naming --region', () => {
      const issue = validationIssue(() => forwarder({ apiUrl: 'https://tuning.example.com/v1', region: undefined, env: {} }));
      expect(issue.path).toBe('--region');
      expect(issue.message).toMatch(/--region/);
    });

    it('refuses a region that is no region', () => {
      expect(validationIssue(() => forwarder({ region: 'Europe' })).path).toBe('--region');
    });

    it('refuses a bad --api before looking at anything else', () => {
      expect(validationIssue(() => forwarder({ apiUrl: 'http://abc123.execute-api.eu-west-1.amazonaws.com' })).path).toBe('--api');
    });
  });
});
