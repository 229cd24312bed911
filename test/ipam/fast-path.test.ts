// The allocate script's fast path (a batch whose requests are all dynamic with no MAC given, on
// one Redis) must decide exactly as the general code does. Batching off sends every request alone
// (the general code's direct path), so the same waves run both ways on a private Redis must leave
// the same replies and the very same Redis state, key by key.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../infra/local/services.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';
import { loadCommands } from '../../shared/ipam/redis/commands.ts';
import { MAC_KEYS } from '../../shared/ipam/redis/keys.ts';

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

/** Every key and value in the server, in a comparable form. */
async function everything(r: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await r.keys('*')).sort()) {
    const type = await r.type(key);
    if (type === 'hash') {
      // the spec generation is a timestamp: equal runs differ only there
      const { gen: _gen, ...fields } = await r.hgetall(key);
      out[key] = fields;
    } else if (type === 'zset') out[key] = await r.zrange(key, '0', '-1', 'WITHSCORES');
    else if (type === 'set') out[key] = (await r.smembers(key)).sort();
    else out[key] = (await r.getBuffer(key))?.toString('hex');
  }
  return out;
}

async function outcome(p: Promise<{ v4?: string; v6?: string; mac: string; created: boolean }>) {
  try {
    const a = await p;
    return { v4: a.v4, v6: a.v6, mac: a.mac, created: a.created };
  } catch (e) {
    if (e instanceof DomainError) return { reason: e.reason, details: e.details };
    throw e;
  }
}

/** The same waves of concurrent dynamic requests; returns every reply and the state after. */
async function run(batching: boolean, layout: 'v2' | 'v3') {
  await redis.flushall();
  // v3: a fresh registry; v2: one that existed before (m:<MAC> for every MAC)
  if (layout === 'v2') await redis.hset('{ipam-mac}:map', '#next', '0', '#h', '0');
  const sizes: number[] = [];
  const ipam = createRedisAllocator(redis, { batching, onBatch: (n) => sizes.push(n) });
  // page 0 of the /15 is nearly all excluded (10 free addresses low, 55 high), so the waves jump
  // over a full stretch and run into page 1; the v6 /120 runs out before the v4 block does
  await ipam.registerSubnet({
    name: 'a',
    cidrBlock: '10.70.0.0/15,fd00:70::/120',
    excludeIps: ['10.70.0.10..10.70.255.200', 'fd00:70::20..fd00:70::40'],
  });
  await ipam.registerSubnet({ name: 'b', cidrBlock: '10.72.0.0/20' });
  await ipam.allocate({ subnet: 'a', owner: 'pre' });
  // a MAC left held for an owner that holds no address (the Cluster protocol, cut between its two
  // scripts): the owner's allocation takes that MAC
  await loadCommands(redis).macReserve(...MAC_KEYS, 'a/left', '');
  const wave = (subnet: string, from: number, count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => {
        const n = from + i;
        const owner = n % 9 === 0 ? `w${n - 3}` : n % 31 === 0 ? 'pre' : n === from + 5 ? 'left' : `w${n}`;
        return outcome(ipam.allocate({ subnet, owner }));
      }),
    );
  const replies = [await wave('a', 0, 150), await wave('b', 0, 100)];
  for (let i = 0; i < 150; i += 4) await ipam.release('a', `w${i}`);
  replies.push(await wave('a', 150, 200), await wave('b', 100, 40));
  // a /24 used up, a third released, then a second wave: v4 from the used bitmap (only released
  // addresses are left) while v6 still takes never-used ones, until v4 runs out again
  await ipam.registerSubnet({ name: 'c', cidrBlock: '10.74.0.0/24,fd00:74::/64' });
  replies.push(await wave('c', 0, 300));
  for (let i = 0; i < 300; i += 3) await ipam.release('c', `w${i}`);
  const states = [await everything(redis)];
  replies.push(await wave('c', 300, 60)); // one batch, from the used bitmap
  states.push(await everything(redis));
  replies.push(await wave('c', 360, 60)); // runs out of released addresses half-way
  for (const subnet of ['a', 'b', 'c']) expect(await ipam.audit(subnet)).toEqual([]);
  states.push(await everything(redis));
  const counts = [await ipam.counts('a'), await ipam.counts('b'), await ipam.counts('c')];
  return { replies, counts, states, sizes };
}

describe('the allocate fast path', () => {
  it.each(['v3', 'v2'] as const)(
    'batches of dynamic requests decide exactly as requests sent alone: replies, counts and every key (MAC layout %s)',
    {
      timeout: 60_000,
    },
    async (layout) => {
      const on = await run(true, layout);
      const off = await run(false, layout);
      // the MAC registry: m:<MAC> for every MAC in v2; in v3 none for a MAC claimed by allocate
      // (only the Cluster protocol's leftover one, which its owner took, is registered)
      const map = on.states[2]?.['{ipam-mac}:map'] as Record<string, string>;
      const mFields = Object.keys(map).filter((k) => k.startsWith('m:'));
      if (layout === 'v3') expect(mFields.map((k) => map[k])).toEqual(['a/left']);
      else expect(mFields.length).toBeGreaterThan(300);
      expect(Math.max(...on.sizes)).toBeGreaterThan(2); // batches that take the fast path
      expect(Math.max(...off.sizes)).toBe(1);
      expect(on.replies).toEqual(off.replies);
      expect(on.counts).toEqual(off.counts);
      expect(on.states).toEqual(off.states);
      // what the waves ran into: page 1 of the /15, the v6 block full, the leftover MAC taken
      const all = on.replies.flat();
      expect(all.some((r) => r.v4?.startsWith('10.71.'))).toBe(true);
      expect(all.some((r) => 'reason' in r && r.reason === 'SubnetFull')).toBe(true);
      // c's second wave: released v4 addresses (handed out in the first) with never-used v6 ones
      const first = on.replies[4] ?? [];
      const again = [...(on.replies[5] ?? []), ...(on.replies[6] ?? [])].filter(
        (r) => 'v4' in r && r.created,
      );
      expect(again.length).toBeGreaterThan(0);
      const v4s = new Set(first.map((r) => ('v4' in r ? r.v4 : undefined)));
      const v6s = new Set(first.map((r) => ('v6' in r ? r.v6 : undefined)));
      for (const r of again) {
        expect(v4s.has(r.v4)).toBe(true);
        expect(v6s.has(r.v6)).toBe(false);
      }
      expect(on.states[2]?.['{ipam:a}:state']).toMatchObject({
        'o:left': expect.stringMatching(/\|00:00:00:00:00:02$/),
      });
    },
  );
});
