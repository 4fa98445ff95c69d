import { setTimeout as delay } from 'node:timers/promises';
import {
  EventBridgeServiceException,
  PutEventsCommand,
  type EventBridgeClient,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, detailTypeOf, withClaimCheck, type AnyTunewireEvent } from '../../domain/events';
import type { EventBus } from '../../ports/bus';
import { BusPublishError, type BusPublishFailure } from './bus-errors';

/** PutEvents quotas: at most 10 entries per request, and 256 KB per entry and per request. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** Our code for an entry we refuse to send because EventBridge never would accept it. */
export const ENTRY_TOO_LARGE = 'EntryTooLarge';

/** Per-entry ErrorCodes that AWS documents as final; any other code is worth another try. */
const FINAL_ENTRY_ERRORS: ReadonlySet<string> = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
]);

const THROTTLING_ERRORS: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

export interface EventBridgeBusOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
  /** `Source` of every entry; rules in serverless.yml match on it. */
  readonly source?: string;
  /** Attempts per entry, the first send included. */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** First backoff ceiling; it doubles per attempt up to `maxDelayMs`, and the wait is drawn below it (full jitter). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A number in [0, 1); tests pin the jitter with it. */
  readonly random?: () => number;
}

/**
 * Our events as PutEvents entries. EventBridge assigns its own event id, so the deterministic id
 * travels in the detail as `eventId`, next to `subject`.
 */
export function toPutEventsEntries(
  events: readonly AnyTunewireEvent[],
  options: { readonly eventBusName: string; readonly source?: string },
): PutEventsRequestEntry[] {
  return events.map((e) => withClaimCheck(e)).map((event) => ({
    EventBusName: options.eventBusName,
    Source: options.source ?? EVENT_SOURCE,
    DetailType: detailTypeOf(event.kind),
    Detail: JSON.stringify({ ...event.detail, eventId: event.id, subject: event.subject }),
    Time: new Date(event.time),
    Resources: [],
  }));
}

/** Entry size as EventBridge counts it against its quota (Time is 14 bytes; the rest UTF-8). */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  let size = entry.Time ? 14 : 0;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  for (const resource of entry.Resources ?? []) size += bytes(resource);
  return size;
}

/**
 * Splits items, in order, into requests of at most 10 entries and at most 256 KB. Each item must
 * itself fit; callers refuse larger ones first.
 */
export function batchPutEvents<T>(items: readonly T[], sizeOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length === PUT_EVENTS_MAX_ENTRIES || (current.length > 0 && bytes + size > PUT_EVENTS_MAX_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

type EntryOutcome = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string; readonly retryable: boolean };

/**
 * Publishes to an EventBridge bus. PutEvents succeeds as a call even when some entries fail, so
 * each entry's result is read: the failed ones (matched by index) are sent again with backoff,
 * the accepted ones never are. Whatever is still failing after `maxAttempts` is named in a
 * `BusPublishError`.
 *
 * @example
 *   const bus = new EventBridgeBus({ client: new EventBridgeClient({}), eventBusName: config.eventBusName });
 *   await bus.publish([event]);
 */
export class EventBridgeBus implements EventBus {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;
  private readonly source: string;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  constructor(options: EventBridgeBusOptions) {
    this.client = options.client;
    this.eventBusName = options.eventBusName;
    this.source = options.source ?? EVENT_SOURCE;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.sleep = options.sleep ?? ((ms) => delay(ms).then(() => undefined));
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.random = options.random ?? Math.random;
  }

  async publish(events: readonly AnyTunewireEvent[]): Promise<void> {
    if (events.length === 0) return;
    const entries = toPutEventsEntries(events, { eventBusName: this.eventBusName, source: this.source });
    const sizes = entries.map(putEventsEntrySize);
    const failures = new Map<number, BusPublishFailure>();

    // An entry over the quota would make EventBridge refuse its whole request; it is never sent,
    // and the others go on without it.
    let pending: number[] = [];
    sizes.forEach((size, i) => {
      if (size <= PUT_EVENTS_MAX_BYTES) pending.push(i);
      else
        failures.set(i, {
          eventId: eventAt(events, i).id,
          code: ENTRY_TOO_LARGE,
          message: `entry is ${size} bytes; PutEvents accepts at most ${PUT_EVENTS_MAX_BYTES}`,
          retryable: false,
        });
    });

    let lastRequestError: unknown;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      const again: number[] = [];
      for (const batch of batchPutEvents(pending, (i) => sizes[i] ?? 0)) {
        const { outcomes, error } = await this.send(batch.map((i) => entries[i] as PutEventsRequestEntry));
        if (error !== undefined) lastRequestError = error;
        batch.forEach((i, k) => {
          const outcome = outcomes[k] as EntryOutcome;
          if (outcome.ok) {
            failures.delete(i);
            return;
          }
          failures.set(i, { eventId: eventAt(events, i).id, code: outcome.code, message: outcome.message, retryable: outcome.retryable });
          if (outcome.retryable) again.push(i);
        });
      }
      if (attempt >= this.maxAttempts) break;
      pending = again;
    }

    if (failures.size > 0) {
      const ordered = [...failures.entries()].sort(([a], [b]) => a - b).map(([, failure]) => failure);
      throw new BusPublishError(`EventBridge bus ${this.eventBusName}`, ordered, lastRequestError === undefined ? undefined : { cause: lastRequestError });
    }
  }

  /** One PutEvents call; a call that throws fails each of its entries the same way. */
  private async send(batch: PutEventsRequestEntry[]): Promise<{ outcomes: EntryOutcome[]; error?: unknown }> {
    try {
      const output = await this.client.send(new PutEventsCommand({ Entries: batch }));
      const failedCount = output.FailedEntryCount ?? 0;
      return { outcomes: batch.map((_, k) => entryOutcome(output.Entries?.[k], failedCount > 0)) };
    } catch (error) {
      const failed: EntryOutcome = {
        ok: false,
        code: error instanceof Error ? error.name : 'UnknownError',
        message: error instanceof Error ? error.message : String(error),
        retryable: isRetryableRequestError(error),
      };
      return { outcomes: batch.map(() => failed), error };
    }
  }

  /** Full jitter: a wait drawn uniformly below a ceiling that doubles per retry. */
  private backoff(retry: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.random() * ceiling);
  }
}

function eventAt(events: readonly AnyTunewireEvent[], i: number): AnyTunewireEvent {
  return events[i] as AnyTunewireEvent;
}

function entryOutcome(result: PutEventsResultEntry | undefined, someFailed: boolean): EntryOutcome {
  if (result?.ErrorCode) {
    return { ok: false, code: result.ErrorCode, message: result.ErrorMessage ?? '', retryable: !FINAL_ENTRY_ERRORS.has(result.ErrorCode) };
  }
  if (result?.EventId) return { ok: true };
  // No result for this index: accepted when nothing failed, unknown (so sent again) otherwise.
  return someFailed ? { ok: false, code: 'NoResult', message: 'PutEvents returned no result for this entry', retryable: true } : { ok: true };
}

function isRetryableRequestError(error: unknown): boolean {
  if (error instanceof EventBridgeServiceException) {
    if (THROTTLING_ERRORS.has(error.name) || error.$retryable) return true;
    return error.$fault === 'server';
  }
  // Network failures and timeouts never reached a verdict from the service.
  return true;
}
