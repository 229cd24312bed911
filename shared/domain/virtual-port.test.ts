import { describe, expect, it } from 'vitest';
import { desiredVirtualPorts, virtualPortNames, virtualPortOptions } from './virtual-port.ts';

const aap = {
  name: 'aap-vip',
  subnet: 'ovn-default',
  type: '' as const,
  namespace: 'default',
  v4: '10.16.0.100',
};

describe('virtual ports', () => {
  it('matches the seed row for an AAP Vip', () => {
    const rows = desiredVirtualPorts(aap, ['busybox.default']);
    expect(rows).toEqual([
      {
        name: 'aap-vip',
        switchName: 'ovn-default',
        virtualIp: '10.16.0.100',
        parents: ['busybox.default'],
        externalIds: { ls: 'ovn-default', vendor: 'kube-ovn' },
      },
    ]);
    expect(virtualPortOptions(rows[0]!)).toEqual({
      'virtual-ip': '10.16.0.100',
      'virtual-parents': 'busybox.default',
    });
  });
  it('has no rows for reservations, switch_lb_vip, or before assignment', () => {
    expect(desiredVirtualPorts({ ...aap, namespace: undefined }, [])).toEqual([]);
    expect(desiredVirtualPorts({ ...aap, namespace: undefined, type: 'switch_lb_vip' }, [])).toEqual([]);
    expect(desiredVirtualPorts({ ...aap, v4: undefined }, [])).toEqual([]);
  });
  it('splits dual stack into one port per family, single v6 uses the plain name', () => {
    const rows = desiredVirtualPorts({ ...aap, v6: 'fd00::100' }, ['b.default', 'a.default', 'a.default']);
    expect(rows.map((r) => [r.name, r.virtualIp, r.parents.join(',')])).toEqual([
      ['aap-vip', '10.16.0.100', 'a.default,b.default'],
      ['aap-vip_v6', 'fd00::100', 'a.default,b.default'],
    ]);
    expect(desiredVirtualPorts({ ...aap, v4: undefined, v6: 'fd00::100' }, []).map((r) => r.name)).toEqual([
      'aap-vip',
    ]);
    expect(virtualPortNames('aap-vip')).toEqual(['aap-vip', 'aap-vip_v6']);
  });
  it('omits virtual-parents with no parents', () => {
    expect(virtualPortOptions(desiredVirtualPorts(aap, [])[0]!)).toEqual({ 'virtual-ip': '10.16.0.100' });
  });
});
