// Redis memory per reservation in the MAC registry's layouts (issue 16): `count` dynamic
// allocations (batches of 50, as the allocator sends them) on a fresh Redis, in layout v3 (a fresh
// registry: a dynamic MAC is kept by its bit and the record) and v2 (a registry that existed
// before: m:<MAC> for every MAC). Prints INFO memory used_memory after registering the subnet and
// after the allocations, and the difference per reservation. Not part of `npm run bench`:
//   node --import tsx bench/mac-memory.ts [count] [v3|v2 ...]      (defaults: 100000 v3 v2)
import { Redis } from 'ioredis';
import { startRedis } from '../infra/local/services.ts';
import { createRedisAllocator } from '../shared/ipam/index.ts';
import { MAC_MAP } from '../shared/ipam/redis/keys.ts';

const count = Number(process.argv[2] ?? 100_000);
const layouts = process.argv.length > 3 ? process.argv.slice(3) : ['v3', 'v2'];
const BATCH = 50;

const usedMemory = async (r: Redis) => Number(/used_memory:(\d+)/.exec(await r.info('memory'))?.[1]);

for (const layout of layouts) {
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    if (layout === 'v2') await redis.hset(MAC_MAP, '#next', '0', '#h', '0');
    const ipam = createRedisAllocator(redis);
    await ipam.registerSubnet({ name: 's', cidrBlock: '10.16.0.0/14' });
    const before = await usedMemory(redis);
    for (let i = 0; i < count; i += BATCH)
      await Promise.all(
        Array.from({ length: Math.min(BATCH, count - i) }, (_, j) =>
          ipam.allocate({ subnet: 's', owner: `vip/owner-${i + j}` }),
        ),
      );
    const after = await usedMemory(redis);
    console.log(
      `${layout}: ${count} reservations, used_memory ${(before / 1e6).toFixed(1)} -> ${(after / 1e6).toFixed(1)} MB, ` +
        `${((after - before) / count).toFixed(0)} bytes per reservation, MAC map ${await redis.hlen(MAC_MAP)} fields`,
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}
process.exit(0);
