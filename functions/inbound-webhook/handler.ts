import { cloudDependencies } from '../runtime';
import { handleTemplateRequest } from '../../shared/edge/template-api';
import { fromApiGatewayV2, type ApiGatewayV2Event } from '../submit/api-gateway';

/** API Gateway v2 `POST /hooks/{template}` (and the template routes, if routed here). */
export async function handler(event: ApiGatewayV2Event) {
  const response = await handleTemplateRequest(await cloudDependencies(), fromApiGatewayV2(event));
  return response ?? { statusCode: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'HTTP.NOT_FOUND', message: event.rawPath } }) };
}
