import { describe, expect, it } from 'vitest';
import { ipObjectHolds } from './adopt.ts';
import type { KubeOvnIp } from './types.ts';
import { macAsShown, sameMac } from './vip-status.ts';

const ip = (name: string, spec: KubeOvnIp['spec'], deleting = false): KubeOvnIp => ({
  metadata: { name, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec,
});

describe('ipObjectHolds', () => {
  const objects = [
    ip('web-0.default', {
      namespace: 'default',
      subnet: 'a',
      v4IpAddress: '10.0.0.2',
      macAddress: 'aa:00:00:00:00:02',
      podType: 'StatefulSet',
    }),
    ip('vm1.default', {
      namespace: 'default',
      subnet: 'a',
      ipAddress: '10.0.0.3,fd00::3',
      podType: 'VirtualMachine',
    }),
    ip('node-n1', { subnet: 'a', ipAddress: '10.0.0.4', macAddress: 'aa:00:00:00:00:04' }),
    ip('plain.default', { namespace: 'default', subnet: 'a', ipAddress: '10.0.0.5', podType: '' }),
    ip('web-1.default', { namespace: 'default', subnet: 'a', ipAddress: '10.0.0.6', podType: 'StatefulSet' }),
    ip('web-2.default', { namespace: 'default', subnet: 'b', ipAddress: '10.1.0.2', podType: 'StatefulSet' }),
    ip(
      'gone.default',
      { namespace: 'default', subnet: 'a', ipAddress: '10.0.0.7', podType: 'StatefulSet' },
      true,
    ),
    ip('bad.default', { namespace: 'default', subnet: 'a', ipAddress: 'not-an-ip', podType: 'StatefulSet' }),
  ];

  it('keeps what only an IP object records: absent StatefulSet pods, VMs and nodes of the subnet', () => {
    expect(ipObjectHolds('a', objects, new Set(['web-1.default']))).toEqual([
      { name: 'node-n1', v4: '10.0.0.4', mac: 'aa:00:00:00:00:04' },
      { name: 'vm1.default', v4: '10.0.0.3', v6: 'fd00::3' },
      { name: 'web-0.default', v4: '10.0.0.2', mac: 'aa:00:00:00:00:02' },
    ]);
  });

  it('leaves a live pod’s port to the pod (its annotations), and other subnets alone', () => {
    const names = ipObjectHolds('a', objects, new Set(['web-0.default', 'vm1.default'])).map((h) => h.name);
    expect(names).toEqual(['node-n1', 'web-1.default']);
    expect(ipObjectHolds('b', objects, new Set()).map((h) => h.name)).toEqual(['web-2.default']);
  });
});

describe('MAC spelling', () => {
  it('keeps the spelling an object shows when only the letter case differs', () => {
    expect(sameMac('AA:00:00:00:00:01', 'aa:00:00:00:00:01')).toBe(true);
    expect(macAsShown('AA:00:00:00:00:01', 'aa:00:00:00:00:01')).toBe('aa:00:00:00:00:01');
    expect(macAsShown('AA:00:00:00:00:01', 'aa:00:00:00:00:02')).toBe('AA:00:00:00:00:01');
    expect(macAsShown('AA:00:00:00:00:01', undefined)).toBe('AA:00:00:00:00:01');
  });
});
