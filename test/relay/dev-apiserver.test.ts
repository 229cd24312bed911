// The relay against the project's development API server (HTTPS, token + client certificate from
// a kubeconfig), delivering to real HTTP sinks. Also runs the relay CLI as a process.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DevApiServer, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import { makeTempDir } from '../../infra/local/services.ts';
import { type RelayOptions, startRelay } from '../../infra/relay/relay.ts';
import { DEFAULT_RESOURCES, type ResourceType } from '../../infra/relay/resources.ts';
import { startSink, type TestSink } from './sink-server.ts';

const SECRET = 'dev-relay-secret';
const CRDS = 'infra/manifests/crds';
let dev: DevApiServer;
let kc: KubeConfig;

beforeAll(async () => {
  dev = await startDevApiServer({
    dir: makeTempDir('relay-dev-'),
    token: 'relay-test-token',
    crdFiles: readdirSync(CRDS).map((f) => join(CRDS, f)),
    bookmarkIntervalMs: 200,
  });
  kc = new KubeConfig();
  kc.loadFromFile(dev.kubeconfigPath);
});
afterAll(async () => {
  await dev?.stop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const until = async (cond: () => boolean, ms = 8000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${Date.now().toString(36)}`;
const vip = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec: { subnet: 'ovn-default', ...extra },
});
const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});
const del = (group: string, plural: string, name: string, ns?: string) =>
  dev.api.store.delete(dev.api.resource(group, plural), ns, name);

async function relayTo(sinkCount: number, extra: Partial<RelayOptions> = {}) {
  const sinks: TestSink[] = [];
  for (let i = 0; i < sinkCount; i++) {
    const s = await startSink(SECRET);
    sinks.push(s);
    cleanups.push(() => s.stop());
  }
  const relay = startRelay({
    kubeConfig: kc,
    sinks: sinks.map((s) => s.url),
    secret: SECRET,
    resyncMs: 0,
    deliveryBackoff: { baseMs: 10, maxMs: 200 },
    watchBackoff: { baseMs: 20, maxMs: 200 },
    ...extra,
  });
  cleanups.push(() => relay.stop({ deadlineMs: 1000 }));
  await relay.synced;
  return { relay, sinks, all: () => sinks.flatMap((s) => s.received) };
}

describe('relay against the development API server', () => {
  it('delivers current objects, then each change in order; a missing resource type is skipped', async () => {
    const existing = unique('vip-old');
    await dev.api.apply(vip(existing));
    const widgets: ResourceType = {
      group: 'example.com',
      version: 'v1',
      kind: 'Widget',
      plural: 'widgets',
      namespaced: false,
    };
    const { relay, all } = await relayTo(1, { resources: [...DEFAULT_RESOURCES, widgets] });
    await until(() => all().some((r) => r.event.ref.name === existing));
    expect(relay.stats().resources.find((r) => r.resource === 'widgets.example.com')?.missing).toBe(true);

    const name = unique('vip-aap');
    await dev.api.apply(vip(name));
    for (let i = 0; i < 5; i++) await dev.api.apply(vip(name, { v4ip: `10.16.0.${10 + i}` }));
    del('kubeovn.io', 'vips', name);
    const podName = unique('busybox');
    await dev.api.apply(pod(podName));
    await until(() => all().some((r) => r.event.ref.name === name && r.event.action === 'delete'));
    await until(() => all().some((r) => r.event.ref.name === podName));

    const mine = all().filter((r) => r.event.ref.name === name);
    const rvs = mine.map((r) => Number(r.rv));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(mine[0]?.event.action).toBe('add');
    expect(mine.at(-1)?.event).toMatchObject({
      action: 'delete',
      subject: `/apis/kubeovn.io/v1/vips/${name}`,
    });
    expect(mine.at(-1)?.event.object).toMatchObject({ spec: { v4ip: '10.16.0.14' } });
    const p = all().find((r) => r.event.ref.name === podName)!;
    expect(p.event).toMatchObject({
      source: dev.url,
      subject: `/api/v1/namespaces/default/pods/${podName}`,
      ref: { apiVersion: 'v1', kind: 'Pod', namespace: 'default' },
    });
  });

  it('410 Gone relists: current state re-emitted and a delete for an object removed while away', async () => {
    const keep = unique('vip-keep');
    const lost = unique('vip-lost');
    await dev.api.apply(vip(keep));
    await dev.api.apply(vip(lost, { v4ip: '10.16.0.99' }));
    // A long first backoff keeps the relay away while things change.
    const { relay, all } = await relayTo(1, {
      resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip'),
      watchBackoff: { baseMs: 800, maxMs: 1000 },
    });
    await until(() => all().some((r) => r.event.ref.name === lost));
    const before = all().length;
    // Cut the watch and compact the history while the relay is away, so only a relist can tell.
    // All in one synchronous block: the relay runs in this process, so it cannot re-watch in
    // between, however busy the machine (an awaited step here once let it back in first).
    const fresh = unique('vip-fresh');
    dev.dropWatches();
    del('kubeovn.io', 'vips', lost);
    dev.api.store.create(dev.api.resource('kubeovn.io', 'vips'), vip(fresh));
    dev.forceCompaction();
    await until(() => all().some((r) => r.event.ref.name === lost && r.event.action === 'delete'));
    await until(() => all().some((r) => r.event.ref.name === fresh));
    const after = all().slice(before);
    expect(after.find((r) => r.event.ref.name === lost)?.event.object).toMatchObject({
      spec: { v4ip: '10.16.0.99' },
    });
    expect(after.some((r) => r.event.ref.name === keep)).toBe(true); // unchanged, re-emitted
    const stats = relay.stats().resources[0]!;
    expect(stats.lists).toBeGreaterThanOrEqual(2);
    expect(stats.relistsAfterGone).toBe(1);
  });

  it('a dropped watch connection recovers without a relist and misses nothing', async () => {
    const { relay, all } = await relayTo(1, { resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip') });
    const a = unique('vip-drop');
    await dev.api.apply(vip(a));
    await until(() => all().some((r) => r.event.ref.name === a));
    const lists = relay.stats().resources[0]!.lists;
    expect(dev.dropWatches()).toBeGreaterThanOrEqual(1);
    const b = unique('vip-after-drop');
    await dev.api.apply(vip(b));
    await dev.api.apply(vip(a, { v4ip: '10.16.0.50' }));
    await until(() => all().some((r) => r.event.ref.name === b));
    await until(() => all().some((r) => r.event.ref.name === a && r.event.action === 'update'));
    expect(relay.stats().resources[0]).toMatchObject({ lists, reconnects: expect.any(Number) });
    expect(relay.stats().resources[0]!.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('the resync timer re-delivers unchanged objects', async () => {
    const still = unique('vip-still');
    await dev.api.apply(vip(still));
    const { relay, all } = await relayTo(1, {
      resyncMs: 300,
      resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Vip'),
    });
    await until(() => all().filter((r) => r.event.ref.name === still).length >= 3);
    expect(relay.stats().resources[0]!.resyncs).toBeGreaterThanOrEqual(2);
    const rvs = new Set(
      all()
        .filter((r) => r.event.ref.name === still)
        .map((r) => r.rv),
    );
    expect(rvs.size).toBe(1); // same state, delivered again
  });

  it('with two sinks the same object always reaches the same one', async () => {
    const { sinks, all } = await relayTo(2, { resources: DEFAULT_RESOURCES.filter((r) => r.kind === 'Pod') });
    const names = Array.from({ length: 16 }, () => unique('pod'));
    for (const n of names) await dev.api.apply(pod(n));
    for (const n of names) await dev.api.apply(pod(n, { v: '2' }));
    for (const n of names) del('', 'pods', n, 'default');
    await until(() =>
      names.every((n) => all().some((r) => r.event.ref.name === n && r.event.action === 'delete')),
    );
    for (const n of names) {
      const where = sinks.filter((s) => s.received.some((r) => r.event.ref.name === n));
      expect(where).toHaveLength(1);
    }
    expect(sinks.every((s) => s.received.length > 0)).toBe(true);
  });
});

describe('relay CLI', () => {
  it('runs as a process, delivers, and exits 0 on SIGTERM', async () => {
    const sink = await startSink(SECRET);
    cleanups.push(() => sink.stop());
    const name = unique('vip-cli');
    await dev.api.apply(vip(name));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'infra/relay/main.ts',
        '--kubeconfig',
        dev.kubeconfigPath,
        '--sink',
        sink.url,
        '--resync',
        '0',
      ],
      { env: { ...process.env, RELAY_SECRET: SECRET, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await until(() => sink.received.some((r) => r.event.ref.name === name), 20_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('relay stopped');
  });
});
