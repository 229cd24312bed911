// A Redis restart with AOF on loses no reservation: same owners, same addresses, same MACs,
// exact counts, a clean audit, and allocation continues where it stopped.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../infra/local/services.ts';
import { createRedisAllocator, type Reservation } from '../../shared/ipam/index.ts';

let server: RedisServer | undefined;
afterAll(async () => {
  await server?.stop();
});

describe('Redis restart with AOF', () => {
  it.each([
    ['SIGTERM', 'everysec'],
    ['SIGKILL', 'always'],
  ] as const)(
    'after %s (appendfsync %s) every reservation is still there',
    { timeout: 60_000 },
    async (signal, fsync) => {
      server = await startRedis({ appendonly: true });
      let redis = new Redis(server.url);
      await redis.config('SET', 'appendfsync', fsync);
      let ipam = createRedisAllocator(redis);
      await ipam.registerSubnet({
        name: 'ovn-default',
        cidrBlock: '10.16.0.0/16,fd00:10:16::/64',
        excludeIps: ['10.16.0.9'],
      });
      const before: Reservation[] = [];
      for (let i = 0; i < 500; i++)
        before.push(await ipam.allocate({ subnet: 'ovn-default', owner: `vip/v${i}` }));
      for (let i = 0; i < 500; i += 7) await ipam.release('ovn-default', `vip/v${i}`);
      const kept = before
        .filter((_, i) => i % 7 !== 0)
        .map(({ subnet, owner, v4, v6, mac }) => ({ subnet, owner, v4, v6, mac }));
      const countsBefore = await ipam.counts('ovn-default');
      redis.disconnect();

      server = await server.restart({ signal });
      redis = new Redis(server.url);
      ipam = createRedisAllocator(redis); // a fresh process: nothing cached
      for (const r of kept) expect(await ipam.get('ovn-default', r.owner)).toEqual(r);
      expect(await ipam.counts('ovn-default')).toEqual(countsBefore);
      expect(await ipam.audit('ovn-default')).toEqual([]);
      // released addresses still go last: the next address is a never-used one
      expect((await ipam.allocate({ subnet: 'ovn-default', owner: 'vip/new' })).v4).toBe('10.16.1.247');
      redis.disconnect();
      await server.stop();
      server = undefined;
    },
  );
});
