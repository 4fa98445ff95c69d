import type { HttpRequest } from '../../shared/edge/http-api';

/** The parts of an API Gateway HTTP API (payload 2.0) event the API reads. */
export interface ApiGatewayV2Event {
  readonly rawPath: string;
  readonly headers?: Record<string, string | undefined>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: { readonly http: { readonly method: string } };
}

export function isApiGatewayV2(event: unknown): boolean {
  const ctx = (event as { requestContext?: { http?: unknown } } | null)?.requestContext;
  return typeof ctx === 'object' && ctx !== null && typeof ctx.http === 'object';
}

export function fromApiGatewayV2(event: ApiGatewayV2Event): HttpRequest {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return { method: event.requestContext.http.method, path: event.rawPath, headers, ...(body !== undefined ? { body } : {}) };
}
