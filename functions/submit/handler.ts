import { handleSubmitEvent } from '../../shared/edge/handlers';
import { handleHttpRequest, type HttpResponse } from '../../shared/edge/http-api';
import { cloudDependencies, observed, reportHandled, type Report } from '../runtime';
import { fromApiGatewayV2, isApiGatewayV2, type ApiGatewayV2Event } from './api-gateway';

const onEvent = observed(
  'submit',
  async (event) => handleSubmitEvent(await cloudDependencies(), event),
  reportHandled((o) => ({ JobsSubmitted: o.outcome === 'applied' ? 1 : 0 })),
);

const onHttp = observed(
  'submit',
  async (event) => {
    const request = fromApiGatewayV2(event as ApiGatewayV2Event);
    return { request, response: await handleHttpRequest(await cloudDependencies(), request) };
  },
  ({ request, response }) => httpReport(request.method, request.path, response),
);

/** The HTTP API (API Gateway v2: jobs, champion, templates, subscriptions) and `Tuning Job Requested` events. */
export async function handler(event: unknown) {
  if (isApiGatewayV2(event)) return (await onHttp(event)).response;
  return onEvent(event);
}

/**
 * 202 from `POST /jobs` is a new job (200 is a repeated request); 400, 413, 414 and 422 are input
 * refused at the edge; a 5xx failed (the API logged what, under the request id in its body).
 * Anything else was answered.
 */
function httpReport(method: string, path: string, response: HttpResponse): Report {
  const jobId = jobIdOf(response.body);
  const submitted = method.toUpperCase() === 'POST' && /^\/jobs\/?$/.test(path.split('?')[0] ?? '') && response.statusCode === 202;
  const failed = response.statusCode >= 500;
  return {
    outcome: failed ? 'failed' : [400, 413, 414, 422].includes(response.statusCode) ? 'rejected' : 'answered',
    ...(jobId ? { jobId } : {}),
    detail: `${method.toUpperCase()} ${path.length > 200 ? `${path.slice(0, 200)}…` : path} ${response.statusCode}`,
    metrics: { JobsSubmitted: submitted ? 1 : 0, ...(failed ? { Failures: 1 } : {}) },
  };
}

function jobIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const jobId = typeof parsed === 'object' && parsed !== null ? (parsed as { jobId?: unknown }).jobId : undefined;
    return typeof jobId === 'string' ? jobId : undefined;
  } catch {
    return undefined;
  }
}
