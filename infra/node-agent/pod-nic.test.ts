import { describe, expect, it } from 'vitest';
import type { Pod } from '../../shared/domain/types.ts';
import { hostIfName, planNamespaces, planSecondaries, podNic, secondaryNics } from './pod-nic.ts';

const pod = (annotations: Record<string, string>, extra: Partial<Pod['metadata']> = {}): Pod => ({
  metadata: { name: 'busybox', namespace: 'default', uid: 'u1', annotations, ...extra },
});
const v4 = {
  'ovn.kubernetes.io/allocated': 'true',
  'ovn.kubernetes.io/ip_address': '10.16.0.5',
  'ovn.kubernetes.io/mac_address': '00:00:00:1A:2B:3C',
  'ovn.kubernetes.io/cidr': '10.16.0.0/16',
  'ovn.kubernetes.io/gateway': '10.16.0.1',
  'ovn.kubernetes.io/logical_switch': 'ovn-default',
};

describe('podNic', () => {
  it('reads the handlers’ annotations into the namespace to build', () => {
    expect(podNic(pod(v4), 'ab12')).toMatchObject({
      port: 'busybox.default',
      netns: 'vp-ab12-busybox.default',
      mac: '00:00:00:1A:2B:3C',
      addresses: ['10.16.0.5/16'],
      gateways: ['10.16.0.1'],
      gatewayNetworks: ['10.16.0.1/16'],
      logicalSwitch: 'ovn-default',
    });
  });

  it('handles dual stack, one address and gateway per family', () => {
    const nic = podNic(
      pod({
        ...v4,
        'ovn.kubernetes.io/ip_address': '10.16.0.5,fd00:10:16::5',
        'ovn.kubernetes.io/cidr': '10.16.0.0/16,fd00:10:16::/64',
        'ovn.kubernetes.io/gateway': '10.16.0.1,fd00:10:16::1',
      }),
      'ab12',
    );
    expect(nic?.addresses).toEqual(['10.16.0.5/16', 'fd00:10:16::5/64']);
    expect(nic?.gateways).toEqual(['10.16.0.1', 'fd00:10:16::1']);
  });

  it('builds nothing before the address is given, or once deletion started', () => {
    expect(podNic(pod({}), 'ab12')).toBeUndefined();
    expect(podNic(pod({ ...v4, 'ovn.kubernetes.io/allocated': 'false' }), 'ab12')).toBeUndefined();
    expect(podNic(pod(v4, { deletionTimestamp: '2026-01-01T00:00:00Z' }), 'ab12')).toBeUndefined();
  });

  it('names host veths within IFNAMSIZ, distinct per port', () => {
    const a = hostIfName('ab12', 'a-very-long-pod-name-indeed.some-namespace');
    expect(a.length).toBeLessThanOrEqual(15);
    expect(a).not.toBe(hostIfName('ab12', 'b.default'));
  });
});

describe('planNamespaces', () => {
  it('creates the new, removes the gone, and rebuilds a pod whose address or uid changed', () => {
    const a = podNic(pod(v4), 'x')!;
    const b = podNic(pod(v4, { name: 'b' }), 'x')!;
    const aRecreated = podNic(pod(v4, { uid: 'u2' }), 'x')!;
    const plan = planNamespaces(
      new Map([
        [aRecreated.port, aRecreated],
        [b.port, b],
      ]),
      new Map([[a.port, a]]),
    );
    expect(plan.remove.map((n) => n.fingerprint)).toEqual([a.fingerprint]);
    expect(plan.create.map((n) => n.port).sort()).toEqual(['b.default', 'busybox.default']);
    expect(planNamespaces(new Map([[b.port, b]]), new Map([[b.port, b]]))).toEqual({
      remove: [],
      create: [],
    });
  });
});

/** kube-ovn's annotations of one attachment (`<provider>.kubernetes.io/...`). */
const attachment = (provider: string, ip: string, mac: string, cidr = '172.17.0.0/16') => ({
  [`${provider}.kubernetes.io/allocated`]: 'true',
  [`${provider}.kubernetes.io/ip_address`]: ip,
  [`${provider}.kubernetes.io/mac_address`]: mac,
  [`${provider}.kubernetes.io/cidr`]: cidr,
  [`${provider}.kubernetes.io/gateway`]: '172.17.0.1',
  [`${provider}.kubernetes.io/logical_switch`]: `sub-${provider.split('.')[0]}`,
});
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';

describe('secondaryNics', () => {
  it('wires each OVN attachment as net<position>, bound to <pod>.<ns>.<provider>, its own subnet only', () => {
    const nic = podNic(
      pod({
        ...v4,
        [NETWORKS]: 'att1, other/att2',
        ...attachment('att1.default.ovn', '172.17.0.5', '00:00:00:AA:00:01'),
        ...attachment(
          'att2.other.ovn',
          '172.18.0.5,fd00:18::5',
          '00:00:00:AA:00:02',
          '172.18.0.0/24,fd00:18::/64',
        ),
      }),
      'ab12',
    );
    expect(nic?.secondaries).toEqual([
      expect.objectContaining({
        ifName: 'net1',
        provider: 'att1.default.ovn',
        port: 'busybox.default.att1.default.ovn',
        hostIf: hostIfName('ab12', 'busybox.default.att1.default.ovn'),
        mac: '00:00:00:AA:00:01',
        addresses: ['172.17.0.5/16'],
        logicalSwitch: 'sub-att1',
      }),
      expect.objectContaining({
        ifName: 'net2',
        port: 'busybox.default.att2.other.ovn',
        addresses: ['172.18.0.5/24', 'fd00:18::5/64'],
      }),
    ]);
    // The primary NIC is what it was without attachments.
    expect(nic?.fingerprint).toBe(podNic(pod(v4), 'ab12')?.fingerprint);
  });

  it('uses the interface the annotation asks for, and counts positions as Multus does', () => {
    const p = pod({
      ...v4,
      // att0 is another CNI's network (no OVN annotations): not wired, but it is position 1.
      [NETWORKS]: JSON.stringify([{ name: 'att0' }, { name: 'att1', interface: 'sec0' }, { name: 'att3' }]),
      ...attachment('att1.default.ovn', '172.17.0.5', '00:00:00:AA:00:01'),
      ...attachment('att3.default.ovn', '172.19.0.5', '00:00:00:AA:00:03'),
    });
    expect(secondaryNics(p, 'ab12').map((s) => [s.ifName, s.port])).toEqual([
      ['sec0', 'busybox.default.att1.default.ovn'],
      ['net3', 'busybox.default.att3.default.ovn'],
    ]);
  });

  it('wires no attachment that is unlisted, unallocated, unreadable, or whose name is taken', () => {
    const annotated = { ...v4, ...attachment('att1.default.ovn', '172.17.0.5', '00:00:00:AA:00:01') };
    // Left-over annotations of an attachment no longer listed.
    expect(secondaryNics(pod(annotated), 'x')).toEqual([]);
    expect(
      secondaryNics(
        pod({ ...annotated, [NETWORKS]: 'att1', 'att1.default.ovn.kubernetes.io/allocated': '' }),
        'x',
      ),
    ).toEqual([]);
    expect(secondaryNics(pod({ ...annotated, [NETWORKS]: '[not json' }), 'x')).toEqual([]);
    expect(secondaryNics(pod({ ...annotated, [NETWORKS]: 'att1@eth0' }), 'x')).toEqual([]);
    const twice = {
      ...annotated,
      ...attachment('att2.default.ovn', '172.18.0.5', '00:00:00:AA:00:02'),
      [NETWORKS]: 'att1@sec, att2@sec',
    };
    expect(secondaryNics(pod(twice), 'x').map((s) => s.port)).toEqual(['busybox.default.att1.default.ovn']);
  });
});

describe('planSecondaries', () => {
  const nics = (ann: Record<string, string>) => secondaryNics(pod({ ...v4, ...ann }), 'x');
  const one = attachment('att1.default.ovn', '172.17.0.5', '00:00:00:AA:00:01');
  const two = attachment('att2.default.ovn', '172.18.0.5', '00:00:00:AA:00:02');

  it('adds new attachments, removes dropped ones, rebuilds a changed one, keeps the rest', () => {
    const before = nics({ ...one, ...two, [NETWORKS]: 'att1, att2' });
    expect(planSecondaries(before, before)).toEqual({ remove: [], create: [] });

    const dropped = planSecondaries(nics({ ...one, ...two, [NETWORKS]: 'att1' }), before);
    expect(dropped.remove.map((s) => s.ifName)).toEqual(['net2']);
    expect(dropped.create).toEqual([]);

    const added = planSecondaries(before, []);
    expect(added.create.map((s) => s.ifName)).toEqual(['net1', 'net2']);

    // att1 leaves the list: att2 moves from net2 to net1 and is rebuilt under its new name.
    const moved = planSecondaries(nics({ ...one, ...two, [NETWORKS]: 'att2' }), before);
    expect(moved.remove.map((s) => s.ifName).sort()).toEqual(['net1', 'net2']);
    expect(moved.create.map((s) => [s.ifName, s.port])).toEqual([
      ['net1', 'busybox.default.att2.default.ovn'],
    ]);

    const readdressed = nics({
      ...one,
      ...two,
      'att1.default.ovn.kubernetes.io/ip_address': '172.17.0.9',
      [NETWORKS]: 'att1, att2',
    });
    const change = planSecondaries(readdressed, before);
    expect(change.remove.map((s) => s.addresses)).toEqual([['172.17.0.5/16']]);
    expect(change.create.map((s) => s.addresses)).toEqual([['172.17.0.9/16']]);
  });
});
