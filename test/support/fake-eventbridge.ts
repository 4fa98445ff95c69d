import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One entry as it came over the wire (AWS JSON 1.1: Time is epoch seconds). */
export interface WireEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: string[];
  readonly Time?: number;
  readonly EventBusName?: string;
}

export interface RecordedPutEvents {
  readonly target: string;
  readonly contentType: string | undefined;
  readonly entries: readonly WireEntry[];
}

export interface EntryFailureRule {
  /** Which entries fail, judged on the parsed detail (e.g. by `eventId`). */
  readonly match: (detail: Record<string, unknown>, entry: WireEntry) => boolean;
  /** How many times a matching entry fails before it is accepted; Infinity for always. */
  readonly times: number;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/**
 * A wire-level EventBridge: enough of PutEvents over AWS JSON 1.1 for the real
 * @aws-sdk/client-eventbridge to talk to. Records every request; can fail chosen entries for
 * their first N sends, or refuse whole requests with a 400 error body.
 */
export class FakeEventBridge {
  readonly requests: RecordedPutEvents[] = [];
  private readonly entryRules: { rule: EntryFailureRule; seen: Map<string, number> }[] = [];
  private requestFailures: { type: string; message: string; status: number; remaining: number }[] = [];
  private server: Server | undefined;
  private nextId = 1;
  endpoint = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  reset(): void {
    this.requests.length = 0;
    this.entryRules.length = 0;
    this.requestFailures = [];
  }

  /** Matching entries come back with an ErrorCode for their first `times` sends. */
  failEntries(rule: EntryFailureRule): void {
    this.entryRules.push({ rule, seen: new Map() });
  }

  /** The next `times` requests get HTTP `status` with `{"__type": type}` (default a 400 ThrottlingException). */
  failRequests(times: number, type = 'ThrottlingException', message = 'Rate exceeded', status = 400): void {
    this.requestFailures.push({ type, message, status, remaining: times });
  }

  /** Every entry sent, in order, across all requests. */
  get entries(): WireEntry[] {
    return this.requests.flatMap((r) => r.entries);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${this.nextId++}` });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
      reply(400, { __type: 'UnknownOperationException', message: `fake EventBridge does not do ${req.method} ${target}` });
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { Entries?: WireEntry[] };
    const entries = body.Entries ?? [];
    this.requests.push({ target, contentType: req.headers['content-type'], entries });

    const refusal = this.requestFailures.find((f) => f.remaining > 0);
    if (refusal) {
      refusal.remaining -= 1;
      reply(refusal.status, { __type: refusal.type, message: refusal.message });
      return;
    }

    let failed = 0;
    const results = entries.map((entry) => {
      const failure = this.entryFailure(entry);
      if (!failure) return { EventId: `fake-${this.nextId++}` };
      failed += 1;
      return failure;
    });
    reply(200, { FailedEntryCount: failed, Entries: results });
  }

  private entryFailure(entry: WireEntry): { ErrorCode: string; ErrorMessage: string } | undefined {
    let detail: Record<string, unknown>;
    try {
      detail = JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>;
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not valid JSON' };
    }
    for (const { rule, seen } of this.entryRules) {
      if (!rule.match(detail, entry)) continue;
      const key = entry.Detail ?? '';
      const count = seen.get(key) ?? 0;
      if (count >= rule.times) continue;
      seen.set(key, count + 1);
      return { ErrorCode: rule.errorCode ?? 'InternalFailure', ErrorMessage: rule.errorMessage ?? 'fake: chosen to fail' };
    }
    return undefined;
  }
}
