// End-to-end: Vips created through the API server until Ready, through the relay and the function
// replicas, with 1, 2 and 4 replicas; next to the allocator alone on the same machine in the same
// run, and the latency at a modest offered load (100 Vips/s).
import { Redis } from 'ioredis';
import { startRedis } from '../infra/local/services.ts';
import { createRedisAllocator } from '../shared/ipam/index.ts';
import { runScale } from './scale.ts';

const VIPS = Number(process.env.BENCH_E2E_VIPS ?? 1000);

async function allocatorOnly(n: number): Promise<number> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    const allocator = createRedisAllocator(redis);
    await allocator.registerSubnet({ name: 'bench', cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1' });
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < n) await allocator.allocate({ subnet: 'bench', owner: `vip/${next++}` });
      }),
    );
    return n / ((performance.now() - start) / 1000);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

export async function run() {
  const alloc = await allocatorOnly(20_000);
  console.log(`allocator alone (50 in flight): ${alloc.toFixed(0)} allocations/s`);
  console.log(`\n${VIPS} Vips as fast as the API server takes them (10% AAP with a parent pod):`);
  console.log('replicas  Vips/s  p50 ms  p99 ms  vs allocator  audit');
  for (const replicas of [1, 2, 4]) {
    const r = await runScale({ replicas, vips: VIPS, aapEvery: 10 });
    const clean = r.duplicates + r.leaked + r.violations === 0 ? 'clean' : 'DIRTY';
    console.log(
      `${String(replicas).padStart(8)}  ${r.vipsPerSecond.toFixed(0).padStart(6)}  ${r.p50.toFixed(0).padStart(6)}  ${r.p99
        .toFixed(0)
        .padStart(6)}  ${(r.vipsPerSecond / alloc).toFixed(3).padStart(12)}  ${clean}`,
    );
  }
  const paced = await runScale({ replicas: 1, vips: 500, aapEvery: 10, ratePerSecond: 100 });
  console.log(
    `\n100 Vips/s offered, 1 replica, 500 Vips: p50 ${paced.p50.toFixed(0)} ms, p99 ${paced.p99.toFixed(0)} ms (${paced.vipsPerSecond.toFixed(0)} Vips/s)`,
  );
}
