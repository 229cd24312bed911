// What counts() costs at a size (issue 16): the counts read from the bitmaps (now) against the
// method it replaced (before: HKEYS of the state hash matched in Lua, every position a BigInt in
// Node, sorted, merged), on the same subnet of its own Redis. Per call: Redis CPU (INFO
// commandstats, the EVALSHA's usec), Node CPU and wall time; and the Subnet status refresh delay
// that counting alone would give ten such subnets (subnetRefreshDelay of the summed wall time).
// Each subnet is filled in order, then every 10th (12th) reservation released, so its ranges are
// fragmented (one run per 9 or 11 addresses) and it holds the number shown; the last two rows
// are filled in order with nothing released (one run).
// Not part of `npm run bench` (no .bench suffix):
//   npx tsx bench/counts.ts [scale]      (calls per method: 200, 50, 10 by size, times scale)
import { Redis } from 'ioredis';
import { startRedis } from '../infra/local/services.ts';
import { subnetRefreshDelay } from '../shared/domain/subnet-status.ts';
import { createRedisAllocator } from '../shared/ipam/index.ts';
import { usageFromPositions } from '../shared/ipam/owned-runs.ts';
import { subnetKeys } from '../shared/ipam/redis/keys.ts';
import { subnetRange } from '../shared/ipam/subnet-range.ts';

/** Calls per method at each size (the old method takes seconds at 500,000), times argv[2]. */
const SCALE = Number(process.argv[2] ?? 1);

// The counts script before this change (shared/ipam/redis/scripts/read.ts at 994d84e).
const BEFORE = `
local m = redis.call('HMGET', KEYS[1], 'gen', '4:ox', '6:ox')
if not m[1] then return {false} end
local pos = {['4'] = {}, ['6'] = {}}
for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do
  local f, p = string.match(k, '^([46])@(.+)$')
  if f then pos[f][#pos[f] + 1] = p end
end
return {m[1], m[2] or '0', m[3] or '0', pos['4'], pos['6']}
`;

const SIZES = [
  { cidrBlock: '10.16.0.0/16', fill: 12_222, every: 10, calls: 200 }, // 11,000 held
  { cidrBlock: '10.16.0.0/16', fill: 65_533, every: 12, calls: 50 }, // 60,071 held (the /16 full, then released)
  { cidrBlock: '10.16.0.0/12', fill: 555_556, every: 10, calls: 10 }, // 500,000 held
  // in order, nothing released (one run): what Vips created one after another leave
  { cidrBlock: '10.16.0.0/16', fill: 60_000, every: 0, calls: 50 },
  { cidrBlock: '10.16.0.0/12', fill: 500_000, every: 0, calls: 10 },
];

const server = await startRedis();
const redis = new Redis(server.url);
redis.defineCommand('countsBefore', { numberOfKeys: 4, lua: BEFORE });
const before = (...keys: string[]) =>
  (
    redis as unknown as { countsBefore(...k: string[]): Promise<[string, string, string, string[]]> }
  ).countsBefore(...keys);
const ipam = createRedisAllocator(redis);

async function evalUsec(): Promise<{ calls: number; usec: number }> {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info('commandstats'));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

async function measure(call: () => Promise<unknown>, calls: number) {
  for (let i = 0; i < 3; i++) await call(); // script load, JIT
  await redis.config('RESETSTAT');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await call();
  const wall = (performance.now() - t0) / calls;
  const cpu = process.cpuUsage(cpu0);
  const r = await evalUsec();
  return { redisMs: r.usec / r.calls / 1000, nodeMs: (cpu.user + cpu.system) / calls / 1000, wallMs: wall };
}

console.log(
  'subnet          held     method  redis ms/call  node ms/call  wall ms/call  refresh delay, 10 such subnets (base 250 ms)',
);
try {
  for (const [i, size] of SIZES.entries()) {
    const name = `b${i}`;
    const spec = { name, cidrBlock: size.cidrBlock };
    await ipam.registerSubnet(spec);
    const total = size.fill;
    for (let j = 0; j < total; j += 1000) {
      const n = Math.min(1000, total - j);
      await Promise.all(
        Array.from({ length: n }, (_, k) => ipam.allocate({ subnet: name, owner: `o${j + k}` })),
      );
    }
    for (let j = 0; j < total; j += 10_000) {
      const owners = Array.from({ length: Math.min(10_000, total - j) }, (_, k) => j + k).filter(
        (k) => size.every > 0 && k % size.every === 0,
      );
      await Promise.all(owners.map((k) => ipam.release(name, `o${k}`)));
    }
    const fr = subnetRange(spec).v4;
    if (!fr) throw new Error('no IPv4 range');
    const now = await ipam.counts(name);
    const old = async () => {
      const r = await before(...subnetKeys(name));
      return usageFromPositions(fr, r[3]);
    };
    const was = await old();
    if (was.using !== now.v4UsingIPs || was.range !== now.v4UsingIPRange)
      throw new Error(`${name}: methods disagree`);
    for (const [method, call] of [
      ['before', old],
      ['now', () => ipam.counts(name)],
    ] as const) {
      const m = await measure(call, Math.max(3, Math.round(size.calls * SCALE)));
      const delay = subnetRefreshDelay(250, 10 * m.wallMs);
      console.log(
        `${size.cidrBlock.padEnd(14)} ${String(now.v4UsingIPs).padStart(7)}  ${method.padStart(6)}  ${m.redisMs.toFixed(2).padStart(13)}  ${m.nodeMs.toFixed(2).padStart(12)}  ${m.wallMs.toFixed(2).padStart(12)}  ${delay} ms`,
      );
    }
    await redis.flushall(); // the next size starts from an empty Redis
  }
} finally {
  redis.disconnect();
  await server.stop();
}
