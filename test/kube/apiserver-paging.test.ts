// Lists paged with limit/continue while objects change, exact resourceVersions inside and outside
// the history, and selectors over pages: with client-node and kubectl, as clients see them.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_LIST_FROM } from '../../infra/dev-apiserver/http.ts';
import { findKubectl, runKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { NodeClient } from './conformance/clients.ts';
import { startTestApiServer, type TestApiServer } from './dev-server.ts';

const HISTORY = 40;
let api: TestApiServer;
let c: NodeClient;

beforeAll(async () => {
  api = await startTestApiServer('paging-token', { historyLimit: HISTORY });
  c = new NodeClient(api.server.kubeconfigPath, 'default');
});
afterAll(async () => {
  await api?.stop();
});

const createNamespace = (name: string) => c.core.createNamespace({ body: { metadata: { name } } });
const createPod = (namespace: string, name: string, labels: Record<string, string>) =>
  c.core.createNamespacedPod({
    namespace,
    body: { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'pause' }] } },
  });
const relabel = (namespace: string, name: string, labels: Record<string, string>) =>
  c.core.patchNamespacedPod(
    { namespace, name, body: { metadata: { labels } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

describe('list paging at the scale of many objects', () => {
  it('returns every object once, as it was at the first page, while objects change between pages (client-node)', async () => {
    await createNamespace('paging');
    for (let i = 0; i < 12; i++) await createPod('paging', `p-${String(i).padStart(2, '0')}`, { v: 'old' });
    const first = await c.core.listNamespacedPod({ namespace: 'paging', limit: 4 });
    const listRv = first.metadata?.resourceVersion;
    expect(first.metadata?.remainingItemCount).toBe(8);
    // Changes after the first page: one later on the list relabelled, one deleted, one added in
    // between, one already read deleted.
    await relabel('paging', 'p-06', { v: 'new' });
    await c.core.deleteNamespacedPod({ namespace: 'paging', name: 'p-09' });
    await createPod('paging', 'p-05a', { v: 'new' });
    await c.core.deleteNamespacedPod({ namespace: 'paging', name: 'p-01' });
    const items = [...first.items];
    let token = first.metadata?._continue;
    const remaining: (number | undefined)[] = [];
    while (token) {
      const page = await c.core.listNamespacedPod({ namespace: 'paging', limit: 4, _continue: token });
      expect(page.metadata?.resourceVersion).toBe(listRv);
      remaining.push(page.metadata?.remainingItemCount);
      items.push(...page.items);
      token = page.metadata?._continue;
    }
    expect(items.map((p) => p.metadata?.name)).toEqual(
      Array.from({ length: 12 }, (_, i) => `p-${String(i).padStart(2, '0')}`),
    );
    expect(items.every((p) => p.metadata?.labels?.v === 'old')).toBe(true);
    expect(remaining).toEqual([4, undefined]);
    // A new list shows the changes.
    const now = await c.core.listNamespacedPod({ namespace: 'paging' });
    const byName = new Map(now.items.map((p) => [p.metadata?.name, p.metadata?.labels?.v]));
    expect(byName.get('p-06')).toBe('new');
    expect(byName.has('p-05a')).toBe(true);
    expect(byName.has('p-09') || byName.has('p-01')).toBe(false);
    expect(now.items).toHaveLength(11);
  });

  it('lists at an Exact resourceVersion inside the history; past it, the list and the continue token are 410', async () => {
    await createNamespace('exact');
    for (const n of ['a', 'b', 'c']) await createPod('exact', n, { v: '1' });
    const before = await c.core.listNamespacedPod({ namespace: 'exact', limit: 2 });
    const rv = before.metadata?.resourceVersion as string;
    await relabel('exact', 'a', { v: '2' });
    await c.core.deleteNamespacedPod({ namespace: 'exact', name: 'c' });
    const then = await c.core.listNamespacedPod({
      namespace: 'exact',
      resourceVersion: rv,
      resourceVersionMatch: 'Exact',
    });
    expect(then.metadata?.resourceVersion).toBe(rv);
    expect(then.items.map((p) => `${p.metadata?.name}=${p.metadata?.labels?.v}`)).toEqual([
      'a=1',
      'b=1',
      'c=1',
    ]);
    // More pod changes than the history holds: that resourceVersion is compacted away.
    for (let i = 0; i <= HISTORY; i++) await relabel('exact', 'b', { v: `n${i}` });
    const exact = c.core.listNamespacedPod({
      namespace: 'exact',
      resourceVersion: rv,
      resourceVersionMatch: 'Exact',
    });
    expect(await c.code(exact)).toBe(410);
    const cont = c.core.listNamespacedPod({
      namespace: 'exact',
      limit: 2,
      _continue: before.metadata?._continue,
    });
    expect(await c.code(cont)).toBe(410);
  });

  it('pages a label selector to the same answer as the unpaged list (client-node and kubectl --chunk-size)', async () => {
    await createNamespace('sel');
    for (let i = 0; i < 25; i++)
      await createPod('sel', `s-${String(i).padStart(2, '0')}`, {
        tier: i % 3 === 0 ? 'a' : 'b',
        idx: String(i),
      });
    const selector = 'tier=a,idx!=9';
    const whole = await c.core.listNamespacedPod({ namespace: 'sel', labelSelector: selector });
    const want = whole.items.map((p) => p.metadata?.name);
    expect(want).toEqual(['s-00', 's-03', 's-06', 's-12', 's-15', 's-18', 's-21', 's-24']);
    const paged: (string | undefined)[] = [];
    let token: string | undefined;
    do {
      const page = await c.core.listNamespacedPod({
        namespace: 'sel',
        labelSelector: selector,
        limit: 3,
        _continue: token,
      });
      expect(page.items.length).toBeLessThanOrEqual(3);
      // kube-apiserver gives no remainingItemCount under a selector
      expect(page.metadata?.remainingItemCount).toBeUndefined();
      paged.push(...page.items.map((p) => p.metadata?.name));
      token = page.metadata?._continue;
    } while (token);
    expect(paged).toEqual(want);
    const k = await runKubectl(
      api.server.kubeconfigPath,
      ['get', 'pods', '-n', 'sel', '-l', selector, '--chunk-size=2', '-o', 'name'],
      { kubectl: findKubectl() },
    );
    expect(k.stderr).toBe('');
    expect(k.stdout.trim().split('\n')).toEqual(want.map((n) => `pod/${n}`));
    const none = await runKubectl(
      api.server.kubeconfigPath,
      ['get', 'pods', '-A', '-l', 'tier=none', '--chunk-size=2', '-o', 'name'],
      { kubectl: findKubectl() },
    );
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('');
  });

  it('writes a list of more than 1,000 objects in pieces that client-node and kubectl read whole', async () => {
    await createNamespace('big');
    const store = api.server.api.store;
    const podsInfo = api.server.api.resource('', 'pods');
    const n = STREAM_LIST_FROM + 200;
    for (let i = 0; i < n; i++)
      store.create(podsInfo, {
        metadata: { name: `b-${String(i).padStart(5, '0')}`, namespace: 'big' },
        spec: {},
      });
    const whole = await c.core.listNamespacedPod({ namespace: 'big' });
    expect(whole.items.map((p) => p.metadata?.name)).toEqual(
      Array.from({ length: n }, (_, i) => `b-${String(i).padStart(5, '0')}`),
    );
    expect(whole.metadata?.resourceVersion).toBe(store.resourceVersion);
    const dispatcher = new Agent({ connect: { ca: api.server.ca } });
    try {
      const res = await request(`${api.server.url}/api/v1/namespaces/big/pods`, {
        headers: { authorization: `Bearer ${api.server.token}` },
        dispatcher,
      });
      expect(res.headers['transfer-encoding']).toBe('chunked');
      expect(res.headers['content-length']).toBeUndefined();
      const body = (await res.body.json()) as { kind: string; items: unknown[] };
      expect(body.kind).toBe('PodList');
      expect(body.items).toHaveLength(n);
    } finally {
      await dispatcher.close();
    }
    const k = await runKubectl(
      api.server.kubeconfigPath,
      ['get', 'pods', '-n', 'big', '-o', 'name', '--chunk-size=0'],
      {
        kubectl: findKubectl(),
      },
    );
    expect(k.stderr).toBe('');
    expect(k.stdout.trim().split('\n')).toHaveLength(n);
  });
});
