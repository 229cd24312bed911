import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parentVipAddresses, portSecurity } from './port-security.ts';
import type { Pod, Vip } from './types.ts';

const subnets = [
  { name: 'ovn-default', default: true },
  { name: 'net1-sub', provider: 'net1.default.ovn' },
];
const MAC = '00:00:00:00:10:11';

const pod = (
  name: string,
  opts: {
    ns?: string;
    labels?: Record<string, string>;
    aaps?: string;
    deleting?: boolean;
    networks?: string;
  } = {},
): Pod => ({
  metadata: {
    name,
    namespace: opts.ns ?? 'default',
    labels: opts.labels ?? { app: 'aap1' },
    annotations: {
      ...(opts.aaps !== undefined ? { 'ovn.kubernetes.io/aaps': opts.aaps } : {}),
      ...(opts.networks ? { 'k8s.v1.cni.cncf.io/networks': opts.networks } : {}),
    },
    ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
  },
});

const vip = (
  name: string,
  opts: {
    subnet?: string;
    namespace?: string;
    selector?: string[];
    v4?: string;
    v6?: string;
    deleting?: boolean;
    type?: string;
  } = {},
): Vip => {
  const subnet = opts.subnet ?? 'ovn-default';
  return {
    metadata: {
      name,
      labels: { 'ovn.kubernetes.io/subnet': subnet },
      ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: {
      subnet,
      ...(opts.type ? { type: opts.type } : {}),
      ...(opts.namespace !== '' ? { namespace: opts.namespace ?? 'default' } : {}),
      selector: opts.selector ?? ['app: aap1'],
    },
    status: {
      ...(opts.v4 !== '' ? { v4ip: opts.v4 ?? '10.16.0.100' } : {}),
      ...(opts.v6 ? { v6ip: opts.v6 } : {}),
      mac: '00:00:00:AA:BB:CC',
    },
  };
};

describe('portSecurity', () => {
  it('is the port own MAC and addresses, then the Vip addresses sorted, without duplicates', () => {
    expect(portSecurity({ mac: MAC, ips: ['10.16.0.11'] }, [])).toBe(`${MAC} 10.16.0.11`);
    expect(
      portSecurity({ mac: MAC, ips: ['10.16.0.11', 'fd00::b'] }, [
        'fd00::100',
        '10.16.0.100',
        '10.16.0.9',
        '10.16.0.100',
        '10.16.0.11',
      ]),
    ).toBe(`${MAC} 10.16.0.11 fd00::b 10.16.0.9 10.16.0.100 fd00::100`);
  });

  it('property: the order of the Vip addresses never changes the value', () => {
    const addr = fc.oneof(
      fc.ipV4(),
      fc.integer({ min: 0, max: 0xffff }).map((n) => `fd00::${n.toString(16)}`),
    );
    fc.assert(
      fc.property(fc.array(addr, { maxLength: 6 }), (vips) => {
        const a = portSecurity({ mac: MAC, ips: ['10.16.0.11'] }, vips);
        const b = portSecurity({ mac: MAC, ips: ['10.16.0.11'] }, [...vips].reverse());
        const tokens = a.split(' ');
        return a === b && tokens[0] === MAC && new Set(tokens).size === tokens.length;
      }),
    );
  });
});

describe('parentVipAddresses', () => {
  const port = 'busybox.default';
  it('lists the addresses (both families) of the AAP Vips the port is a parent of', () => {
    const p = pod('busybox', { aaps: 'a, b' });
    const vips = [vip('b', { v4: '10.16.0.200', v6: 'fd00::200' }), vip('a', { v4: '10.16.0.100' })];
    expect(parentVipAddresses(p, port, vips, subnets)).toEqual(['10.16.0.100', '10.16.0.200', 'fd00::200']);
  });

  it('follows the parent rule: asked for, same namespace, selector, not being deleted', () => {
    const vips = [vip('a')];
    expect(parentVipAddresses(pod('busybox'), port, vips, subnets)).toEqual([]);
    expect(
      parentVipAddresses(pod('busybox', { aaps: 'a', labels: { app: 'x' } }), port, vips, subnets),
    ).toEqual([]);
    expect(
      parentVipAddresses(pod('busybox', { aaps: 'a', ns: 'other' }), 'busybox.other', vips, subnets),
    ).toEqual([]);
    expect(parentVipAddresses(pod('busybox', { aaps: 'a', deleting: true }), port, vips, subnets)).toEqual(
      [],
    );
    expect(parentVipAddresses(pod('busybox', { aaps: 'a' }), port, vips, subnets)).toEqual(['10.16.0.100']);
  });

  it('counts a Vip only while it has an address, a valid AAP spec and is not being deleted', () => {
    const p = pod('busybox', { aaps: 'a' });
    expect(parentVipAddresses(p, port, [vip('a', { v4: '' })], subnets)).toEqual([]);
    expect(parentVipAddresses(p, port, [vip('a', { deleting: true })], subnets)).toEqual([]);
    expect(parentVipAddresses(p, port, [vip('a', { namespace: '', selector: [] })], subnets)).toEqual([]);
    expect(parentVipAddresses(p, port, [vip('a', { selector: ['not a selector'] })], subnets)).toEqual([]);
  });

  it('binds the Vip to the NIC on its subnet only', () => {
    const p = pod('busybox', { aaps: 'a,n', networks: 'net1' });
    const vips = [vip('a', { v4: '10.16.0.100' }), vip('n', { subnet: 'net1-sub', v4: '172.17.0.100' })];
    expect(parentVipAddresses(p, port, vips, subnets)).toEqual(['10.16.0.100']);
    expect(parentVipAddresses(p, 'busybox.default.net1.default.ovn', vips, subnets)).toEqual([
      '172.17.0.100',
    ]);
  });
});
