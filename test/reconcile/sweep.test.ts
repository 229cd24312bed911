// The sweep against the run's Redis and OVN NB: what a Subnet event's sweep frees is exactly what
// the audit's judgement (shared/domain/ownership.ts) calls "gone" (reservations and ports of Vips
// and pods that no longer exist), and nothing it would only report: a reservation of a Vip that
// exists in another subnet, a manual owner's, a live Vip's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  judgeReservation,
  liveOwners,
  manualOwner,
  podOwner,
  vipOwner,
  vipPortNames,
} from '../../shared/domain/ownership.ts';
import { KUBE_OVN_VENDOR } from '../../shared/domain/virtual-port.ts';
import { reconcileSubnet } from '../../shared/reconcile/subnet.ts';
import { sweepOrphans } from '../../shared/reconcile/sweep.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.187.0.0/24', gateway: '10.187.0.1' });
  await reconcileSubnet(h.deps, h.subnet);
});

afterAll(async () => {
  await h?.stop();
});

const vipObject = (name: string, subnet: string) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec: { subnet },
});

async function owners(): Promise<string[]> {
  return (await h.deps.allocator.list(h.subnet, { limit: 1000 })).items.map((r) => r.owner).sort();
}

describe('sweepOrphans', () => {
  it('frees what gone Vips and pods held, and only that', async () => {
    const { subnet } = h;
    const id = subnet.slice(-6);
    // A live Vip of this subnet, reserved by its reconciler.
    const live = `live-${id}`;
    await h.admin.create('Vip', vipObject(live, subnet));
    expect((await reconcileVip(h.deps, live)).status).toBe('done');
    // A Vip that exists, but in another subnet: misplaced, which the audit reports and the sweep leaves.
    const far = `far-${id}`;
    await h.admin.create('Vip', vipObject(far, 'elsewhere'));
    await h.deps.allocator.allocate({ subnet, owner: vipOwner(far) });
    await h.deps.allocator.allocate({ subnet, owner: manualOwner(`m-${id}`) });
    // What a Vip deleted while no handler ran left: its reservation and both family's ports.
    const gone = `gone-${id}`;
    const held = await h.deps.allocator.allocate({ subnet, owner: vipOwner(gone) });
    for (const [i, name] of vipPortNames(gone).entries())
      await h.deps.nb.ensureVirtualPort({
        name,
        switchName: subnet,
        virtualIp: i === 0 ? held.v4! : 'fd00::86',
        parents: [],
        externalIds: { ls: subnet, vendor: KUBE_OVN_VENDOR },
      });
    // What a pod whose delete event was missed left: its reservation and its port.
    const ghost = `ghost-${id}.default`;
    const pod = await h.deps.allocator.allocate({ subnet, owner: podOwner(ghost) });
    await h.deps.nb.ensurePodPort({
      switchName: subnet,
      name: ghost,
      mac: pod.mac.toLowerCase(),
      ips: [pod.v4!],
      pod: `ghost-${id}`,
      namespace: 'default',
    });

    const before = liveOwners(await h.deps.kube.listVips(), [], [], true);
    expect(judgeReservation(subnet, vipOwner(far), before).verdict).toBe('misplaced');

    expect(await sweepOrphans(h.deps, subnet)).toBe(4); // two reservations, the Vip's two ports
    expect(await owners()).toEqual([manualOwner(`m-${id}`), vipOwner(far), vipOwner(live)].sort());
    const ports = (await h.nbWriter.listPorts()).map((p) => p.name);
    for (const name of [...vipPortNames(gone), ghost]) expect(ports).not.toContain(name);

    // Nothing left that is gone: a second sweep frees nothing.
    expect(await sweepOrphans(h.deps, subnet)).toBe(0);
  });

  it('reads who exists once per sweep, after what is held', async () => {
    // A pod that exists holds an address here: the pod part of the sweep has something to judge.
    const name = `kept-${h.subnet.slice(-6)}`;
    await h.admin.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await h.deps.allocator.allocate({ subnet: h.subnet, owner: podOwner(`${name}.default`) });
    h.calls.length = 0;
    h.redisCalls.length = 0;
    await sweepOrphans(h.deps, h.subnet);
    const count = (name: string) => h.calls.filter((c) => c === name).length;
    expect([count('listVips'), count('listPods'), count('listSubnets')]).toEqual([1, 1, 1]);
    expect(h.redisCalls.filter((c) => c === 'list')).toEqual(['list']); // one page: a handful held
    expect(await owners()).toContain(podOwner(`${name}.default`)); // it exists: kept
  });
});
