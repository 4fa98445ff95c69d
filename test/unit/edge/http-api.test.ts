import { Webhook } from 'standardwebhooks';
import { stringify as toYaml } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { handleHttpRequest, MAX_PATH_BYTES, type HttpRequest, type HttpResponse } from '../../../shared/edge/http-api';
import type { Ledger } from '../../../shared/ports/ledger';
import { edgeFixture, edgeSpec, type EdgeFixture } from '../../support/edge-deps';

const SECRET = `whsec_${Buffer.from('a-thirty-two-byte-secret-for-tst').toString('base64')}`;

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly { path: string; message: string }[]; readonly requestId?: string };
}

const request = (method: string, path: string, body?: string, headers: Record<string, string> = {}): HttpRequest => ({ method, path, headers, ...(body !== undefined ? { body } : {}) });
const errorOf = (response: HttpResponse): ErrorBody['error'] => (JSON.parse(response.body) as ErrorBody).error;
const issuePaths = (response: HttpResponse): string[] => (errorOf(response).issues ?? []).map((i) => i.path);

describe('handleHttpRequest refuses hostile requests with a 4xx naming the field', () => {
  let fixture: EdgeFixture;
  const call = (req: HttpRequest) => handleHttpRequest(fixture.deps, req);

  beforeEach(async () => {
    fixture = await edgeFixture('http-api');
  });

  for (const [method, path, field] of [
    ['GET', '/jobs/%ZZ', 'jobId'],
    ['GET', '/jobs/%E0%A4%A/trials', 'jobId'],
    ['POST', '/jobs/%/stop', 'jobId'],
    ['GET', '/models/%C3%28/champion', 'model'],
    ['DELETE', '/subscriptions/%zz', 'subscriptionId'],
    ['GET', '/templates/%ZZ', 'name'],
    ['POST', '/hooks/%ZZ', 'template'],
  ] as const) {
    it(`${method} ${path}: malformed percent-encoding is a 400 naming ${field}, not a 500 "URI malformed"`, async () => {
      const response = await call(request(method, path, method === 'POST' ? '{}' : undefined));

      expect(response.statusCode).toBe(400);
      expect(issuePaths(response)).toEqual([field]);
      expect(errorOf(response).issues?.[0]?.message).toMatch(/is not valid percent-encoding$/);
    });
  }

  for (const [method, path, field] of [
    ['GET', `/jobs/${'j'.repeat(3000)}`, 'jobId'],
    ['GET', `/jobs/${'j'.repeat(3000)}/trials`, 'jobId'],
    ['POST', `/jobs/${'j'.repeat(3000)}/stop`, 'jobId'],
    ['GET', `/models/${'m'.repeat(3000)}/champion`, 'model'],
    ['DELETE', `/subscriptions/${'s'.repeat(3000)}`, 'subscriptionId'],
    ['GET', `/templates/${'t'.repeat(3000)}`, 'name'],
    ['POST', `/hooks/${'t'.repeat(3000)}`, 'template'],
  ] as const) {
    it(`${method} ${path.slice(0, 12)}… (3,000 characters): an id too long for a key is a 400 naming ${field}`, async () => {
      const response = await call(request(method, path, method === 'POST' ? '{}' : undefined));

      expect(response.statusCode).toBe(400);
      expect(issuePaths(response)).toEqual([field]);
      expect(await fixture.itemCount()).toBe(0);
    });
  }

  it('counts an id in UTF-8 bytes once decoded: 80 three-byte characters (240 bytes) pass, 100 four-byte ones (400) do not', async () => {
    const three = encodeURIComponent('日'.repeat(80));
    const four = encodeURIComponent('😀'.repeat(100));

    expect((await call(request('GET', `/jobs/${three}`))).statusCode).toBe(404);
    expect(issuePaths(await call(request('GET', `/jobs/${four}`)))).toEqual(['jobId']);
  });

  it('answers a path longer than 8 KB with 414', async () => {
    const response = await call(request('GET', `/jobs/${'j'.repeat(MAX_PATH_BYTES)}`));

    expect(response.statusCode).toBe(414);
    expect(errorOf(response).code).toBe('REQUEST.URI_TOO_LONG');
  });

  it('refuses an Idempotency-Key over 256 bytes, naming the header, and makes no job', async () => {
    const response = await call(request('POST', '/jobs', JSON.stringify(edgeSpec()), { 'idempotency-key': 'k'.repeat(300) }));

    expect(response.statusCode).toBe(400);
    expect(issuePaths(response)).toEqual(['headers.idempotency-key']);
    expect(await fixture.itemCount()).toBe(0);
  });

  for (const name of ['__proto__', 'constructor', 'prototype']) {
    it(`refuses a spec with a parameter named ${name} at parameters[0].name and makes no job`, async () => {
      const body = JSON.stringify(edgeSpec()).replace('"name":"eta"', `"name":"${name}"`);

      const response = await call(request('POST', '/jobs', body));

      expect(response.statusCode).toBe(400);
      expect(issuePaths(response)).toEqual(['parameters[0].name']);
      expect(await fixture.itemCount()).toBe(0);
      expect(fixture.providers.local.creates).toHaveLength(0);
    });
  }

  it('answers a 242 KB body of 23,000 keys quickly, naming the repeated key by line', async () => {
    const keys = Array.from({ length: 23_000 }, (_, i) => `  k${i.toString(36)}: v`);
    const body = ['name: churn-xgb', 'labels:', ...keys, '  k0: again'].join('\n');
    expect(body.length).toBeGreaterThan(225_000);

    const started = performance.now();
    const response = await call(request('POST', '/jobs', body));

    expect(performance.now() - started).toBeLessThan(5_000);
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).issues).toEqual([{ path: 'line 23003', message: 'repeats the key "k0": keys must be unique in a mapping' }]);
  });

  for (const [what, method, path, body] of [
    ['bad YAML', 'POST', '/jobs', 'name: [unclosed'],
    ['YAML nested 20,000 deep', 'POST', '/jobs', `name: ${'['.repeat(20_000)}${']'.repeat(20_000)}`],
    ['a YAML list at the root', 'POST', '/jobs', '- a\n- b'],
    ['bad JSON', 'POST', '/subscriptions', '{"url": '],
    ['bad template YAML', 'PUT', '/templates/churn', 'spec: {a: 1'],
    ['a template with a repeated key', 'PUT', '/templates/churn', 'spec: {}\npolicy: queue\npolicy: drop\n'],
    ['a template nested 5,000 deep', 'PUT', '/templates/churn', `spec: ${'- '.repeat(5000)}x`],
  ] as const) {
    it(`answers ${what} with a 4xx JSON error, never a 500`, async () => {
      const response = await call(request(method, path, body));

      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(errorOf(response).code).toEqual(expect.any(String));
      expect(await fixture.itemCount()).toBe(0);
    });
  }

  it('answers a wrong method with 405 and an unknown path with 404', async () => {
    expect((await call(request('PATCH', '/jobs/abc'))).statusCode).toBe(405);
    expect((await call(request('DELETE', '/jobs'))).statusCode).toBe(405);
    expect((await call(request('PATCH', '/templates/abc'))).statusCode).toBe(405);
    expect((await call(request('GET', '/nothing/here'))).statusCode).toBe(404);
  });

  describe('templates', () => {
    const put = (policy: string) => call(request('PUT', '/templates/churn', toYaml({ spec: edgeSpec(), policy })));

    it('reads ?version=N from the path as a server or the API Gateway adapter passes it', async () => {
      expect((await put('queue')).statusCode).toBe(201);
      expect((await put('drop')).statusCode).toBe(201);

      const first = await call(request('GET', '/templates/churn?version=1'));
      const latest = await call(request('GET', '/templates/churn'));
      const missing = await call(request('GET', '/templates/churn?version=9'));

      expect(first.statusCode).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({ name: 'churn', version: 1 });
      expect(JSON.parse(latest.body)).toMatchObject({ name: 'churn', version: 2 });
      expect(missing.statusCode).toBe(404);
    });

    for (const version of ['0', 'abc', '-1', '1.5', '99999999999']) {
      it(`refuses ?version=${version}, naming version`, async () => {
        await put('queue');

        const response = await call(request('GET', `/templates/churn?version=${version}`));

        expect(response.statusCode).toBe(400);
        expect(issuePaths(response)).toEqual(['version']);
      });
    }

    it('refuses an inbound webhook id too long for a key with a 400, and records nothing for it', async () => {
      await call(request('PUT', '/templates/churn', toYaml({ spec: edgeSpec(), triggers: { webhook: { kind: 'standard', secret: SECRET } } })));
      const before = await fixture.itemCount();
      const body = JSON.stringify({ dataLocation: 's3://tunewire-data/churn/2026-11-25/' });
      const id = `msg_${'x'.repeat(1200)}`;
      const at = new Date();
      const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(SECRET).sign(id, at, body) };

      const response = await call(request('POST', '/hooks/churn', body, headers));

      expect(response.statusCode).toBe(400);
      expect(issuePaths(response)).toEqual(['headers.webhook-id']);
      expect(await fixture.itemCount()).toBe(before);
      expect(fixture.providers.local.creates).toHaveLength(0);
    });

    it('refuses an inbound data location too long for the debounce key, naming body.dataLocation', async () => {
      await call(request('PUT', '/templates/churn', toYaml({ spec: edgeSpec(), triggers: { webhook: { kind: 'standard', secret: SECRET } } })));
      const before = await fixture.itemCount();
      const body = JSON.stringify({ dataLocation: `s3://tunewire-data/${'d'.repeat(2000)}/` });
      const at = new Date();
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(SECRET).sign('msg_1', at, body) };

      const response = await call(request('POST', '/hooks/churn', body, headers));

      expect(response.statusCode).toBe(400);
      expect(issuePaths(response)).toEqual(['body.dataLocation']);
      expect(await fixture.itemCount()).toBe(before);
    });
  });

  describe('an unexpected failure', () => {
    const DYNAMO_MESSAGE = 'One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes';

    it('answers 500 with only a request id, and logs what failed under that id', async () => {
      const failing: Ledger = new Proxy(fixture.deps.ledger, {
        get: (target, key, receiver) =>
          key === 'getJob' ? async () => Promise.reject(Object.assign(new Error(DYNAMO_MESSAGE), { name: 'ValidationException' })) : Reflect.get(target, key, receiver),
      });
      const logged: Record<string, unknown>[] = [];

      const response = await handleHttpRequest({ ...fixture.deps, ledger: failing }, { ...request('GET', '/jobs/churn-xgb-aaaaaaaaaa'), requestId: 'req-42' }, { log: (e) => logged.push(e) });

      expect(response.statusCode).toBe(500);
      expect(response.headers['x-request-id']).toBe('req-42');
      expect(errorOf(response)).toEqual({ code: 'INTERNAL', message: 'the request failed; the log has the details under request id req-42', requestId: 'req-42' });
      expect(response.body).not.toContain('ValidationException');
      expect(response.body).not.toContain('range keys');
      expect(logged).toEqual([expect.objectContaining({ level: 'error', requestId: 'req-42', error: expect.objectContaining({ name: 'ValidationException', message: DYNAMO_MESSAGE }) })]);
    });

    it('makes up a request id when the transport gives none', async () => {
      const failing: Ledger = new Proxy(fixture.deps.ledger, {
        get: (target, key, receiver) => (key === 'getChampion' ? async () => Promise.reject(new TypeError('boom')) : Reflect.get(target, key, receiver)),
      });
      const logged: Record<string, unknown>[] = [];

      const response = await handleHttpRequest({ ...fixture.deps, ledger: failing }, request('GET', '/models/churn/champion'), { log: (e) => logged.push(e) });

      expect(response.statusCode).toBe(500);
      expect(errorOf(response).requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(logged[0]?.['requestId']).toBe(errorOf(response).requestId);
    });
  });
});

describe('handleHttpRequest GET /jobs', () => {
  let fixture: EdgeFixture;
  let deps: EdgeFixture['deps'];
  const call = (path: string) => handleHttpRequest(deps, request('GET', path));
  const page = (response: HttpResponse) => JSON.parse(response.body) as { jobs: { jobId: string; name: string; provider: string }[]; next?: string };

  /** Submits through the API, a second apart on the clock, so newest first is the reverse of this order. */
  async function submitAll(specs: readonly Record<string, unknown>[]): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of specs) {
      const response = await handleHttpRequest(deps, request('POST', '/jobs', JSON.stringify(spec)));
      expect(response.statusCode).toBe(202);
      ids.push((JSON.parse(response.body) as { jobId: string }).jobId);
    }
    return ids;
  }

  beforeEach(async () => {
    fixture = await edgeFixture('http-jobs');
    let tick = 0;
    deps = { ...fixture.deps, clock: { now: () => new Date(Date.UTC(2026, 10, 23, 10, 0, tick++)) } };
  });

  it('lists jobs newest first, filtered by status, provider and name', async () => {
    const [a, b, c] = await submitAll([edgeSpec('local', 'churn-a'), edgeSpec('sagemaker', 'churn-b'), edgeSpec('local', 'fraud-c')]);

    const all = await call('/jobs');
    expect(all.statusCode).toBe(200);
    expect(page(all)).toEqual({ jobs: [expect.objectContaining({ jobId: c }), expect.objectContaining({ jobId: b }), expect.objectContaining({ jobId: a })] });
    expect(page(await call('/jobs?provider=local')).jobs.map((j) => j.jobId)).toEqual([c, a]);
    expect(page(await call('/jobs?name=churn')).jobs.map((j) => j.jobId)).toEqual([b, a]);
    expect(page(await call('/jobs?name=churn&provider=sagemaker')).jobs.map((j) => j.jobId)).toEqual([b]);
    const status = page(all).jobs.map((j) => (j as { status?: string }).status)[0] as string;
    expect(page(await call(`/jobs?status=${status}&name=fraud`)).jobs.map((j) => j.jobId)).toEqual([c]);
    expect(page(await call(`/jobs?status=${status === 'failed' ? 'stopped' : 'failed'}`)).jobs).toEqual([]);
  });

  it('pages with limit and the next cursor until the last page, which has no next', async () => {
    const ids = (await submitAll(['a', 'b', 'c', 'd', 'e'].map((n) => edgeSpec('local', `job-${n}`)))).reverse();

    const first = page(await call('/jobs?limit=2'));
    const second = page(await call(`/jobs?limit=2&cursor=${first.next}`));
    const third = page(await call(`/jobs?limit=2&cursor=${second.next}`));

    expect([first, second, third].map((p) => p.jobs.map((j) => j.jobId))).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect(third.next).toBeUndefined();
  });

  for (const [query, parameter] of [
    ['status=done', 'status'],
    ['provider=azure', 'provider'],
    ['name=', 'name'],
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=1.5', 'limit'],
    ['status=failed&status=stopped', 'status'],
    ['cursor=%%%', 'cursor'],
    [`cursor=${Buffer.from('{"createdAt":"2026-11-23T10:00:00Z"}').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('{"createdAt":"yesterday","jobId":"x"}').toString('base64url')}`, 'cursor'],
  ] as const) {
    it(`refuses ?${query.slice(0, 40)} with a 400 naming ${parameter}`, async () => {
      const response = await call(`/jobs?${query}`);

      expect(response.statusCode).toBe(400);
      expect(issuePaths(response)).toEqual([parameter]);
    });
  }

  it('takes limit=200, the largest page', async () => {
    expect((await call('/jobs?limit=200')).statusCode).toBe(200);
  });
});
