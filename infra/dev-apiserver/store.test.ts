import { describe, expect, it } from 'vitest';
import type { ApiError } from './errors.ts';
import { BUILTIN_RESOURCES, type ResourceInfo, resourceFromCrd } from './resources.ts';
import { type KubeObject, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { Store, type WatchEvent } from './store.ts';

const pods = BUILTIN_RESOURCES.find((r) => r.resource === 'pods') as ResourceInfo;
const namespaces = BUILTIN_RESOURCES.find((r) => r.resource === 'namespaces') as ResourceInfo;
const sts = BUILTIN_RESOURCES.find((r) => r.resource === 'statefulsets') as ResourceInfo;
const vips = resourceFromCrd({
  metadata: { name: 'vips.kubeovn.io' },
  spec: {
    group: 'kubeovn.io',
    scope: 'Cluster',
    names: { plural: 'vips', kind: 'Vip' },
    versions: [{ name: 'v1', storage: true, subresources: { status: {} } }],
  },
});

function newStore(historyLimit = 100) {
  const s = new Store({ historyLimit });
  for (const r of [...BUILTIN_RESOURCES, vips]) s.register(r);
  s.create(namespaces, { metadata: { name: 'default' } });
  return s;
}
const pod = (
  name: string,
  labels: Record<string, string> = {},
  extra: Partial<KubeObject> = {},
): KubeObject => ({
  metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
  ...extra,
});
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as ApiError).code;
  }
  return 0;
};

describe('Store', () => {
  it('creates with uid, generation 1 and increasing resourceVersions; refuses duplicates', () => {
    const s = newStore();
    const a = s.create(pods, pod('a'));
    const b = s.create(pods, pod('b'));
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.generation).toBe(1);
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    expect(code(() => s.create(pods, pod('a')))).toBe(409);
    expect(code(() => s.create(pods, { metadata: { name: 'x', namespace: 'nope' } }))).toBe(404);
  });

  it('refuses an update with a stale resourceVersion (409) and bumps generation only on spec changes', () => {
    const s = newStore();
    const v = s.create(vips, { metadata: { name: 'v1' }, spec: { subnet: 'a' } });
    const labelled = s.update(vips, { ...v, metadata: { ...v.metadata, labels: { x: 'y' } } });
    expect(labelled.metadata.generation).toBe(1);
    expect(code(() => s.update(vips, { ...v, spec: { subnet: 'b' } }))).toBe(409);
    const changed = s.update(vips, { ...labelled, spec: { subnet: 'b' } });
    expect(changed.metadata.generation).toBe(2);
    // custom resources need a resourceVersion on update
    expect(code(() => s.update(vips, { metadata: { name: 'v1' }, spec: { subnet: 'c' } }))).toBe(422);
  });

  it('keeps status and spec apart: the main resource ignores status, /status ignores the rest', () => {
    const s = newStore();
    const v = s.create(vips, { metadata: { name: 'v1' }, spec: { subnet: 'a' }, status: { ready: true } });
    expect(v.status).toBeUndefined();
    const st = s.update(
      vips,
      { ...v, spec: { subnet: 'zzz' }, status: { ready: true } },
      { subresource: 'status' },
    );
    expect(st).toMatchObject({ spec: { subnet: 'a' }, status: { ready: true } });
    expect(st.metadata.generation).toBe(1);
    const main = s.update(vips, { ...st, status: { ready: false } });
    expect(main.status).toEqual({ ready: true });
    expect(main.metadata.resourceVersion).toBe(st.metadata.resourceVersion); // no-op write
  });

  it('waits for finalizers: deletionTimestamp first, removal when the last finalizer goes', () => {
    const s = newStore();
    const v = s.create(vips, { metadata: { name: 'v1', finalizers: ['f'] }, spec: {} });
    const r1 = s.delete(vips, undefined, 'v1');
    expect(r1.deleted).toBe(false);
    expect(r1.object.metadata.deletionTimestamp).toBeTruthy();
    const cur = s.get(vips, undefined, 'v1');
    expect(
      code(() => s.update(vips, { ...cur, metadata: { ...cur.metadata, finalizers: ['f', 'g'] } })),
    ).toBe(422);
    s.update(vips, { ...cur, metadata: { ...cur.metadata, finalizers: [] } });
    expect(code(() => s.get(vips, undefined, 'v1'))).toBe(404);
    expect(v.metadata.uid).toBeTruthy();
  });

  it('deletes dependents through ownerReferences unless orphaned', () => {
    const s = newStore();
    const owner = s.create(sts, { metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2 } });
    const ref = [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: owner.metadata.uid as string },
    ];
    s.create(pods, {
      ...pod('web-0'),
      metadata: { name: 'web-0', namespace: 'default', ownerReferences: ref },
    });
    s.create(pods, pod('other'));
    s.delete(sts, 'default', 'web');
    expect(s.list(pods).items.map((p) => p.metadata.name)).toEqual(['other']);
  });

  it('replays history after a resourceVersion and answers 410 once it falls out of the window', () => {
    const s = newStore(3);
    const first = s.create(pods, pod('p0'));
    for (let i = 1; i <= 5; i++) s.create(pods, pod(`p${i}`));
    expect(code(() => s.watch(pods, { resourceVersion: first.metadata.resourceVersion }, () => {}))).toBe(
      410,
    );
    const seen: string[] = [];
    const rv = s.list(pods).resourceVersion;
    const stop = s.watch(pods, { resourceVersion: String(Number(rv) - 2) }, (e) =>
      seen.push(`${e.type} ${e.object.metadata.name}`),
    );
    expect(seen).toEqual(['ADDED p4', 'ADDED p5']);
    s.delete(pods, 'default', 'p5');
    expect(seen.at(-1)).toBe('DELETED p5');
    stop();
    s.compact();
    expect(code(() => s.watch(pods, { resourceVersion: rv }, () => {}))).toBe(410);
    expect(code(() => s.watch(pods, { resourceVersion: s.list(pods).resourceVersion }, () => {}))).toBe(0);
  });

  it("never changes a stored object in place; what get, update and list return is the caller's", () => {
    const s = newStore();
    s.create(vips, { metadata: { name: 'v1', labels: { a: '1' } }, spec: { subnet: 'a' } });
    const before = s.peek(vips, undefined, 'v1');
    const frozen = JSON.stringify(before);
    const got = s.get(vips, undefined, 'v1');
    (got.spec as { subnet: string }).subnet = 'edited';
    (got.metadata.labels as Record<string, string>).a = 'edited';
    const events: WatchEvent[] = [];
    s.watch(vips, { resourceVersion: s.resourceVersion }, (e) => events.push(e));
    const st = s.update(vips, { ...got, status: { ready: true } }, { subresource: 'status' });
    (st.status as { ready: boolean }).ready = false;
    const main = s.update(vips, {
      ...s.get(vips, undefined, 'v1'),
      metadata: { ...st.metadata, labels: { a: '2' } },
    });
    (s.list(vips).items[0] as KubeObject).metadata.name = 'x';
    expect(JSON.stringify(before)).toBe(frozen);
    expect(events.map((e) => e.object.status)).toEqual([{ ready: true }, { ready: true }]);
    expect(s.peek(vips, undefined, 'v1')).toMatchObject({
      metadata: { name: 'v1', labels: { a: '2' }, resourceVersion: main.metadata.resourceVersion },
      spec: { subnet: 'a' },
      status: { ready: true },
    });
    // the object an earlier event carried stays what it was
    expect(events[0]?.object.metadata.labels).toEqual({ a: '1' });
    expect(events[1]?.object.metadata.labels).toEqual({ a: '2' });
  });

  it('treats a write that differs only in key order or undefined fields as a no-op', () => {
    const s = newStore();
    const v = s.create(vips, {
      metadata: { name: 'v1' },
      spec: { subnet: 'a', x: { p: 1, q: [1, { r: 2 }] } },
    });
    const same = s.update(vips, {
      metadata: { ...v.metadata, labels: undefined },
      spec: { x: { q: [1, { r: 2 }], p: 1 }, subnet: 'a', y: undefined },
    });
    expect(same.metadata.resourceVersion).toBe(v.metadata.resourceVersion);
    const moved = s.update(vips, { ...v, spec: { subnet: 'a', x: { p: 1, q: [{ r: 2 }, 1] } } });
    expect(Number(moved.metadata.resourceVersion)).toBeGreaterThan(Number(v.metadata.resourceVersion));
    expect(moved.metadata.generation).toBe(2);
  });

  it('turns a change of selector match into ADDED / DELETED for the watcher', () => {
    const s = newStore();
    const events: WatchEvent[] = [];
    s.watch(pods, { matcher: parseLabelSelector('app=a') }, (e) => events.push(e));
    const p = s.create(pods, pod('p', { app: 'b' }));
    const p2 = s.update(pods, { ...p, metadata: { ...p.metadata, labels: { app: 'a' } } });
    const p3 = s.update(pods, { ...p2, spec: { containers: [] } });
    s.update(pods, { ...p3, metadata: { ...p3.metadata, labels: { app: 'c' } } });
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
  });
});

describe('selectors', () => {
  const o = (labels: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject => ({
    metadata: { name: 'n', namespace: 'ns', labels },
    ...extra,
  });
  it('parses the label selector grammar', () => {
    expect(parseLabelSelector('a=1,b!=2')(o({ a: '1', b: '3' }))).toBe(true);
    expect(parseLabelSelector('a in (1, 2),!c')(o({ a: '2' }))).toBe(true);
    expect(parseLabelSelector('a notin (1,2)')(o({ a: '2' }))).toBe(false);
    expect(parseLabelSelector('a')(o({}))).toBe(false);
    expect(() => parseLabelSelector('a in b')).toThrow();
  });
  it('compares fields by dotted path', () => {
    const p = o({}, { spec: { nodeName: 'n1' }, status: { phase: 'Running' } });
    expect(parseFieldSelector('metadata.name=n,metadata.namespace==ns')(p)).toBe(true);
    expect(parseFieldSelector('spec.nodeName=n1,status.phase!=Running')(p)).toBe(false);
  });
});
