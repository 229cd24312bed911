import { describe, expect, it } from 'vitest';
import type { Pod } from '../../shared/domain/types.ts';
import { hostIfName, planNamespaces, podNic } from './pod-nic.ts';

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
