import { describe, expect, it } from 'vitest';
import { refuseDevRequest, type DevRequestHead } from '../../../shared/cli/dev-server';

const port = 8787;
const token = 'k'.repeat(43);
const guard = { port, token };

/** What `curl -H "Authorization: Bearer …"` sends to 127.0.0.1:8787; each case changes one thing. */
function head(method: string, headers: Record<string, string | undefined> = {}): DevRequestHead {
  return { method, headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}`, ...headers } };
}

const codeOf = (req: DevRequestHead) => {
  const refused = refuseDevRequest(req, guard);
  return refused && { status: refused.statusCode, code: (JSON.parse(refused.body) as { error: { code: string } }).error.code };
};

describe('refuseDevRequest', () => {
  it('lets through a GET with the token and a loopback Host', () => {
    expect(refuseDevRequest(head('GET'), guard)).toBeUndefined();
  });

  it.each([`localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`])('takes Host %s', (host) => {
    expect(refuseDevRequest(head('GET', { host }), guard)).toBeUndefined();
  });

  it.each(['rebind.evil.example', `rebind.evil.example:${port}`, '127.0.0.1', `127.0.0.1:${port + 1}`, `0.0.0.0:${port}`, undefined])('refuses Host %s with 403', (host) => {
    expect(codeOf(head('GET', { host }))).toEqual({ status: 403, code: 'DEV.HOST_REFUSED' });
  });

  it('takes its own origin, as the Host names it', () => {
    expect(refuseDevRequest(head('GET', { origin: `http://127.0.0.1:${port}` }), guard)).toBeUndefined();
    expect(refuseDevRequest(head('GET', { host: `localhost:${port}`, origin: `http://localhost:${port}` }), guard)).toBeUndefined();
  });

  it.each(['https://evil.example', 'null', `https://127.0.0.1:${port}`, `http://localhost:${port}`, `http://127.0.0.1:${port + 1}`, ''])('refuses Origin %j with 403', (origin) => {
    expect(codeOf(head('POST', { origin, 'content-type': 'application/json' }))).toEqual({ status: 403, code: 'DEV.ORIGIN_REFUSED' });
  });

  it('refuses a foreign page before looking at the token', () => {
    expect(codeOf(head('POST', { origin: 'https://evil.example', authorization: undefined }))).toEqual({ status: 403, code: 'DEV.ORIGIN_REFUSED' });
  });

  it.each([undefined, '', 'Bearer', `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${token}`, `Bearer ${token} extra`, token])('refuses Authorization %j with 401', (authorization) => {
    const refused = refuseDevRequest(head('GET', { authorization }), guard);
    expect(refused?.statusCode).toBe(401);
    expect(refused?.headers['www-authenticate']).toBe('Bearer realm="tunewire dev"');
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({ error: { code: 'DEV.UNAUTHORIZED' } });
  });

  it('takes the Bearer scheme in any case', () => {
    expect(refuseDevRequest(head('GET', { authorization: `bearer ${token}` }), guard)).toBeUndefined();
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/yaml', 'application/x-yaml', 'text/yaml;charset=UTF-8'])(
    'takes a POST body of %s',
    (type) => {
      expect(refuseDevRequest(head('POST', { 'content-type': type, 'content-length': '2' }), guard)).toBeUndefined();
    },
  );

  it.each([
    ['POST', 'text/plain;charset=UTF-8'],
    ['POST', 'application/x-www-form-urlencoded'],
    ['POST', 'multipart/form-data; boundary=x'],
    ['POST', 'application/jsonp'],
    ['PUT', 'text/plain'],
    ['PATCH', 'text/html'],
    ['post', 'text/plain'],
  ])('refuses a %s body of %s with 415', (method, type) => {
    expect(codeOf(head(method, { 'content-type': type, 'content-length': '2' }))).toEqual({ status: 415, code: 'DEV.UNSUPPORTED_MEDIA_TYPE' });
  });

  it('refuses a POST body without a Content-Type, and takes a POST without a body', () => {
    expect(codeOf(head('POST', { 'content-length': '5' }))).toEqual({ status: 415, code: 'DEV.UNSUPPORTED_MEDIA_TYPE' });
    expect(codeOf(head('POST', { 'transfer-encoding': 'chunked' }))).toEqual({ status: 415, code: 'DEV.UNSUPPORTED_MEDIA_TYPE' });
    expect(refuseDevRequest(head('POST'), guard)).toBeUndefined();
    expect(refuseDevRequest(head('POST', { 'content-length': '0' }), guard)).toBeUndefined();
  });

  it('does not ask a GET or DELETE for a Content-Type', () => {
    expect(refuseDevRequest(head('GET', { 'content-type': 'text/plain' }), guard)).toBeUndefined();
    expect(refuseDevRequest(head('DELETE'), guard)).toBeUndefined();
  });
});
