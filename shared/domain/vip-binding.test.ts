import { describe, expect, it } from 'vitest';
import { Reason } from './errors.ts';
import type { Pod, StatefulSet, Vip } from './types.ts';
import {
  decideVipBinding,
  keepBindingAfterPodDelete,
  keepOrphanBinding,
  podVipName,
  portOwnerHint,
  statefulSetReleases,
  vipReservedBy,
} from './vip-binding.ts';
import { isStatefulSetPod, statefulSetOf } from './workload.ts';

const readyVip = (labels: Record<string, string> = {}, extra: Partial<Vip> = {}): Vip => ({
  metadata: { name: 'pod-use-vip', labels: { 'ovn.kubernetes.io/subnet': 'ovn-default', ...labels } },
  spec: { subnet: 'ovn-default', type: '' },
  status: { ready: true, v4ip: '10.16.0.20', mac: '00:00:00:AA:BB:CC', type: '' },
  ...extra,
});
const input = (vip: Vip | undefined, podPort = 'static-ip.default') => ({
  podPort,
  vipName: 'pod-use-vip',
  vip,
});

describe('decideVipBinding', () => {
  it('binds a free Vip, or one this port already holds', () => {
    expect(decideVipBinding(input(readyVip()))).toEqual({
      action: 'bind',
      vip: 'pod-use-vip',
      subnet: 'ovn-default',
      v4: '10.16.0.20',
      mac: '00:00:00:AA:BB:CC',
    });
    expect(decideVipBinding(input(readyVip({ 'ovn.kubernetes.io/ip_reserved': '' }))).action).toBe('bind');
    expect(
      decideVipBinding(input(readyVip({ 'ovn.kubernetes.io/ip_reserved': 'static-ip.default' }))).action,
    ).toBe('bind');
  });
  it('names the holder on conflict', () => {
    expect(decideVipBinding(input(readyVip({ 'ovn.kubernetes.io/ip_reserved': 'other.default' })))).toEqual({
      action: 'conflict',
      reason: Reason.VipInUse,
      holder: 'other.default',
      message: expect.stringContaining('other.default'),
    });
  });
  it('waits for a missing, unready or deleting Vip', () => {
    expect(decideVipBinding(input(undefined))).toMatchObject({ action: 'wait', reason: Reason.VipNotFound });
    expect(decideVipBinding(input(readyVip({}, { status: { ready: false } })))).toMatchObject({
      action: 'wait',
      reason: Reason.VipNotReady,
    });
    const deleting = readyVip();
    deleting.metadata.deletionTimestamp = 'now';
    expect(decideVipBinding(input(deleting)).action).toBe('wait');
  });
  it('refuses switch_lb_vip, AAP Vips and another subnet', () => {
    expect(
      decideVipBinding(input(readyVip({}, { spec: { subnet: 'ovn-default', type: 'switch_lb_vip' } }))),
    ).toMatchObject({ action: 'refuse', reason: Reason.InvalidType });
    expect(
      decideVipBinding(input(readyVip({}, { spec: { subnet: 'ovn-default', namespace: 'default' } }))).action,
    ).toBe('refuse');
    expect(decideVipBinding({ ...input(readyVip()), podSubnet: 'other' })).toMatchObject({
      action: 'refuse',
      reason: Reason.AddressOutOfRange,
    });
    expect(decideVipBinding({ ...input(readyVip()), podSubnet: 'ovn-default' }).action).toBe('bind');
  });
  it('reads the annotation and the label', () => {
    expect(
      podVipName({ metadata: { name: 'p', annotations: { 'ovn.kubernetes.io/vip': ' pod-use-vip ' } } }),
    ).toBe('pod-use-vip');
    expect(podVipName({ metadata: { name: 'p' } })).toBeUndefined();
    expect(vipReservedBy(readyVip({ 'ovn.kubernetes.io/ip_reserved': '' }))).toBeUndefined();
  });
});

const stsPod = (name: string): Pod => ({
  metadata: { name, namespace: 'default', ownerReferences: [{ kind: 'StatefulSet', name: 'web' }] },
});
const sts = (replicas: number | undefined, deleting = false): StatefulSet => ({
  metadata: { name: 'web', namespace: 'default', ...(deleting ? { deletionTimestamp: 'now' } : {}) },
  spec: replicas === undefined ? {} : { replicas },
});

describe('keep rules', () => {
  it('recognises StatefulSet pods and their ordinal', () => {
    expect(statefulSetOf(stsPod('web-2'))).toEqual({ statefulSet: 'web', ordinal: 2 });
    expect(isStatefulSetPod(stsPod('web-x'))).toBe(false);
    expect(isStatefulSetPod(stsPod('web-01'))).toBe(false);
    expect(isStatefulSetPod({ metadata: { name: 'web-0' } })).toBe(false);
  });
  it('keeps a StatefulSet pod binding while the ordinal is in range', () => {
    expect(keepBindingAfterPodDelete(stsPod('web-1'), sts(2))).toBe(true);
    expect(keepBindingAfterPodDelete(stsPod('web-2'), sts(2))).toBe(false);
    expect(keepBindingAfterPodDelete(stsPod('web-0'), sts(undefined))).toBe(true);
    expect(keepBindingAfterPodDelete(stsPod('web-0'), sts(3, true))).toBe(false);
    expect(keepBindingAfterPodDelete(stsPod('web-0'), undefined)).toBe(false);
  });
  it('keeps a VM pod binding while the VM exists and keepVmIp is on', () => {
    const vmPod: Pod = {
      metadata: {
        name: 'virt-launcher-vm1-x',
        namespace: 'default',
        labels: { 'vm.kubevirt.io/name': 'vm1' },
      },
    };
    const vm = { metadata: { name: 'vm1', namespace: 'default' } };
    expect(keepBindingAfterPodDelete(vmPod, vm)).toBe(true);
    expect(keepBindingAfterPodDelete(vmPod, vm, { keepVmIp: false })).toBe(false);
    expect(keepBindingAfterPodDelete(vmPod, undefined)).toBe(false);
    expect(keepBindingAfterPodDelete(vmPod, { metadata: { name: 'vm1', deletionTimestamp: 'now' } })).toBe(
      false,
    );
  });
  it('releases plain pods', () => {
    expect(
      keepBindingAfterPodDelete({ metadata: { name: 'static-ip', namespace: 'default' } }, undefined),
    ).toBe(false);
  });
  it('decides orphan bindings from the port name', () => {
    expect(portOwnerHint('web-1.default')).toEqual({
      name: 'web-1',
      namespace: 'default',
      vmName: 'web-1',
      statefulSet: { name: 'web', ordinal: 1 },
    });
    expect(portOwnerHint('a.b.c')).toMatchObject({ name: 'a.b', namespace: 'c' });
    expect(portOwnerHint('nodot')).toBeUndefined();
    expect(keepOrphanBinding('web-1.default', { statefulSet: sts(2) })).toBe(true);
    expect(keepOrphanBinding('web-1.default', { statefulSet: sts(1) })).toBe(false);
    expect(keepOrphanBinding('web-1.other', { statefulSet: sts(2) })).toBe(false);
    expect(
      keepOrphanBinding('vm1.default', { vm: { metadata: { name: 'vm1', namespace: 'default' } } }),
    ).toBe(true);
    expect(keepOrphanBinding('vm1.default', {})).toBe(false);
  });
  it('lists bindings to release when a StatefulSet scales down or goes', () => {
    const ports = ['web-0.default', 'web-1.default', 'web-2.default', 'web-2.other', 'api-0.default'];
    expect(statefulSetReleases('web', 'default', sts(1), ports)).toEqual(['web-1.default', 'web-2.default']);
    expect(statefulSetReleases('web', 'default', undefined, ports)).toEqual([
      'web-0.default',
      'web-1.default',
      'web-2.default',
    ]);
    expect(statefulSetReleases('web', 'default', sts(5), ports)).toEqual([]);
  });
});
