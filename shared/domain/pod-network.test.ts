import { describe, expect, it } from 'vitest';
import { Reason } from './errors.ts';
import { nicOnSubnet, parseNetworksAnnotation, podNics, primarySubnet } from './pod-network.ts';
import type { Pod } from './types.ts';

const subnets = [
  { name: 'ovn-default', default: true },
  { name: 'team-a', namespaces: ['a'] },
  { name: 'team-a2', namespaces: ['a'] },
  { name: 'net1-sub', provider: 'net1.default.ovn' },
];
const pod = (name: string, namespace: string, annotations: Record<string, string> = {}): Pod => ({
  metadata: { name, namespace, annotations },
});

describe('primarySubnet', () => {
  it('prefers the annotation, then a namespace-bound subnet, then the default', () => {
    expect(primarySubnet(pod('p', 'x', { 'ovn.kubernetes.io/logical_switch': 'custom' }), subnets)).toEqual({
      ok: true,
      value: 'custom',
    });
    expect(primarySubnet(pod('p', 'a'), subnets)).toEqual({ ok: true, value: 'team-a' });
    expect(primarySubnet(pod('p', 'default'), subnets)).toEqual({ ok: true, value: 'ovn-default' });
  });
  it('fails clearly without any candidate', () => {
    const r = primarySubnet(pod('p', 'x'), [
      { name: 'net1-sub', provider: 'net1.default.ovn', default: true },
    ]);
    expect(r.ok ? null : r.error.reason).toBe(Reason.SubnetNotFound);
  });
});

describe('parseNetworksAnnotation', () => {
  it('parses the comma forms', () => {
    expect(parseNetworksAnnotation('net1, other/net2@eth2 ,net3@eth3', 'default')).toEqual({
      ok: true,
      value: [
        { name: 'net1', namespace: 'default' },
        { name: 'net2', namespace: 'other', interface: 'eth2' },
        { name: 'net3', namespace: 'default', interface: 'eth3' },
      ],
    });
    expect(parseNetworksAnnotation(undefined, 'default')).toEqual({ ok: true, value: [] });
    expect(parseNetworksAnnotation(' ', 'default')).toEqual({ ok: true, value: [] });
  });
  it('parses the JSON form', () => {
    expect(
      parseNetworksAnnotation('[{"name":"net1"},{"name":"net2","namespace":"o","interface":"eth9"}]', 'ns'),
    ).toEqual({
      ok: true,
      value: [
        { name: 'net1', namespace: 'ns' },
        { name: 'net2', namespace: 'o', interface: 'eth9' },
      ],
    });
  });
  it('refuses malformed input', () => {
    for (const v of ['[', '{"name":"x"}', '[1]', '[{"name":""}]', 'Bad_Name', 'a/b/c', 'net@', 'NS/net']) {
      const r = parseNetworksAnnotation(v, 'default');
      expect(r.ok ? 'ok' : r.error.reason, v).toBe(Reason.InvalidAnnotation);
    }
  });
});

describe('podNics', () => {
  it('gives the primary NIC only when there are no attachments', () => {
    expect(podNics(pod('web', 'default'), subnets)).toEqual({
      ok: true,
      value: [
        {
          portName: 'web.default',
          provider: 'ovn',
          subnet: 'ovn-default',
          annotationPrefix: 'ovn.kubernetes.io',
          primary: true,
        },
      ],
    });
  });
  it('names attachment ports and finds their subnets by annotation or provider', () => {
    const p = pod('web', 'default', {
      'k8s.v1.cni.cncf.io/networks': 'net1@eth1, default/net2',
      'net2.default.ovn.kubernetes.io/logical_switch': 'net2-sub',
    });
    const r = podNics(p, subnets);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.map((n) => [n.portName, n.provider, n.subnet, n.annotationPrefix])).toEqual([
      ['web.default', 'ovn', 'ovn-default', 'ovn.kubernetes.io'],
      ['web.default.net1.default.ovn', 'net1.default.ovn', 'net1-sub', 'net1.default.ovn.kubernetes.io'],
      ['web.default.net2.default.ovn', 'net2.default.ovn', 'net2-sub', 'net2.default.ovn.kubernetes.io'],
    ]);
    expect(r.value[1]?.interface).toBe('eth1');
    expect(nicOnSubnet(r.value, 'net2-sub')?.portName).toBe('web.default.net2.default.ovn');
    expect(nicOnSubnet(r.value, 'nope')).toBeUndefined();
  });
  it('errors on an attachment without a subnet, or one listed twice', () => {
    const r = podNics(pod('web', 'default', { 'k8s.v1.cni.cncf.io/networks': 'net9' }), subnets);
    expect(r.ok ? null : r.error).toMatchObject({
      reason: Reason.SubnetNotFound,
      message: expect.stringContaining('net9.default.ovn'),
    });
    const twice = podNics(
      pod('web', 'default', { 'k8s.v1.cni.cncf.io/networks': 'net1,default/net1' }),
      subnets,
    );
    expect(twice.ok ? null : twice.error.reason).toBe(Reason.InvalidAnnotation);
  });
  it('gives host-network pods no NICs', () => {
    expect(podNics({ ...pod('h', 'default'), spec: { hostNetwork: true } }, subnets)).toEqual({
      ok: true,
      value: [],
    });
  });
});

describe('VM pods', () => {
  const vmPod: Pod = {
    metadata: {
      name: 'virt-launcher-vm1-abcde',
      namespace: 'default',
      ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name: 'vm1' }],
    },
  };
  it('names ports after the VM with keepVmIp (default), after the pod without', () => {
    const on = podNics(vmPod, subnets);
    expect(on.ok && on.value[0]?.portName).toBe('vm1.default');
    const off = podNics(vmPod, subnets, { keepVmIp: false });
    expect(off.ok && off.value[0]?.portName).toBe('virt-launcher-vm1-abcde.default');
    const byLabel = podNics(
      {
        metadata: { name: 'virt-launcher-x', namespace: 'default', labels: { 'vm.kubevirt.io/name': 'vm2' } },
      },
      subnets,
    );
    expect(byLabel.ok && byLabel.value[0]?.portName).toBe('vm2.default');
  });
});
