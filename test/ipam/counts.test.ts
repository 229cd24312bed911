// counts() reads the bitmaps (runs of used & ~excluded), not every reservation: the same numbers
// and usingIPRange as a reference computed from list(), and as the method it replaced (every owned
// position from the state hash, as an address, sorted), on real Redis subnets of every shape.
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../infra/local/services.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import { parseIp } from '../../shared/domain/ip-codec.ts';
import { type Allocator, createRedisAllocator, type SubnetCounts } from '../../shared/ipam/index.ts';
import { allReservations } from '../../shared/ipam/list-all.ts';
import { usageFromPositions } from '../../shared/ipam/owned-runs.ts';
import { stateKey } from '../../shared/ipam/redis/keys.ts';
import { subnetCountsOf } from '../../shared/ipam/redis/reservation-reads.ts';
import {
  formatUsingRange,
  isExcluded,
  type SubnetSpec,
  subnetRange,
} from '../../shared/ipam/subnet-range.ts';
import { connect, uniqueName } from './helpers.ts';

/** The counts from every reservation list() returns, computed here from the spec alone. */
async function fromList(ipam: Allocator, spec: SubnetSpec): Promise<SubnetCounts> {
  const all = await allReservations(ipam, spec.name);
  const range = subnetRange(spec);
  const fam = (family: 4 | 6) => {
    const fr = family === 4 ? range.v4 : range.v6;
    if (!fr) return { available: 0n, using: 0, range: '' };
    const values = all
      .map((r) => (family === 4 ? r.v4 : r.v6))
      .filter((a): a is string => a !== undefined)
      .map((a) => parseIp(a)?.value as bigint)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const ownedExcluded = values.filter((v) => isExcluded(fr, v)).length;
    const available = fr.usableCount - fr.excludedCount - BigInt(values.length - ownedExcluded);
    return { available, using: values.length, range: formatUsingRange(family, values) };
  };
  return subnetCountsOf(fam(4), fam(6));
}

/** usingIPs and usingIPRange the way counts() read them before: every `<f>@<pos>` field of the state hash. */
async function fromStateHash(redis: Redis, spec: SubnetSpec) {
  const range = subnetRange(spec);
  const fields = await redis.hkeys(stateKey(spec.name));
  const of = (f: '4' | '6') => fields.filter((k) => k.startsWith(`${f}@`)).map((k) => k.slice(2));
  const u4 = range.v4 ? usageFromPositions(range.v4, of('4')) : { using: 0, range: '' };
  const u6 = range.v6 ? usageFromPositions(range.v6, of('6')) : { using: 0, range: '' };
  return { v4UsingIPs: u4.using, v4UsingIPRange: u4.range, v6UsingIPs: u6.using, v6UsingIPRange: u6.range };
}

async function expectSameCounts(redis: Redis, ipam: Allocator, spec: SubnetSpec): Promise<SubnetCounts> {
  const got = await ipam.counts(spec.name);
  expect(got).toEqual(await fromList(ipam, spec));
  expect(got).toMatchObject(await fromStateHash(redis, spec));
  return got;
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (v) => v,
    (e: unknown) => {
      if (e instanceof DomainError) return e.reason;
      throw e;
    },
  );

/** `n` dynamic owners, `batch` at a time (the allocator batches what arrives together). */
async function fill(ipam: Allocator, subnet: string, prefix: string, n: number, batch = 250) {
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, (_, j) =>
        settle(ipam.allocate({ subnet, owner: `${prefix}${i + j}` })),
      ),
    );
  }
}

async function releaseEvery(ipam: Allocator, subnet: string, prefix: string, n: number, every: number) {
  const owners = Array.from({ length: n }, (_, i) => `${prefix}${i}`).filter((_, i) => i % every === 0);
  await Promise.all(owners.map((o) => ipam.release(subnet, o)));
}

let redis: Redis;
let ipam: Allocator;
beforeAll(() => {
  redis = connect();
  ipam = createRedisAllocator(redis);
});
afterAll(() => redis.disconnect());

describe('counts() from the bitmaps equal the counts from every reservation', () => {
  it('IPv4 /15: thousands of dynamic reservations, some released, fixed ones across the page boundary', async () => {
    const spec = {
      name: uniqueName('c15'),
      cidrBlock: '10.16.0.0/15',
      gateway: '10.16.0.1',
      excludeIps: ['10.16.0.100..10.16.0.199', '10.17.255.250'],
    };
    await ipam.registerSubnet(spec);
    await fill(ipam, spec.name, 'd', 6000);
    await releaseEvery(ipam, spec.name, 'd', 6000, 7);
    // 10.16.255.255 is page 0's last bit, 10.17.0.0 page 1's first: one run across the pages
    for (const [owner, v4] of [
      ['f1', '10.16.255.254'],
      ['f2', '10.16.255.255'],
      ['f3', '10.17.0.0'],
      ['f4', '10.17.0.1'],
      ['last', '10.17.255.254'],
      ['inside', '10.16.0.150'], // fixed inside excludeIps: owned and excluded
    ]) {
      await ipam.allocate({ subnet: spec.name, owner: owner as string, v4: v4 as string });
    }
    const got = await expectSameCounts(redis, ipam, spec);
    expect(got.v4UsingIPRange).toContain('10.16.255.254-10.17.0.1');
    expect(got.v4UsingIPRange.endsWith(',10.17.255.254')).toBe(true);
    expect(got.v4UsingIPs).toBe(6000 - Math.ceil(6000 / 7) + 6);
    expect(await ipam.audit(spec.name)).toEqual([]);
  });

  it('small /24 with excludeIps and a gateway at the end: filled to SubnetFull, some released, owned excluded', async () => {
    const spec = {
      name: uniqueName('c24'),
      cidrBlock: '10.1.0.0/24',
      gateway: '10.1.0.254',
      excludeIps: ['10.1.0.10..10.1.0.20', '10.1.0.7'],
    };
    await ipam.registerSubnet(spec);
    await ipam.allocate({ subnet: spec.name, owner: 'x15', v4: '10.1.0.15' });
    await ipam.allocate({ subnet: spec.name, owner: 'x7', v4: '10.1.0.7' });
    await fill(ipam, spec.name, 'd', 260, 40); // 253 usable - 12 excluded - gateway: the rest SubnetFull
    const full = await expectSameCounts(redis, ipam, spec);
    expect([full.v4AvailableIPs, full.v4UsingIPRange]).toEqual([
      0,
      '10.1.0.1-10.1.0.9,10.1.0.15,10.1.0.21-10.1.0.253',
    ]);
    await releaseEvery(ipam, spec.name, 'd', 260, 3);
    await ipam.release(spec.name, 'x7');
    await expectSameCounts(redis, ipam, spec);
  });

  it('IPv6 /64: dynamic, fixed far out and across a page, some released', async () => {
    const spec = {
      name: uniqueName('c64'),
      cidrBlock: 'fd00:16::/64',
      excludeIps: ['fd00:16::5..fd00:16::9'],
    };
    await ipam.registerSubnet(spec);
    await fill(ipam, spec.name, 'd', 1500);
    for (const [owner, v6] of [
      ['p1', 'fd00:16::1:ffff'],
      ['p2', 'fd00:16::2:0'],
      ['far', 'fd00:16::ffff:ffff:ffff:fffe'],
      ['mid', 'fd00:16:0:0:8000::1'],
      ['inside', 'fd00:16::7'],
    ]) {
      await ipam.allocate({ subnet: spec.name, owner: owner as string, v6: v6 as string });
    }
    await releaseEvery(ipam, spec.name, 'd', 1500, 5);
    const got = await expectSameCounts(redis, ipam, spec);
    expect(got.v6UsingIPRange).toContain('fd00:16::1:ffff-fd00:16::2:0');
    expect(got.v6UsingIPRange.endsWith('fd00:16::ffff:ffff:ffff:fffe')).toBe(true);
  });

  it('dual stack: both families, owned excluded in one of them', async () => {
    const spec = {
      name: uniqueName('cds'),
      cidrBlock: '10.40.0.0/20,fd00:40::/64',
      excludeIps: ['10.40.0.2..10.40.0.30', 'fd00:40::100..fd00:40::1ff'],
    };
    await ipam.registerSubnet(spec);
    await fill(ipam, spec.name, 'd', 800);
    await ipam.allocate({ subnet: spec.name, owner: 'x', v4: '10.40.15.254', v6: 'fd00:40::180' });
    await releaseEvery(ipam, spec.name, 'd', 800, 4);
    await expectSameCounts(redis, ipam, spec);
  });

  it('more excluded addresses than are probed one by one, some owned: every owned position is listed', async () => {
    const spec = {
      name: uniqueName('cbig'),
      cidrBlock: '10.50.0.0/16',
      excludeIps: ['10.50.10.0..10.50.39.255'],
    };
    await ipam.registerSubnet(spec);
    await fill(ipam, spec.name, 'd', 3000);
    await ipam.allocate({ subnet: spec.name, owner: 'x1', v4: '10.50.20.1' });
    await ipam.allocate({ subnet: spec.name, owner: 'x2', v4: '10.50.20.2' });
    await releaseEvery(ipam, spec.name, 'd', 3000, 6);
    const got = await expectSameCounts(redis, ipam, spec);
    expect(got.v4UsingIPRange).toContain(',10.50.20.1-10.50.20.2,');
  });

  it('an empty subnet, and one whose reservations were all released', async () => {
    const spec = { name: uniqueName('cempty'), cidrBlock: '10.60.0.0/24,fd00:60::/120' };
    await ipam.registerSubnet(spec);
    const empty = await expectSameCounts(redis, ipam, spec);
    expect([empty.v4UsingIPRange, empty.v6UsingIPRange, empty.v4AvailableIPs]).toEqual(['', '', 253]);
    await fill(ipam, spec.name, 'd', 50);
    await releaseEvery(ipam, spec.name, 'd', 50, 1);
    expect(await expectSameCounts(redis, ipam, spec)).toEqual(empty);
  });

  it('random reservations and releases (fixed seed), dual stack with excludeIps', async () => {
    const host = (n: number) => ({ v4: `10.70.${n >> 8}.${n & 255}`, v6: `fd00:70::${n.toString(16)}` });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('dynamic' as const), owner: fc.integer({ min: 0, max: 299 }) }),
      fc.record({
        kind: fc.constantFrom('fixed4' as const, 'fixed6' as const),
        owner: fc.integer({ min: 0, max: 299 }),
        host: fc.integer({ min: 0, max: 511 }),
      }),
      fc.record({ kind: fc.constant('release' as const), owner: fc.integer({ min: 0, max: 299 }) }),
      fc.record({ kind: fc.constant('burst' as const), owner: fc.integer({ min: 0, max: 299 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 80, size: 'max' }), async (ops) => {
        const spec = {
          name: uniqueName('crand'),
          cidrBlock: '10.70.0.0/23,fd00:70::/119',
          gateway: '10.70.0.1,fd00:70::1fe',
          excludeIps: ['10.70.0.8..10.70.0.15', '10.70.1.0..10.70.1.7', 'fd00:70::10..fd00:70::1f'],
        };
        await ipam.registerSubnet(spec);
        try {
          for (const o of ops) {
            const owner = `o${o.owner}`;
            if (o.kind === 'release') await ipam.release(spec.name, owner);
            else if (o.kind === 'dynamic') await settle(ipam.allocate({ subnet: spec.name, owner }));
            else if (o.kind === 'burst') {
              // one batch of 40 owners (new ones and held ones)
              await Promise.all(
                Array.from({ length: 40 }, (_, i) =>
                  settle(ipam.allocate({ subnet: spec.name, owner: `o${(o.owner + i * 7) % 300}` })),
                ),
              );
            } else {
              const fixed = o.kind === 'fixed4' ? { v4: host(o.host).v4 } : { v6: host(o.host).v6 };
              await settle(ipam.allocate({ subnet: spec.name, owner, ...fixed }));
            }
          }
          await expectSameCounts(redis, ipam, spec);
        } finally {
          await ipam.deleteSubnet(spec.name, { force: true });
        }
      }),
      { seed: 1616, numRuns: 40 },
    );
  });
});

describe('what counts() asks Redis for', () => {
  let own: RedisServer;
  let r: Redis;
  let a: Allocator;
  beforeAll(async () => {
    own = await startRedis();
    r = new Redis(own.url);
    a = createRedisAllocator(r);
  });
  afterAll(async () => {
    r.disconnect();
    await own.stop();
  });
  const calls = async (command: string) => {
    const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await r.info('commandstats'));
    return Number(m?.[1] ?? 0);
  };

  it('no HKEYS (no read per reservation); owned excluded addresses probed with HMGET, HKEYS past the bound', async () => {
    await a.registerSubnet({ name: 'plain', cidrBlock: '10.80.0.0/16', excludeIps: ['10.80.0.5'] });
    await fill(a, 'plain', 'd', 500);
    await a.registerSubnet({ name: 'few', cidrBlock: '10.81.0.0/16', excludeIps: ['10.81.0.5..10.81.0.9'] });
    await a.allocate({ subnet: 'few', owner: 'x', v4: '10.81.0.6' });
    await a.registerSubnet({
      name: 'many',
      cidrBlock: '10.82.0.0/16',
      excludeIps: ['10.82.1.0..10.82.40.0'],
    });
    await a.allocate({ subnet: 'many', owner: 'x', v4: '10.82.2.2' });
    await r.config('RESETSTAT');
    expect((await a.counts('plain')).v4UsingIPs).toBe(500);
    expect(await calls('hkeys')).toBe(0);
    expect(await calls('hmget')).toBe(1); // gen and the two ox counters
    expect((await a.counts('few')).v4UsingIPRange).toBe('10.81.0.6');
    expect([await calls('hkeys'), await calls('hmget')]).toEqual([0, 3]);
    expect((await a.counts('many')).v4UsingIPRange).toBe('10.82.2.2');
    expect(await calls('hkeys')).toBe(1);
  });
});
