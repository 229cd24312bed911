// End-to-end: Vips created through the API server until Ready, through the relay and the function
// replicas, with 1, 2 and 4 replicas on Node and one replica on Deno (the same modules, run by
// `deno` from source); next to the allocator alone on the same machine in the same run, and the
// latency at a modest offered load (100 Vips/s). BENCH_E2E_RUNTIMES=deno runs the Deno rows alone
// (and skips the paced runs), BENCH_E2E_VIPS sets the count.
import { Redis } from 'ioredis';
import { startRedis } from '../infra/local/services.ts';
import type { FunctionRuntime } from '../infra/local/stack.ts';
import { createRedisAllocator } from '../shared/ipam/index.ts';
import { runScale } from './scale.ts';

// Long enough that the start and the end of a run (a second or two) do not dominate it.
const VIPS = Number(process.env.BENCH_E2E_VIPS ?? 3000);
const RUNTIMES = (process.env.BENCH_E2E_RUNTIMES ?? 'node,deno').split(',') as FunctionRuntime[];
// Deno runs one replica: the row compares runtimes, the Node rows already show the scaling.
const ROWS: [FunctionRuntime, number][] = [
  ['node', 1],
  ['node', 2],
  ['node', 4],
  ['deno', 1],
];

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

const cell = (v: number, width: number, digits = 0) => v.toFixed(digits).padStart(width);

export async function run() {
  const alloc = await allocatorOnly(20_000);
  console.log(`allocator alone (50 in flight): ${alloc.toFixed(0)} allocations/s`);
  console.log(`\n${VIPS} Vips as fast as the API server takes them; CPU ms per Vip by process`);
  console.log('(api+load: the development API server, the load generator and its watch, one process)');
  console.log(
    'mix       runtime  replicas  Vips/s  p50 ms  p99 ms  vs allocator  functions  relay  api+load  redis    nb  total  audit',
  );
  for (const [mix, aapEvery] of [
    ['plain', 0],
    ['10% AAP', 10],
  ] as const) {
    for (const [runtime, replicas] of ROWS) {
      if (!RUNTIMES.includes(runtime)) continue;
      const r = await runScale({ replicas, vips: VIPS, aapEvery, stack: { functionRuntime: runtime } });
      const clean = r.duplicates + r.leaked + r.violations === 0 ? 'clean' : 'DIRTY';
      const c = r.cpuMsPerVip;
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      console.log(
        `${mix.padEnd(8)}  ${runtime.padEnd(7)}  ${cell(replicas, 8)}  ${cell(r.vipsPerSecond, 6)}  ${cell(r.p50, 6)}  ${cell(r.p99, 6)}  ${cell(r.vipsPerSecond / alloc, 12, 3)}  ${cell(c.functions ?? 0, 9, 2)}  ${cell(c.relay ?? 0, 5, 2)}  ${cell(c.self ?? 0, 8, 2)}  ${cell(c.redis ?? 0, 5, 2)}  ${cell(c.nb ?? 0, 4, 2)}  ${cell(total, 5, 2)}  ${clean}`,
      );
    }
  }
  if (!RUNTIMES.includes('node')) return;
  for (const [mix, aapEvery] of [
    ['plain', 0],
    ['10% AAP', 10],
  ] as const) {
    const paced = await runScale({
      replicas: 1,
      vips: 500,
      aapEvery,
      ratePerSecond: 100,
    });
    console.log(
      `\n100 Vips/s offered, ${mix}, 1 replica, 500 Vips: p50 ${paced.p50.toFixed(0)} ms, p99 ${paced.p99.toFixed(0)} ms (${paced.vipsPerSecond.toFixed(0)} Vips/s)`,
    );
  }
}
