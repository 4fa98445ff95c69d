import { createServer, type Server } from 'node:http';
import type { Dependencies } from '../use-cases/dependencies';
import { bodyTooLarge, handleHttpRequest, MAX_BODY_BYTES, type HttpResponse } from '../edge/http-api';

/** The HTTP API on loopback for `tunewire dev`, through the same handler API Gateway calls. */
export function startDevServer(deps: Dependencies, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // keep no more than the limit in memory; the rest is only counted
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
      const answer: Promise<HttpResponse> =
        size > MAX_BODY_BYTES
          ? Promise.resolve(bodyTooLarge())
          : handleHttpRequest(deps, { method: req.method ?? 'GET', path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') });
      answer
        .then((response) => {
          res.writeHead(response.statusCode, response.headers);
          res.end(response.body);
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'INTERNAL', message: (error as Error).message } }));
        });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
