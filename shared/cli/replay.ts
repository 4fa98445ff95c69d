import { readFileSync } from 'node:fs';
import { ValidationError } from '../domain/errors';
import { parseTransportEvent } from '../edge/envelopes';
import type { EmbeddedStack } from '../local-stack/embedded';
import type { HandledEvent } from '../use-cases/provider-events';

export interface ReplayResult {
  readonly index: number;
  readonly eventId?: string;
  readonly function?: string;
  readonly outcome: HandledEvent['outcome'];
  readonly jobId?: string;
  readonly detail?: string;
}

/** Reads events as a transport delivers them: one JSON object, a JSON array, or one per line. */
export function readEventsFile(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError('replay', [{ path, message: `cannot be read: ${(error as Error).message}` }], { cause: error });
  }
  const trimmed = text.trim();
  try {
    const whole: unknown = JSON.parse(trimmed);
    return Array.isArray(whole) ? whole : [whole];
  } catch {
    return trimmed.split('\n').flatMap((line, i) => {
      if (!line.trim()) return [];
      try {
        return [JSON.parse(line) as unknown];
      } catch (error) {
        throw new ValidationError('replay', [{ path: `${path}:${i + 1}`, message: 'is not JSON (expected a JSON array, an object, or one object per line)' }], { cause: error });
      }
    });
  }
}

/**
 * Feeds each event through the production handlers that serverless.yml routes it to, against the
 * embedded ledger, and reports one outcome per event and function.
 */
export async function replayEvents(stack: EmbeddedStack, events: readonly unknown[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const [index, raw] of events.entries()) {
    let functions: string[];
    let eventId: string | undefined;
    try {
      const { envelope } = parseTransportEvent(raw, `event ${index}`);
      eventId = envelope.id;
      functions = stack.bus.route(envelope);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      results.push({ index, outcome: 'rejected', detail: error.message });
      continue;
    }
    if (functions.length === 0) {
      results.push({ index, eventId: eventId as string, outcome: 'ignored', detail: 'no rule in serverless.yml matches this event' });
      continue;
    }
    for (const fn of functions) {
      const target = stack.targets[fn] as (event: unknown) => Promise<HandledEvent>;
      const handled = await target(raw);
      results.push({ index, eventId: eventId as string, function: fn, ...handled });
    }
    // what the handlers published runs before the next event, as it would in time
    await stack.bus.drain();
  }
  return results;
}
