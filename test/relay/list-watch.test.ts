import { afterEach, describe, expect, it } from 'vitest';
import type { Delay } from '../../infra/relay/backoff.ts';
import type { ChangeEvent } from '../../infra/relay/cache.ts';
import { ListWatch } from '../../infra/relay/list-watch.ts';
import { DEFAULT_RESOURCES, type ResourceType } from '../../infra/relay/resources.ts';
import { FakeKube } from './fake-kube.ts';

const VIP = DEFAULT_RESOURCES.find((r) => r.kind === 'Vip')!;
const POD = DEFAULT_RESOURCES.find((r) => r.kind === 'Pod')!;
const VIPS = '/apis/kubeovn.io/v1/vips';
const PODS = '/api/v1/pods';
const vip = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec: { subnet: 'ovn-default', ...extra },
});

const until = async (cond: () => boolean, ms = 3000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const running: ListWatch[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((lw) => lw.stop()));
});

function start(
  kube: FakeKube,
  resource: ResourceType,
  extra: { delay?: Delay; resyncMs?: number; missingRetryMs?: number } = {},
) {
  const events: ChangeEvent[] = [];
  const waits: number[] = [];
  const delay: Delay =
    extra.delay ??
    (async (ms, signal) => {
      waits.push(ms);
      if (!signal?.aborted) await new Promise((r) => setTimeout(r, 1));
    });
  const lw = new ListWatch({
    transport: kube,
    resource,
    onEvents: (evs) => events.push(...evs),
    resyncMs: extra.resyncMs ?? 0,
    missingRetryMs: extra.missingRetryMs,
    delay,
    random: () => 1,
  });
  lw.start();
  running.push(lw);
  return { lw, events, waits };
}

const summary = (evs: ChangeEvent[]) =>
  evs.map((e) => `${e.action}:${e.key}:${e.object.metadata.resourceVersion}`);

describe('list-watch', () => {
  it('lists first (adding apiVersion/kind to list items), then watches from the list version with bookmarks', async () => {
    const kube = new FakeKube();
    kube.put(PODS, { metadata: { name: 'p1', namespace: 'ns' } });
    const { lw, events } = start(kube, POD);
    await lw.synced;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'add',
      key: 'Pod:ns/p1',
      object: { apiVersion: 'v1', kind: 'Pod' },
    });
    await until(() => kube.openWatches === 1);
    expect(kube.watchCalls[0]).toMatchObject({ resourceVersion: '101', allowWatchBookmarks: 'true' });
    kube.put(PODS, { metadata: { name: 'p1', namespace: 'ns' }, spec: { x: 1 } });
    kube.remove(PODS, 'p1', 'ns');
    await until(() => events.length === 3);
    expect(summary(events)).toEqual(['add:Pod:ns/p1:101', 'update:Pod:ns/p1:102', 'delete:Pod:ns/p1:103']);
    kube.bookmark(PODS);
    await until(() => lw.stats().resourceVersion === '103');
  });

  it('a dropped watch re-watches from the last version with backoff, without repeating events', async () => {
    const kube = new FakeKube();
    kube.put(VIPS, vip('a'));
    const { lw, events, waits } = start(kube, VIP);
    await lw.synced;
    await until(() => kube.openWatches === 1);
    kube.put(VIPS, vip('a', { v4ip: '10.16.0.5' })); // rv 102
    await until(() => events.length === 2);
    kube.dropWatches();
    kube.dropWatches();
    await until(() => kube.openWatches === 1);
    kube.put(VIPS, vip('b'));
    await until(() => events.length === 3);
    expect(summary(events)).toEqual(['add:Vip:a:101', 'update:Vip:a:102', 'add:Vip:b:103']);
    expect(kube.watchCalls.at(-1)).toMatchObject({ resourceVersion: '102' });
    expect(lw.stats()).toMatchObject({ lists: 1, reconnects: 1 });
    expect(waits[0]).toBe(200);
  });

  it('backoff doubles while the server keeps failing and resets once an event arrives', async () => {
    const kube = new FakeKube();
    const { lw, waits } = start(kube, VIP);
    await lw.synced;
    for (let i = 0; i < 4; i++) {
      await until(() => kube.openWatches === 1);
      kube.dropWatches();
    }
    await until(() => waits.length === 4);
    expect(waits).toEqual([200, 400, 800, 1600]);
    await until(() => kube.openWatches === 1);
    kube.put(VIPS, vip('c'));
    await until(() => lw.stats().events === 1);
    kube.dropWatches();
    await until(() => waits.length === 5);
    expect(waits[4]).toBe(200);
  });

  it.each([
    ['an ERROR event', false],
    ['an HTTP 410', true],
  ])(
    '410 Gone (%s) relists: current state re-emitted, a delete for what vanished meanwhile',
    async (_, asHttp) => {
      const kube = new FakeKube();
      kube.goneAsHttp = asHttp;
      kube.put(VIPS, vip('stays'));
      kube.put(VIPS, vip('removed'));
      const { lw, events } = start(kube, VIP);
      await lw.synced;
      await until(() => kube.openWatches === 1);
      // The relay's connection drops; while it is away, things change and the history is compacted.
      kube.dropWatches();
      kube.remove(VIPS, 'removed'); // rv 103
      kube.put(VIPS, vip('stays', { v4ip: '10.16.0.7' })); // rv 104
      kube.put(VIPS, vip('fresh')); // rv 105
      kube.compact();
      events.length = 0;
      await until(() => lw.stats().relistsAfterGone === 1 && lw.stats().lists === 2);
      await until(() => events.some((e) => e.key === 'Vip:fresh'));
      expect(summary(events).sort()).toEqual([
        'add:Vip:fresh:105',
        'delete:Vip:removed:102',
        'update:Vip:stays:104',
      ]);
      expect(lw.stats().objects).toBe(2);
    },
  );

  it('an object deleted while the watch was away yields a delete with its last known state', async () => {
    const kube = new FakeKube();
    kube.put(VIPS, vip('keep'));
    kube.put(VIPS, vip('lost', { v4ip: '10.16.0.9' }));
    const { lw, events } = start(kube, VIP);
    await lw.synced;
    await until(() => kube.openWatches === 1);
    kube.dropWatches();
    kube.remove(VIPS, 'lost');
    kube.put(PODS, { metadata: { name: 'unrelated', namespace: 'ns' } }); // moves the global version on
    kube.compact(); // the delete is no longer in the history: only a relist can reveal it
    await until(() => lw.stats().lists === 2);
    const del = events.filter((e) => e.action === 'delete');
    expect(del).toHaveLength(1);
    expect(del[0]).toMatchObject({
      key: 'Vip:lost',
      object: { spec: { v4ip: '10.16.0.9' }, metadata: { resourceVersion: '102' } },
    });
    expect(events.filter((e) => e.key === 'Vip:keep').map((e) => e.action)).toEqual(['add', 'update']);
  });

  it('the resync timer relists and re-emits unchanged objects', async () => {
    const kube = new FakeKube();
    kube.put(VIPS, vip('a'));
    const { lw, events } = start(kube, VIP, {
      resyncMs: 60,
      delay: (ms, signal) =>
        new Promise((r) => {
          const t = setTimeout(r, ms);
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            r();
          });
        }),
    });
    await until(() => lw.stats().resyncs >= 2, 5000);
    expect(events.filter((e) => e.key === 'Vip:a').length).toBeGreaterThanOrEqual(3);
    expect(events.slice(1).every((e) => e.action === 'update')).toBe(true);
  });

  it('a type the server does not serve is skipped, not fatal, and picked up once it appears', async () => {
    const kube = new FakeKube();
    const VM = DEFAULT_RESOURCES.find((r) => r.kind === 'VirtualMachine')!;
    const VMS = '/apis/kubevirt.io/v1/virtualmachines';
    kube.missing.add(VMS);
    const { lw, events } = start(kube, VM, { missingRetryMs: 30_000 });
    await lw.synced;
    expect(lw.stats().missing).toBe(true);
    kube.missing.delete(VMS);
    kube.put(VMS, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm1', namespace: 'ns' },
    });
    await until(() => events.length === 1);
    expect(lw.stats().missing).toBe(false);
  });
});
