// A relay with a settled-version store (real Redis, the development API server, real HTTP sinks):
// a new relay delivers only what changed while no relay watched, re-delivers what the last one
// could not deliver, and works as before when the store is unreachable.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DevApiServer, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import { freePort, makeTempDir, startRedis } from '../../infra/local/services.ts';
import type { KubeObject } from '../../infra/relay/cache.ts';
import { type Relay, type RelayOptions, startRelay } from '../../infra/relay/relay.ts';
import { DEFAULT_RESOURCES } from '../../infra/relay/resources.ts';
import { createSettledStore, settledHashKey } from '../../infra/relay/settled-store.ts';
import { startSink, type TestSink } from './sink-server.ts';

const SECRET = 'settled-relay-secret';
const CRDS = 'infra/manifests/crds';
let dev: DevApiServer;
let kc: KubeConfig;
let redis: Redis;

beforeAll(async () => {
  dev = await startDevApiServer({
    dir: makeTempDir('relay-settled-'),
    token: 'relay-settled-token',
    crdFiles: readdirSync(CRDS).map((f) => join(CRDS, f)),
    bookmarkIntervalMs: 200,
  });
  kc = new KubeConfig();
  kc.loadFromFile(dev.kubeconfigPath);
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  redis?.disconnect();
  await dev?.stop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 15_000) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${Date.now().toString(36)}`;
const vip = (name: string, spec: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: 'ovn-default', ...spec },
  }) as KubeObject;
const pod = (name: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  }) as KubeObject;
const vips = () => dev.api.resource('kubeovn.io', 'vips');
const pods = () => dev.api.resource('', 'pods');
/** A change of status only, as the handlers' own status writes are. */
const writeStatus = (name: string, status: Record<string, unknown>) => {
  const current = dev.api.store.get(vips(), undefined, name);
  dev.api.store.update(vips(), { ...current, status }, { subresource: 'status' });
};

/** A relay with its own sink, keeping its settled versions under `prefix` (a store per test). */
async function relayWith(
  prefix: string,
  answer: TestSink['answer'] = () => ({ status: 200 }),
  extra: Partial<RelayOptions> & { storeUrl?: string } = {},
) {
  const sink = await startSink(SECRET);
  sink.answer = answer;
  cleanups.push(() => sink.stop());
  const { storeUrl, ...options } = extra;
  const relay: Relay = startRelay({
    kubeConfig: kc,
    sinks: [sink.url],
    secret: SECRET,
    resyncMs: 0,
    deliveryBackoff: { baseMs: 10, maxMs: 100 },
    watchBackoff: { baseMs: 20, maxMs: 200 },
    resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip' || r.kind === 'Pod'),
    settledStore: createSettledStore({ url: storeUrl ?? inject('redisUrl'), prefix, flushMs: 50 }),
    ...options,
  });
  let stopped = false;
  const stop = async (deadlineMs = 2_000) => {
    if (stopped) return;
    stopped = true;
    await relay.stop({ deadlineMs });
  };
  cleanups.push(() => stop());
  await relay.synced;
  const keys = () => sink.received.map((r) => `${r.event.action} ${r.key}`);
  return { relay, sink, stop, keys };
}

/** Nothing pending, and what the relay settled is written. */
const quiet = (relay: Relay) =>
  until('the relay is idle', () => {
    const s = relay.stats();
    return s.delivery.pendingKeys === 0 && (s.settled?.unwritten ?? 0) === 0;
  });

describe('a relay with a settled-version store', () => {
  it('restarted, delivers only what was created, changed or deleted while it was away', async () => {
    const prefix = `${unique('t')}:`;
    const [same, changed, fresh] = [unique('vip-same'), unique('vip-changed'), unique('vip-fresh')];
    const [stays, gone] = [unique('pod-stays'), unique('pod-gone')];
    for (const v of [same, changed]) await dev.api.apply(vip(v));
    for (const p of [stays, gone]) await dev.api.apply(pod(p));

    const first = await relayWith(prefix);
    await until('the first relay delivers every object', () =>
      [same, changed, stays, gone].every((n) => first.sink.received.some((r) => r.event.ref.name === n)),
    );
    // A status-only change the first relay filtered: settled with it, not re-delivered later.
    writeStatus(same, { ready: true });
    await until('the status change is seen', () =>
      first.relay.stats().resources.some((r) => r.resource === 'vips.kubeovn.io' && r.events > 0),
    );
    await quiet(first.relay);
    const written = await redis.hlen(settledHashKey(prefix, 'Vip'));
    expect(written).toBeGreaterThanOrEqual(2);
    await first.stop();
    expect(await redis.hget(settledHashKey(prefix, 'Vip'), same)).toBe(
      dev.api.store.get(vips(), undefined, same).metadata.resourceVersion,
    );

    // While no relay watches: one created, one changed, one deleted.
    await dev.api.apply(vip(fresh));
    await dev.api.apply(vip(changed, { v4ip: '10.16.0.77' }));
    dev.api.store.delete(pods(), 'default', gone);

    const second = await relayWith(prefix);
    await until('the changes are delivered', () => second.sink.received.length >= 3);
    await quiet(second.relay);
    expect(second.keys().sort()).toEqual(
      [`add Vip:${fresh}`, `add Vip:${changed}`, `delete Pod:default/${gone}`].sort(),
    );
    // The deleted pod's event is a Reference-mode delete: its last state was never seen by this relay.
    const del = second.sink.received.find((r) => r.event.action === 'delete')!;
    expect(del.event).toMatchObject({
      mode: 'reference',
      ref: { kind: 'Pod', namespace: 'default', name: gone },
    });
    const skipped = second.relay.stats().resources.reduce((n, r) => n + r.skippedSettled, 0);
    expect(skipped).toBeGreaterThanOrEqual(2); // `same` and `stays` at least (earlier tests' objects too)
    expect(await redis.hget(settledHashKey(prefix, 'Pod'), `default/${gone}`)).toBeNull();
    expect(second.relay.stats().settled).toMatchObject({ loadErrors: 0, writeErrors: 0 });
  });

  it('re-delivers what the last relay could not deliver (503 until it stopped), not a status-only change it filtered', async () => {
    const prefix = `${unique('t')}:`;
    const [failing, fine] = [unique('vip-failing'), unique('vip-fine')];
    for (const v of [failing, fine]) await dev.api.apply(vip(v));
    const first = await relayWith(prefix, (event) => ({ status: event.ref.name === failing ? 503 : 200 }));
    await until(
      'the failing object was tried twice',
      () => (first.sink.attempts.get(`Vip:${failing}`) ?? 0) >= 2,
    );
    await until('the fine one delivered', () => first.sink.received.some((r) => r.event.ref.name === fine));
    // A status-only change of the delivered one, filtered by this relay: settled, not re-delivered.
    writeStatus(fine, { ready: true });
    const fineRv = dev.api.store.get(vips(), undefined, fine).metadata.resourceVersion;
    await until(
      'the status-only version is settled',
      async () => (await redis.hget(settledHashKey(prefix, 'Vip'), fine)) === fineRv,
    );
    await until('everything else is settled', () => {
      const s = first.relay.stats();
      return s.delivery.pendingKeys === 1 && s.settled!.unwritten === 0;
    });
    await first.stop(200);
    expect(await redis.hget(settledHashKey(prefix, 'Vip'), failing)).toBeNull();

    const second = await relayWith(prefix);
    await until('the failed one is delivered', () => second.sink.received.length >= 1);
    await quiet(second.relay);
    expect(second.keys()).toEqual([`add Vip:${failing}`]);
  });

  it('a 410 relist skips what is settled; the resync timer delivers everything', async () => {
    const prefix = `${unique('t')}:`;
    const [keep, lost] = [unique('vip-keep'), unique('vip-lost')];
    for (const v of [keep, lost]) await dev.api.apply(vip(v));
    const { relay, sink, keys } = await relayWith(prefix, () => ({ status: 200 }), {
      resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip'),
      watchBackoff: { baseMs: 800, maxMs: 1000 },
    });
    await until('both delivered', () =>
      [keep, lost].every((n) => sink.received.some((r) => r.event.ref.name === n)),
    );
    await quiet(relay);
    const before = sink.received.length;
    // The same synchronous block as the 410 test of dev-apiserver.test.ts: only a relist can tell.
    const fresh = unique('vip-fresh');
    dev.dropWatches();
    dev.api.store.delete(vips(), undefined, lost);
    dev.api.store.create(vips(), vip(fresh));
    dev.forceCompaction();
    await until('the relist after 410', () => relay.stats().resources[0]!.relistsAfterGone === 1);
    await until('its events delivered', () => sink.received.length >= before + 2);
    await quiet(relay);
    expect(keys().slice(before).sort()).toEqual([`add Vip:${fresh}`, `delete Vip:${lost}`].sort());

    // A relay whose resync is due soon: nothing at its start, everything at the resync.
    const resyncing = await relayWith(prefix, () => ({ status: 200 }), {
      resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip'),
      resyncMs: 3_000,
    });
    await quiet(resyncing.relay);
    expect(resyncing.sink.received).toEqual([]);
    await until('the resync delivers every object', () =>
      [keep, fresh].every((n) => resyncing.sink.received.some((r) => r.event.ref.name === n)),
    );
    expect(resyncing.relay.stats().resources[0]!.resyncs).toBeGreaterThanOrEqual(1);
  });

  it('with the store unreachable, delivers every object as a relay without one does', async () => {
    const name = unique('vip-nostore');
    await dev.api.apply(vip(name));
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const { relay, sink } = await relayWith(`${unique('t')}:`, () => ({ status: 200 }), { storeUrl: closed });
    await until('delivered', () => sink.received.some((r) => r.event.ref.name === name));
    await until('the relay is idle', () => relay.stats().delivery.pendingKeys === 0);
    const listed = dev.api.store.list(vips()).items.length + dev.api.store.list(pods()).items.length;
    expect(sink.received.length).toBeGreaterThanOrEqual(listed);
    expect(relay.stats().settled).toMatchObject({ loadErrors: 1, loaded: 0 });
    expect(relay.stats().resources.reduce((n, r) => n + r.skippedSettled, 0)).toBe(0);
  });

  it('keeps delivering while its Redis is down, and writes what it kept once Redis answers again', async () => {
    const own = await startRedis({ password: 'settled-pw' });
    cleanups.push(() => own.stop());
    const prefix = `${unique('t')}:`;
    const [before, during] = [unique('vip-before'), unique('vip-during')];
    await dev.api.apply(vip(before));
    const { relay, sink } = await relayWith(prefix, () => ({ status: 200 }), {
      // The password in the URL: what RELAY_STATE_REDIS may hold.
      storeUrl: own.url,
      resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip'),
    });
    await until('delivered', () => sink.received.some((r) => r.event.ref.name === before));
    await quiet(relay);
    await own.stop();
    await dev.api.apply(vip(during));
    await until('delivered while Redis is down', () =>
      sink.received.some((r) => r.event.ref.name === during),
    );
    await until('a write failed and is kept', () => {
      const s = relay.stats().settled!;
      return s.writeErrors > 0 && s.unwritten > 0;
    });
    const back = await own.respawn();
    cleanups.push(() => back.stop());
    await quiet(relay);
    const check = new Redis(back.url);
    cleanups.push(async () => check.disconnect());
    expect(await check.hget(settledHashKey(prefix, 'Vip'), during)).toBe(
      dev.api.store.get(vips(), undefined, during).metadata.resourceVersion,
    );
  });
});
