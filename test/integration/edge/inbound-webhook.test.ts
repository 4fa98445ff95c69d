import { createHmac } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { handleHttpRequest, type HttpRequest, type HttpResponse } from '../../../shared/edge/http-api';
import type { TemplateSettings } from '../../../shared/ports/templates';
import { parseSpec } from '../../../shared/domain/spec';
import { edgeFixture, edgeSpec, type EdgeDependencies, type EdgeFixture } from '../../support/edge-deps';

/*
 * The signers here follow the specs, not the code under test:
 * - Standard Webhooks: `v1,` + base64(HMAC-SHA256(base64-decoded secret after `whsec_`, `${id}.${timestamp}.${body}`));
 * - tunewire HMAC: hex HMAC-SHA256(secret as UTF-8, `${x-tunewire-timestamp}.${body}`, or the body alone).
 */
const STANDARD_SECRET = `whsec_${Buffer.from('a-thirty-two-byte-secret-for-tst').toString('base64')}`;
const HMAC_SECRET = 'hmac-secret-of-the-data-platform';
const HMAC_HEADER = 'x-platform-signature';

const standardHeaders = (id: string, at: Date, body: string, secret = STANDARD_SECRET): Record<string, string> => {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const mac = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
};
const hmacHeaders = (body: string, options: { at?: Date; id?: string } = {}): Record<string, string> => {
  const timestamp = options.at ? String(Math.floor(options.at.getTime() / 1000)) : undefined;
  const mac = createHmac('sha256', HMAC_SECRET).update(timestamp ? `${timestamp}.${body}` : body).digest('hex');
  return { [HMAC_HEADER]: `sha256=${mac}`, ...(timestamp ? { 'x-tunewire-timestamp': timestamp } : {}), ...(options.id ? { 'webhook-id': options.id } : {}) };
};

interface HookBody {
  readonly outcome?: string;
  readonly jobId?: string;
  readonly decision?: string;
  readonly error?: { readonly code: string; readonly message: string; readonly issues?: readonly { path: string }[] };
}
const bodyOf = (response: HttpResponse) => JSON.parse(response.body) as HookBody;

describe('POST /hooks/{template}', () => {
  let fixture: EdgeFixture;
  let deps: EdgeDependencies;
  let now: Date;
  const logged: unknown[] = [];
  const call = (req: HttpRequest) => handleHttpRequest(deps, req, { log: (entry) => logged.push(entry) });
  const hook = (body: string, headers: Record<string, string>, template = 'churn') => call({ method: 'POST', path: `/hooks/${template}`, headers, body });
  const putTemplate = (webhook: Record<string, unknown> | undefined, name = 'churn') =>
    call({ method: 'PUT', path: `/templates/${name}`, headers: {}, body: toYaml({ spec: edgeSpec('sagemaker'), ...(webhook ? { triggers: { webhook } } : {}) }) });
  const dataBody = (day: string) => JSON.stringify({ location: `s3://tunewire-data/churn/${day}/`, labels: { 'dataset-date': day } });

  beforeEach(async () => {
    fixture = await edgeFixture('inbound-webhook');
    now = new Date('2026-11-25T08:00:00.000Z');
    deps = { ...fixture.deps, clock: { now: () => now } };
    logged.length = 0;
  });

  describe('Standard Webhooks', () => {
    beforeEach(async () => {
      expect((await putTemplate({ kind: 'standard', secret: STANDARD_SECRET })).statusCode).toBe(201);
    });

    it('starts the template for a signature made from the spec (202), and answers a retry of the id with the first result (200, same job)', async () => {
      const body = dataBody('2026-11-25');
      const first = await hook(body, standardHeaders('msg_1', now, body));
      expect(first.statusCode).toBe(202);
      expect(bodyOf(first)).toMatchObject({ decision: 'submitted', outcome: 'applied' });

      now = new Date(now.getTime() + 30 * 60_000); // the sender's retry, signed anew half an hour later
      const retry = await hook(body, standardHeaders('msg_1', now, body));
      expect(retry.statusCode).toBe(200);
      expect(bodyOf(retry)).toEqual(bodyOf(first));
      expect(fixture.providers.sagemaker.creates).toHaveLength(1);
    });

    it('tells a stale timestamp (WEBHOOK.STALE) only to a caller whose signature is valid', async () => {
      const body = dataBody('2026-11-25');
      const old = new Date(now.getTime() - 6 * 60_000);
      const signed = await hook(body, standardHeaders('msg_1', old, body));
      const unsigned = await hook(body, { ...standardHeaders('msg_1', old, body), 'webhook-signature': 'v1,AAAA' });
      expect([signed.statusCode, unsigned.statusCode]).toEqual([401, 401]);
      expect(bodyOf(signed).error?.code).toBe('WEBHOOK.STALE');
      expect(bodyOf(unsigned).error?.code).toBe('WEBHOOK.UNAUTHORIZED');
      expect(fixture.providers.sagemaker.creates).toHaveLength(0);
    });

    it('accepts any of several space-separated signatures (a secret being rotated)', async () => {
      const body = dataBody('2026-11-25');
      const good = standardHeaders('msg_1', now, body);
      const other = standardHeaders('msg_1', now, body, `whsec_${Buffer.from('another-thirty-two-byte-secret!!').toString('base64')}`);
      const response = await hook(body, { ...good, 'webhook-signature': `${other['webhook-signature']} ${good['webhook-signature']}` });
      expect(response.statusCode).toBe(202);
    });

    it('verifies a body that is not JSON instead of failing on it', async () => {
      const response = await hook('dataset ready', standardHeaders('msg_1', now, 'dataset ready'));
      expect(response.statusCode).toBe(202);
    });
  });

  describe('HMAC', () => {
    beforeEach(async () => {
      expect((await putTemplate({ kind: 'hmac', secret: HMAC_SECRET, header: HMAC_HEADER })).statusCode).toBe(201);
    });

    it('knows a delivery by its body: the same signed body under another or no webhook-id starts no second job', async () => {
      const body = dataBody('2026-11-25');
      const first = await hook(body, hmacHeaders(body, { id: 'evt_1' }));
      const otherId = await hook(body, hmacHeaders(body, { id: 'evt_2' }));
      const noId = await hook(body, hmacHeaders(body));
      expect([first.statusCode, otherId.statusCode, noId.statusCode]).toEqual([202, 200, 200]);
      expect(bodyOf(otherId).jobId).toBe(bodyOf(first).jobId);
      expect(bodyOf(noId).jobId).toBe(bodyOf(first).jobId);
      expect(fixture.providers.sagemaker.creates).toHaveLength(1);
    });

    it('signs x-tunewire-timestamp as `<timestamp>.<body>`: a changed or stripped timestamp is refused, a stale one is WEBHOOK.STALE', async () => {
      const body = dataBody('2026-11-25');
      const headers = hmacHeaders(body, { at: now });
      const changed = await hook(body, { ...headers, 'x-tunewire-timestamp': String(Number(headers['x-tunewire-timestamp']) + 1) });
      const { 'x-tunewire-timestamp': _ts, ...stripped } = headers;
      const strippedAnswer = await hook(body, stripped);
      const stale = await hook(body, hmacHeaders(body, { at: new Date(now.getTime() - 6 * 60_000) }));
      expect([changed.statusCode, strippedAnswer.statusCode, stale.statusCode]).toEqual([401, 401, 401]);
      expect([bodyOf(changed).error?.code, bodyOf(strippedAnswer).error?.code, bodyOf(stale).error?.code]).toEqual(['WEBHOOK.UNAUTHORIZED', 'WEBHOOK.UNAUTHORIZED', 'WEBHOOK.STALE']);
      expect(fixture.providers.sagemaker.creates).toHaveLength(0);

      const ok = await hook(body, headers);
      expect(ok.statusCode).toBe(202);
    });

    it('accepts the body-only signature of a sender that sends no timestamp', async () => {
      const body = dataBody('2026-11-25');
      expect((await hook(body, hmacHeaders(body))).statusCode).toBe(202);
    });
  });

  describe('a trigger that fails', () => {
    it.each([
      ['Standard Webhooks', { kind: 'standard', secret: STANDARD_SECRET }, (body: string, at: Date) => standardHeaders('msg_1', at, body)],
      ['HMAC', { kind: 'hmac', secret: HMAC_SECRET, header: HMAC_HEADER }, (body: string, at: Date) => hmacHeaders(body, { at })],
    ] as const)('%s: answers 500, and the sender retry completes the same trigger (202, one job)', async (_scheme, webhook, sign) => {
      await putTemplate(webhook);
      const body = dataBody('2026-11-25');
      let failures = 1;
      fixture.providers.sagemaker.beforeCreate = async () => {
        if (failures-- > 0) throw new Error('SageMaker throttled the request');
      };

      const failed = await hook(body, sign(body, now));
      expect(failed.statusCode).toBe(500);
      expect(logged).toHaveLength(1);

      now = new Date(now.getTime() + 5_000);
      const retry = await hook(body, sign(body, now));
      expect(retry.statusCode).toBe(202);
      const { jobId } = bodyOf(retry);
      expect(jobId).toBeDefined();
      // the retry derived the failed attempt's job id: one job in the ledger and at the provider
      expect(fixture.providers.sagemaker.creates.map((c) => c.jobId)).toEqual([jobId, jobId]);
      expect(fixture.providers.sagemaker.jobCount).toBe(1);
      expect((await deps.ledger.getJob(jobId as string))?.status).not.toBe('submitting');

      const again = await hook(body, sign(body, new Date(now.getTime() + 1_000)));
      expect(again.statusCode).toBe(200);
      expect(bodyOf(again).jobId).toBe(jobId);
    });

    it('holds the delivery while a crashed handler leases it (409 IN_PROGRESS), then lets the retry finish it', async () => {
      await putTemplate({ kind: 'standard', secret: STANDARD_SECRET });
      const body = dataBody('2026-11-25');
      // a handler claimed msg_1 and died before triggering or releasing
      await deps.templates.claimInboundDelivery('churn', 'msg_1', { owner: 'crashed', at: now.toISOString(), leaseSeconds: 60, retainSeconds: 3600 });

      now = new Date(now.getTime() + 30_000);
      const busy = await hook(body, standardHeaders('msg_1', now, body));
      expect(busy.statusCode).toBe(409);
      expect(bodyOf(busy).error?.code).toBe('WEBHOOK.IN_PROGRESS');

      now = new Date(now.getTime() + 31_000);
      const retry = await hook(body, standardHeaders('msg_1', now, body));
      expect(retry.statusCode).toBe(202);
      expect(fixture.providers.sagemaker.creates).toHaveLength(1);
    });
  });

  describe('concurrent deliveries of one delivery', () => {
    it.each([
      ['Standard Webhooks, one webhook-id', { kind: 'standard', secret: STANDARD_SECRET }, (body: string, _i: number) => standardHeaders('msg_1', now, body)],
      ['HMAC, one body under 8 webhook-ids', { kind: 'hmac', secret: HMAC_SECRET, header: HMAC_HEADER }, (body: string, i: number) => hmacHeaders(body, { at: now, id: `evt_${i}` })],
    ] as const)('%s: start exactly one job', async (_scheme, webhook, sign) => {
      await putTemplate(webhook);
      const body = dataBody('2026-11-25');
      // a slow provider keeps the first handler inside its lease while the others arrive
      fixture.providers.sagemaker.beforeCreate = () => new Promise((resolve) => setTimeout(resolve, 200));

      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => hook(body, sign(body, i))));
      const statuses = answers.map((a) => a.statusCode);
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.every((s) => s === 202 || s === 200 || s === 409)).toBe(true);
      expect(fixture.providers.sagemaker.creates).toHaveLength(1);

      const after = await hook(body, sign(body, 0));
      expect(after.statusCode).toBe(200);
      expect(bodyOf(after).jobId).toBe(bodyOf(answers.find((a) => a.statusCode === 202) as HttpResponse).jobId);
    });
  });

  describe('names cannot be probed', () => {
    it('answers an unknown template, a template without a webhook, a bad signature and missing headers with the same 401', async () => {
      await putTemplate({ kind: 'standard', secret: STANDARD_SECRET });
      await putTemplate(undefined, 'no-hook');
      const body = dataBody('2026-11-25');
      const signed = standardHeaders('msg_1', now, body);

      const answers = await Promise.all([
        hook(body, signed, 'nonexistent'),
        hook(body, signed, 'no-hook'),
        hook(body, { ...signed, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}` }),
        hook(body, {}),
        hook(body, { 'webhook-id': 'msg_1' }, 'nonexistent'),
      ]);
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0]?.statusCode).toBe(401);
      expect(bodyOf(answers[0] as HttpResponse).error?.code).toBe('WEBHOOK.UNAUTHORIZED');
      expect(fixture.providers.sagemaker.creates).toHaveLength(0);
    });

    it('answers a template whose stored secret is not base64 (put before the check) with that 401, not a 500', async () => {
      const settings: TemplateSettings = { policy: 'queue', debounceSeconds: 300, triggers: { webhook: { kind: 'standard', secret: 'whsec_abc=defghijklmnopqrstuvwxyz' } } };
      await deps.templates.putTemplate({ name: 'legacy', spec: parseSpec(edgeSpec('sagemaker')), settings, at: now.toISOString() });
      const body = dataBody('2026-11-25');
      const response = await hook(body, standardHeaders('msg_1', now, body, STANDARD_SECRET), 'legacy');
      expect(response.statusCode).toBe(401);
      expect(bodyOf(response).error?.code).toBe('WEBHOOK.UNAUTHORIZED');
      expect(logged).toEqual([]);
    });
  });

  describe('PUT /templates/{name}', () => {
    const unpadded = `whsec_${Buffer.from('twenty-bytes-of-key!').toString('base64').replace(/=+$/, '')}`;
    it.each([
      ['a stray = inside', 'whsec_abc=defghijklmnopqrstuvwxyz'],
      ['characters outside base64', 'whsec_not*base64!not*base64!'],
      ['base64url', `whsec_${Buffer.from('a-thirty-two-byte-secret-for-tst???').toString('base64url')}`],
      ['no padding', unpadded],
      ['fewer than 16 bytes', `whsec_${Buffer.from('twelve-bytes').toString('base64')}`],
      ['no whsec_ prefix', Buffer.from('a-thirty-two-byte-secret-for-tst').toString('base64')],
    ])('refuses a Standard Webhooks secret with %s, naming triggers.webhook.secret, and stores nothing', async (_why, secret) => {
      const response = await putTemplate({ kind: 'standard', secret });
      expect(response.statusCode).toBe(400);
      expect(bodyOf(response).error?.issues?.map((i) => i.path)).toEqual(['triggers.webhook.secret']);
      expect((await call({ method: 'GET', path: '/templates/churn', headers: {} })).statusCode).toBe(404);
    });

    it('refuses x-tunewire-timestamp as an HMAC signature header, naming triggers.webhook.header', async () => {
      const response = await putTemplate({ kind: 'hmac', secret: HMAC_SECRET, header: 'X-Tunewire-Timestamp' });
      expect(response.statusCode).toBe(400);
      expect(bodyOf(response).error?.issues?.map((i) => i.path)).toEqual(['triggers.webhook.header']);
    });
  });
});
