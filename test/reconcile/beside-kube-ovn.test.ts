// The reconcilers beside kube-ovn-controller (BESIDE_KUBE_OVN), each case decided deterministically:
// Vips from the declared range only, an address of kube-ovn's part never reserved (also when
// kube-ovn's own write overtook a reservation of ours), pods left to kube-ovn. Real development API server, the run's Redis and NB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VIP_RANGE_ANNOTATION } from '../../shared/domain/beside-kube-ovn.ts';
import type { Pod, Vip } from '../../shared/domain/types.ts';
import type { ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { createSubnetStatusRefresher } from '../../shared/reconcile/subnet.ts';
import { eventOf, type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;
let deps: ReconcileDeps;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.78.0.0/24', gateway: '10.78.0.1' });
  deps = { ...h.deps, besideKubeOvn: true };
  // The harness's coalesced Subnet status refresher was built on deps without the mode: build it
  // on these, as infra/wiring/controller.ts does for a process in this mode.
  deps.subnetChanged = createSubnetStatusRefresher(deps, 50).changed;
  await h.admin.patch(
    'Subnet',
    { name: h.subnet },
    {
      metadata: { annotations: { [VIP_RANGE_ANNOTATION]: '10.78.0.200..10.78.0.210' } },
      spec: { excludeIps: ['10.78.0.1', '10.78.0.200..10.78.0.250'] },
    },
  );
});

afterAll(async () => {
  await h?.stop();
});

const createVip = async (name: string, spec: Record<string, unknown> = {}) =>
  (await h.admin.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: h.subnet, ...spec },
  })) as unknown as Vip;

/** What kube-ovn-controller's createOrUpdateVipCR writes once its IPAM chose `v4ip` for the Vip. */
async function kubeOvnWrites(name: string, v4ip: string, mac: string): Promise<Vip> {
  const vip = (await h.admin.getVip(name))!;
  return (await h.admin.patch(
    'Vip',
    { name },
    {
      metadata: {
        resourceVersion: vip.metadata.resourceVersion,
        labels: { 'ovn.kubernetes.io/subnet': h.subnet, 'ovn.kubernetes.io/ip_reserved': '' },
        finalizers: [...new Set([...(vip.metadata.finalizers ?? []), 'kubeovn.io/kube-ovn-controller'])],
      },
      spec: { v4ip, macAddress: mac },
    },
  )) as unknown as Vip;
}

const reconcile = async (o: Vip | Pod, action: 'add' | 'update' = 'add') =>
  createDispatch(deps)(eventOf(o, action));
const condition = (v: Vip | undefined) => v?.status?.conditions?.find((c) => c.type === 'Ready');

describe('beside kube-ovn-controller', () => {
  it('hands out dynamic Vip addresses only from the declared range, and leaves the Subnet status to kube-ovn', async () => {
    const status = (await h.admin.getSubnet(h.subnet))!.status;
    expect(await reconcile(await createVip('bk-dyn'))).toMatchObject({ status: 'done' });
    const vip = (await h.admin.getVip('bk-dyn'))!;
    expect(vip.status?.v4ip).toBe('10.78.0.200');
    expect(condition(vip)?.status).toBe('True');
    // Past the refresher's coalescing delay: nothing wrote the Subnet's status.
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.admin.getSubnet(h.subnet))!.status).toEqual(status);
  });

  it("refuses an address of kube-ovn's part that slipped past admission, and gives its own reservation back", async () => {
    const created = await createVip('bk-race');
    // Our pass reserved first (the Vip's status not written yet) ...
    const ours = await h.ports.allocator.allocate({ subnet: h.subnet, owner: 'vip/bk-race' });
    expect(ours.v4).toBe('10.78.0.201');
    // ... then kube-ovn's guarded update landed with its own address (no webhook stopped it).
    await kubeOvnWrites('bk-race', '10.78.0.9', '00:00:00:aa:bb:cc');
    expect(await reconcile(created)).toMatchObject({ status: 'done' });
    const vip = (await h.admin.getVip('bk-race'))!;
    expect(condition(vip)).toMatchObject({ status: 'False', reason: 'AddressOwnedByKubeOvn' });
    expect(vip.status?.v4ip ?? '').toBe('');
    expect(await h.ports.allocator.get(h.subnet, 'vip/bk-race')).toBeUndefined();
    // 10.78.0.201 is free again (released addresses are handed out last, so ask for it).
    expect(await reconcile(await createVip('bk-next', { v4ip: '10.78.0.201' }))).toMatchObject({
      status: 'done',
    });
    expect((await h.admin.getVip('bk-next'))!.status?.v4ip).toBe('10.78.0.201');
  });

  it("never reserves a fixed address of kube-ovn's part", async () => {
    expect(await reconcile(await createVip('bk-theirs', { v4ip: '10.78.0.20' }))).toMatchObject({
      status: 'done',
    });
    const vip = (await h.admin.getVip('bk-theirs'))!;
    expect(condition(vip)).toMatchObject({ status: 'False', reason: 'AddressOwnedByKubeOvn' });
    expect(condition(vip)?.message).toMatch(/10.78.0.20 is outside this system's Vip range/);
    expect(await h.ports.allocator.get(h.subnet, 'vip/bk-theirs')).toBeUndefined();
    // Inside the range a fixed address is ours.
    expect(await reconcile(await createVip('bk-mine', { v4ip: '10.78.0.209' }))).toMatchObject({
      status: 'done',
    });
    expect((await h.admin.getVip('bk-mine'))!.status?.v4ip).toBe('10.78.0.209');
  });

  it('refuses Vips in a Subnet that declares no range, or one kube-ovn could hand out', async () => {
    await h.admin.patch(
      'Subnet',
      { name: h.subnet },
      { spec: { excludeIps: ['10.78.0.1', '10.78.0.200..10.78.0.205'] } },
    );
    try {
      // Registration (a Subnet event) refuses the range kube-ovn could still hand to pods.
      await createDispatch(deps)({
        action: 'update',
        mode: 'resource',
        ref: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', name: h.subnet },
        object: (await h.admin.getSubnet(h.subnet)) as never,
        id: 'subnet-1',
        time: '',
        source: 'test',
      });
      expect(await reconcile(await createVip('bk-norange'))).toMatchObject({ status: 'done' });
      const vip = (await h.admin.getVip('bk-norange'))!;
      expect(condition(vip)).toMatchObject({ status: 'False', reason: 'SubnetNotReady' });
      expect(condition(vip)?.message).toMatch(/not inside the Subnet's excludeIps/);
      expect(await h.ports.allocator.get(h.subnet, 'vip/bk-norange')).toBeUndefined();
    } finally {
      await h.admin.patch(
        'Subnet',
        { name: h.subnet },
        { spec: { excludeIps: ['10.78.0.1', '10.78.0.200..10.78.0.250'] } },
      );
    }
  });

  it('leaves pods to kube-ovn: no address, no annotation, no port', async () => {
    const pod = (await h.admin.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bk-pod', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    })) as unknown as Pod;
    expect(await reconcile(pod)).toEqual({ status: 'done' });
    const after = (await h.admin.getPod('default', 'bk-pod'))!;
    expect(after.metadata.annotations?.['ovn.kubernetes.io/allocated']).toBeUndefined();
    expect(await h.ports.allocator.get(h.subnet, 'pod/bk-pod.default')).toBeUndefined();
  });
});
