import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { SafeTarget } from './ssrf-guard';

export interface PinnedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The first bytes of the body, for the error message; the rest is drained and dropped. */
  readonly bodySnippet: string;
}

const MAX_SNIPPET_BYTES = 2_048;

/**
 * POSTs to a target the SSRF guard approved, connecting to its pinned address only: `lookup` is
 * replaced, so the socket cannot reach another address while Host, SNI and the certificate check
 * still use the URL's name. Redirects are never followed (node:http does not follow them; the
 * caller sees the 3xx). No agent: a pooled socket could belong to another pin.
 */
export function postPinned(target: SafeTarget, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PinnedResponse> {
  const pinnedLookup = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;

  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PinnedResponse>((resolve, reject) => {
    const req = send(
      {
        protocol: target.url.protocol,
        host: target.hostname,
        port: target.port,
        path: `${target.url.pathname}${target.url.search}`,
        method: 'POST',
        agent: false,
        lookup: pinnedLookup,
        // SNI must not carry an IP literal (RFC 6066)
        ...(target.url.protocol === 'https:' && isIP(target.hostname) === 0 ? { servername: target.hostname } : {}),
        headers: { ...headers, host: target.url.host, 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_SNIPPET_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            bodySnippet: Buffer.concat(chunks).subarray(0, MAX_SNIPPET_BYTES).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
