// A Subnet's lifecycle against the development API server, the run's Redis and OVN NB: its
// finalizer holds a deletion while Vips or pods use it (Ready=False SubnetInUse naming them);
// an unused one loses its logical switch, the SwitchLBRule load balancers on it and every Redis
// key, then the finalizer. excludeIps and gateway changes of a live Subnet are applied safely:
// holders keep their addresses, counts stay exact, and a new gateway someone holds is refused.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Condition, Pod, SubnetResource, Vip } from '../../shared/domain/types.ts';
import { reconcilePod } from '../../shared/reconcile/pod.ts';
import { reconcileSubnet, refreshSubnetStatus } from '../../shared/reconcile/subnet.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;
let redis: Redis;
const FINALIZER = 'kubeovn.io/kube-ovn-controller';

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.81.0.0/24', gateway: '10.81.0.1' });
  redis = new Redis(inject('redisUrl'));
});

afterAll(async () => {
  redis?.disconnect();
  await h?.stop();
});

async function createSubnet(name: string, spec: Record<string, unknown>): Promise<void> {
  await h.admin.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name },
    spec: { protocol: 'IPv4', namespaces: [], ...spec },
  });
  await reconcileSubnet(h.deps, name);
}

async function readyVip(name: string, subnet: string, spec: Record<string, unknown> = {}): Promise<Vip> {
  await h.admin.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet, ...spec },
  });
  await reconcileVip(h.deps, name);
  return (await h.admin.getVip(name))!;
}

async function allocatedPod(name: string, subnet: string): Promise<Pod> {
  await h.admin.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', annotations: { 'ovn.kubernetes.io/logical_switch': subnet } },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  });
  await reconcilePod(h.deps, 'default', name);
  return (await h.admin.getPod('default', name))!;
}

const subnet = (name: string) => h.admin.getSubnet(name) as Promise<SubnetResource | undefined>;
const ready = async (name: string) =>
  ((await subnet(name))?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
const redisKeys = (name: string) => redis.keys(`{ipam:${name}}*`);
const macHolders = async (name: string) =>
  Object.keys(await redis.hgetall('{ipam-mac}:map')).filter((k) => k.startsWith(`h:${name}/`));

async function deleteVip(name: string) {
  await h.admin.delete('Vip', { name });
  await reconcileVip(h.deps, name);
}

describe('deleting a Subnet', () => {
  it('is held by the finalizer while Vips and pods use it, then removes everything of it', async () => {
    await createSubnet('del-used', { cidrBlock: '10.81.1.0/24', gateway: '10.81.1.1' });
    expect((await subnet('del-used'))?.metadata.finalizers).toEqual([FINALIZER]);
    const vip = await readyVip('del-vip-a', 'del-used');
    await readyVip('del-vip-b', 'del-used');
    const pod = await allocatedPod('del-pod', 'del-used');
    expect(vip.status?.ready).toBe(true);
    expect(pod.metadata.annotations?.['ovn.kubernetes.io/allocated']).toBe('true');
    // A SwitchLBRule's load balancer on the switch, and one that is not a rule's.
    for (const [lb, ids] of [
      ['slr-del-rule-tcp', { 'switch-lb-rule': 'del-rule', vendor: 'kube-ovn' }],
      ['foreign-lb', { vendor: 'someone-else' }],
    ] as const) {
      await h.ports.nb.ensureLoadBalancer({
        name: lb,
        protocol: 'tcp',
        vips: { '10.81.1.50:80': '' },
        selectionFields: [],
        options: {},
        externalIds: ids as never,
        switchName: 'del-used',
      });
    }
    expect((await h.nbWriter.getLogicalSwitch('del-used'))?.loadBalancers).toHaveLength(2);

    await h.admin.delete('Subnet', { name: 'del-used' });
    await reconcileSubnet(h.deps, 'del-used');
    const held = await subnet('del-used');
    expect(held?.metadata.deletionTimestamp).toBeTruthy();
    expect(await ready('del-used')).toMatchObject({
      status: 'False',
      reason: 'SubnetInUse',
      message:
        'subnet del-used is being deleted but 2 Vips, 1 pod still use it; it is removed once they are gone',
    });
    // Nothing of it removed yet; its users keep working.
    expect(await h.nbWriter.getLogicalSwitch('del-used')).toBeDefined();
    expect((await h.ports.allocator.counts('del-used')).v4UsingIPs).toBe(3);

    // A Vip created meanwhile (the admission webhook refuses it where installed) holds it too.
    await readyVip('del-vip-late', 'del-used');
    await reconcileSubnet(h.deps, 'del-used');
    expect((await ready('del-used'))?.message).toMatch(/but 3 Vips, 1 pod still use it/);
    await deleteVip('del-vip-late');

    await deleteVip('del-vip-a');
    await reconcileSubnet(h.deps, 'del-used');
    expect((await ready('del-used'))?.message).toMatch(/but 1 Vip, 1 pod still use it/);
    await deleteVip('del-vip-b');
    await h.admin.delete('Pod', { namespace: 'default', name: 'del-pod' });
    await reconcilePod(h.deps, 'default', 'del-pod', pod);
    // The last release comes back to the Subnet through the status refresh.
    await refreshSubnetStatus(h.deps, 'del-used');

    expect(await subnet('del-used')).toBeUndefined();
    expect(await redisKeys('del-used')).toEqual([]);
    expect(await macHolders('del-used')).toEqual([]);
    expect(await h.ports.allocator.getSubnet('del-used')).toBeUndefined();
    expect(await h.nbWriter.getLogicalSwitch('del-used')).toBeUndefined();
    expect((await h.nbWriter.listPorts()).filter((p) => p.externalIds.ls === 'del-used')).toEqual([]);
    const lbs = (await h.nbWriter.listLoadBalancers()).map((lb) => lb.name);
    expect(lbs).not.toContain('slr-del-rule-tcp');
    expect(lbs).toContain('foreign-lb');
    await h.ports.nb.deleteLoadBalancer('foreign-lb');
  });

  it('an unused Subnet goes in one reconcile; a Subnet gone without the finalizer is cleaned up too', async () => {
    await createSubnet('del-empty', { cidrBlock: '10.81.2.0/24', gateway: '10.81.2.1' });
    expect((await redisKeys('del-empty')).length).toBeGreaterThan(0);
    await h.admin.delete('Subnet', { name: 'del-empty' });
    await reconcileSubnet(h.deps, 'del-empty');
    expect(await subnet('del-empty')).toBeUndefined();
    expect(await redisKeys('del-empty')).toEqual([]);
    expect(await h.nbWriter.getLogicalSwitch('del-empty')).toBeUndefined();

    await createSubnet('del-bare', { cidrBlock: '10.81.3.0/24', gateway: '10.81.3.1' });
    await h.admin.removeFinalizer('Subnet', 'del-bare', FINALIZER);
    await h.admin.delete('Subnet', { name: 'del-bare' });
    expect(await subnet('del-bare')).toBeUndefined();
    await reconcileSubnet(h.deps, 'del-bare');
    expect(await redisKeys('del-bare')).toEqual([]);
    expect(await h.nbWriter.getLogicalSwitch('del-bare')).toBeUndefined();
  });
});

describe('changing excludeIps or gateway of a live Subnet', () => {
  it('excludeIps over a held address: the holder keeps it, counts stay exact, it is not handed out again', async () => {
    await createSubnet('chg-ex', {
      cidrBlock: '10.81.4.0/24',
      gateway: '10.81.4.1',
      excludeIps: ['10.81.4.1'],
    });
    await readyVip('chg-ex-held', 'chg-ex', { v4ip: '10.81.4.5' });
    const before = await h.ports.allocator.counts('chg-ex');
    expect(before.v4UsingIPs).toBe(1);

    await h.admin.patch(
      'Subnet',
      { name: 'chg-ex' },
      { spec: { excludeIps: ['10.81.4.1', '10.81.4.5..10.81.4.10'] } },
    );
    await reconcileSubnet(h.deps, 'chg-ex');
    expect(await ready('chg-ex')).toMatchObject({ status: 'True' });
    expect((await h.nbWriter.getLogicalSwitch('chg-ex'))?.otherConfig.exclude_ips).toBe(
      '10.81.4.1 10.81.4.5..10.81.4.10',
    );
    const held = (await h.admin.getVip('chg-ex-held'))!;
    expect(held.status?.v4ip).toBe('10.81.4.5');
    expect((await h.ports.allocator.get('chg-ex', 'vip/chg-ex-held'))?.v4).toBe('10.81.4.5');
    const after = await h.ports.allocator.counts('chg-ex');
    // Five free addresses became excluded; the held one was counted as used already.
    expect(after.v4UsingIPs).toBe(1);
    expect(after.v4AvailableIPs).toBe(before.v4AvailableIPs - 5);
    expect((await subnet('chg-ex'))?.status?.v4availableIPs).toBe(after.v4AvailableIPs);
    expect(await h.ports.allocator.audit('chg-ex')).toEqual([]);

    await deleteVip('chg-ex-held');
    const released = await h.ports.allocator.counts('chg-ex');
    expect(released.v4UsingIPs).toBe(0);
    expect(released.v4AvailableIPs).toBe(after.v4AvailableIPs);
    // A fixed address inside excludeIps is allowed (SPEC); it counts as in use, not as available.
    const next = await readyVip('chg-ex-next', 'chg-ex', { v4ip: '10.81.4.5' });
    expect(next.status?.v4ip).toBe('10.81.4.5');
    const fixed = await h.ports.allocator.counts('chg-ex');
    expect(fixed.v4UsingIPs).toBe(1);
    expect(fixed.v4AvailableIPs).toBe(after.v4AvailableIPs);
    // A dynamic one never gets an excluded address.
    const dynamic = await readyVip('chg-ex-dyn', 'chg-ex');
    expect(dynamic.status?.v4ip).toBe('10.81.4.2');
    expect(await h.ports.allocator.audit('chg-ex')).toEqual([]);
  });

  it('a new gateway someone holds is refused with a condition naming the holder; the old one stays in force', async () => {
    await createSubnet('chg-gw', {
      cidrBlock: '10.81.5.0/24',
      gateway: '10.81.5.1',
      excludeIps: ['10.81.5.1'],
    });
    await readyVip('chg-gw-holder', 'chg-gw', { v4ip: '10.81.5.254' });
    const counts = await h.ports.allocator.counts('chg-gw');

    await h.admin.patch('Subnet', { name: 'chg-gw' }, { spec: { gateway: '10.81.5.254' } });
    h.nbCalls.length = 0;
    await reconcileSubnet(h.deps, 'chg-gw');
    // Refused before anything was written: OVN's switch never showed the held gateway.
    expect(h.nbCalls).not.toContain('ensureLogicalSwitch');
    expect(await ready('chg-gw')).toMatchObject({ status: 'False', reason: 'AddressConflict' });
    expect((await ready('chg-gw'))?.message).toMatch(/held by vip\/chg-gw-holder/);
    expect((await h.nbWriter.getLogicalSwitch('chg-gw'))?.otherConfig.gateway).toBe('10.81.5.1');
    expect((await h.ports.allocator.getSubnet('chg-gw'))?.gateway).toBe('10.81.5.1');
    expect(await h.ports.allocator.counts('chg-gw')).toEqual(counts);
    expect((await subnet('chg-gw'))?.status?.v4usingIPs).toBe(1);
    expect((await h.admin.getVip('chg-gw-holder'))?.status?.v4ip).toBe('10.81.5.254');
    // A reservation change refreshes the counts but keeps showing the refusal.
    await readyVip('chg-gw-more', 'chg-gw');
    await refreshSubnetStatus(h.deps, 'chg-gw');
    expect(await ready('chg-gw')).toMatchObject({ status: 'False', reason: 'AddressConflict' });
    expect((await subnet('chg-gw'))?.status?.v4usingIPs).toBe(2);

    // A free new gateway is applied: nobody can take it afterwards.
    await h.admin.patch('Subnet', { name: 'chg-gw' }, { spec: { gateway: '10.81.5.200' } });
    await reconcileSubnet(h.deps, 'chg-gw');
    expect(await ready('chg-gw')).toMatchObject({ status: 'True' });
    expect((await h.nbWriter.getLogicalSwitch('chg-gw'))?.otherConfig.gateway).toBe('10.81.5.200');
    const onGateway = await readyVip('chg-gw-on', 'chg-gw', { v4ip: '10.81.5.200' });
    expect(onGateway.status?.conditions?.[0]?.reason).toBe('AddressConflict');
    expect(await h.ports.allocator.audit('chg-gw')).toEqual([]);
  });
});
