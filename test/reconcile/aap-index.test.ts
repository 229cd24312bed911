// The AAP parent index (shared/reconcile/aap-index.ts): once marked complete, an AAP Vip's reconcile
// reads the pods that name it from Redis and GETs each, instead of a LIST of its namespace's pods
// (counted at the API server); it misses no parent whichever of a pod's event and the Vip's
// reconcile goes first (each side held in turn); an upgraded cluster's pods, recorded by no event,
// are found once the sweep's whole-cluster list completes the index; members that went stale are
// forgotten; the audit reports a pod the index misses, and --repair records it.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { nbctl } from '../../infra/local/services.ts';
import { type ApiWriteCounter, countApiRequests } from '../../infra/local/write-counters.ts';
import { auditSystem, DriftKind, repair } from '../../shared/audit/index.ts';
import type { Pod } from '../../shared/domain/types.ts';
import { createRedisAapIndex } from '../../shared/ipam/redis/aap-index.ts';
import { forgetDeletedPod } from '../../shared/reconcile/aap-index.ts';
import type { AapIndexPort, ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { reconcilePod } from '../../shared/reconcile/pod.ts';
import { sweepOrphans } from '../../shared/reconcile/sweep.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { createAapPod, defineAapVip } from './aap-fixtures.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

const POD_LIST = 'GET /api/v1/namespaces/*/pods';
const POD_GET = 'GET /api/v1/namespaces/*/pods/*';
const NS = 'default';

let h: ReconcileHarness;
let requests: ApiWriteCounter;
let redis: Redis;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.79.0.0/24', gateway: '10.79.0.1' });
  requests = countApiRequests(h.api.server);
  redis = new Redis(inject('redisUrl'));
  // This harness's API server starts empty: its index is complete from the start.
  await h.deps.aapIndex!.markComplete();
});

afterAll(async () => {
  requests?.detach();
  redis?.disconnect();
  await h?.stop();
});

const defineVip = (name: string) => defineAapVip(h, NS, name);

async function createVip(name: string, deps: ReconcileDeps = h.deps): Promise<void> {
  await defineVip(name);
  expect((await reconcileVip(deps, name)).status).toBe('done');
  expect((await h.admin.getVip(name))?.status?.ready).toBe(true);
}

const createPod = (name: string, labels: Record<string, string>, aaps: string): Promise<Pod> =>
  createAapPod(h, NS, name, labels, aaps);

async function podEvent(name: string, lastKnown?: Pod, deps: ReconcileDeps = h.deps): Promise<void> {
  const observed = await h.admin.getPod(NS, name);
  const outcome = await reconcilePod(deps, NS, name, lastKnown, observed ? { observed } : {});
  expect(outcome.status).toBe('done');
}

/** The server's view: the virtual port's parents (pod names) and the Vip's status.parents. */
async function parentsOf(vip: string): Promise<{ nb: string; status: string }> {
  const raw = await nbctl(
    inject('nbRemote'),
    '--if-exists',
    'get',
    'Logical_Switch_Port',
    vip,
    'options:virtual-parents',
  );
  const nb = raw.trim().replace(/"/g, '');
  return {
    nb:
      nb === ''
        ? ''
        : nb
            .split(',')
            .map((p) => p.replace(`.${NS}`, ''))
            .sort()
            .join(','),
    status: (await h.admin.getVip(vip))?.status?.parents ?? '',
  };
}

const both = (pods: string) => ({ nb: pods, status: pods });
const members = async (vip: string, index: AapIndexPort = h.deps.aapIndex!) =>
  [...(await index.read(NS, vip)).members.keys()].sort();

/** A hold on one call: `reached` resolves when it is called, `release()` lets it go on. */
function hold() {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let reachedNow!: () => void;
  const reached = new Promise<void>((r) => (reachedNow = r));
  return { held, reached, release, reachedNow };
}

describe('an AAP Vip finds its parents from the index', () => {
  it('a Vip created while its parents exist makes no pod LIST, only a GET per pod that names it', async () => {
    const vip = 'ix-used';
    for (const i of [0, 1]) {
      await createPod(`${vip}-p${i}`, { vip }, vip);
      await podEvent(`${vip}-p${i}`);
    }
    // Names it but does not match its selector: a candidate, not a parent.
    await createPod(`${vip}-p2`, { vip: 'other' }, vip);
    await podEvent(`${vip}-p2`);
    requests.reset();
    await createVip(vip);
    const indexed = new Map(requests.byShape);
    expect(indexed.get(POD_LIST) ?? 0).toBe(0);
    expect(await parentsOf(vip)).toEqual(both(`${vip}-p0,${vip}-p1`));

    // The same create without the index: one LIST.
    const listed = 'ix-listed';
    for (const i of [0, 1]) {
      await createPod(`${listed}-p${i}`, { vip: listed }, listed);
      await podEvent(`${listed}-p${i}`);
    }
    requests.reset();
    await createVip(listed, { ...h.deps, aapIndex: undefined });
    expect(requests.byShape.get(POD_LIST)).toBe(1);
    // Instead of the LIST, one GET per pod that names the Vip (parents or not).
    expect((indexed.get(POD_GET) ?? 0) - (requests.byShape.get(POD_GET) ?? 0)).toBe(3);
    expect(await parentsOf(listed)).toEqual(both(`${listed}-p0,${listed}-p1`));
  });

  it("a pod recorded only after the Vip's reconcile read the index still becomes a parent: it records itself before it reads the Vip", async () => {
    const vip = 'ix-pod-first';
    await defineVip(vip);
    await createPod(`${vip}-p0`, { vip }, vip);
    // The pod's event is held at its index write, before it has read the Vip.
    const gate = hold();
    h.beforeIndexCall = (method) => {
      if (method !== 'add') return undefined;
      h.beforeIndexCall = undefined;
      gate.reachedNow();
      return gate.held;
    };
    const podRun = podEvent(`${vip}-p0`);
    await gate.reached;
    // The Vip's whole first reconcile runs meanwhile: it claims, reads the index (no pod yet).
    requests.reset();
    expect((await reconcileVip(h.deps, vip)).status).toBe('done');
    expect(requests.byShape.get(POD_LIST) ?? 0).toBe(0);
    expect(await parentsOf(vip)).toEqual(both(''));
    gate.release();
    await podRun;
    // The pod read the Vip after its claim: it applied its own membership.
    expect(await parentsOf(vip)).toEqual(both(`${vip}-p0`));
    // And the Vip's next reconcile finds it in the index: nothing to change.
    h.transactions.length = 0;
    expect((await reconcileVip(h.deps, vip)).status).toBe('done');
    expect(h.transactions.filter((t) => t !== 'select')).toEqual([]);
    expect(await parentsOf(vip)).toEqual(both(`${vip}-p0`));
  });

  it("a pod handled while the Vip's claim is held is found by the Vip, which reads the index after its claim", async () => {
    const vip = 'ix-vip-first';
    await defineVip(vip);
    const gate = hold();
    h.beforeKubeCall = (method) => {
      if (method !== 'ensureClaimed') return undefined;
      h.beforeKubeCall = undefined;
      gate.reachedNow();
      return gate.held;
    };
    const vipRun = reconcileVip(h.deps, vip);
    await gate.reached;
    // The pod's whole event runs meanwhile: it records itself, finds the Vip not claimed, leaves it.
    await createPod(`${vip}-p0`, { vip }, vip);
    await podEvent(`${vip}-p0`);
    expect(await parentsOf(vip)).toEqual(both(''));
    requests.reset();
    gate.release();
    expect((await vipRun).status).toBe('done');
    expect(requests.byShape.get(POD_LIST) ?? 0).toBe(0);
    expect(await parentsOf(vip)).toEqual(both(`${vip}-p0`));
  });

  it('a pod whose annotation moves from Vip A to Vip B leaves A and joins B; A keeps it only as a candidate', async () => {
    const [a, b] = ['ix-move-a', 'ix-move-b'];
    await createVip(a);
    await createVip(b);
    const pod = 'ix-move-p0';
    // Matches both selectors.
    await createPod(pod, { vip: a }, a);
    await podEvent(pod);
    expect(await parentsOf(a)).toEqual(both(pod));
    const before = (await h.admin.getPod(NS, pod))!;
    await h.admin.patchMetadata(
      'Pod',
      { namespace: NS, name: pod },
      { labels: { vip: b }, annotations: { 'ovn.kubernetes.io/aaps': b } },
    );
    await podEvent(pod, before);
    expect(await parentsOf(a)).toEqual(both(''));
    expect(await parentsOf(b)).toEqual(both(pod));
    // A's set still names the pod: the pod recorded there stays while it exists (forgetting it
    // could lose it if it named A again meanwhile, since its later events write nothing); A's
    // reconcile reads it (one GET) and the parent rule leaves it out.
    expect(await members(a)).toEqual([pod]);
    expect(await members(b)).toEqual([pod]);
    requests.reset();
    expect((await reconcileVip(h.deps, a)).status).toBe('done');
    expect((await reconcileVip(h.deps, b)).status).toBe('done');
    expect(requests.byShape.get(POD_LIST) ?? 0).toBe(0);
    expect(await members(a)).toEqual([pod]);
    expect(await parentsOf(a)).toEqual(both(''));
    expect(await parentsOf(b)).toEqual(both(pod));
  });

  it('a pod deleted leaves the sets it named; a late delete of it spares a pod re-created under its name', async () => {
    const vip = 'ix-delete';
    await createVip(vip);
    const pod = `${vip}-p0`;
    await createPod(pod, { vip }, vip);
    await podEvent(pod);
    expect(await members(vip)).toEqual([pod]);
    const gone = (await h.admin.getPod(NS, pod))!;
    await h.admin.delete('Pod', { namespace: NS, name: pod });
    await podEvent(pod, gone);
    expect(await members(vip)).toEqual([]);
    expect(await parentsOf(vip)).toEqual(both(''));

    // Re-created (a new uid), recorded; then the old pod's delete handled again, late.
    await createPod(pod, { vip }, vip);
    await podEvent(pod);
    await forgetDeletedPod(h.deps, gone);
    expect(await members(vip)).toEqual([pod]);
    requests.reset();
    expect((await reconcileVip(h.deps, vip)).status).toBe('done');
    expect(requests.byShape.get(POD_LIST) ?? 0).toBe(0);
    expect(await parentsOf(vip)).toEqual(both(pod));
  });

  it('a stale member costs a GET and is forgotten, unless another pod was recorded under its name after it was read', async () => {
    const vip = 'ix-stale';
    await createVip(vip);
    await createPod(`${vip}-p0`, { vip }, vip);
    await podEvent(`${vip}-p0`);
    const index = h.deps.aapIndex!;
    // A pod that does not exist, and one that exists but does not name the Vip.
    await createPod(`${vip}-other`, { vip }, '');
    await index.add([
      { namespace: NS, name: `${vip}-ghost`, uid: 'u-ghost', vips: [vip] },
      { namespace: NS, name: `${vip}-other`, vips: [vip] },
    ]);
    requests.reset();
    expect((await reconcileVip(h.deps, vip)).status).toBe('done');
    expect(requests.byShape.get(POD_LIST) ?? 0).toBe(0);
    expect(await members(vip)).toEqual([`${vip}-p0`]);
    expect(await parentsOf(vip)).toEqual(both(`${vip}-p0`));

    // Compare-and-delete: a member written again after it was read (another pod under that
    // name) stays; the same pod in a later state writes nothing (a relist writes nothing).
    await index.add([
      { namespace: NS, name: `${vip}-ghost`, uid: 'u-ghost', resourceVersion: '1', vips: [vip] },
    ]);
    const read = (await index.read(NS, vip)).members.get(`${vip}-ghost`)!;
    await index.add([
      { namespace: NS, name: `${vip}-ghost`, uid: 'u-ghost', resourceVersion: '2', vips: [vip] },
    ]);
    expect((await index.read(NS, vip)).members.get(`${vip}-ghost`)).toBe(read);
    await index.add([
      { namespace: NS, name: `${vip}-ghost`, uid: 'u-ghost-2', resourceVersion: '3', vips: [vip] },
    ]);
    expect(await index.forget(NS, vip, [{ name: `${vip}-ghost`, token: read }])).toBe(0);
    expect(await members(vip)).toContain(`${vip}-ghost`);
    const now = (await index.read(NS, vip)).members.get(`${vip}-ghost`)!;
    expect(await index.forget(NS, vip, [{ name: `${vip}-ghost`, token: now }])).toBe(1);
  });
});

describe('a new cluster', () => {
  it("is marked complete by its first Subnet event's sweep, though the subnet is empty", async () => {
    const index = createRedisAapIndex(redis, { scope: `ix-new-${Date.now()}` });
    const deps: ReconcileDeps = { ...h.deps, aapIndex: index };
    expect(await index.isComplete()).toBe(false);
    // A subnet the allocator does not hold: nothing to sweep there.
    expect(await sweepOrphans(deps, 'ix-empty-subnet')).toBe(0);
    expect(await index.isComplete()).toBe(true);
  });
});

describe('an upgraded cluster: pods that named a Vip before the index existed', () => {
  it('are listed until the sweep completes the index; then found from it, with pods created meanwhile', async () => {
    // An index of its own, never marked: this cluster's pods were handled by the version before.
    const scope = `ix-up-${Date.now()}`;
    const real = createRedisAapIndex(redis, { scope });
    const gate = hold();
    let first = true;
    const fresh: AapIndexPort = {
      ...real,
      // The sweep's check of the marker comes after its whole-cluster list: held there once.
      isComplete: async () => {
        if (first) {
          first = false;
          gate.reachedNow();
          await gate.held;
        }
        return real.isComplete();
      },
    };
    const old: ReconcileDeps = { ...h.deps, aapIndex: undefined };
    const upgraded: ReconcileDeps = { ...h.deps, aapIndex: fresh };
    const [u1, u2] = ['ix-up-1', 'ix-up-2'];
    await createPod(`${u1}-p0`, { vip: 'up' }, `${u1},${u2}`);
    await podEvent(`${u1}-p0`, undefined, old);
    expect(await members(u1, real)).toEqual([]);

    // Not complete: the Vip lists, and finds the pod.
    await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: u1 },
      spec: { subnet: h.subnet, namespace: NS, selector: ['vip: up'] },
    });
    requests.reset();
    expect((await reconcileVip(upgraded, u1)).status).toBe('done');
    expect(requests.byShape.get(POD_LIST)).toBe(1);
    expect(await parentsOf(u1)).toEqual(both(`${u1}-p0`));

    // The sweep lists every pod; held after that list, a pod is created and handled meanwhile.
    const sweep = sweepOrphans(upgraded, h.subnet);
    await gate.reached;
    await createPod(`${u2}-p1`, { vip: 'up' }, u2);
    await podEvent(`${u2}-p1`, undefined, upgraded);
    gate.release();
    await sweep;
    expect(await real.isComplete()).toBe(true);

    await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: u2 },
      spec: { subnet: h.subnet, namespace: NS, selector: ['vip: up'] },
    });
    requests.reset();
    expect((await reconcileVip(upgraded, u2)).status).toBe('done');
    expect(requests.byShape.get(POD_LIST) ?? 0).toBe(0);
    expect(await parentsOf(u2)).toEqual(both(`${u1}-p0,${u2}-p1`));
  });
});

describe('the audit', () => {
  it('reports a pod the complete index misses, and repair records it', async () => {
    const vip = 'ix-audit';
    await createVip(vip);
    const pod = `${vip}-p0`;
    await createPod(pod, { vip }, vip);
    await podEvent(pod);
    const index = h.deps.aapIndex!;
    const token = (await index.read(NS, vip)).members.get(pod)!;
    expect(await index.forget(NS, vip, [{ name: pod, token }])).toBe(1);

    const ports = { allocator: h.deps.allocator, kube: h.deps.kube, nbReader: h.nbWriter, reconcile: h.deps };
    // This Vip's pods only (the upgrade test's pods are in an index of their own, so missing from this one).
    const missing = async () =>
      (await auditSystem(ports, { countsGraceMs: 0 })).drifts.filter(
        (d) => d.kind === DriftKind.AapIndexMissing && d.object.startsWith(`Pod/${NS}/${vip}-`),
      );
    const found = await missing();
    expect(found.map((d) => [d.object, d.action])).toEqual([
      [`Pod/${NS}/${pod}`, { type: 'reconcile', kind: 'Pod', namespace: NS, name: pod }],
    ]);
    expect(found[0]!.detail).toContain(vip);
    const report = await repair(found, ports);
    expect(report.failed).toEqual([]);
    expect(report.repaired).toBe(1);
    expect(await members(vip)).toEqual([pod]);
    expect(await missing()).toEqual([]);
    await vi.waitFor(async () => expect(await parentsOf(vip)).toEqual(both(pod)));
  });
});
