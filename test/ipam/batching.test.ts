// Micro-batching: allocations of one subnet in the same tick run as one script call, yet every
// request keeps its own result (its own idempotency, conflicts and both-or-neither), batching on
// and off decide the same, and a batch cut by a Redis restart converges to a clean state.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type RedisServer, startRedis } from '../../infra/local/services.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import { type AllocateRequest, type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';
import { randomMac, uniqueName } from './helpers.ts';

const clients: Redis[] = [];
const connect = (url = inject('redisUrl')) => {
  const c = new Redis(url);
  clients.push(c);
  return c;
};
let server: RedisServer | undefined;
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/** What a caller got: the addresses (and MAC when asked), or the refusal's reason and details. */
async function outcome(
  p: Promise<{ v4?: string; v6?: string; mac: string; created: boolean }>,
  withMac = true,
) {
  try {
    const r = await p;
    return { v4: r.v4, v6: r.v6, created: r.created, ...(withMac ? { mac: r.mac } : {}) };
  } catch (e) {
    if (e instanceof DomainError) return { reason: e.reason, details: e.details };
    throw e;
  }
}

describe('micro-batching', () => {
  it('a tick of 50 goes as two calls of 25, in arrival order: the same addresses as one call of 50', async () => {
    const sizes = { split: [] as number[], one: [] as number[] };
    const split = createRedisAllocator(connect(), { onBatch: (n) => sizes.split.push(n) });
    const one = createRedisAllocator(connect(), {
      splitAt: Number.POSITIVE_INFINITY,
      onBatch: (n) => sizes.one.push(n),
    });
    const subnets = { split: uniqueName('split'), one: uniqueName('one') };
    for (const name of Object.values(subnets))
      await split.registerSubnet({ name, cidrBlock: '10.61.0.0/24,fd00:61::/64' });
    // each allocator knows its subnet already, so all 50 requests reach the batcher in one tick
    // (a first request that has to read the subnet's spec lets the others in ticks apart)
    await one.getSubnet(subnets.one);
    const run = (ipam: Allocator, subnet: string) =>
      Promise.all(Array.from({ length: 50 }, (_, i) => ipam.allocate({ subnet, owner: `o${i}` })));
    const [bySplit, byOne] = [await run(split, subnets.split), await run(one, subnets.one)];
    expect(sizes.split).toEqual([25, 25]);
    expect(sizes.one).toEqual([50]);
    // request i gets the i-th lowest addresses either way: the second call runs after the first
    expect(bySplit.map((r) => [r.v4, r.v6])).toEqual(byOne.map((r) => [r.v4, r.v6]));
    expect(bySplit[49]).toMatchObject({ v4: '10.61.0.51', v6: 'fd00:61::33' });
    for (const subnet of Object.values(subnets)) expect(await split.audit(subnet)).toEqual([]);
  });

  it('one batch where some requests conflict and others succeed: each caller gets its own result', async () => {
    const sizes: number[] = [];
    const ipam = createRedisAllocator(connect(), { onBatch: (n) => sizes.push(n) });
    const subnet = uniqueName('batch');
    await ipam.registerSubnet({ name: subnet, cidrBlock: '10.60.0.0/24,fd00:60::/64' });
    await ipam.allocate({ subnet, owner: 'old', v4: '10.60.0.50' });
    const mac = randomMac();
    sizes.length = 0;
    const reqs: AllocateRequest[] = [
      { subnet, owner: 'a' },
      { subnet, owner: 'fixed-1', v4: '10.60.0.10' },
      { subnet, owner: 'fixed-2', v4: '10.60.0.10' }, // taken by fixed-1 earlier in the same batch
      { subnet, owner: 'gw', v4: '10.60.0.1' },
      { subnet, owner: 'mac-1', mac },
      { subnet, owner: 'mac-2', mac }, // MAC taken by mac-1 earlier in the same batch
      { subnet, owner: 'twice' },
      { subnet, owner: 'twice' }, // the same owner again: idempotent inside the batch
      { subnet, owner: 'held', v4: '10.60.0.50' }, // held by an owner from before the batch
      { subnet, owner: 'old', v4: '10.60.0.51' }, // old holds .50: immutable
      { subnet, owner: 'v6-taken', v6: 'fd00:60::3' }, // a's v6, decided earlier in the batch
      { subnet, owner: 'b' },
    ];
    const got = await Promise.all(reqs.map((r) => outcome(ipam.allocate(r))));
    expect(sizes).toEqual([reqs.length]); // one script call
    const [a, f1, f2, gw, m1, m2, t1, t2, held, old, v6t, b] = got;
    expect(a).toMatchObject({ v4: '10.60.0.2', v6: 'fd00:60::3', created: true }); // old has ::2
    expect(f1).toMatchObject({ v4: '10.60.0.10', created: true });
    expect(f2).toEqual({ reason: 'AddressConflict', details: { holder: 'fixed-1', field: 'v4' } });
    expect(gw).toEqual({ reason: 'AddressConflict', details: { holder: 'gateway', field: 'v4' } });
    expect(m1).toMatchObject({ mac, created: true });
    expect(m2).toEqual({ reason: 'MACConflict', details: { holder: `${subnet}/mac-1`, field: 'mac' } });
    expect(t1).toMatchObject({ created: true });
    expect(t2).toEqual({ ...t1, created: false });
    expect(held).toEqual({ reason: 'AddressConflict', details: { holder: 'old', field: 'v4' } });
    expect(old).toEqual({ reason: 'ImmutableField', details: { field: 'v4', held: '10.60.0.50' } });
    expect(v6t).toEqual({ reason: 'AddressConflict', details: { holder: 'a', field: 'v6' } });
    // refused requests left no trace: b takes the next address after the successful ones
    expect(b).toMatchObject({ v4: '10.60.0.5', created: true });
    for (const owner of ['fixed-2', 'gw', 'mac-2', 'held', 'v6-taken']) {
      expect(await ipam.get(subnet, owner)).toBeUndefined();
    }
    expect(await ipam.audit(subnet)).toEqual([]);
    expect((await ipam.counts(subnet)).v4UsingIPs).toBe(6); // old a fixed-1 mac-1 twice b
    await ipam.deleteSubnet(subnet, { force: true });
  });

  it('batching on and off decide the same for the same concurrent requests', {
    timeout: 60_000,
  }, async () => {
    const run = async (ipam: Allocator, subnet: string) => {
      await ipam.registerSubnet({
        name: subnet,
        cidrBlock: '10.61.0.0/22,fd00:61::/64',
        excludeIps: ['10.61.0.20..10.61.0.40'],
      });
      const reqs: AllocateRequest[] = Array.from({ length: 600 }, (_, i) => {
        const owner = `o${i % 550}`; // some owners twice
        if (i % 7 === 0) return { subnet, owner, v4: `10.61.0.${(i * 13) % 250}` };
        if (i % 11 === 0) return { subnet, owner, v6: `fd00:61::${((i * 7) % 400).toString(16)}` };
        return { subnet, owner };
      });
      const out = await Promise.all(reqs.map((r) => outcome(ipam.allocate(r), false)));
      expect(await ipam.audit(subnet)).toEqual([]);
      const counts = await ipam.counts(subnet);
      await ipam.deleteSubnet(subnet, { force: true });
      return { out, counts };
    };
    const sizes: number[] = [];
    const on = await run(
      createRedisAllocator(connect(), { onBatch: (n) => sizes.push(n) }),
      uniqueName('on'),
    );
    const off = await run(createRedisAllocator(connect(), { batching: false }), uniqueName('off'));
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(on.out).toEqual(off.out);
    expect(on.counts).toEqual(off.counts);
    expect(on.out.filter((o) => 'reason' in o).length).toBeGreaterThan(0);
  });

  it('a full subnet, releases, then a second wave: batching on and off decide the same (released addresses, SubnetFull)', {
    timeout: 60_000,
  }, async () => {
    const run = async (ipam: Allocator, subnet: string) => {
      await ipam.registerSubnet({ name: subnet, cidrBlock: '10.64.0.0/24,fd00:64::/120' });
      const wave = (from: number, count: number) =>
        Promise.all(
          Array.from({ length: count }, (_, i) =>
            outcome(ipam.allocate({ subnet, owner: `w${from + i}` }), false),
          ),
        );
      const first = await wave(0, 300); // 253 usable: the rest is SubnetFull
      for (let i = 0; i < 300; i += 3) await ipam.release(subnet, `w${i}`);
      const second = await wave(300, 120); // only released addresses are left (the used-bitmap path)
      expect(await ipam.audit(subnet)).toEqual([]);
      const counts = await ipam.counts(subnet);
      await ipam.deleteSubnet(subnet, { force: true });
      return { first, second, counts };
    };
    const sizes: number[] = [];
    const on = await run(
      createRedisAllocator(connect(), { onBatch: (n) => sizes.push(n) }),
      uniqueName('on'),
    );
    const off = await run(createRedisAllocator(connect(), { batching: false }), uniqueName('off'));
    expect(Math.max(...sizes)).toBeGreaterThan(2); // chunked bitmaps, not the direct path
    expect(on).toEqual(off);
    expect(on.first.filter((o) => 'reason' in o && o.reason === 'SubnetFull')).toHaveLength(300 - 253);
    expect(on.second.filter((o) => 'v4' in o)).toHaveLength(85); // the 85 released among the 253 held
    expect(on.counts.v4UsingIPs).toBe(253);
  });

  it('fixed MACs inside the dynamic space, alone and in a batch: dynamic MACs go round them', async () => {
    const own = await startRedis();
    try {
      const sizes: number[] = [];
      const redis = connect(own.url);
      const ipam = createRedisAllocator(redis, { onBatch: (n) => sizes.push(n) });
      await ipam.registerSubnet({ name: 'm', cidrBlock: '10.65.0.0/24' });
      // alone (one request per script call): the cursor starts at 00:00:00:00:00:01
      expect((await ipam.allocate({ subnet: 'm', owner: 'f1', mac: '00:00:00:00:00:01' })).mac).toBe(
        '00:00:00:00:00:01',
      );
      expect((await ipam.allocate({ subnet: 'm', owner: 'd1' })).mac).toBe('00:00:00:00:00:02');
      // in one batch: a fixed MAC just ahead of the cursor, then dynamic ones, then the same MAC again
      const got = await Promise.all([
        outcome(ipam.allocate({ subnet: 'm', owner: 'f2', mac: '00:00:00:00:00:04' })),
        outcome(ipam.allocate({ subnet: 'm', owner: 'd2' })),
        outcome(ipam.allocate({ subnet: 'm', owner: 'd3' })),
        outcome(ipam.allocate({ subnet: 'm', owner: 'd4' })),
        outcome(ipam.allocate({ subnet: 'm', owner: 'f3', mac: '00:00:00:00:00:04' })),
      ]);
      expect(sizes.at(-1)).toBe(5);
      expect(got.map((g) => ('mac' in g ? g.mac : g.reason))).toEqual([
        '00:00:00:00:00:04',
        '00:00:00:00:00:03',
        '00:00:00:00:00:05',
        '00:00:00:00:00:06',
        'MACConflict',
      ]);
      expect(await ipam.audit('m')).toEqual([]);
      redis.disconnect();
    } finally {
      await own.stop();
    }
  });

  it('the MAC space nearly full: one free MAC goes to the first request, the rest are SubnetFull (mac)', async () => {
    const own = await startRedis();
    try {
      const redis = connect(own.url);
      const ipam = createRedisAllocator(redis);
      await ipam.registerSubnet({ name: 'full', cidrBlock: '10.66.0.0/24' });
      // every MAC bit set (2^24 bits), but bit 1000 (00:00:00:00:03:E9); the cursor well past it
      const bits = Buffer.alloc(2 ** 21, 0xff);
      bits[125] = 0xff ^ 0x80;
      await redis.set('{ipam-mac}:u', bits);
      await redis.hset('{ipam-mac}:map', '#next', '5000');
      const got = await Promise.all(
        ['a', 'b', 'c', 'd'].map((owner) => outcome(ipam.allocate({ subnet: 'full', owner }))),
      );
      expect(got.map((g) => ('mac' in g ? g.mac : `${g.reason} ${String(g.details?.field)}`))).toEqual([
        '00:00:00:00:03:E9',
        'SubnetFull mac',
        'SubnetFull mac',
        'SubnetFull mac',
      ]);
      // alone (the direct path) too
      expect((await outcome(ipam.allocate({ subnet: 'full', owner: 'e' }))).reason).toBe('SubnetFull');
      expect(await ipam.audit('full')).toEqual([]);
      expect((await ipam.counts('full')).v4UsingIPs).toBe(1);
      redis.disconnect();
    } finally {
      await own.stop();
    }
  });

  it('a split-MAC (Cluster protocol) batch: refused requests give their MAC back', async () => {
    const redis = connect();
    const sizes: number[] = [];
    const ipam = createRedisAllocator(redis, { splitMac: true, onBatch: (n) => sizes.push(n) });
    const subnet = uniqueName('split');
    await ipam.registerSubnet({ name: subnet, cidrBlock: '10.62.0.0/24' });
    sizes.length = 0;
    const got = await Promise.all(
      ['p', 'q', 'r', 's'].map((owner) => outcome(ipam.allocate({ subnet, owner, v4: '10.62.0.9' }))),
    );
    expect(got.filter((g) => 'v4' in g)).toHaveLength(1);
    expect(got.filter((g) => 'reason' in g && g.reason === 'AddressConflict')).toHaveLength(3);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    const held: string[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(
        '{ipam-mac}:map',
        cursor,
        'MATCH',
        `h:${subnet}/*`,
        'COUNT',
        1000,
      );
      held.push(...flat.filter((_, i) => i % 2 === 0));
      cursor = next;
    } while (cursor !== '0');
    expect(held).toHaveLength(1); // only the winner holds a MAC
    expect(await ipam.audit(subnet)).toEqual([]);
    await ipam.deleteSubnet(subnet, { force: true });
  });

  it('batches cut by a Redis restart (SIGKILL, appendfsync always): every caller ends with one reservation, a reply is durable', {
    timeout: 60_000,
  }, async () => {
    server = await startRedis({ appendonly: true });
    const redis = connect(server.url);
    redis.on('error', () => {}); // the reconnects after the kill are expected
    await redis.config('SET', 'appendfsync', 'always');
    const sizes: number[] = [];
    const ipam = createRedisAllocator(redis, { onBatch: (n) => sizes.push(n) });
    const subnet = 'restart';
    await ipam.registerSubnet({ name: subnet, cidrBlock: '10.63.0.0/16' });
    const N = 3000;
    const first = new Map<string, { v4?: string; mac: string }>();
    let done = 0;
    let inFlightAtKill = 0;
    let restarted: Promise<void> | undefined;
    const failed: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < N) {
          const owner = `o${next++}`;
          if (restarted && inFlightAtKill === 0) inFlightAtKill = next - done;
          try {
            const r = await ipam.allocate({ subnet, owner });
            first.set(owner, { v4: r.v4, mac: r.mac });
          } catch {
            failed.push(owner); // the connection dropped under it: the caller retries later
          }
          if (++done === 500) {
            restarted = server?.restart({ signal: 'SIGKILL' }).then((s) => {
              server = s;
            });
          }
        }
      }),
    );
    await restarted;
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(inFlightAtKill).toBeGreaterThan(1); // batches were under way when Redis died
    // callers whose call failed retry: idempotent by owner
    for (const owner of failed) {
      const r = await ipam.allocate({ subnet, owner });
      first.set(owner, { v4: r.v4, mac: r.mac });
    }
    expect(first.size).toBe(N);
    // every reply anyone got is what Redis holds now (nothing acknowledged was lost)
    const fresh = createRedisAllocator(connect(server.url));
    for (const [owner, r] of first) expect(await fresh.get(subnet, owner)).toEqual({ subnet, owner, ...r });
    expect(new Set([...first.values()].map((r) => r.v4)).size).toBe(N);
    expect(new Set([...first.values()].map((r) => r.mac)).size).toBe(N);
    expect(await fresh.audit(subnet)).toEqual([]);
    expect((await fresh.counts(subnet)).v4UsingIPs).toBe(N);
  });
});
