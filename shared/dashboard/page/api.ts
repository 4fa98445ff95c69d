import type { PromotionRecord, Champion, ArrivalRecord } from '../../ports/ledger';
import type { TuningSpec } from '../../domain/spec';
import type { jobView, trialView } from '../../edge/views';

/** What the HTTP API answers (shared/edge/http-api.ts); the same routes API Gateway serves. */
export type JobView = ReturnType<typeof jobView>;
export type TrialView = ReturnType<typeof trialView>;
export interface JobPage {
  readonly jobs: JobView[];
  readonly next?: string;
}
export interface TrialsAnswer {
  readonly jobId: string;
  readonly trials: TrialView[];
}
export interface HistoryAnswer {
  readonly jobId: string;
  readonly history: ArrivalRecord[];
}
export interface SpecAnswer {
  readonly jobId: string;
  readonly spec: TuningSpec;
}
export interface ModelAnswer {
  readonly model: string;
  readonly champion: Champion | null;
  readonly promotions: PromotionRecord[];
}
export interface LogsAnswer {
  readonly jobId: string;
  readonly trialId: string;
  readonly provider: string;
  readonly text?: string;
  readonly truncated?: boolean;
  readonly note?: string;
  readonly links: { readonly label: string; readonly url: string }[];
}

/** The API refused the token (or none was given): the page asks for it. */
export class Unauthorized extends Error {}

/** Any other answer than 2xx, with the API's own message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** How the page hears about changes: a server-sent event stream, or (where there is none, as behind API Gateway) a timer. */
export type LiveState = 'live' | 'polling' | 'reconnecting';

/** While there is no event stream, the page reads the API again this often. */
export const POLL_FALLBACK_MS = 5_000;
const RECONNECT_MS = 2_000;

/**
 * The HTTP API, with the state directory's token as a bearer token. Paths are relative to the page,
 * so the page works wherever the API is served from.
 */
export class Api {
  constructor(private readonly token: () => string | undefined) {}

  async get<T>(path: string): Promise<T> {
    const response = await fetch(path.replace(/^\//, ''), { headers: this.headers(), cache: 'no-store' });
    if (response.status === 401) throw new Unauthorized('the API token was refused');
    const body = (await response.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    if (!response.ok) throw new ApiError(response.status, body?.error?.message ?? `${response.status} ${response.statusText}`);
    return body as T;
  }

  /**
   * Calls `onChange` whenever the ledger changes for `topic` (`job=<id>`, `model=<name>` or '' for
   * the job list), until the returned function is called. Reads `GET /events` as a stream; where
   * the API has no such route, polls every POLL_FALLBACK_MS instead. Each (re)connection's
   * `ready` refreshes too: a change between the page's first read (or the drop) and the stream's
   * first look at the ledger would be missed otherwise.
   */
  follow(topic: string, onChange: () => void, onState: (state: LiveState) => void): () => void {
    const stop = new AbortController();
    const { signal } = stop;
    const pause = (ms: number) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    const run = async () => {
      while (!signal.aborted) {
        try {
          const response = await fetch(`events${topic ? `?${topic}` : ''}`, { headers: this.headers(), signal, cache: 'no-store' });
          if (response.status === 404 || response.status === 405 || !response.body) {
            onState('polling');
            while (!signal.aborted) {
              await pause(POLL_FALLBACK_MS);
              if (!signal.aborted) onChange();
            }
            return;
          }
          if (!response.ok) throw new ApiError(response.status, response.statusText);
          onState('live');
          await readEvents(response.body, (event) => {
            if (event === 'change' || event === 'ready') onChange();
          });
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof ApiError && error.status === 401) return;
        }
        if (signal.aborted) return;
        onState('reconnecting');
        await pause(RECONNECT_MS);
      }
    };
    void run();
    return () => stop.abort();
  }

  private headers(): Record<string, string> {
    const token = this.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  }
}

/** Reads a text/event-stream body, calling `onEvent` with each event's name. */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (name: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: ?(.*)$/m.exec(block)?.[1];
      if (name) onEvent(name);
    }
  }
}
