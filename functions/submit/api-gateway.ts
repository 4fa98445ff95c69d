import type { HttpRequest } from '../../shared/edge/http-api';

/** The parts of an API Gateway HTTP API (payload 2.0) event the API reads. */
export interface ApiGatewayV2Event {
  readonly rawPath: string;
  /** The query string without `?`, as sent (payload 2.0 keeps the path and the query apart). */
  readonly rawQueryString?: string;
  readonly headers?: Record<string, string | undefined>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: { readonly http: { readonly method: string }; readonly requestId?: string };
}

export function isApiGatewayV2(event: unknown): boolean {
  const ctx = (event as { requestContext?: { http?: unknown } } | null)?.requestContext;
  return typeof ctx === 'object' && ctx !== null && typeof ctx.http === 'object';
}

export function fromApiGatewayV2(event: ApiGatewayV2Event): HttpRequest {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  // the API reads `?version=N` and the like from the path, as a server's request URL carries it
  const path = event.rawQueryString ? `${event.rawPath}?${event.rawQueryString}` : event.rawPath;
  const requestId = event.requestContext.requestId;
  return { method: event.requestContext.http.method, path, headers, ...(body !== undefined ? { body } : {}), ...(requestId ? { requestId } : {}) };
}
