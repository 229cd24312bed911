// A pod event keeps an AAP Vip's parents one pod at a time (shared/reconcile/aap-parents.ts): no
// LIST of the namespace's pods reaches the API server, and what it leaves (the virtual port's
// parents in NB, the Vip's parent columns) is exactly what the Vip's full reconcile computes, which
// is checked by running that reconcile afterwards and seeing it change nothing.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { nbctl } from '../../infra/local/services.ts';
import { type ApiWriteCounter, countApiRequests } from '../../infra/local/write-counters.ts';
import type { Pod } from '../../shared/domain/types.ts';
import { reconcilePod } from '../../shared/reconcile/pod.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { createAapPod, defineAapVip } from './aap-fixtures.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

const POD_LIST = 'GET /api/v1/namespaces/*/pods';
const NS = 'default';

let h: ReconcileHarness;
let requests: ApiWriteCounter;
let otherSubnet: string;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.77.0.0/24', gateway: '10.77.0.1' });
  otherSubnet = `${h.subnet}-b`;
  await h.admin.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: otherSubnet },
    spec: { cidrBlock: '10.78.0.0/24', gateway: '10.78.0.1', excludeIps: ['10.78.0.1'], namespaces: [] },
  });
  requests = countApiRequests(h.api.server);
});

afterAll(async () => {
  requests?.detach();
  await h?.stop();
});

async function createVip(name: string): Promise<void> {
  await defineAapVip(h, NS, name);
  expect((await reconcileVip(h.deps, name)).status).toBe('done');
  expect((await h.admin.getVip(name))?.status?.ready).toBe(true);
}

const podName = (vip: string, i: number) => `${vip}-p${i}`;

const createPod = (name: string, labels: Record<string, string>, aaps: string): Promise<Pod> =>
  createAapPod(h, NS, name, labels, aaps);

/** The pod's event, as the relay delivers it (its copy), handled by the pod reconciler. */
async function podEvent(name: string, lastKnown?: Pod): Promise<void> {
  const observed = await h.admin.getPod(NS, name);
  const outcome = await reconcilePod(h.deps, NS, name, lastKnown, observed ? { observed } : {});
  expect(outcome.status).toBe('done');
}

/** What the server holds (not a cache): the virtual port's parents and the Vip's parent columns. */
async function parentsShown(vip: string) {
  const raw = await nbctl(
    inject('nbRemote'),
    '--if-exists',
    'get',
    'Logical_Switch_Port',
    vip,
    'options:virtual-parents',
  );
  const parents = raw.trim().replace(/"/g, '');
  const s = (await h.admin.getVip(vip))!.status!;
  return {
    nb: parents,
    status: { pv4ip: s.pv4ip ?? '', pv6ip: s.pv6ip ?? '', pmac: s.pmac ?? '', parents: s.parents ?? '' },
  };
}

/** The full reconcile (it lists the pods) finds nothing to change. */
async function fullReconcileAgrees(vip: string, shown: Awaited<ReturnType<typeof parentsShown>>) {
  h.calls.length = 0;
  h.nbCalls.length = 0;
  h.transactions.length = 0;
  expect((await reconcileVip(h.deps, vip)).status).toBe('done');
  expect(h.calls).toContain('listPods');
  expect(h.calls).not.toContain('patchStatus');
  expect(h.transactions.filter((t) => t !== 'select')).toEqual([]);
  expect(await parentsShown(vip)).toEqual(shown);
}

const podIp = async (name: string) =>
  (await h.admin.getPod(NS, name))!.metadata.annotations!['ovn.kubernetes.io/ip_address']!;

const podLists = () => requests.byShape.get(POD_LIST) ?? 0;

describe("a pod event changes only that pod's membership in an AAP Vip's parents", () => {
  it('parents join without a pod LIST, and the status shows them as the full reconcile would', async () => {
    const vip = 'inc-join';
    await createVip(vip);
    requests.reset();
    for (const i of [0, 1, 2]) {
      await createPod(podName(vip, i), { vip }, vip);
      await podEvent(podName(vip, i));
    }
    // Asks for the Vip but does not match its selector; matches but does not ask.
    await createPod(podName(vip, 3), { vip: 'other' }, vip);
    await podEvent(podName(vip, 3));
    await createPod(podName(vip, 4), { vip }, '');
    await podEvent(podName(vip, 4));
    expect(podLists()).toBe(0);

    const shown = await parentsShown(vip);
    expect(shown.nb).toBe([0, 1, 2].map((i) => `${podName(vip, i)}.${NS}`).join(','));
    expect(shown.status.parents).toBe([0, 1, 2].map((i) => podName(vip, i)).join(','));
    expect(shown.status.pv4ip.split(',').sort()).toEqual(
      (await Promise.all([0, 1, 2].map((i) => podIp(podName(vip, i))))).sort(),
    );
    await fullReconcileAgrees(vip, shown);
  });

  it('a pod relabelled out of the selector, deleted, or moved to another subnet leaves the parents', async () => {
    const vip = 'inc-leave';
    await createVip(vip);
    for (const i of [0, 1, 2, 3]) {
      await createPod(podName(vip, i), { vip }, vip);
      await podEvent(podName(vip, i));
    }
    expect((await parentsShown(vip)).status.parents.split(',')).toHaveLength(4);
    requests.reset();

    // Relabelled out.
    await h.admin.patchMetadata(
      'Pod',
      { namespace: NS, name: podName(vip, 0) },
      { labels: { vip: 'elsewhere' } },
    );
    await podEvent(podName(vip, 0));
    // Deleted: the event carries the last state.
    const gone = (await h.admin.getPod(NS, podName(vip, 1)))!;
    await h.admin.delete('Pod', { namespace: NS, name: podName(vip, 1) });
    await podEvent(podName(vip, 1), gone);
    // Moved to another subnet: its NIC is no longer on the Vip's.
    await h.admin.patchMetadata(
      'Pod',
      { namespace: NS, name: podName(vip, 2) },
      {
        annotations: {
          'ovn.kubernetes.io/logical_switch': otherSubnet,
          'ovn.kubernetes.io/allocated': null,
          'ovn.kubernetes.io/ip_address': null,
          'ovn.kubernetes.io/mac_address': null,
        },
      },
    );
    await podEvent(podName(vip, 2));
    expect(podLists()).toBe(0);

    const shown = await parentsShown(vip);
    expect(shown.nb).toBe(`${podName(vip, 3)}.${NS}`);
    expect(shown.status.parents).toBe(podName(vip, 3));
    expect(shown.status.pv4ip).toBe(await podIp(podName(vip, 3)));
    // Port security follows: the pod relabelled out may no longer send from the Vip's address,
    // the one staying still may.
    const vipIp = (await h.admin.getVip(vip))!.status!.v4ip!;
    const security = async (i: number) =>
      (
        await nbctl(
          inject('nbRemote'),
          'get',
          'Logical_Switch_Port',
          `${podName(vip, i)}.${NS}`,
          'port_security',
        )
      )
        .replace(/[[\]"]/g, ' ')
        .split(/\s+/)
        .filter(Boolean);
    expect(await security(0)).not.toContain(vipIp);
    expect(await security(0)).toContain(await podIp(podName(vip, 0)));
    expect(await security(3)).toContain(vipIp);
    await fullReconcileAgrees(vip, shown);
  });

  it("a parent the Vip's reconcile found before the pod had addresses gets them from the pod's event, with no pod LIST", async () => {
    const vip = 'inc-early';
    await createVip(vip);
    await createPod(podName(vip, 0), { vip }, vip);
    // The Vip's reconcile runs first: the pod is a parent already, but not allocated yet.
    expect((await reconcileVip(h.deps, vip)).status).toBe('done');
    const early = await parentsShown(vip);
    expect(early.nb).toBe(`${podName(vip, 0)}.${NS}`);
    expect(early.status).toMatchObject({ parents: podName(vip, 0), pv4ip: '' });
    requests.reset();
    await podEvent(podName(vip, 0));
    // The list needs no change, only the status: written once the list is checked on the server.
    expect(podLists()).toBe(0);
    const shown = await parentsShown(vip);
    expect(shown.status.pv4ip).toBe(await podIp(podName(vip, 0)));
    await fullReconcileAgrees(vip, shown);
  });

  it('events of many parents at once all land (concurrent changes of one list commute)', async () => {
    const vip = 'inc-many';
    await createVip(vip);
    const n = 12;
    await Promise.all(Array.from({ length: n }, (_, i) => createPod(podName(vip, i), { vip }, vip)));
    await Promise.all(Array.from({ length: n }, (_, i) => podEvent(podName(vip, i))));
    // Half of them leave, at once.
    await Promise.all(
      Array.from({ length: n / 2 }, (_, i) =>
        h.admin.patchMetadata('Pod', { namespace: NS, name: podName(vip, 2 * i) }, { labels: { vip: 'x' } }),
      ),
    );
    await Promise.all(Array.from({ length: n / 2 }, (_, i) => podEvent(podName(vip, 2 * i))));
    const shown = await parentsShown(vip);
    const staying = Array.from({ length: n / 2 }, (_, i) => podName(vip, 2 * i + 1)).sort();
    expect(shown.nb.split(',')).toEqual(staying.map((p) => `${p}.${NS}`).sort());
    expect(shown.status.parents.split(',')).toEqual(staying);
    await fullReconcileAgrees(vip, shown);
  });

  it('a Vip never reconciled is left to its own event, whose reconcile lists after the pod changed', async () => {
    const vip = 'inc-new';
    await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: vip },
      spec: { subnet: h.subnet, namespace: NS, selector: [`vip: ${vip}`] },
    });
    await createPod(podName(vip, 0), { vip }, vip);
    requests.reset();
    h.calls.length = 0;
    await podEvent(podName(vip, 0));
    // Not claimed: the pod's event neither lists nor writes anything of the Vip.
    expect(podLists()).toBe(0);
    expect(h.calls.filter((c) => c === 'ensureClaimed' || c === 'patchStatus')).toEqual([]);
    expect((await h.admin.getVip(vip))?.status?.ready).toBeFalsy();
    expect((await reconcileVip(h.deps, vip)).status).toBe('done');
    const shown = await parentsShown(vip);
    expect(shown.nb).toBe(`${podName(vip, 0)}.${NS}`);
    expect(shown.status.parents).toBe(podName(vip, 0));
    await fullReconcileAgrees(vip, shown);
  });

  it("a pod event while the Vip's first reconcile runs waits for it, then changes one parent", async () => {
    const vip = 'inc-racing';
    await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: vip },
      spec: { subnet: h.subnet, namespace: NS, selector: [`vip: ${vip}`] },
    });
    // The Vip's reconcile is held before it writes its virtual port (after its claim and its pod
    // list). Held there, not at its transaction: the writer sends new ports of one switch together,
    // so the pod's own port would wait behind a held transaction of the same switch.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atNb = new Promise<void>((r) => (reached = r));
    h.beforeNbCall = (method) => {
      if (method !== 'ensureVirtualPort') return undefined;
      h.beforeNbCall = undefined;
      reached();
      return held;
    };
    const vipRun = reconcileVip(h.deps, vip);
    await atNb;
    await createPod(podName(vip, 0), { vip }, vip);
    requests.reset();
    h.calls.length = 0;
    const podRun = podEvent(podName(vip, 0));
    // Released only once the pod's event has read the Vip (claimed, not yet Ready).
    await vi.waitFor(() => expect(h.calls).toContain('getVip'), { timeout: 5000 });
    release();
    await Promise.all([vipRun, podRun]);
    // The Vip's own reconcile listed once (before the pod existed); the pod's event listed nothing.
    expect(podLists()).toBe(0);
    const shown = await parentsShown(vip);
    expect(shown.nb).toBe(`${podName(vip, 0)}.${NS}`);
    expect(shown.status.parents).toBe(podName(vip, 0));
    await fullReconcileAgrees(vip, shown);
  });
});
