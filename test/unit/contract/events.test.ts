import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBusRules } from '../../../shared/adapters/bus/serverless-rules';
import { LocalBus } from '../../../shared/adapters/bus/local-bus';
import { parseTransportEvent } from '../../../shared/edge/envelopes';
import { localJobEvent, localTrialEvent } from '../../../shared/edge/local-events';
import { parseDetail } from '../../../shared/edge/envelopes';
import { z } from 'zod';
import { fromApiGatewayV2, isApiGatewayV2, type ApiGatewayV2Event } from '../../../functions/submit/api-gateway';
import { parseSpecText } from '../../../shared/domain/spec';
import { EVENTS_DIR } from '../../support/fixtures';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function documents(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.jsonl') ? text.trim().split('\n').map((l) => JSON.parse(l) as unknown) : [JSON.parse(text) as unknown];
}

const bus = new LocalBus({
  rules: loadBusRules(join(EVENTS_DIR, '..', 'serverless.yml')),
  targets: Object.fromEntries(['submit', 'status-change', 'trial-fan-out', 'promote-best'].map((f) => [f, async () => undefined])),
});

const ownDetail = z.object({ eventId: z.string(), subject: z.string(), jobId: z.string() });

/** Every sample parses with the schema of the function it is routed to. */
describe('events/ samples', () => {
  const all = files(EVENTS_DIR).map((p) => relative(EVENTS_DIR, p));
  it('exist', () => expect(all.length).toBeGreaterThan(5));

  it.each(all)('%s parses with its schema', (file) => {
    for (const raw of documents(join(EVENTS_DIR, file))) {
      if (file.startsWith('http/')) {
        expect(isApiGatewayV2(raw)).toBe(true);
        const request = fromApiGatewayV2(raw as ApiGatewayV2Event);
        if (request.method === 'POST') expect(parseSpecText(request.body ?? '').name).toBeTruthy();
        continue;
      }
      const { envelope } = parseTransportEvent(raw);
      const routes = bus.route(envelope);
      expect(routes.length, `${file} is routed by serverless.yml`).toBeGreaterThan(0);
      if (envelope.source === 'tunewire.local') {
        const parsed = envelope['detail-type'] === 'Local Trial State Change' ? localTrialEvent(envelope) : localJobEvent(envelope);
        expect(parsed.providerJobName).toBeTruthy();
      } else if (envelope.source === 'tunewire') {
        parseDetail(ownDetail, envelope, file);
      }
    }
  });
});
