// Where the allocate script's time goes, inside Redis (issue 16). The script is run with timestamps
// (redis.call('TIME')) at the end of each phase of its fast path, summed per phase over 400 calls of
// 50 new owners each on a subnet that already holds `prefill` owners, and printed per allocation.
// Next to it, the same way: "inserts only", a script that makes just the inserts of 50 allocations
// from strings it is given (HMGET of the records, HSET of record and address, ZADD, and HSET of
// m:<MAC> in MAC layout v2 or of the cursor alone in v3), the floor of this layout; and the
// bench's bare BITPOS+SETBIT script, per call.
// Not part of `npm run bench` (no .bench suffix):
//   [BATCH=50] node --import tsx bench/ipam-phases.ts [v4|v6] [prefill] [v3|v2]   (defaults: v6 20000 v3)
// BATCH: owners per call. v3: a fresh MAC registry (a dynamic MAC is kept by its bit and the record,
// no m:<MAC>); v2: a registry that existed before (m:<MAC> for every MAC).
import { Redis } from 'ioredis';
import { startRedis } from '../infra/local/services.ts';
import { createRedisAllocator } from '../shared/ipam/index.ts';
import { MAC_KEYS, subnetKeys } from '../shared/ipam/redis/keys.ts';
import { ALLOCATE } from '../shared/ipam/redis/scripts/index.ts';

const fam = process.argv[2] ?? 'v6';
const prefill = Number(process.argv[3] ?? 20000);
const layout = process.argv[4] === 'v2' ? 'v2' : 'v3';
const BATCH = Number(process.env.BATCH ?? 50);
const CALLS = 400;

// Lua: MARK(name) ends a phase; FLUSH() adds the phases to the hash 'prof' (µs) and counts the call
const TIMER = `local PROF_T, PROF_L = {}, nil
local function MARK(name)
  local t = redis.call('TIME')
  local now = t[1] * 1e6 + t[2]
  if PROF_L then PROF_T[#PROF_T + 1] = name; PROF_T[#PROF_T + 1] = now - PROF_L end
  PROF_L = now
end
local function FLUSH()
  for i = 1, #PROF_T, 2 do redis.call('HINCRBY', 'prof', PROF_T[i], PROF_T[i + 1]) end
  redis.call('HINCRBY', 'prof', '#calls', 1)
end
MARK('start')
`;

/** The allocate script with a MARK after each phase of the fast path. */
function instrumented(): string {
  let lua = ALLOCATE;
  const mark = (where: string, name: string, after = false) => {
    if (!lua.includes(where)) throw new Error(`not in the script: ${where}`);
    const m = `\nMARK('${name}')\n`;
    lua = lua.replace(where, after ? `${where}${m}` : `${m}${where}`);
  };
  mark('local FAMS = {', 'arguments, helpers');
  mark("if gen ~= ARGV[1] then return {'STALE'} end", 'state read (HMGET of records)', true);
  mark('  local replies = fast()', 'MAC registry mark');
  mark('  -- every request decided: write', 'deciding (bits, MACs)');
  mark('\n  for f, pk in pairs(picks) do\n    for _, w in ipairs(pk.wins) do', 'write lists, replies');
  mark("\n  redis.call('HSET', S, unpack(hs))\n", 'bitmap SETRANGEs');
  mark("\n  redis.call('ZADD', IDX, unpack(idx))\n", 'HSET state (record, address)');
  mark('\n  if anyClaimed then', 'ZADD owner index');
  const end = "    redis.call('HSET', MAP, unpack(macHs))\n  end\n  return replies\nend";
  if (!lua.includes(end)) throw new Error('the fast path end is not in the script');
  lua = lua.replace(
    end,
    "    redis.call('HSET', MAP, unpack(macHs))\n  end\n  MARK('HSET MAC registry')\n  FLUSH()\n  return replies\nend",
  );
  return TIMER + lua;
}

const INSERTS_ONLY = `${TIMER}
local S, IDX, MAP = KEYS[1], KEYS[2], KEYS[5]
local f, hs, idx, mh = {}, {}, {}, {}
for i = 0, (#ARGV - 1) / 6 - 1 do
  local a = i * 6 + 1
  f[i + 1] = ARGV[a + 2]
  hs[4 * i + 1] = ARGV[a + 2]; hs[4 * i + 2] = ARGV[a + 3]; hs[4 * i + 3] = ARGV[a + 4]; hs[4 * i + 4] = ARGV[a + 1]
  idx[2 * i + 1] = '0'; idx[2 * i + 2] = ARGV[a + 1]
  mh[2 * i + 1] = ARGV[a + 5]; mh[2 * i + 2] = ARGV[a + 6]
end
MARK('floor: argument lists')
redis.call('HMGET', S, unpack(f))
MARK('floor: HMGET of records')
redis.call('HSET', S, unpack(hs))
MARK('floor: HSET state')
redis.call('ZADD', IDX, unpack(idx))
MARK('floor: ZADD')
if ARGV[1] == 'v2' then redis.call('HSET', MAP, unpack(mh)) else redis.call('HSET', MAP, '#next', #ARGV) end
MARK('floor: HSET MAC registry')
FLUSH()
return 1
`;
const BARE = `${TIMER}
local p = redis.call('BITPOS', KEYS[1], 0)
if p >= 0 and p < 65536 then redis.call('SETBIT', KEYS[1], p, 1) else p = -1 end
MARK('bare: BITPOS + SETBIT')
FLUSH()
return p`;

const server = await startRedis();
const redis = new Redis(server.url);
try {
  if (layout === 'v2') await redis.hset(MAC_KEYS[0], '#next', '0', '#h', '0');
  const ipam = createRedisAllocator(redis);
  await ipam.registerSubnet({ name: 's', cidrBlock: fam === 'v6' ? 'fd00:10:16::/64' : '10.16.0.0/16' });
  for (let i = 0; i < prefill; i += BATCH)
    await Promise.all(
      Array.from({ length: BATCH }, (_, j) => ipam.allocate({ subnet: 's', owner: `fill${i + j}` })),
    );
  const keys = [...subnetKeys('s'), ...MAC_KEYS];
  const report = async (title: string, per: number) => {
    const prof = await redis.hgetall('prof');
    await redis.del('prof');
    const calls = Number(prof['#calls'] ?? 1);
    let total = 0;
    console.log(`${title} (${calls} calls; µs per allocation)`);
    for (const [k, v] of Object.entries(prof)) {
      if (k === '#calls') continue;
      total += Number(v);
      console.log(`  ${k.padEnd(34)} ${(Number(v) / calls / per).toFixed(2)}`);
    }
    console.log(`  ${'sum'.padEnd(34)} ${(total / calls / per).toFixed(2)}`);
  };
  let seq = 0;
  const sha = (await redis.script('LOAD', instrumented())) as string;
  for (let c = 0; c < CALLS; c++) {
    const gen = (await redis.hget(keys[0] as string, 'gen')) as string;
    const owners = Array.from({ length: BATCH }, () => `o${seq++}`);
    await redis.evalsha(sha, keys.length, ...keys, gen, 'o'.repeat(BATCH), ...owners);
  }
  console.log(`MAC registry: ${await redis.hlen(MAC_KEYS[0])} fields after ${seq + prefill} owners`);
  await report(
    `allocate script, ${fam}, ${prefill} owners before, ${BATCH} new owners per call, MAC layout ${layout}`,
    BATCH,
  );

  const floorSha = (await redis.script('LOAD', INSERTS_ONLY)) as string;
  const f = fam === 'v6' ? '6' : '4';
  const hex = (n: number) => (n & 255).toString(16).toUpperCase().padStart(2, '0');
  for (let c = 0; c < CALLS; c++) {
    const args: string[] = [layout];
    for (let j = 0; j < BATCH; j++) {
      const i = seq++;
      const owner = `o${i}`;
      const pos = `${Math.floor(i / 65536) + 100}:${i % 65536}`;
      const mac = `00:00:01:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}`;
      args.push(
        owner,
        `o:${owner}`,
        f === '4' ? `${pos}||${mac}` : `|${pos}|${mac}`,
        `${f}@${pos}`,
        `m:${mac}`,
        `s/${owner}`,
      );
    }
    await redis.evalsha(floorSha, keys.length, ...keys, ...args);
  }
  await report('inserts only, the same strings given', BATCH);

  const bareSha = (await redis.script('LOAD', BARE)) as string;
  let page = 0;
  for (let c = 0; c < CALLS * BATCH; c++)
    if ((await redis.evalsha(bareSha, 1, `bare:${page}`)) === -1) page++;
  await report('bare script', 1);
} finally {
  redis.disconnect();
  await server.stop();
}
process.exit(0);
