// A small real HTTP server standing in for a function replica: it checks the signature, decodes the
// CloudEvent (or each event of a batch) with the shared decoder, records it, and answers whatever
// status the test asks for, per event (inside a batch answer as the function route does).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRetryAfter } from '../../infra/relay/backoff.ts';
import { decodeBatch, decodeEvent, isBatch } from '../../shared/events/decode.ts';
import { verifyRequest } from '../../shared/events/signature.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';

export interface SinkAnswer {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
  /** resourceVersions the "handler" wrote, sent back on a 2xx. */
  produced?: string[];
}

export interface Received {
  event: ResourceEvent;
  key: string;
  rv: string;
  status: number;
  at: number;
}

export interface TestSink {
  url: string;
  received: Received[];
  /** Every event that arrived, answered or not (a hung one is counted too), by key. */
  attempts: Map<string, number>;
  /** Events carried by each request, in arrival order. */
  requests: number[];
  /** Most requests this sink was answering at once. */
  peakInFlight: number;
  answer: (event: ResourceEvent, attempt: number) => SinkAnswer;
  stop(): Promise<void>;
}

const keyOf = (e: ResourceEvent) =>
  `${e.ref.kind}:${e.ref.namespace ? `${e.ref.namespace}/` : ''}${e.ref.name}`;

export async function startSink(secret: string): Promise<TestSink> {
  const sink: TestSink = {
    url: '',
    received: [],
    attempts: new Map(),
    requests: [],
    peakInFlight: 0,
    answer: () => ({ status: 200 }),
    stop: async () => {},
  };

  async function answerOne(event: ResourceEvent): Promise<SinkAnswer> {
    const key = keyOf(event);
    const attempt = (sink.attempts.get(key) ?? 0) + 1;
    sink.attempts.set(key, attempt);
    const answer = sink.answer(event, attempt);
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (answer.status >= 200 && answer.status < 300) {
      // A Reference-mode event carries no object (a delete of an object the relay never saw).
      const rv =
        (event.object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata
          ?.resourceVersion ?? '';
      sink.received.push({ event, key, rv, status: answer.status, at: Date.now() });
    }
    return answer;
  }

  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    sink.peakInFlight = Math.max(sink.peakInFlight, inFlight);
    res.on('close', () => {
      inFlight--;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = req.headers as Record<string, string>;
      const auth = await verifyRequest(headers, body, { secret });
      if (!auth.ok) {
        res.writeHead(401).end(auth.message);
        return;
      }
      if (isBatch(headers)) {
        const items = decodeBatch(body);
        sink.requests.push(items.length);
        const results = await Promise.all(
          items.map(async (item) => {
            if (!item.ok) return { id: item.id, status: 400, message: item.error.message };
            const a = await answerOne(item.event);
            const retryAfterMs = parseRetryAfter(a.headers?.['retry-after']);
            return {
              id: item.event.id,
              status: a.status,
              ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
              ...(a.produced ? { produced: a.produced } : {}),
            };
          }),
        );
        if (!res.destroyed)
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
        return;
      }
      let event: ResourceEvent;
      try {
        event = decodeEvent(headers, body);
      } catch (err) {
        res.writeHead(400).end((err as Error).message);
        return;
      }
      sink.requests.push(1);
      const answer = await answerOne(event);
      const reply = answer.produced ? { status: 'done', id: event.id, produced: answer.produced } : {};
      if (!res.destroyed) res.writeHead(answer.status, answer.headers ?? {}).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  sink.stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return sink;
}
