import { handleSubmitEvent } from '../../shared/edge/handlers';
import { handleHttpRequest } from '../../shared/edge/http-api';
import { cloudDependencies, logOutcome } from '../runtime';
import { fromApiGatewayV2, isApiGatewayV2, type ApiGatewayV2Event } from './api-gateway';

/** The HTTP API (API Gateway v2) and `Tuning Job Requested` events. */
export async function handler(event: unknown) {
  const deps = await cloudDependencies();
  if (isApiGatewayV2(event)) return handleHttpRequest(deps, fromApiGatewayV2(event as ApiGatewayV2Event));
  const outcome = await handleSubmitEvent(deps, event);
  logOutcome('submit', outcome);
  return outcome;
}
