import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenDevServer } from '../shared/cli/dev-server';
import { LIVE_POLL_MS } from '../shared/dashboard/live';
import type { Trial } from '../shared/domain/trial';
import { systemClock } from '../shared/ports/clock';
import { ProviderCatalog, type Dependencies } from '../shared/use-cases/dependencies';
import { countingDynamoClient, freshLedger, nullBus, spec } from './stack';
import { median, percentile, seeded } from './stats';

/** Ledger changes measured, each awaited before the next. */
export const LIVE_CHANGES = 30;
/** A change whose `change` event takes longer than this fails the bench. */
const LIVE_GIVE_UP_MS = 10_000;

export interface DashboardLiveFigures {
  readonly changes: number;
  readonly pollMs: number;
  /** Per change: from the ledger write's promise resolving to the `change` event on the stream. */
  readonly eventMs: readonly number[];
  /** Per change: the ledger write itself (putTrial against DynamoDB Local). */
  readonly writeMs: readonly number[];
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly writeMedianMs: number;
  /** Changes whose event came before the write's promise resolved (counted as 0 ms). */
  readonly seenBeforeWriteReturned: number;
}

/** The bench gives up: a ledger change never reached the open stream, or the stream failed. */
export class DashboardLiveBenchError extends Error {}

/**
 * How soon an open dashboard hears of a ledger change: one job on DynamoDB Local, the dev server
 * (`listenDevServer`, as `tunewire dev` binds it) serving the HTTP API on that ledger, and one
 * `GET /events?job=<id>` stream held open with node's fetch. Then LIVE_CHANGES times: a pause of
 * one poll interval plus a seeded fraction of another, so each write lands at its own phase of the
 * stream's poll and a late event of the previous change has already come; a new trial written with
 * `putTrial`; the wait for the stream's `change` event.
 *
 * @example
 *   const figures = await measureDashboardLive(dynamo.endpoint);
 *   // figures.p90Ms <= 1000: the page updates within a second
 */
export async function measureDashboardLive(dynamoEndpoint: string): Promise<DashboardLiveFigures> {
  const { client } = countingDynamoClient(dynamoEndpoint);
  const { ledger } = await freshLedger(client, 'dashboard-live');
  const deps: Dependencies = { ledger, bus: nullBus, clock: systemClock, providers: new ProviderCatalog({}) };
  const jobId = `dashboard-live-${Date.now()}`;
  await ledger.createJob({ jobId, name: 'dashboard-live', provider: spec.provider, spec, providerJobName: jobId, createdAt: new Date().toISOString() });
  const token = randomBytes(24).toString('base64url');
  const dev = await listenDevServer({ port: 0, token });
  dev.serve(deps);
  const reading = new AbortController();
  const random = seeded(20261130);
  const eventMs: number[] = [];
  const writeMs: number[] = [];
  let early = 0;
  try {
    const stream = await openEventStream(`${dev.url}/events?job=${encodeURIComponent(jobId)}`, token, reading.signal);
    if ((await stream.next('ready', 0, LIVE_GIVE_UP_MS)) === undefined) throw new DashboardLiveBenchError(`no \`event: ready\` on /events within ${LIVE_GIVE_UP_MS} ms`);
    for (let i = 0; i < LIVE_CHANGES; i++) {
      await sleep(LIVE_POLL_MS + random() * LIVE_POLL_MS);
      const trial: Trial = { trialId: `${jobId}-t${String(i + 1).padStart(3, '0')}`, status: 'running', hyperparameters: { eta: String(i / 100) }, stoppedEarly: false };
      const started = performance.now();
      await ledger.putTrial(jobId, { trial, source: 'provider', observedAt: new Date().toISOString() });
      const written = performance.now();
      const seen = await stream.next('change', started, LIVE_GIVE_UP_MS);
      if (seen === undefined) throw new DashboardLiveBenchError(`change ${i + 1} of ${LIVE_CHANGES} (trial ${trial.trialId}) brought no \`event: change\` within ${LIVE_GIVE_UP_MS} ms: the bench fails`);
      if (seen < written) early++;
      writeMs.push(written - started);
      eventMs.push(Math.max(0, seen - written));
    }
  } finally {
    reading.abort();
    await dev.close();
    client.destroy();
  }
  return {
    changes: LIVE_CHANGES,
    pollMs: LIVE_POLL_MS,
    eventMs,
    writeMs,
    medianMs: median(eventMs),
    p90Ms: percentile(eventMs, 90),
    minMs: Math.min(...eventMs),
    maxMs: Math.max(...eventMs),
    writeMedianMs: median(writeMs),
    seenBeforeWriteReturned: early,
  };
}

interface Arrival {
  readonly event: string;
  /** performance.now() when the chunk carrying it was read. */
  readonly at: number;
}

/** A `text/event-stream` response read as it comes, each event stamped with its arrival. */
class EventStream {
  private readonly arrivals: Arrival[] = [];
  private wake: () => void = () => undefined;
  private failure: Error | undefined;

  constructor(body: ReadableStream<Uint8Array>, signal: AbortSignal) {
    void this.read(body, signal);
  }

  /** When the first `event` read at or after `since` came; undefined after `timeoutMs` without one. */
  async next(event: string, since: number, timeoutMs: number): Promise<number | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.arrivals.some((a) => a.event === 'error')) throw new DashboardLiveBenchError('the stream sent `event: error`: the server could not read the ledger');
      const hit = this.arrivals.find((a) => a.event === event && a.at >= since);
      if (hit) return hit.at;
      if (this.failure) throw this.failure;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const at = performance.now();
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const name = /^event: (.+)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (name) this.arrivals.push({ event: name, at });
        }
        this.wake();
      }
      this.failure = new DashboardLiveBenchError('the /events stream ended');
    } catch (error) {
      this.failure = signal.aborted ? new DashboardLiveBenchError('the /events stream was closed') : new DashboardLiveBenchError('reading the /events stream failed', { cause: error });
    }
    this.wake();
  }
}

async function openEventStream(url: string, token: string, signal: AbortSignal): Promise<EventStream> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal });
  if (response.status !== 200 || !response.body) throw new DashboardLiveBenchError(`GET /events answered ${response.status}: ${await response.text()}`);
  return new EventStream(response.body, signal);
}
