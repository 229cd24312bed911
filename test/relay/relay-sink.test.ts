// The assembled relay (startRelay) against the in-memory API server and real HTTP sinks.
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventRoutes } from '../../functions/events/routes.ts';
import { type RelayOptions, startRelay } from '../../infra/relay/relay.ts';
import { DEFAULT_RESOURCES } from '../../infra/relay/resources.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { FakeKube } from './fake-kube.ts';
import { startSink, type TestSink } from './sink-server.ts';

const SECRET = 'relay-test-secret';
const RESOURCES = DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip' || r.kind === 'Pod');
const VIPS = '/apis/kubeovn.io/v1/vips';
const PODS = '/api/v1/pods';
const vip = (name: string, n = 0) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec: { subnet: 'ovn-default', n },
});

const until = async (cond: () => boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(sinkCount = 1, extra: Partial<RelayOptions> = {}) {
  const kube = new FakeKube();
  const sinks: TestSink[] = [];
  for (let i = 0; i < sinkCount; i++) {
    const s = await startSink(SECRET);
    sinks.push(s);
    cleanups.push(() => s.stop());
  }
  const start = () => {
    const relay = startRelay({
      transport: kube,
      sinks: sinks.map((s) => s.url),
      secret: SECRET,
      resources: RESOURCES,
      resyncMs: 0,
      deliveryBackoff: { baseMs: 10, maxMs: 100 },
      watchBackoff: { baseMs: 10, maxMs: 100 },
      ...extra,
    });
    cleanups.push(() => relay.stop({ deadlineMs: 1000 }));
    return relay;
  };
  return { kube, sinks, start };
}

describe('relay to HTTP sinks', () => {
  it('delivers existing objects at start, then changes, each object in order, deletes last', async () => {
    const { kube, sinks, start } = await setup();
    const [sink] = sinks as [TestSink];
    for (let i = 0; i < 5; i++) kube.put(VIPS, vip(`v${i}`));
    sink.answer = () => ({ status: 200, delayMs: Math.floor(Math.random() * 4) });
    const relay = start();
    await relay.synced;
    for (let round = 1; round <= 10; round++) for (let i = 0; i < 5; i++) kube.put(VIPS, vip(`v${i}`, round));
    for (let i = 0; i < 5; i++) kube.remove(VIPS, `v${i}`);
    await until(() => sink.received.filter((r) => r.event.action === 'delete').length === 5);
    for (let i = 0; i < 5; i++) {
      const mine = sink.received.filter((r) => r.key === `Vip:v${i}`);
      const rvs = mine.map((r) => Number(r.rv));
      expect(rvs).toEqual([...rvs].sort((a, b) => a - b)); // never out of order
      expect(mine[0]?.event.action).toBe('add');
      expect(mine.at(-1)?.event.action).toBe('delete');
      expect(mine.at(-1)?.event.object).toMatchObject({ spec: { n: 10 } }); // last known state
    }
    expect(sink.received[0]?.event).toMatchObject({
      mode: 'resource',
      source: kube.server,
      subject: expect.stringMatching(/^\/apis\/kubeovn\.io\/v1\/vips\/v\d$/),
    });
  });

  it('a key the function keeps failing on (500) is parked and reported after maxAttempts; a 503 key is retried on; neither blocks the others', async () => {
    const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
    const at = (level: string) => (obj: object, msg?: string) =>
      lines.push({ level, obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) });
    const { kube, sinks, start } = await setup(1, {
      maxAttempts: 4,
      concurrency: 2,
      parkMs: 60_000,
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    });
    const [sink] = sinks as [TestSink];
    sink.answer = (ev) =>
      ev.ref.name === 'poison' ? { status: 500 } : ev.ref.name === 'down' ? { status: 503 } : { status: 200 };
    kube.put(VIPS, vip('poison'));
    kube.put(VIPS, vip('down'));
    for (let i = 0; i < 30; i++) kube.put(PODS, { metadata: { name: `p${i}`, namespace: 'ns' } });
    const relay = start();
    await until(() => sink.received.length === 30);
    await until(() => relay.stats().delivery.parkedKeys === 1);
    // The 503 key goes on being retried after the poison key was parked.
    const downBefore = sink.attempts.get('Vip:down')!;
    await until(() => sink.attempts.get('Vip:down')! >= Math.max(downBefore + 1, 6));
    expect(sink.attempts.get('Vip:poison')).toBe(4);
    expect(relay.stats().delivery).toMatchObject({
      delivered: 30,
      exhausted: 0,
      deadLetters: 1,
      parkedKeys: 1,
      pendingKeys: 2,
      dropped: 0,
    });
    const dead = lines.filter((l) => l.msg?.startsWith('dead letter'));
    expect(dead).toHaveLength(1);
    expect(dead[0]!.obj).toMatchObject({ key: 'Vip:poison', kind: 'Vip', name: 'poison', attempts: 4 });
  });

  it('429 with Retry-After and 500 are retried until they succeed; 400 and 422 are dropped at once', async () => {
    const { kube, sinks, start } = await setup();
    const [sink] = sinks as [TestSink];
    sink.answer = (ev, attempt) => {
      if (ev.ref.name === 'busy')
        return attempt === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
      if (ev.ref.name === 'flaky') return attempt <= 2 ? { status: 500 } : { status: 200 };
      if (ev.ref.name === 'invalid') return { status: 422 };
      if (ev.ref.name === 'bad-request') return { status: 400 };
      return { status: 200 };
    };
    for (const n of ['busy', 'flaky', 'invalid', 'bad-request']) kube.put(VIPS, vip(n));
    const t0 = Date.now();
    const relay = start();
    await until(() => sink.received.length === 2);
    const busy = sink.received.find((r) => r.key === 'Vip:busy')!;
    expect(busy.at - t0).toBeGreaterThanOrEqual(900);
    expect(sink.attempts.get('Vip:flaky')).toBe(3);
    await until(() => relay.stats().delivery.dropped === 2);
    expect(sink.attempts.get('Vip:invalid')).toBe(1);
    expect(sink.attempts.get('Vip:bad-request')).toBe(1);
  });

  it('network errors are retried: a sink that comes back is probed and gets the event at once, not at its next backoff step', async () => {
    const kube = new FakeKube();
    // A port nobody listens on yet.
    const gone = await startSink(SECRET);
    const url = gone.url;
    await gone.stop();
    const relay = startRelay({
      transport: kube,
      sinks: [url],
      secret: SECRET,
      resources: RESOURCES,
      resyncMs: 0,
      // Each key's own next try would be 10 s or more away: only the probe can make it prompt.
      deliveryBackoff: { baseMs: 20_000, maxMs: 60_000 },
      probeIntervalMs: 50,
    });
    cleanups.push(() => relay.stop({ deadlineMs: 500 }));
    kube.put(VIPS, vip('patient'));
    await until(() => relay.stats().delivery.retries >= 1 && relay.stats().delivery.unreachableSinks === 1);
    // Bring a sink up on the same port.
    const { createServer } = await import('node:http');
    const got: string[] = [];
    const port = Number(new URL(url).port);
    const server = createServer((req, res) => {
      req.resume();
      if (req.method === 'POST') got.push(String(req.headers['ce-name']));
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
    const up = Date.now();
    await until(() => relay.stats().delivery.delivered === 1, 3000);
    expect(Date.now() - up).toBeLessThan(3000);
    expect(got).toEqual(['patient']);
    expect(relay.stats().delivery).toMatchObject({ exhausted: 0, pendingKeys: 0, unreachableSinks: 0 });
  });

  it('with two sinks, every event of one object goes to the same sink, and both sinks get work', async () => {
    const { kube, sinks, start } = await setup(2);
    const relay = start();
    await relay.synced;
    for (let i = 0; i < 40; i++) kube.put(PODS, { metadata: { name: `p${i}`, namespace: 'ns' } });
    for (let i = 0; i < 40; i++)
      kube.put(PODS, { metadata: { name: `p${i}`, namespace: 'ns' }, spec: { x: 1 } });
    for (let i = 0; i < 40; i++) kube.remove(PODS, `p${i}`, 'ns');
    await until(
      () => sinks.flatMap((s) => s.received).filter((r) => r.event.action === 'delete').length === 40,
    );
    const owner = new Map<string, string>();
    for (const s of sinks) {
      for (const r of s.received) {
        expect(owner.get(r.key) ?? s.url).toBe(s.url);
        owner.set(r.key, s.url);
      }
    }
    expect(sinks[0]!.received.length).toBeGreaterThan(10);
    expect(sinks[1]!.received.length).toBeGreaterThan(10);
    expect(Object.keys(relay.stats().routed).sort()).toEqual(sinks.map((s) => s.url).sort());
  });

  it('stop() stops watching and finishes queued deliveries within the deadline', async () => {
    const { kube, sinks, start } = await setup(1, { concurrency: 2 });
    const [sink] = sinks as [TestSink];
    sink.answer = () => ({ status: 200, delayMs: 50 });
    for (let i = 0; i < 8; i++) kube.put(VIPS, vip(`g${i}`));
    const relay = start();
    await relay.synced;
    const result = await relay.stop({ deadlineMs: 5000 });
    expect(result).toEqual({ drained: true, abandoned: 0, pendingKeys: 0 });
    expect(sink.received).toHaveLength(8);
    expect(kube.openWatches).toBe(0);
    kube.put(VIPS, vip('after-stop'));
    await new Promise((r) => setTimeout(r, 50));
    expect(sink.received).toHaveLength(8);
  });

  it('stop() gives up on a hung sink when the deadline passes', async () => {
    const { kube, sinks, start } = await setup();
    const [sink] = sinks as [TestSink];
    sink.answer = () => ({ status: 200, delayMs: 10_000 });
    kube.put(VIPS, vip('hung'));
    const relay = start();
    await until(() => sink.attempts.get('Vip:hung') === 1);
    const t0 = Date.now();
    const result = await relay.stop({ deadlineMs: 200 });
    expect(result.drained).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('end to end into the functions event endpoint (Hono app on a real port)', async () => {
    const kube = new FakeKube();
    const seen: ResourceEvent[] = [];
    const app = createEventRoutes({
      secret: SECRET,
      dispatch: async (ev) => {
        seen.push(ev);
        return ev.ref.name === 'later' && seen.filter((e) => e.ref.name === 'later').length === 1
          ? { status: 'retry', reason: 'RedisDown' }
          : { status: 'done' };
      },
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
    const port = (server.address() as { port: number }).port;
    kube.put(VIPS, vip('now'));
    kube.put(VIPS, vip('later'));
    kube.put(PODS, { metadata: { name: 'busybox', namespace: 'default' } });
    const relay = startRelay({
      transport: kube,
      sinks: [`http://127.0.0.1:${port}/`],
      secret: SECRET,
      resources: RESOURCES,
      resyncMs: 0,
      deliveryBackoff: { baseMs: 10, maxMs: 50 },
    });
    cleanups.push(() => relay.stop({ deadlineMs: 500 }));
    await until(() => relay.stats().delivery.delivered === 3);
    expect(seen.map((e) => e.ref.name).sort()).toEqual(['busybox', 'later', 'later', 'now']);
    expect(seen.find((e) => e.ref.name === 'busybox')).toMatchObject({
      action: 'add',
      subject: '/api/v1/namespaces/default/pods/busybox',
      ref: { apiVersion: 'v1', kind: 'Pod', namespace: 'default' },
    });
  });
});
