// Where an allocation's cost goes, per family: the allocate script's own time in Redis (INFO
// commandstats: the EVALSHA's usec, and the median call from SLOWLOG), Redis' process CPU, Node's
// CPU, and Node's formatting of the reply, for an empty IPv4 /16 and an IPv6 /64, next to the bare
// BITPOS+SETBIT script of bench/ipam.bench.ts. Not part of `npm run bench` (no .bench suffix):
//   node --import tsx bench/ipam-profile.ts        (PROFILE_N=20000 allocations per side by default)
import { Redis } from 'ioredis';
import { startRedis } from '../infra/local/services.ts';
import { createRedisAllocator } from '../shared/ipam/index.ts';
import { addressOf } from '../shared/ipam/positions.ts';
import { subnetRange } from '../shared/ipam/subnet-range.ts';

const N = Number(process.env.PROFILE_N ?? 20_000);
const CONCURRENCY = 50;
const BARE_LUA = `local p = redis.call('BITPOS', KEYS[1], 0)
if p < 0 or p >= 65536 then return -1 end
redis.call('SETBIT', KEYS[1], p, 1)
return p`;

async function main() {
  const server = await startRedis();
  const redis = new Redis(server.url);
  redis.defineCommand('bareAlloc', { numberOfKeys: 1, lua: BARE_LUA });
  const bare = (key: string) =>
    (redis as unknown as { bareAlloc: (k: string) => Promise<number> }).bareAlloc(key);
  const ipam = createRedisAllocator(redis);
  const redisCpu = async () => {
    const info = await redis.info('cpu');
    const num = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    return (num('used_cpu_user') + num('used_cpu_sys')) * 1e6;
  };
  const evalStats = async () => {
    const info = await redis.info('commandstats');
    const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
    return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
  };
  const run = async (op: (i: number) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) await op(next++);
      }),
    );
  };
  const measure = async (name: string, op: (i: number) => Promise<unknown>) => {
    await redis.config('SET', 'slowlog-log-slower-than', '0');
    await redis.config('SET', 'slowlog-max-len', '100000');
    await redis.slowlog('RESET');
    await redis.config('RESETSTAT');
    const r0 = await redisCpu();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run(op);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const r = (await redisCpu()) - r0;
    await redis.config('SET', 'slowlog-log-slower-than', '10000');
    const log = (await redis.slowlog('GET', 100000)) as [number, number, number, string[]][];
    const ev = await evalStats();
    const durs = log
      .filter((e) => String(e[3]?.[0]).toLowerCase() === 'evalsha')
      .map((e) => e[2])
      .sort((a, b) => a - b);
    const perCall = N / Math.max(1, ev.calls);
    console.log(
      [
        name.padEnd(24),
        `${(N / (ms / 1000)).toFixed(0).padStart(7)}/s`,
        `calls ${ev.calls}`,
        `script µs/alloc ${(ev.usec / N).toFixed(2)}`,
        `median call ${((durs[Math.floor(durs.length / 2)] ?? 0) / perCall).toFixed(2)}µs/alloc`,
        `redis CPU µs/alloc ${(r / N).toFixed(2)}`,
        `node CPU µs/alloc ${((c.user + c.system) / N).toFixed(2)}`,
      ].join('  '),
    );
  };
  try {
    for (const [name, cidr] of [
      ['v4 /16', '10.16.0.0/16'],
      ['v6 /64', 'fd00:10:16::/64'],
      ['v4 /16 again', '10.20.0.0/16'],
      ['v6 /64 again', 'fd00:10:20::/64'],
    ] as const) {
      await redis.flushall();
      await ipam.registerSubnet({ name: 's', cidrBlock: cidr });
      // warm-up: script load, JIT, the first page's keys
      for (let i = 0; i < 2000; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, (_, j) => ipam.allocate({ subnet: 's', owner: `w${i + j}` })),
        );
      await measure(`ipam ${name}`, (i) => ipam.allocate({ subnet: 's', owner: `o${i}` }));
      await measure(`bare ${name}`, async () => {
        for (let page = 0; ; page++) if ((await bare(`bare:${page}`)) >= 0) return;
      });
    }
    // Node: the reply's position to address text, per family
    const fmt = (cidr: string) => {
      const r = subnetRange({ name: 'x', cidrBlock: cidr });
      const fr = (r.v4 ?? r.v6)!;
      const M = 1_000_000;
      let sink = 0;
      const t0 = process.cpuUsage();
      for (let i = 0; i < M; i++) sink += addressOf(fr, `0:${i % 65536}`).length;
      const c = process.cpuUsage(t0);
      return `${(((c.user + c.system) / M) * 1000).toFixed(0)} ns (${sink > 0 ? 'ok' : ''})`;
    };
    console.log(`Node addressOf per allocation: v4 ${fmt('10.16.0.0/16')}, v6 ${fmt('fd00:10:16::/64')}`);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();
process.exit(0);
