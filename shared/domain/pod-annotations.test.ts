import { describe, expect, it } from 'vitest';
import {
  annotationsPatch,
  desiredNicAnnotations,
  joinAddresses,
  lspAddresses,
  readPodAnnotations,
} from './pod-annotations.ts';

const res = {
  subnet: 'ovn-default',
  v4: '10.16.0.7',
  mac: '00:00:00:E2:AB:0C',
  cidrBlock: '10.16.0.0/16',
  gateway: '10.16.0.1',
};

describe('pod annotations', () => {
  it('writes the kube-ovn primary annotations', () => {
    expect(desiredNicAnnotations('ovn', res)).toEqual({
      'ovn.kubernetes.io/allocated': 'true',
      'ovn.kubernetes.io/ip_address': '10.16.0.7',
      'ovn.kubernetes.io/mac_address': '00:00:00:E2:AB:0C',
      'ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
    });
  });
  it('uses the provider prefix and v4,v6 for dual stack', () => {
    const a = desiredNicAnnotations('net1.default.ovn', { ...res, v6: 'fd00::7' });
    expect(a['net1.default.ovn.kubernetes.io/ip_address']).toBe('10.16.0.7,fd00::7');
    expect(Object.keys(a).every((k) => k.startsWith('net1.default.ovn.kubernetes.io/'))).toBe(true);
    expect(joinAddresses(undefined, 'fd00::7')).toBe('fd00::7');
    expect(lspAddresses('00:00:00:E2:AB:0C', '10.16.0.7', 'fd00::7')).toBe(
      '00:00:00:E2:AB:0C 10.16.0.7 fd00::7',
    );
    expect(lspAddresses('00:00:00:E2:AB:0C', undefined, 'fd00::7')).toBe('00:00:00:E2:AB:0C fd00::7');
  });
  it('reads back what it wrote', () => {
    const pod = {
      metadata: {
        name: 'p',
        namespace: 'd',
        annotations: desiredNicAnnotations('ovn', { ...res, v6: 'FD00::7' }),
      },
    };
    expect(readPodAnnotations(pod)).toEqual({
      allocated: true,
      ipAddress: '10.16.0.7,FD00::7',
      v4: '10.16.0.7',
      v6: 'fd00::7',
      mac: '00:00:00:E2:AB:0C',
      cidr: '10.16.0.0/16',
      gateway: '10.16.0.1',
      logicalSwitch: 'ovn-default',
    });
    expect(readPodAnnotations({ metadata: { name: 'p' } })).toEqual({ allocated: false });
    expect(readPodAnnotations(pod, 'net1.default.ovn')).toEqual({ allocated: false });
  });
  it('computes a minimal patch', () => {
    const want = desiredNicAnnotations('ovn', res);
    expect(annotationsPatch(want, want)).toBeUndefined();
    expect(annotationsPatch({ ...want, other: 'x' }, want)).toBeUndefined();
    expect(annotationsPatch({ ...want, 'ovn.kubernetes.io/ip_address': '10.16.0.8' }, want)).toEqual({
      'ovn.kubernetes.io/ip_address': '10.16.0.7',
    });
    expect(Object.keys(annotationsPatch(undefined, want) ?? {})).toHaveLength(6);
  });
});
