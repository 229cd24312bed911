// Store.page: list pages read from the sorted keys at the list's resourceVersion, the bounded
// history behind them, and dependents found by owner.
import { describe, expect, it } from 'vitest';
import type { ApiError } from './errors.ts';
import type { PageOptions } from './list-page.ts';
import { BUILTIN_RESOURCES, type ResourceInfo } from './resources.ts';
import { type KubeObject, parseLabelSelector } from './selectors.ts';
import { Store } from './store.ts';

const pods = BUILTIN_RESOURCES.find((r) => r.resource === 'pods') as ResourceInfo;
const namespaces = BUILTIN_RESOURCES.find((r) => r.resource === 'namespaces') as ResourceInfo;
const sts = BUILTIN_RESOURCES.find((r) => r.resource === 'statefulsets') as ResourceInfo;

function newStore(historyLimit = 100, nss = ['default']) {
  const s = new Store({ historyLimit });
  for (const r of BUILTIN_RESOURCES) s.register(r);
  for (const name of nss) s.create(namespaces, { metadata: { name } });
  return s;
}
const pod = (name: string, namespace = 'default', labels: Record<string, string> = {}): KubeObject => ({
  metadata: { name, namespace, labels },
  spec: {},
});
const names = (items: KubeObject[]) => items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
const rv = (s: Store) => Number(s.resourceVersion);

/** Every page from the first, as a client follows continue tokens. */
function pageAll(s: Store, o: Omit<PageOptions, 'after'>, between: (page: number) => void = () => {}) {
  const out: KubeObject[] = [];
  let after: string | undefined;
  for (let n = 0; ; n++) {
    const page = s.page(pods, { ...o, after });
    out.push(...page.items);
    if (page.last === undefined) return out;
    after = page.last;
    between(n);
  }
}

describe('Store.page', () => {
  it('pages in key order, within one namespace only (a, a-b and a0 sort next to each other)', () => {
    const s = newStore(100, ['a', 'a-b', 'a0']);
    for (const ns of ['a0', 'a', 'a-b']) for (const n of ['z', 'm', 'b']) s.create(pods, pod(n, ns));
    const at = rv(s);
    expect(names(pageAll(s, { at, limit: 2 }))).toEqual([
      'a-b/b',
      'a-b/m',
      'a-b/z',
      'a/b',
      'a/m',
      'a/z',
      'a0/b',
      'a0/m',
      'a0/z',
    ]);
    const first = s.page(pods, { at, limit: 2, namespace: 'a', count: true });
    expect(names(first.items)).toEqual(['a/b', 'a/m']);
    expect(first.remaining).toBe(1);
    expect(names(pageAll(s, { at, limit: 1, namespace: 'a' }))).toEqual(['a/b', 'a/m', 'a/z']);
    const all = s.page(pods, { at, limit: 4, count: true });
    expect(all.remaining).toBe(5);
  });

  it('shows every page as the objects were at the first: changed, deleted and added since are put back', () => {
    const s = newStore();
    for (let i = 0; i < 10; i++) s.create(pods, pod(`p${i}`, 'default', { v: 'old' }));
    const at = rv(s);
    const seen = pageAll(s, { at, limit: 3, count: true }, (n) => {
      if (n !== 0) return;
      const p7 = s.get(pods, 'default', 'p7');
      s.update(pods, { ...p7, metadata: { ...p7.metadata, labels: { v: 'new' } } });
      s.delete(pods, 'default', 'p8');
      s.delete(pods, 'default', 'p1'); // on the page already read
      s.create(pods, pod('p55'));
      // deleted and created again: the page shows the one that was there
      s.delete(pods, 'default', 'p5');
      s.create(pods, pod('p5', 'default', { v: 'again' }));
    });
    expect(names(seen)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `default/p${i}`));
    expect(seen.every((o) => o.metadata.labels?.v === 'old')).toBe(true);
    expect(seen.every((o) => Number(o.metadata.resourceVersion) <= at)).toBe(true);
    // what remained after the first page, at the first page's resourceVersion
    expect(s.page(pods, { at, limit: 3, count: true, after: 'default/p2' }).remaining).toBe(4);
    const now = s.page(pods, { at: rv(s), limit: 0 });
    expect(names(now.items)).toEqual(
      ['p0', 'p2', 'p3', 'p4', 'p5', 'p55', 'p6', 'p7', 'p9'].map((n) => `default/${n}`),
    );
    expect(s.page(pods, { at: rv(s), limit: 3, count: true }).remaining).toBe(6);
  });

  it('with a selector reads on until the page is full, and sets last while any object follows', () => {
    const s = newStore();
    for (let i = 0; i < 10; i++) s.create(pods, pod(`p${i}`, 'default', { even: String(i % 2 === 0) }));
    const at = rv(s);
    const matcher = parseLabelSelector('even=true');
    expect(names(pageAll(s, { at, limit: 2, matcher }))).toEqual([0, 2, 4, 6, 8].map((i) => `default/p${i}`));
    // p8 is the last match but p9 follows: kube-apiserver gives a continue for an empty last page
    const last = s.page(pods, { at, limit: 1, matcher, after: 'default/p7' });
    expect(last.last).toBe('default/p8');
    expect(s.page(pods, { at, limit: 1, matcher, after: 'default/p8' })).toEqual({ items: [] });
  });

  it('keeps exactly historyLimit changes across many writes: a watch inside the window resumes, older is 410', () => {
    const s = newStore(50);
    const first = s.create(pods, pod('p'));
    for (let i = 0; i < 3000; i++) {
      const cur = s.get(pods, 'default', 'p');
      s.update(pods, { ...cur, metadata: { ...cur.metadata, labels: { i: String(i) } } });
    }
    const now = rv(s);
    const seen: string[] = [];
    s.watch(pods, { resourceVersion: String(now - 50) }, (e) =>
      seen.push(e.object.metadata.labels?.i ?? ''),
    )();
    expect(seen).toHaveLength(50);
    expect(seen.at(-1)).toBe('2999');
    const gone = (from: number) => {
      try {
        s.watch(pods, { resourceVersion: String(from) }, () => {});
        return 0;
      } catch (e) {
        return (e as ApiError).code;
      }
    };
    expect(gone(now - 51)).toBe(410);
    expect(gone(Number(first.metadata.resourceVersion))).toBe(410);
    expect(s.floor(pods)).toBe(now - 50);
  });

  it('deletes the dependents an owner has now, found by its uid, not those whose reference went', () => {
    const s = newStore();
    const owner = s.create(sts, { metadata: { name: 'web', namespace: 'default' }, spec: {} });
    const ref = [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: owner.metadata.uid as string },
    ];
    const owned = (name: string) => ({
      ...pod(name),
      metadata: { ...pod(name).metadata, ownerReferences: ref },
    });
    s.create(pods, owned('web-0'));
    s.create(pods, owned('web-1'));
    s.create(pods, pod('later'));
    const w1 = s.get(pods, 'default', 'web-1');
    s.update(pods, { ...w1, metadata: { ...w1.metadata, ownerReferences: undefined } });
    const later = s.get(pods, 'default', 'later');
    s.update(pods, { ...later, metadata: { ...later.metadata, ownerReferences: ref } });
    s.delete(sts, 'default', 'web');
    expect(names(s.list(pods).items)).toEqual(['default/web-1']);
  });
});
