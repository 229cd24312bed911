// A 3-master Redis Cluster: every script stays in one slot (subnet keys share a hash tag, MACs
// have their own), the two-step MAC protocol is used, and concurrent clients never collide.
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisClusterHandle, startRedisCluster } from '../../infra/local/services.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';
import { reasonOf } from './helpers.ts';

let cluster: RedisClusterHandle;
let clients: Cluster[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  clients = Array.from({ length: 4 }, () => new Cluster(cluster.startupNodes));
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

describe('allocator on Redis Cluster', () => {
  it('subnets spread over shards; allocate, fixed, conflicts, release, audit', {
    timeout: 60_000,
  }, async () => {
    const ipam = createRedisAllocator(clients[0] as Cluster);
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    for (const [i, name] of names.entries()) {
      await ipam.registerSubnet({ name, cidrBlock: `10.${40 + i}.0.0/24,fd00:${40 + i}::/64` });
    }
    const slots = new Set(
      await Promise.all(names.map((n) => (clients[0] as Cluster).cluster('KEYSLOT', `{ipam:${n}}:state`))),
    );
    expect(slots.size).toBeGreaterThan(1);
    const a = await ipam.allocate({ subnet: 'alpha', owner: 'vip/a', mac: '02:00:00:00:40:01' });
    expect([a.v4, a.v6, a.mac]).toEqual(['10.40.0.2', 'fd00:40::2', '02:00:00:00:40:01']);
    expect(await reasonOf(ipam.allocate({ subnet: 'bravo', owner: 'vip/b', mac: '02:00:00:00:40:01' }))).toBe(
      'MACConflict',
    );
    expect(await reasonOf(ipam.allocate({ subnet: 'alpha', owner: 'vip/c', v4: '10.40.0.2' }))).toBe(
      'AddressConflict',
    );
    // the refused allocation gave its MAC back: vip/c holds nothing anywhere
    expect(await (clients[0] as Cluster).hget('{ipam-mac}:map', 'h:alpha/vip/c')).toBeNull();
    // concurrent clients over all subnets
    const all = await Promise.all(
      clients.map((c, ci) => {
        const alloc = createRedisAllocator(c);
        return Promise.all(
          Array.from({ length: 120 }, (_, i) =>
            alloc.allocate({ subnet: names[i % names.length] as string, owner: `pod/${ci}-${i}` }),
          ),
        );
      }),
    );
    const flat = all.flat();
    expect(new Set(flat.map((r) => `${r.subnet} ${r.v4}`)).size).toBe(flat.length);
    expect(new Set(flat.map((r) => `${r.subnet} ${r.v6}`)).size).toBe(flat.length);
    expect(new Set(flat.map((r) => r.mac)).size).toBe(flat.length);
    expect(await ipam.release('alpha', 'vip/a')).toBe(true);
    expect(await ipam.release('alpha', 'vip/a')).toBe(false);
    for (const n of names) expect(await ipam.audit(n)).toEqual([]);
    expect((await ipam.counts('bravo')).v4UsingIPs).toBe(80);
    // counts read the bitmap pages and probe the owned excluded addresses inside the script (one slot)
    await ipam.registerSubnet({
      name: 'golf',
      cidrBlock: '10.47.0.0/24,fd00:47::/64',
      excludeIps: ['10.47.0.10..10.47.0.12', 'fd00:47::10'],
    });
    for (const owner of ['a', 'b']) await ipam.allocate({ subnet: 'golf', owner });
    await ipam.allocate({ subnet: 'golf', owner: 'x', v4: '10.47.0.11', v6: 'fd00:47::10' });
    const c = await ipam.counts('golf');
    expect([c.v4UsingIPRange, c.v6UsingIPRange, c.v4UsingIPs, c.v4AvailableIPs]).toEqual([
      '10.47.0.2-10.47.0.3,10.47.0.11',
      'fd00:47::2-fd00:47::3,fd00:47::10',
      3,
      254 - 4 - 2, // usable - (excludeIps + gateway) - owned outside excludeIps
    ]);
  });
});
