// Issue 11 items 3 and 4 through the whole stack (relay, functions, development API server, Redis,
// OVN NB), driven with kubectl as a user would: a Vip status edited by hand is overwritten, and a
// Subnet deletion is held by its finalizer while a Vip uses it, then removes everything of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import type { Condition, SubnetResource } from '../../shared/domain/types.ts';
import { type E2E, startE2E, vipObject } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
});
afterAll(async () => {
  await e?.stop();
});

describe('status is not a back door', () => {
  it('kubectl patch of a Vip status is overwritten from the reservation', async () => {
    await e.apply(vipObject('edited', { subnet: 'ovn-default' }));
    const ready = await e.waitVip('edited', (v) => v.status?.ready === true);
    const address = ready.status!.v4ip!;
    await e.kubectl(
      'patch',
      'vip',
      'edited',
      '--subresource=status',
      '--type',
      'merge',
      '-p',
      '{"status":{"v4ip":"10.16.0.200"}}',
    );
    await e.waitVip(
      'edited',
      (v) => v.status?.v4ip === address && v.status.ready === true,
      'status restored',
    );
    expect((await e.allocator.get('ovn-default', 'vip/edited'))?.v4).toBe(address);
    expect(await e.allocator.get('ovn-default', 'vip/edited')).toBeDefined();
  });
});

const subnetReady = async (name: string) =>
  (
    ((await e.kube.getSubnet(name)) as SubnetResource | undefined)?.status?.conditions as
      | Condition[]
      | undefined
  )?.find((c) => c.type === 'Ready');

describe('Subnet lifecycle', () => {
  it('kubectl delete subnet waits for its Vip (SubnetInUse), then removes switch and Redis keys', async () => {
    await e.apply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: 'short-lived' },
      spec: { cidrBlock: '10.98.0.0/24', gateway: '10.98.0.1' },
    });
    await e.apply(vipObject('short-vip', { subnet: 'short-lived' }));
    await e.waitVip('short-vip', (v) => v.status?.ready === true);
    expect((await e.kube.getSubnet('short-lived'))?.metadata.finalizers).toContain(
      'kubeovn.io/kube-ovn-controller',
    );

    await e.kubectl('delete', 'subnet', 'short-lived', '--wait=false');
    const held = await waitFor(
      'SubnetInUse',
      async () => {
        const c = await subnetReady('short-lived');
        return c?.reason === 'SubnetInUse' ? c : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(held.message).toBe(
      'subnet short-lived is being deleted but 1 Vip still uses it; it is removed once they are gone',
    );
    expect(await e.nbctl('--bare', '--columns=name', 'find', 'logical_switch', 'name=short-lived')).toMatch(
      /short-lived/,
    );

    await e.kubectl('delete', 'vip', 'short-vip', '--wait=false');
    await waitFor('Subnet gone', async () => !(await e.kube.getSubnet('short-lived')), {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    await waitFor(
      'switch gone',
      async () =>
        (await e.nbctl('--bare', '--columns=name', 'find', 'logical_switch', 'name=short-lived')).trim() ===
        '',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const keys = (await (e.redis as import('ioredis').Redis).keys('{ipam:short-lived}*')) as string[];
    expect(keys).toEqual([]);
    expect(await e.allocator.getSubnet('short-lived')).toBeUndefined();
  });
});
