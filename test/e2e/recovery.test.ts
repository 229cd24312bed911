// Issue 21 items 4 and 6: a Vip blocked on something (an address someone holds, a Subnet not
// created yet, a full subnet) becomes Ready within seconds of the change, not at the next resync:
// the resync here is an hour, so only the requeue on release/creation can bring it back. And a
// manual reservation inside a Kubernetes subnet shows in the Subnet's counts at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import type { SubnetResource } from '../../shared/domain/types.ts';
import { type E2E, readyCondition, startE2E, vipObject } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E({ resync: '1h' });
});
afterAll(async () => {
  await e?.stop();
});

const RECOVERY_MS = 8_000;

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${e.stack.functions[0]!.url}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${e.stack.apiToken}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

const reasonOf = async (name: string, reason: string) =>
  e.waitVip(name, (v) => readyCondition(v)?.reason === reason, reason);

describe('blocked Vips recover promptly (resync 1h)', () => {
  it('AddressConflict: the holder Vip is deleted, the waiter is Ready within seconds', async () => {
    await e.apply(vipObject('conflict-holder', { subnet: 'ovn-default', v4ip: '10.16.0.201' }));
    await e.waitVip('conflict-holder', (v) => v.status?.ready === true);
    await e.apply(vipObject('conflict-waiter', { subnet: 'ovn-default', v4ip: '10.16.0.201' }));
    const refused = await reasonOf('conflict-waiter', 'AddressConflict');
    // The holder is named once (it was printed twice).
    const message = readyCondition(refused)!.message;
    expect(message.split('vip/conflict-holder').length - 1).toBe(1);

    await e.kubectl('delete', 'vip', 'conflict-holder', '--wait=false');
    const ready = await e.waitVip('conflict-waiter', (v) => v.status?.ready === true, 'Ready', RECOVERY_MS);
    expect(ready.status?.v4ip).toBe('10.16.0.201');
  });

  it('AddressConflict: a manual reservation released through the API frees the waiter', async () => {
    const held = await api('POST', '/subnets/ovn-default/reservations', {
      owner: 'lab-db',
      v4ip: '10.16.0.202',
    });
    expect(held.status).toBe(201);
    await e.apply(vipObject('manual-waiter', { subnet: 'ovn-default', v4ip: '10.16.0.202' }));
    const refused = await reasonOf('manual-waiter', 'AddressConflict');
    expect(readyCondition(refused)!.message).toContain('10.16.0.202');

    const released = await api('DELETE', '/subnets/ovn-default/reservations/lab-db');
    expect(await released.json()).toEqual({ released: true });
    await e.waitVip('manual-waiter', (v) => v.status?.ready === true, 'Ready', RECOVERY_MS);
  });

  it('SubnetNotFound: the Subnet is created, the waiter is Ready within seconds', async () => {
    await e.apply(vipObject('early-vip', { subnet: 'late-subnet' }));
    await reasonOf('early-vip', 'SubnetNotFound');
    await e.apply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: 'late-subnet' },
      spec: { cidrBlock: '10.95.0.0/24', gateway: '10.95.0.1' },
    });
    const ready = await e.waitVip('early-vip', (v) => v.status?.ready === true, 'Ready', RECOVERY_MS);
    expect(ready.status?.v4ip).toMatch(/^10\.95\.0\./);
  });

  it('SubnetFull: an address is freed, the waiter is Ready within seconds', async () => {
    // A /29: six host addresses, one of them the gateway.
    await e.apply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: 'tiny' },
      spec: { cidrBlock: '10.94.0.0/29', gateway: '10.94.0.1' },
    });
    const names = Array.from({ length: 6 }, (_, i) => `tiny-${i}`);
    for (const n of names) await e.apply(vipObject(n, { subnet: 'tiny' }));
    const settled = await waitFor(
      'every tiny Vip Ready or SubnetFull',
      async () => {
        const vips = await Promise.all(names.map((n) => e.vip(n)));
        const done = vips.every((v) => v?.status?.ready || readyCondition(v!)?.reason === 'SubnetFull');
        return done ? vips : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const full = settled.filter((v) => !v!.status?.ready).map((v) => v!.metadata.name);
    expect(full).toHaveLength(1);
    const holder = settled.find((v) => v!.status?.ready)!;

    await e.kubectl('delete', 'vip', holder.metadata.name, '--wait=false');
    await e.waitVip(full[0]!, (v) => v.status?.ready === true, 'Ready', RECOVERY_MS);
  });
});

describe('manual reservations count in a Kubernetes subnet', () => {
  it('a reservation through the API shows in the Subnet status counts within seconds', async () => {
    const usingNow = async () =>
      ((await e.kube.getSubnet('ovn-default')) as SubnetResource | undefined)?.status?.v4usingIPs as
        | number
        | undefined;
    // Settled: the status shows what the allocator counts (earlier tests' changes included).
    const before = await waitFor(
      'ovn-default counted',
      async () => {
        const shown = await usingNow();
        return shown !== undefined && shown === (await e.allocator.counts('ovn-default')).v4UsingIPs
          ? shown
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    const held = await api('POST', '/subnets/ovn-default/reservations', { owner: 'counted' });
    expect(held.status).toBe(201);
    await waitFor('count +1', async () => ((await usingNow()) === before + 1 ? true : undefined), {
      timeoutMs: RECOVERY_MS,
      intervalMs: 50,
    });
    await api('DELETE', '/subnets/ovn-default/reservations/counted');
    await waitFor('count back', async () => ((await usingNow()) === before ? true : undefined), {
      timeoutMs: RECOVERY_MS,
      intervalMs: 50,
    });
  });
});
