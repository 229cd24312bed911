import { describe, expect, it } from 'vitest';
import {
  apiOwnerName,
  kubernetesOwner,
  manualOwner,
  namesKubernetesOwner,
  ownerSide,
  storedOwnerOf,
} from './ownership.ts';

describe('owner namespaces', () => {
  it('manual owners live under manual/, shown without it', () => {
    expect(manualOwner('lb/web')).toBe('manual/lb/web');
    expect(ownerSide('manual/lb/web')).toBe('manual');
    expect(apiOwnerName('manual/lb/web')).toBe('lb/web');
    // a manual name that itself starts with manual/ round-trips
    expect(apiOwnerName(manualOwner('manual/x'))).toBe('manual/x');
  });

  it('every other stored owner is the Kubernetes side, known kind or not', () => {
    expect(kubernetesOwner('vip', 'a')).toBe('vip/a');
    expect(kubernetesOwner('pod', 'p.default')).toBe('pod/p.default');
    for (const o of ['vip/a', 'pod/p.default', 'ippool/x', 'lb/web', 'manualx'])
      expect(ownerSide(o)).toBe('kubernetes');
    expect(apiOwnerName('vip/a')).toBe('vip/a');
  });

  it('a manual write can never produce a key outside the manual namespace', () => {
    for (const name of ['vip/a', 'pod/p.default', '../vip/a', '', 'future/x'])
      expect(ownerSide(manualOwner(name))).toBe('manual');
  });

  it('API names: Kubernetes-looking ones read the Kubernetes owner, the rest the manual one', () => {
    expect(namesKubernetesOwner('vip/a')).toBe(true);
    expect(namesKubernetesOwner('pod/x.y')).toBe(true);
    expect(namesKubernetesOwner('vipx/a')).toBe(false);
    expect(namesKubernetesOwner('lb/web')).toBe(false);
    expect(storedOwnerOf('vip/a')).toBe('vip/a');
    expect(storedOwnerOf('lb/web')).toBe('manual/lb/web');
  });
});
