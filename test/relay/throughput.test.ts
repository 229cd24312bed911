// A bounded measurement: 2,000 objects through the whole relay (cache, queues, signing, HTTP) to
// two real sinks on loopback. Prints the rate; fails only if delivery is incomplete or very slow.
import { afterAll, expect, it } from 'vitest';
import { startRelay } from '../../infra/relay/relay.ts';
import { DEFAULT_RESOURCES } from '../../infra/relay/resources.ts';
import { FakeKube } from './fake-kube.ts';
import { startSink, type TestSink } from './sink-server.ts';

const sinks: TestSink[] = [];
afterAll(async () => {
  await Promise.all(sinks.map((s) => s.stop()));
});

it('delivers 2,000 pod events to two sinks, and reports the rate', async () => {
  const kube = new FakeKube();
  const N = 2000;
  for (let i = 0; i < N; i++) {
    kube.put('/api/v1/pods', { metadata: { name: `p${i}`, namespace: 'load', labels: { app: 'x' } } });
  }
  sinks.push(await startSink('s'), await startSink('s'));
  const t0 = performance.now();
  const relay = startRelay({
    transport: kube,
    sinks: sinks.map((s) => s.url),
    secret: 's',
    resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Pod'),
    resyncMs: 0,
    concurrency: 32,
  });
  while (relay.stats().delivery.delivered < N && performance.now() - t0 < 30_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  await relay.stop({ deadlineMs: 1000 });
  const rate = Math.round(N / seconds);
  console.log(
    `relay throughput: ${N} events in ${seconds.toFixed(2)} s = ${rate} events/s (2 sinks, concurrency 32)`,
  );
  expect(relay.stats().delivery.delivered).toBe(N);
  expect(sinks[0]!.received.length + sinks[1]!.received.length).toBe(N);
  expect(rate).toBeGreaterThan(100);
});
