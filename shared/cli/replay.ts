import { readFileSync } from 'node:fs';
import { TunewireError, ValidationError } from '../domain/errors';
import { parseTransportEvent } from '../edge/envelopes';
import type { EmbeddedStack } from '../local-stack/embedded';
import type { HandledEvent } from '../use-cases/provider-events';

/** A handler's outcome, or `failed`: it threw, and the replay went on to the next event. */
export type ReplayOutcome = HandledEvent['outcome'] | 'failed';

export interface ReplayResult {
  readonly index: number;
  readonly eventId?: string;
  readonly function?: string;
  readonly outcome: ReplayOutcome;
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

/** A replay whose handlers threw for some events (exit 1); every event was still reported. */
export class ReplayFailedError extends TunewireError {
  readonly code = 'REPLAY.FAILED';
  readonly retryable = false;
}

/** One line counting the outcomes, e.g. `7 events: 4 applied, 1 duplicate, 2 rejected`. */
export function replaySummary(read: number, results: readonly ReplayResult[]): string {
  const counts = new Map<ReplayOutcome, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const parts = [...counts].map(([outcome, n]) => `${n} ${outcome}`);
  return `${read} event${read === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/**
 * What the replay as a whole comes to, after every event was reported: bad input (exit 2) when the
 * file held no event or any was rejected; a failure (exit 1) when a handler threw.
 */
export function checkReplay(file: string, read: number, results: readonly ReplayResult[]): void {
  const summary = replaySummary(read, results);
  if (read === 0) throw new ValidationError('replay', [{ path: file, message: 'holds no event' }]);
  if (results.some((r) => r.outcome === 'rejected')) throw new ValidationError('replay', [{ path: file, message: `has rejected events (${summary})` }]);
  if (results.some((r) => r.outcome === 'failed')) throw new ReplayFailedError(`replay of ${file}: handlers failed (${summary})`);
}

/**
 * Feeds each event through the production handlers that serverless.yml routes it to, against the
 * embedded ledger, and reports one outcome per event and function.
 */
export async function replayEvents(stack: Pick<EmbeddedStack, 'targets'> & { readonly bus: Pick<EmbeddedStack['bus'], 'route' | 'drain'> }, events: readonly unknown[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const [index, raw] of events.entries()) {
    let functions: string[];
    let eventId: string | undefined;
    try {
      const { envelope } = parseTransportEvent(raw, `event ${index}`);
      eventId = envelope.id;
      functions = stack.bus.route(envelope);
    } catch (error) {
      results.push(error instanceof ValidationError ? { index, outcome: 'rejected', detail: error.message } : { index, outcome: 'failed', detail: describe(error) });
      continue;
    }
    if (functions.length === 0) {
      results.push({ index, eventId: eventId as string, outcome: 'ignored', detail: 'no rule in serverless.yml matches this event' });
      continue;
    }
    for (const fn of functions) {
      const target = stack.targets[fn] as (event: unknown) => Promise<HandledEvent>;
      try {
        results.push({ index, eventId: eventId as string, function: fn, ...(await target(raw)) });
      } catch (error) {
        // One event's crash is reported with the others, not instead of them.
        results.push({ index, eventId: eventId as string, function: fn, outcome: 'failed', detail: describe(error) });
      }
    }
    // what the handlers published runs before the next event, as it would in time (webhooks aside)
    await stack.bus.drain({ except: ['notify'] });
  }
  return results;
}

function describe(error: unknown): string {
  return error instanceof TunewireError ? `[${error.code}] ${error.message}` : error instanceof Error ? error.message : String(error);
}
