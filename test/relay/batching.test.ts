// The HTTP sink's batching: one event per request while a slot is free, batches that grow by
// themselves once all `maxInFlight` requests are busy, and each event of a batch settled alone.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventRoutes } from '../../functions/events/routes.ts';
import type { ChangeEvent } from '../../infra/relay/cache.ts';
import { startRelay } from '../../infra/relay/relay.ts';
import { DEFAULT_RESOURCES } from '../../infra/relay/resources.ts';
import type { SendResult } from '../../infra/relay/send-result.ts';
import {
  batchResults,
  createHttpSink,
  DEFAULT_MAX_IN_FLIGHT,
  type HttpSink,
} from '../../infra/relay/sink.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { FakeKube } from './fake-kube.ts';
import { startSink, type TestSink } from './sink-server.ts';

const SECRET = 'batch-secret';
const PODS = '/api/v1/pods';
const RESOURCES = DEFAULT_RESOURCES.filter((r) => r.kind === 'Pod');
const never = new AbortController().signal;

const ev = (name: string, rv = '1'): ChangeEvent => ({
  action: 'add',
  key: `Pod:ns/${name}`,
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', resourceVersion: rv } },
});

const until = async (cond: () => boolean, ms = 10_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sinkAt(): Promise<TestSink> {
  const s = await startSink(SECRET);
  cleanups.push(() => s.stop());
  return s;
}

function httpSink(url: string, extra: Partial<Parameters<typeof createHttpSink>[0]> = {}): HttpSink {
  const send = createHttpSink({ urls: [url], source: 'https://k', secret: SECRET, ...extra });
  cleanups.push(() => send.close());
  return send;
}

/** A raw server whose answers the test writes by hand (status, headers, body per request). */
async function rawServer(
  handle: (
    body: string,
    headers: Record<string, string>,
  ) => { status: number; headers?: Record<string, string>; body?: string } | 'hangup',
) {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      bodies.push(body);
      const a = handle(body, req.headers as Record<string, string>);
      if (a === 'hangup') req.socket.destroy();
      else res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, bodies };
}

describe('batched delivery', () => {
  it('an idle sink gets one binary-mode event per request, with no batching delay', async () => {
    const sink = await sinkAt();
    const send = httpSink(sink.url);
    for (let i = 0; i < 5; i++) expect(await send(ev(`p${i}`), never)).toEqual({ outcome: 'done' });
    expect(sink.requests).toEqual([1, 1, 1, 1, 1]);
    expect(sink.received.map((r) => r.event.ref.name)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(send.stats()).toMatchObject({ requests: 5, events: 5, largestBatch: 1, queued: 0 });
  });

  it('under load N events go in fewer than N requests, never more than maxInFlight at once', async () => {
    const sink = await sinkAt();
    sink.answer = () => ({ status: 200, delayMs: 20 });
    const send = httpSink(sink.url, { maxInFlight: 2, maxBatch: 16 });
    const N = 200;
    const results = await Promise.all(Array.from({ length: N }, (_, i) => send(ev(`p${i}`), never)));
    expect(results.every((r) => r.outcome === 'done')).toBe(true);
    expect(sink.received).toHaveLength(N);
    expect(sink.requests.reduce((a, b) => a + b, 0)).toBe(N);
    expect(sink.requests.length).toBeLessThan(N / 4);
    expect(Math.max(...sink.requests)).toBe(16);
    expect(sink.requests.slice(0, 2)).toEqual([1, 1]); // the first two found free slots
    expect(sink.peakInFlight).toBeLessThanOrEqual(2);
  });

  it('--max-batch 1 sends every event alone, as a binary-mode event', async () => {
    const sink = await sinkAt();
    sink.answer = () => ({ status: 200, delayMs: 5 });
    const send = httpSink(sink.url, { maxBatch: 1, maxInFlight: 2 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => send(ev(`p${i}`), never)));
    expect(sink.requests).toEqual(Array(30).fill(1));
    expect(sink.peakInFlight).toBe(2);
  });

  it('without batching, requests are bounded by the caller alone (as before batching)', async () => {
    const sink = await sinkAt();
    sink.answer = () => ({ status: 200, delayMs: 300 });
    const send = httpSink(sink.url, { maxBatch: 1 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => send(ev(`p${i}`), never)));
    expect(sink.requests).toEqual(Array(12).fill(1));
    expect(sink.peakInFlight).toBeGreaterThan(8); // not the batching default of 4
  });

  it('each event of a batch settles with its own status; only the failing one is retried', async () => {
    const kube = new FakeKube();
    const sink = await sinkAt();
    sink.answer = (e, attempt) => {
      if (e.ref.name === 'flaky' && attempt === 1) return { status: 503, delayMs: 10 };
      if (e.ref.name === 'busy' && attempt === 1) return { status: 429, headers: { 'retry-after': '1' } };
      if (e.ref.name === 'invalid') return { status: 422 };
      return { status: 200, delayMs: 10 };
    };
    for (const n of ['flaky', 'busy', 'invalid']) kube.put(PODS, { metadata: { name: n, namespace: 'ns' } });
    for (let i = 0; i < 40; i++) kube.put(PODS, { metadata: { name: `p${i}`, namespace: 'ns' } });
    const t0 = Date.now();
    const relay = startRelay({
      transport: kube,
      sinks: [sink.url],
      secret: SECRET,
      resources: RESOURCES,
      resyncMs: 0,
      maxInFlight: 1,
      deliveryBackoff: { baseMs: 10, maxMs: 50 },
    });
    cleanups.push(() => relay.stop({ deadlineMs: 1000 }));
    await until(() => relay.stats().delivery.delivered === 42 && relay.stats().delivery.dropped === 1);
    expect(Math.max(...sink.requests)).toBeGreaterThan(1); // the failures really were inside batches
    expect(sink.attempts.get('Pod:ns/flaky')).toBe(2);
    expect(sink.attempts.get('Pod:ns/busy')).toBe(2);
    expect(sink.attempts.get('Pod:ns/invalid')).toBe(1);
    for (let i = 0; i < 40; i++) expect(sink.attempts.get(`Pod:ns/p${i}`)).toBe(1);
    const busy = sink.received.find((r) => r.key === 'Pod:ns/busy')!;
    expect(busy.at - t0).toBeGreaterThanOrEqual(900); // Retry-After of a batch entry is honoured
    expect(relay.stats().delivery).toMatchObject({ retries: 2, dropped: 1, exhausted: 0 });
    expect(relay.stats().sink?.largestBatch).toBeGreaterThan(1);
  });

  it('a failed batch request retries every event in it (5xx answer, or a dropped connection)', async () => {
    let hangup = false;
    const server = await rawServer((body) => {
      if (hangup) return 'hangup';
      if (body.startsWith('[')) return { status: 503, headers: { 'retry-after': '3' }, body: 'overloaded' };
      return { status: 200, body: '{}' };
    });
    const send = httpSink(server.url, { maxInFlight: 1 });
    // The first event takes the only slot; the next three queue and go out together.
    const first = send(ev('first'), never);
    const three = ['a', 'b', 'c'].map((n) => send(ev(n), never));
    expect(await first).toEqual({ outcome: 'done' });
    expect(await Promise.all(three)).toEqual(
      Array(3).fill({ outcome: 'retry', detail: 'HTTP 503 overloaded', retryAfterMs: 3000 }),
    );
    expect(JSON.parse(server.bodies[1]!)).toHaveLength(3);

    hangup = true;
    const all = await Promise.all(['x', 'y', 'z'].map((n) => send(ev(n), never)));
    expect(server.bodies.slice(2).map((b) => b.startsWith('['))).toEqual([false, true]);
    for (const r of all) {
      expect(r).toMatchObject({ outcome: 'retry', detail: expect.stringMatching(/^network: /) });
    }
  });

  it('many requests in flight on one abort signal add one listener, and an abort ends them all', async () => {
    const sinks = await Promise.all([sinkAt(), sinkAt(), sinkAt(), sinkAt()]);
    // Answers come long after the abort, however slowly a busy machine gets 16 requests out.
    for (const s of sinks) s.answer = () => ({ status: 200, delayMs: 30_000 });
    const send = createHttpSink({ urls: sinks.map((s) => s.url), source: 'https://k', secret: SECRET });
    cleanups.push(() => send.close());
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    const abort = new AbortController();
    const pending = Array.from({ length: 40 }, (_, i) => send(ev(`p${i}`), abort.signal));
    // Each sink takes at most DEFAULT_MAX_IN_FLIGHT of the keys routed to it (the routing depends
    // on the sinks' ports, so a sink may get fewer than that).
    const routed = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const url = send.route(ev(`p${i}`).key);
      routed.set(url, (routed.get(url) ?? 0) + 1);
    }
    const inFlight = [...routed.values()].reduce((n, k) => n + Math.min(DEFAULT_MAX_IN_FLIGHT, k), 0);
    expect(inFlight).toBeGreaterThanOrEqual(DEFAULT_MAX_IN_FLIGHT);
    await until(() => sinks.reduce((n, s) => n + s.requests.length, 0) >= inFlight);
    abort.abort();
    const results = await Promise.all(pending);
    expect(results.every((r) => r.outcome === 'retry')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(warnings).toEqual([]);
  }, 20_000);

  it('reads per-event results by position, or by id when reordered; a missing one is retried', () => {
    const ok = { status: 200 };
    expect(
      batchResults(
        200,
        null,
        JSON.stringify({
          results: [
            { id: 'b', ...ok, produced: ['7'] },
            { id: 'a', status: 422, reason: 'Bad' },
          ],
        }),
        ['a', 'b', 'c'],
      ),
    ).toEqual<SendResult[]>([
      { outcome: 'drop', detail: 'HTTP 422 Bad', reason: 'Bad' },
      { outcome: 'done', produced: ['7'] },
      { outcome: 'retry', detail: 'no result for event c in the batch answer' },
    ]);
    expect(batchResults(200, null, 'not json', ['a'])).toEqual([
      { outcome: 'retry', detail: 'HTTP 200: a batch answer without results' },
    ]);
    expect(batchResults(401, null, 'no', ['a', 'b']).map((r) => r.outcome)).toEqual(['drop', 'drop']);
  });

  it('a batch is one signed request in batch mode, answered per event', async () => {
    const seen: Record<string, string>[] = [];
    const server = await rawServer((body, headers) => {
      seen.push(headers);
      if (!body.startsWith('[')) return { status: 200, body: '{}' };
      const ids = (JSON.parse(body) as Array<{ id: string }>).map((e) => e.id);
      return { status: 200, body: JSON.stringify({ results: ids.map((id) => ({ id, status: 200 })) }) };
    });
    const send = httpSink(server.url, { maxInFlight: 1 });
    const all = await Promise.all(['a', 'b', 'c', 'd'].map((n) => send(ev(n), never)));
    expect(all.every((r) => r.outcome === 'done')).toBe(true);
    expect(server.bodies.map((b) => (b.startsWith('[') ? JSON.parse(b).length : 1))).toEqual([1, 3]);
    expect(seen[0]).toMatchObject({ 'content-type': 'application/json', 'ce-name': 'a' });
    expect(seen[1]!['content-type']).toMatch(/^application\/cloudevents-batch\+json/);
    for (const h of seen) expect(h['x-relay-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it("into the function route: batches under load, and the handler's own writes are never sent back", async () => {
    const kube = new FakeKube();
    const seen: ResourceEvent[] = [];
    const app = createEventRoutes({
      secret: SECRET,
      dispatch: async (e) => {
        seen.push(e);
        await new Promise((r) => setTimeout(r, 5));
        const pod = e.object as {
          metadata: { name: string; namespace: string; labels?: Record<string, string> };
        };
        if (pod.metadata.labels?.handled) return { status: 'done' };
        // The handler writes the object (as a reconciler writes status) and says so.
        const written = kube.put(PODS, { metadata: { ...pod.metadata, labels: { handled: 'yes' } } });
        return { status: 'done', produced: [written.metadata.resourceVersion!] };
      },
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
    const N = 100;
    for (let i = 0; i < N; i++) kube.put(PODS, { metadata: { name: `p${i}`, namespace: 'ns' } });
    const relay = startRelay({
      transport: kube,
      sinks: [`http://127.0.0.1:${(server.address() as AddressInfo).port}/`],
      secret: SECRET,
      resources: RESOURCES,
      resyncMs: 0,
      concurrency: 32,
      maxInFlight: 2,
    });
    cleanups.push(() => relay.stop({ deadlineMs: 1000 }));
    await until(() => relay.stats().delivery.delivered + relay.stats().delivery.echoes >= 2 * N);
    await relay.stop({ deadlineMs: 1000 });
    expect(seen).toHaveLength(N);
    expect(seen.every((e) => !(e.object as { metadata: { labels?: object } }).metadata.labels)).toBe(true);
    expect(relay.stats().delivery).toMatchObject({ delivered: N, echoes: N, retries: 0 });
    expect(relay.stats().sink!.requests).toBeLessThan(N / 2);
  });
});
