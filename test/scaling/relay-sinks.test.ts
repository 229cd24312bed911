// Replicas come and go under the autoscaler: the relay takes a new sink list while running
// (setSinks, or a watched --sinks-file), spreads keys over it, and loses no event on the way.
import { afterEach, describe, expect, it } from 'vitest';
import { parseRelayArgs } from '../../infra/relay/cli.ts';
import { startRelay } from '../../infra/relay/relay.ts';
import { DEFAULT_RESOURCES } from '../../infra/relay/resources.ts';
import { FakeKube } from '../relay/fake-kube.ts';
import { startSink, type TestSink } from '../relay/sink-server.ts';

const SECRET = 'relay-sinks-secret';
const VIPS = '/apis/kubeovn.io/v1/vips';
const vip = (name: string, n = 0) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec: { subnet: 'ovn-default', n },
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const until = async (cond: () => boolean, ms = 10_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** The last state each key reached at a sink, over all sinks. */
const lastN = (sinks: TestSink[], key: string) =>
  sinks
    .flatMap((s) => s.received.filter((r) => r.key === key && r.status < 300))
    .sort((a, b) => Number(a.rv) - Number(b.rv))
    .at(-1)?.event.object as { spec?: { n?: number } } | undefined;

describe('relay sinks that change while it runs', () => {
  it('a sink added takes a share of the keys; a sink removed gets nothing new; every last state arrives', async () => {
    const kube = new FakeKube();
    const a = await startSink(SECRET);
    const b = await startSink(SECRET);
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    const relay = startRelay({
      transport: kube,
      sinks: [a.url],
      secret: SECRET,
      resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip'),
      resyncMs: 0,
      maxBatch: 1,
      maxInFlight: 2,
      deliveryBackoff: { baseMs: 10, maxMs: 100 },
      watchBackoff: { baseMs: 10, maxMs: 100 },
    });
    cleanups.push(() => relay.stop({ deadlineMs: 1000 }));
    await relay.synced;
    for (let i = 0; i < 40; i++) kube.put(VIPS, vip(`v${i}`, 1));
    await until(() => a.received.length === 40);
    expect(b.received).toHaveLength(0);

    relay.setSinks([a.url, b.url]);
    for (let i = 0; i < 40; i++) kube.put(VIPS, vip(`v${i}`, 2));
    await until(() =>
      Array.from({ length: 40 }, (_, i) => lastN([a, b], `Vip:v${i}`)?.spec?.n).every((n) => n === 2),
    );
    // Rendezvous hashing over two URLs: each gets a real share of 40 keys.
    expect(b.received.length).toBeGreaterThan(5);
    expect(b.received.length).toBeLessThan(35);

    // a leaves while it is slow: what waits for its request slots goes to b.
    a.answer = () => ({ status: 200, delayMs: 50 });
    for (let i = 0; i < 40; i++) kube.put(VIPS, vip(`v${i}`, 3));
    relay.setSinks([b.url]);
    const aBefore = a.received.length;
    for (let i = 0; i < 40; i++) kube.put(VIPS, vip(`v${i}`, 4));
    await until(() =>
      Array.from({ length: 40 }, (_, i) => lastN([a, b], `Vip:v${i}`)?.spec?.n).every((n) => n === 4),
    );
    // The requests still on the wire to a (its 50 ms answers) settle; nothing is left or lost.
    await until(() => relay.stats().delivery.pendingKeys === 0);
    expect(relay.stats().delivery).toMatchObject({ pendingKeys: 0, dropped: 0 });
    // At most what was already on the wire to a (2 requests in flight) landed there afterwards.
    expect(a.received.length - aBefore).toBeLessThanOrEqual(2);
    // a's connection pool went with its last answer: URLs that churn do not pile up.
    await until(() => relay.stats().sink?.targets === 1);
  });

  it('--sinks-file gives the first list from the file and names the file to watch', () => {
    const files: Record<string, string> = {
      '/s': 'http://127.0.0.1:1/events\nhttp://127.0.0.1:2/events\n',
      '/secret': 'x',
    };
    const cli = parseRelayArgs(
      ['--sinks-file', '/s', '--secret-file', '/secret'],
      {},
      {
        readFile: (p) => files[p] ?? '',
      },
    );
    expect(cli.sinks).toEqual(['http://127.0.0.1:1/events', 'http://127.0.0.1:2/events']);
    expect(cli.sinksFile).toBe('/s');
    expect(() =>
      parseRelayArgs(
        ['--sinks-file', '/bad', '--secret-file', '/secret'],
        {},
        {
          readFile: (p) => (p === '/bad' ? 'not a url\n' : 'x'),
        },
      ),
    ).toThrow();
  });
});
