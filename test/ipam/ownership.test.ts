// The allocator's own record of who manages a subnet, and the atomic replace used by repairs.
// Real Redis (the run's server); every subnet name is unique to this file's run.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';
import { connect, reasonOf, uniqueName } from './helpers.ts';

let redis: Redis;
let ipam: Allocator;

beforeAll(() => {
  redis = connect();
  ipam = createRedisAllocator(redis);
});
afterAll(() => redis.disconnect());

describe('subnets managed by Kubernetes', () => {
  it('the mark is stored with the registration; manual register and delete are refused and change nothing', async () => {
    const s = uniqueName('k8s');
    const info = await ipam.registerSubnet(
      { name: s, cidrBlock: '10.70.0.0/24', gateway: '10.70.0.1' },
      { managedBy: 'kubernetes' },
    );
    expect(info.managedBy).toBe('kubernetes');
    expect(await redis.hget(`{ipam:${s}}:state`, 'mgr')).toBe('kubernetes');
    const vip = await ipam.allocate({ subnet: s, owner: 'vip/a' });
    expect(vip.v4).toBe('10.70.0.2');
    const genBefore = await redis.hget(`{ipam:${s}}:state`, 'gen');

    // the reproduced attack: the same subnet re-registered with another gateway
    expect(
      await reasonOf(ipam.registerSubnet({ name: s, cidrBlock: '10.70.0.0/24', gateway: '10.70.0.200' })),
    ).toBe('ManagedByKubernetes');
    // even the identical spec: a manual caller cannot take the subnet back
    expect(
      await reasonOf(ipam.registerSubnet({ name: s, cidrBlock: '10.70.0.0/24', gateway: '10.70.0.1' })),
    ).toBe('ManagedByKubernetes');
    expect(await reasonOf(ipam.deleteSubnet(s))).toBe('ManagedByKubernetes');
    expect(await reasonOf(ipam.deleteSubnet(s, { force: true }))).toBe('ManagedByKubernetes');
    expect(await redis.hget(`{ipam:${s}}:state`, 'gen')).toBe(genBefore);
    expect((await ipam.getSubnet(s))?.gateway).toBe('10.70.0.1');
    expect(await ipam.get(s, 'vip/a')).toMatchObject({ v4: '10.70.0.2' });
    // the gateway is still never handed out
    expect((await ipam.allocate({ subnet: s, owner: 'vip/b' })).v4).toBe('10.70.0.3');
    expect(await ipam.audit(s)).toEqual([]);

    // the Kubernetes side may change and delete it
    await ipam.registerSubnet(
      { name: s, cidrBlock: '10.70.0.0/24', gateway: '10.70.0.1', excludeIps: ['10.70.0.10'] },
      { managedBy: 'kubernetes' },
    );
    expect(await ipam.deleteSubnet(s, { force: true, managedBy: 'kubernetes' })).toBe(true);
  });

  it('Kubernetes takes over a manual registration (new generation), and then keeps it', async () => {
    const s = uniqueName('takeover');
    const manual = await ipam.registerSubnet({ name: s, cidrBlock: '10.71.0.0/24', gateway: '10.71.0.200' });
    expect(manual.managedBy).toBe('manual');
    // registered with the wrong gateway, the real one (.1) went to a manual owner
    expect((await ipam.allocate({ subnet: s, owner: 'manual/x' })).v4).toBe('10.71.0.1');
    // another process's allocator, whose cache says "manual"
    const other = createRedisAllocator(redis);
    expect((await other.getSubnet(s))?.managedBy).toBe('manual');
    const k8sSpec = { name: s, cidrBlock: '10.71.0.0/24', gateway: '10.71.0.1' };
    // the takeover is refused while the gateway is held, and changes nothing
    expect(await reasonOf(ipam.registerSubnet(k8sSpec, { managedBy: 'kubernetes' }))).toBe('AddressConflict');
    expect((await ipam.getSubnet(s))?.managedBy).toBe('manual');
    // moved off (what the audit's repair does), the takeover goes through
    expect((await ipam.replace({ subnet: s, owner: 'manual/x', move: [4] })).v4).toBe('10.71.0.2');
    const gen = await redis.hget(`{ipam:${s}}:state`, 'gen');
    const k8s = await ipam.registerSubnet(
      { name: s, cidrBlock: '10.71.0.0/24', gateway: '10.71.0.1' },
      { managedBy: 'kubernetes' },
    );
    expect(k8s).toMatchObject({ managedBy: 'kubernetes', gateway: '10.71.0.1' });
    expect(await redis.hget(`{ipam:${s}}:state`, 'gen')).not.toBe(gen);
    // the stale cache learns it on its next allocation (the script answers STALE)
    await other.allocate({ subnet: s, owner: 'vip/y' });
    expect((await other.getSubnet(s))?.managedBy).toBe('kubernetes');
    expect(await ipam.get(s, 'manual/x')).toBeDefined();
    expect(await ipam.audit(s)).toEqual([]);
    await ipam.deleteSubnet(s, { force: true, managedBy: 'kubernetes' });
  });

  it('the mark alone (same spec) also bumps the generation', async () => {
    const s = uniqueName('mark');
    const spec = { name: s, cidrBlock: '10.72.0.0/24' };
    await ipam.registerSubnet(spec);
    const gen = await redis.hget(`{ipam:${s}}:state`, 'gen');
    expect((await ipam.registerSubnet(spec, { managedBy: 'kubernetes' })).managedBy).toBe('kubernetes');
    expect(await redis.hget(`{ipam:${s}}:state`, 'gen')).not.toBe(gen);
    // idempotent from then on
    const gen2 = await redis.hget(`{ipam:${s}}:state`, 'gen');
    await ipam.registerSubnet(spec, { managedBy: 'kubernetes' });
    expect(await redis.hget(`{ipam:${s}}:state`, 'gen')).toBe(gen2);
    expect(await ipam.listSubnets()).toContain(s);
    await ipam.deleteSubnet(s, { managedBy: 'kubernetes' });
    expect(await ipam.listSubnets()).not.toContain(s);
  });
});

describe('replace: one owner swapped to other addresses in one step', () => {
  for (const splitMac of [false, true]) {
    it(`fixed, dynamic, refused (nothing changes), MAC; counts and invariants stay exact${splitMac ? ' (MAC in its own step)' : ''}`, async () => {
      const a = createRedisAllocator(redis, { splitMac });
      const s = uniqueName('replace');
      await a.registerSubnet({
        name: s,
        cidrBlock: '10.73.0.0/24,fd00:73::/120',
        excludeIps: ['10.73.0.50'],
      });
      const m = await a.allocate({ subnet: s, owner: 'manual/m' });
      const k = await a.allocate({ subnet: s, owner: 'vip/k' });
      expect([m.v4, k.v4]).toEqual(['10.73.0.2', '10.73.0.3']);
      const before = await a.counts(s);

      // fixed: v4 moves to .50 (inside excludeIps), v6 kept
      const r1 = await a.replace({ subnet: s, owner: 'manual/m', v4: '10.73.0.50' });
      expect(r1).toMatchObject({ v4: '10.73.0.50', v6: m.v6, mac: m.mac });
      // .2 is free again: a fixed request may take it
      expect((await a.allocate({ subnet: s, owner: 'manual/n', v4: '10.73.0.2' })).v4).toBe('10.73.0.2');

      // refused: another owner's address, the gateway, an unknown owner; nothing changes
      expect(await reasonOf(a.replace({ subnet: s, owner: 'manual/m', v4: k.v4 }))).toBe('AddressConflict');
      expect(await reasonOf(a.replace({ subnet: s, owner: 'manual/m', v4: '10.73.0.1' }))).toBe(
        'AddressConflict',
      );
      expect(await reasonOf(a.replace({ subnet: s, owner: 'manual/none', move: [4] }))).toBe(
        'ReservationNotFound',
      );
      expect(await a.get(s, 'manual/m')).toMatchObject({ v4: '10.73.0.50', v6: m.v6 });

      // dynamic: both families to a free address other than the held one
      const r2 = await a.replace({ subnet: s, owner: 'manual/m', move: [4, 6] });
      expect(r2.v4).toBe('10.73.0.4');
      expect(r2.v6).not.toBe(m.v6);
      expect(r2.mac).toBe(m.mac);

      // a MAC change; one held by another owner is refused
      expect(await reasonOf(a.replace({ subnet: s, owner: 'manual/m', mac: k.mac }))).toBe('MACConflict');
      expect((await a.get(s, 'manual/m'))?.mac).toBe(m.mac);
      const r3 = await a.replace({ subnet: s, owner: 'manual/m', mac: '02:00:00:73:00:01' });
      expect(r3.mac).toBe('02:00:00:73:00:01');
      // the old MAC is free again
      expect((await a.allocate({ subnet: s, owner: 'manual/o', mac: m.mac })).mac).toBe(m.mac);

      expect(await a.audit(s)).toEqual([]);
      const after = await a.counts(s);
      // two more owners (n, o) since `before`; m still holds one address per family
      expect(after.v4UsingIPs).toBe(before.v4UsingIPs + 2);
      expect(after.v6UsingIPs).toBe(before.v6UsingIPs + 2);
      await a.deleteSubnet(s, { force: true });
    });
  }
});
