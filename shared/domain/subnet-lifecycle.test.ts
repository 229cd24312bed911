import { describe, expect, it } from 'vitest';
import { inUseMessage, isInUse, SUBNET_FINALIZER, usageOf } from './subnet-lifecycle.ts';

describe('subnet lifecycle decisions', () => {
  it("holds Subnets with kube-ovn's controller finalizer", () => {
    expect(SUBNET_FINALIZER).toBe('kubeovn.io/kube-ovn-controller');
  });

  it('counts users by owner kind', () => {
    const u = usageOf(['vip/a', 'vip/b', 'pod/p1.default', 'manual-x']);
    expect(u).toEqual({ vips: 2, pods: 1, other: 1 });
    expect(isInUse(u)).toBe(true);
    expect(isInUse(usageOf([]))).toBe(false);
  });

  it('names how many Vips and pods still use the subnet', () => {
    expect(inUseMessage('s1', { vips: 2, pods: 1, other: 0 })).toBe(
      'subnet s1 is being deleted but 2 Vips, 1 pod still use it; it is removed once they are gone',
    );
    expect(inUseMessage('s1', { vips: 1, pods: 0, other: 0 })).toBe(
      'subnet s1 is being deleted but 1 Vip still uses it; it is removed once they are gone',
    );
  });
});
