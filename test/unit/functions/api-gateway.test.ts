import { describe, expect, it } from 'vitest';
import { fromApiGatewayV2, type ApiGatewayV2Event } from '../../../functions/submit/api-gateway';
import { loadEvent } from '../../support/fixtures';

const sample = () => loadEvent('http/submit.api-gateway-v2.json') as unknown as ApiGatewayV2Event;

describe('fromApiGatewayV2', () => {
  it('keeps the query string, which API Gateway v2 sends apart from rawPath', () => {
    const event: ApiGatewayV2Event = { ...sample(), rawPath: '/templates/churn', rawQueryString: 'version=2', requestContext: { http: { method: 'GET' } } };

    expect(fromApiGatewayV2(event).path).toBe('/templates/churn?version=2');
  });

  it('leaves the path alone without a query, and passes the request id', () => {
    const request = fromApiGatewayV2(sample());

    expect(request.path).toBe('/jobs');
    expect(request.requestId).toBe('Ab1Cd2Ef3Gh=');
  });
});
