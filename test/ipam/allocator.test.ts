// The allocator against the run's real Redis: SPEC §2 behaviour, one rule per test.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/domain/errors.ts';
import { type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';
import { loadCommands } from '../../shared/ipam/redis/commands.ts';
import { MAC_KEYS } from '../../shared/ipam/redis/keys.ts';
import { connect, randomMac, reasonOf, uniqueName } from './helpers.ts';

let redis: Redis;
beforeAll(() => {
  redis = connect();
});
afterAll(() => redis.disconnect());

// Every rule runs in both MAC modes: one script (single Redis) and the two-step Cluster protocol.
describe.each([
  ['inline MAC', false],
  ['split MAC', true],
])('allocator (%s)', (_mode, splitMac) => {
  let ipam: Allocator;
  beforeAll(() => {
    ipam = createRedisAllocator(redis, { splitMac });
  });
  const subnet = async (cidrBlock: string, extra: { gateway?: string; excludeIps?: string[] } = {}) => {
    const name = uniqueName('s');
    await ipam.registerSubnet({ name, cidrBlock, ...extra });
    return name;
  };

  it('first dynamic address is network+2 when the gateway is .1; lowest free next', async () => {
    const s = await subnet('10.16.0.0/16', { excludeIps: ['10.16.0.3..10.16.0.4'] });
    expect((await ipam.allocate({ subnet: s, owner: 'vip/a' })).v4).toBe('10.16.0.2');
    expect((await ipam.allocate({ subnet: s, owner: 'vip/b' })).v4).toBe('10.16.0.5');
  });

  it('released addresses are reused only when no never-used address is left', async () => {
    const s = await subnet('10.0.0.0/29'); // usable .1-.6, gateway .1 → .2-.6
    const got = [];
    for (const o of ['a', 'b', 'c']) got.push((await ipam.allocate({ subnet: s, owner: o })).v4);
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    await ipam.release(s, 'a');
    expect((await ipam.allocate({ subnet: s, owner: 'd' })).v4).toBe('10.0.0.5');
    expect((await ipam.allocate({ subnet: s, owner: 'e' })).v4).toBe('10.0.0.6');
    expect((await ipam.allocate({ subnet: s, owner: 'f' })).v4).toBe('10.0.0.2');
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'g' }))).toBe('SubnetFull');
  });

  it('fixed addresses: inside excludeIps allowed, gateway and held ones refused naming the holder', async () => {
    const s = await subnet('10.1.0.0/24', { excludeIps: ['10.1.0.10..10.1.0.20'] });
    expect((await ipam.allocate({ subnet: s, owner: 'x', v4: '10.1.0.15' })).v4).toBe('10.1.0.15');
    const e1 = await ipam.allocate({ subnet: s, owner: 'y', v4: '10.1.0.15' }).catch((e: DomainError) => e);
    expect(e1).toBeInstanceOf(DomainError);
    expect((e1 as DomainError).reason).toBe('AddressConflict');
    expect((e1 as DomainError).details.holder).toBe('x');
    const e2 = (await ipam
      .allocate({ subnet: s, owner: 'y', v4: '10.1.0.1' })
      .catch((e) => e)) as DomainError;
    expect([e2.reason, e2.details.holder]).toEqual(['AddressConflict', 'gateway']);
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'y', v4: '10.1.0.255' }))).toBe(
      'AddressOutOfRange',
    );
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'y', v4: '10.2.0.5' }))).toBe(
      'AddressOutOfRange',
    );
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'y', v4: '10.1.0.300' }))).toBe('InvalidAddress');
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'y', v6: 'fd00::5' }))).toBe('AddressOutOfRange');
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'y', mac: 'nope' }))).toBe('InvalidMAC');
    expect(await reasonOf(ipam.allocate({ subnet: 'no-such-subnet', owner: 'y' }))).toBe('SubnetNotFound');
    // none of the failures left anything behind
    expect(await ipam.get(s, 'y')).toBeUndefined();
    expect(await ipam.audit(s)).toEqual([]);
  });

  it('idempotent by owner; a different fixed address than the one held is ImmutableField', async () => {
    const s = await subnet('10.2.0.0/24');
    const a = await ipam.allocate({ subnet: s, owner: 'vip/a', v4: '10.2.0.50' });
    const again = await ipam.allocate({ subnet: s, owner: 'vip/a', v4: '10.2.0.50' });
    expect(again).toEqual({ ...a, created: false });
    expect((await ipam.allocate({ subnet: s, owner: 'vip/a' })).v4).toBe('10.2.0.50');
    const e = (await ipam
      .allocate({ subnet: s, owner: 'vip/a', v4: '10.2.0.51' })
      .catch((x) => x)) as DomainError;
    expect(e.reason).toBe('ImmutableField');
    expect(e.details.held).toBe('10.2.0.50');
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'vip/a', mac: '00:00:00:AB:CD:EF' }))).toBe(
      'ImmutableField',
    );
  });

  it('dual stack: both families or neither; IPv6 canonical', async () => {
    const s = await subnet('10.3.0.0/30,fd00:3::/64'); // v4: .1 gateway, .2 only free
    const a = await ipam.allocate({ subnet: s, owner: 'a', v6: 'FD00:3::00AB' });
    expect([a.v4, a.v6]).toEqual(['10.3.0.2', 'fd00:3::ab']);
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'b' }))).toBe('SubnetFull');
    expect(await ipam.get(s, 'b')).toBeUndefined();
    const c = await ipam.counts(s);
    expect([c.v4UsingIPs, c.v6UsingIPs, c.v4AvailableIPs]).toEqual([1, 1, 0]);
    expect(await ipam.audit(s)).toEqual([]);
  });

  it('MACs 00:00:00:XX:XX:XX are unique cluster-wide; fixed MAC conflict names the holder', async () => {
    const s1 = await subnet('10.4.0.0/24');
    const s2 = await subnet('10.5.0.0/24');
    const a = await ipam.allocate({ subnet: s1, owner: 'a' });
    const b = await ipam.allocate({ subnet: s2, owner: 'a' });
    expect(a.mac).toMatch(/^00:00:00:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$/);
    expect(a.mac).not.toBe(b.mac);
    const fixed = randomMac();
    await ipam.allocate({ subnet: s1, owner: 'f', mac: fixed.toLowerCase() });
    const e = (await ipam.allocate({ subnet: s2, owner: 'g', mac: fixed }).catch((x) => x)) as DomainError;
    expect([e.reason, e.details.holder]).toEqual(['MACConflict', `${s1}/f`]);
    expect(await ipam.get(s2, 'g')).toBeUndefined();
    // the MAC of a failed address allocation is given back (both or neither)
    const full = await subnet('10.6.0.0/31', { gateway: '10.6.0.0' });
    await ipam.allocate({ subnet: full, owner: 'one' });
    const own = randomMac();
    expect(await reasonOf(ipam.allocate({ subnet: full, owner: 'two', mac: own }))).toBe('SubnetFull');
    expect((await ipam.allocate({ subnet: s1, owner: 'h', mac: own })).mac).toBe(own);
  });

  it('an orphan MAC (crash between the MAC and address scripts) is reported, and the retry converges', async () => {
    const s = await subnet('10.13.0.0/24');
    const mac = randomMac();
    // what the Cluster protocol leaves behind when the process dies after the MAC script
    await loadCommands(redis).macReserve(...MAC_KEYS, `${s}/ghost`, mac);
    const found = await ipam.audit(s);
    expect(found.map((v) => v.kind)).toEqual(['mac']);
    expect(found[0]?.message).toContain('orphan');
    // the owner's retry takes the MAC it already holds (both MAC modes)
    expect((await ipam.allocate({ subnet: s, owner: 'ghost' })).mac).toBe(mac);
    expect(await ipam.audit(s)).toEqual([]);
    expect(await ipam.release(s, 'ghost')).toBe(true);
    expect(await redis.hget('{ipam-mac}:map', `m:${mac}`)).toBeNull();
  });

  it('release is idempotent and frees address and MAC', async () => {
    const s = await subnet('10.7.0.0/24');
    const mac = randomMac();
    await ipam.allocate({ subnet: s, owner: 'a', mac });
    expect(await ipam.release(s, 'a')).toBe(true);
    expect(await ipam.release(s, 'a')).toBe(false);
    expect(await ipam.get(s, 'a')).toBeUndefined();
    expect((await ipam.allocate({ subnet: s, owner: 'b', mac })).mac).toBe(mac);
    expect(await ipam.audit(s)).toEqual([]);
  });

  it('counts are exact (SPEC §1): available = usable - excluded(+gateway) - in use and not excluded', async () => {
    const s = await subnet('10.8.0.0/24', { excludeIps: ['10.8.0.10..10.8.0.19'] });
    await ipam.allocate({ subnet: s, owner: 'a' }); // .2
    await ipam.allocate({ subnet: s, owner: 'b', v4: '10.8.0.12' }); // inside excludes
    await ipam.allocate({ subnet: s, owner: 'c', v4: '10.8.0.9' });
    const c = await ipam.counts(s);
    expect(c.v4UsingIPs).toBe(3);
    expect(c.v4AvailableIPs).toBe(254 - 11 - 2);
    expect(c.v4UsingIPRange).toBe('10.8.0.2,10.8.0.9,10.8.0.12');
    // re-registering with new excludeIps recounts
    await ipam.registerSubnet({ name: s, cidrBlock: '10.8.0.0/24', excludeIps: ['10.8.0.2'] });
    const c2 = await ipam.counts(s);
    expect(c2.v4AvailableIPs).toBe(254 - 2 - 2);
    expect((await ipam.allocate({ subnet: s, owner: 'd' })).v4).toBe('10.8.0.3');
    expect(await ipam.audit(s)).toEqual([]);
  });

  it('list pages through owners in order', async () => {
    const s = await subnet('10.9.0.0/24');
    for (let i = 0; i < 7; i++) await ipam.allocate({ subnet: s, owner: `o${i}` });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ipam.list(s, { cursor, limit: 3 });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((r) => r.owner));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['o0', 'o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
  });

  it('registerSubnet is idempotent; a cidrBlock change is refused while held; delete refused unless forced', async () => {
    const s = await subnet('10.10.0.0/24');
    expect((await ipam.registerSubnet({ name: s, cidrBlock: '10.10.0.0/24' })).cidrBlock).toBe(
      '10.10.0.0/24',
    );
    const a = await ipam.allocate({ subnet: s, owner: 'a' });
    expect(await reasonOf(ipam.registerSubnet({ name: s, cidrBlock: '10.11.0.0/24' }))).toBe('SubnetInUse');
    expect(await reasonOf(ipam.registerSubnet({ name: s, cidrBlock: '10.10.0.0/24', gateway: a.v4 }))).toBe(
      'AddressConflict',
    );
    expect(await reasonOf(ipam.deleteSubnet(s))).toBe('SubnetInUse');
    expect(await ipam.deleteSubnet(s, { force: true })).toBe(true);
    expect(await ipam.getSubnet(s)).toBeUndefined();
    expect(await ipam.deleteSubnet(s)).toBe(false);
    // the MAC went back with the forced release
    expect(await redis.hget('{ipam-mac}:map', `h:${s}/a`)).toBeNull();
    expect(await redis.hget('{ipam-mac}:map', `m:${a.mac}`)).toBeNull();
    // free to change now
    await ipam.registerSubnet({ name: s, cidrBlock: '10.11.0.0/24' });
    expect((await ipam.allocate({ subnet: s, owner: 'a' })).v4).toBe('10.11.0.2');
  });

  it('pages: excludes across a page boundary, dynamic allocation moving to the next page', async () => {
    // a /15 is two 65,536-bit pages; the whole first page but its last address is excluded
    const s = await subnet('10.82.0.0/15', {
      excludeIps: ['10.82.0.2..10.82.255.254', '10.83.0.0..10.83.0.3'],
    });
    expect((await ipam.allocate({ subnet: s, owner: 'a' })).v4).toBe('10.82.255.255');
    expect((await ipam.allocate({ subnet: s, owner: 'b' })).v4).toBe('10.83.0.4');
    expect((await ipam.allocate({ subnet: s, owner: 'c', v4: '10.83.0.1' })).v4).toBe('10.83.0.1');
    expect(await ipam.audit(s)).toEqual([]);
    const c = await ipam.counts(s);
    expect(c.v4AvailableIPs).toBe(131070 - (65533 + 4 + 1) - 2);
    // shrink the excludes: the freed addresses are the lowest free again
    await ipam.registerSubnet({ name: s, cidrBlock: '10.82.0.0/15', excludeIps: ['10.83.0.0..10.83.0.1'] });
    expect((await ipam.allocate({ subnet: s, owner: 'd' })).v4).toBe('10.82.0.2');
    expect(await ipam.audit(s)).toEqual([]);
    expect((await ipam.counts(s)).v4AvailableIPs).toBe(131070 - 3 - 3);
  });

  it('an IPv6 /64 uses memory in proportion to what is allocated', async () => {
    const s = await subnet('fd00:64::/64');
    for (let i = 0; i < 300; i++) await ipam.allocate({ subnet: s, owner: `o${i}` });
    const far = await ipam.allocate({ subnet: s, owner: 'far', v6: 'fd00:64::ffff:ffff:ffff:fffe' });
    expect(far.v6).toBe('fd00:64::ffff:ffff:ffff:fffe');
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `{ipam:${s}}:*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    let bytes = 0;
    for (const k of keys) bytes += (await redis.memory('USAGE', k)) ?? 0;
    expect(bytes).toBeLessThan(200_000);
    expect((await ipam.counts(s)).v6UsingIPs).toBe(301);
    expect(await ipam.audit(s)).toEqual([]);
  });
});

describe('replicas share nothing but Redis', () => {
  it("a replica's cached spec is refreshed by the generation check (re-register, delete, re-create)", async () => {
    const a = createRedisAllocator(redis);
    const b = createRedisAllocator(redis);
    const s = uniqueName('replica');
    await a.registerSubnet({ name: s, cidrBlock: '10.14.0.0/24' });
    expect((await b.allocate({ subnet: s, owner: 'x' })).v4).toBe('10.14.0.2'); // b caches gen 1
    await a.registerSubnet({ name: s, cidrBlock: '10.14.0.0/24', excludeIps: ['10.14.0.3..10.14.0.9'] });
    expect((await b.allocate({ subnet: s, owner: 'y' })).v4).toBe('10.14.0.10'); // b reloads gen 2
    expect((await b.counts(s)).v4AvailableIPs).toBe(254 - 8 - 2);
    await a.deleteSubnet(s, { force: true });
    expect(await reasonOf(b.allocate({ subnet: s, owner: 'z' }))).toBe('SubnetNotFound');
    await a.registerSubnet({ name: s, cidrBlock: '10.15.0.0/24' });
    expect((await b.allocate({ subnet: s, owner: 'z' })).v4).toBe('10.15.0.2');
    expect(await b.get(s, 'z')).toMatchObject({ v4: '10.15.0.2' });
    expect(await b.audit(s)).toEqual([]);
    // a first incarnation cached, then deleted and created again with another block: the new
    // generation must not look like the old one
    const t = uniqueName('replica');
    await a.registerSubnet({ name: t, cidrBlock: '10.16.0.0/24' });
    expect((await b.allocate({ subnet: t, owner: 'p' })).v4).toBe('10.16.0.2');
    await a.deleteSubnet(t, { force: true });
    await a.registerSubnet({ name: t, cidrBlock: '10.17.0.0/24' });
    expect((await b.allocate({ subnet: t, owner: 'q' })).v4).toBe('10.17.0.2');
    // list and get convert positions with the spec of the generation they read
    const u = uniqueName('replica');
    await a.registerSubnet({ name: u, cidrBlock: '10.18.0.0/24' });
    await b.allocate({ subnet: u, owner: 'r' });
    await a.deleteSubnet(u, { force: true });
    await a.registerSubnet({ name: u, cidrBlock: '10.19.0.0/24' });
    await a.allocate({ subnet: u, owner: 'r' });
    expect((await b.list(u)).items.map((r) => r.v4)).toEqual(['10.19.0.2']);
  });
});

describe('audit finds broken invariants', () => {
  it('reports an orphan bit, an owner without bit, and two owners', async () => {
    const ipam = createRedisAllocator(redis);
    const s = uniqueName('audit');
    await ipam.registerSubnet({ name: s, cidrBlock: '10.12.0.0/24' });
    await ipam.allocate({ subnet: s, owner: 'a' }); // .2 → page 0 bit 2
    await ipam.allocate({ subnet: s, owner: 'b' }); // .3
    expect(await ipam.audit(s)).toEqual([]);
    await redis.setbit(`{ipam:${s}}:4:u:0`, 100, 1); // orphan
    await redis.setbit(`{ipam:${s}}:4:u:0`, 3, 0); // b's bit cleared
    const recA = (await redis.hget(`{ipam:${s}}:state`, 'o:a')) ?? '';
    await redis.hset(`{ipam:${s}}:state`, 'o:c', recA); // c claims a's address
    const kinds = (await ipam.audit(s)).map((v) => v.kind).sort();
    expect(kinds).toContain('bit-without-owner');
    expect(kinds).toContain('owner-without-bit');
    expect(kinds).toContain('two-owners');
  });
});
