// Allocation throughput and latency through shared/ipam against the bare BITPOS+SETBIT Lua script,
// through the same ioredis client at the same concurrency, on a Redis this bench starts itself.
// Scenarios: an empty /16, a 90%-full /16 (filled in order; and fragmented: filled, then 10% released
// at random so only released addresses are left), an IPv6 /64, a 90%-full /12 (1M addresses, 16
// bitmap pages) and a "90%-full" /64 (below); plus the empty /16 with a tick sent as one call (no
// split: see RedisAllocatorOptions.splitAt) and with micro-batching off. ipam
// batches (allocations of one subnet in the same tick go to Redis as one script call, each decided
// on its own); the bare script is one EVALSHA per allocation, always.
// The bare script is the least an allocator does on the same layout: bitmap pages of 65,536 bits,
// one key each; BITPOS finds the lowest clear bit of the page the bench is on, SETBIT takes it (-1:
// the page is full, the bench moves to the next one). No owner, no MAC, no counts, no audit trail.
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { startRedis } from '../infra/local/services.ts';
import { type Allocator, createRedisAllocator } from '../shared/ipam/index.ts';

const CONCURRENCY = 50;
const PAGE_BITS = 65536;
const BARE_LUA = `local p = redis.call('BITPOS', KEYS[1], 0)
if p < 0 or p >= ${PAGE_BITS} then return -1 end
redis.call('SETBIT', KEYS[1], p, 1)
return p`;
/** A /12 holds 2^20 addresses: 16 pages. "90%-full /64": see the scenario below. */
const BIG = 2 ** 20;

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU per allocation in µs: independent of other load on this shared machine. */
  nodeCpu: number;
  redisCpu: number;
}

let redisCpuNow: () => Promise<number> = async () => 0;

async function timed(
  from: number,
  to: number,
  op: (i: number) => Promise<unknown>,
  lat: number[],
): Promise<number> {
  let next = from;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < to) {
        const i = next++;
        const t = performance.now();
        await op(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  return performance.now() - start;
}

const summarize = (n: number, ms: number, lat: number[], cpu: { node: number; redis: number }): Result => {
  lat.sort((a, b) => a - b);
  return {
    perSecond: n / (ms / 1000),
    p50: lat[Math.floor(n * 0.5)] ?? 0,
    p99: lat[Math.floor(n * 0.99)] ?? 0,
    nodeCpu: cpu.node / n,
    redisCpu: cpu.redis / n,
  };
};

/** Round ratios: the median of ipam/bare over rounds, each from one round of each side run back
 *  to back, so a load change on this shared machine hits both sides of a ratio alike. */
interface Rounds {
  median: number;
  low: number;
  high: number;
}

/**
 * Runs both sides in alternating rounds: first a warm-up round per side (not counted: the row's
 * first script calls, JIT of that path, the first bitmap page), then `rounds` rounds of n/rounds
 * allocations per side, the side that goes first alternating from round to round. Returns each
 * side's totals and the per-round ratios.
 */
async function compare(
  n: number,
  ipamOp: (i: number) => Promise<unknown>,
  bareOp: (i: number) => Promise<unknown>,
  // ~2,500 allocations per round (15-25 ms): with ~500 (4 ms), the start and end of every round,
  // when ipam's two calls of a tick have no partner to overlap with, were a tenth of it
  rounds = Math.max(4, Math.round(n / 2500)),
  afterWarmUp: () => void = () => {},
): Promise<{ ipam: Result; bare: Result; rounds: Rounds }> {
  const lat = { ipam: [] as number[], bare: [] as number[] };
  const ms = { ipam: 0, bare: 0 };
  const cpu = { ipam: { node: 0, redis: 0 }, bare: { node: 0, redis: 0 } };
  const step = Math.ceil(n / rounds);
  const side = async (
    which: 'ipam' | 'bare',
    from: number,
    to: number,
    op: (i: number) => Promise<unknown>,
  ): Promise<number> => {
    const r0 = await redisCpuNow();
    const c0 = process.cpuUsage();
    const took = await timed(from, to, op, lat[which]);
    ms[which] += took;
    const c = process.cpuUsage(c0);
    cpu[which].node += c.user + c.system;
    cpu[which].redis += (await redisCpuNow()) - r0;
    return (to - from) / took;
  };
  // warm-up: indices past n for both (ipam owners are distinct from the measured ones)
  const warm = Math.min(500, Math.ceil(n / 10));
  await timed(n, n + warm, bareOp, []);
  await timed(n, n + warm, ipamOp, []);
  afterWarmUp();
  const ratios: number[] = [];
  for (let from = 0, round = 0; from < n; from += step, round++) {
    const to = Math.min(n, from + step);
    let rate: { ipam: number; bare: number };
    if (round % 2 === 0) {
      const bare = await side('bare', from, to, bareOp);
      rate = { bare, ipam: await side('ipam', from, to, ipamOp) };
    } else {
      const ipam = await side('ipam', from, to, ipamOp);
      rate = { ipam, bare: await side('bare', from, to, bareOp) };
    }
    ratios.push(rate.ipam / rate.bare);
  }
  ratios.sort((a, b) => a - b);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))] ?? 0;
  return {
    ipam: summarize(n, ms.ipam, lat.ipam, cpu.ipam),
    bare: summarize(n, ms.bare, lat.bare, cpu.bare),
    rounds: { median: at(0.5), low: at(0.25), high: at(0.75) },
  };
}

/** Fills a /16 in order with `count` allocations (pipelined in batches, still one script each). */
async function fill(ipam: Allocator, subnet: string, count: number) {
  for (let i = 0; i < count; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, count - i) }, (_, j) =>
        ipam.allocate({ subnet, owner: `fill-${i + j}` }),
      ),
    );
  }
}

export async function run() {
  const server = await startRedis();
  const redis = new Redis(server.url);
  redisCpuNow = async () => {
    const info = await redis.info('cpu');
    const num = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    return (num('used_cpu_user') + num('used_cpu_sys')) * 1e6;
  };
  redis.defineCommand('bareAlloc', { numberOfKeys: 1, lua: BARE_LUA });
  const bareAlloc = (key: string) =>
    (redis as unknown as { bareAlloc: (k: string) => Promise<number> }).bareAlloc(key);
  /** the bare allocator over pages `<prefix>:<n>`: from the page the bench is on, the next when full */
  const pagedBare = (prefix: string) => {
    let page = 0;
    return async () => {
      for (;;) {
        const at = page;
        const pos = await bareAlloc(`${prefix}:${at}`);
        if (pos >= 0) return pos;
        if (page === at) page = at + 1;
      }
    };
  };
  let batches = 0;
  let batched = 0;
  const onBatch = (n: number) => {
    batches++;
    batched += n;
  };
  const ipam = createRedisAllocator(redis, { onBatch });
  const unbatched = createRedisAllocator(redis, { batching: false });
  // the allocator before issue 16's last pass: a tick's 50 requests as one call, so Node and Redis
  // take turns (the default sends an idle tick of 32 or more as half now and half when that call
  // answers, and then keeps two calls out)
  const oneCall = createRedisAllocator(redis, { splitAt: Number.POSITIVE_INFINITY, onBatch });
  const rows: { name: string; ipam: Result; bare: Result; rounds: Rounds; batch: number }[] = [];
  /** compare(), noting the mean batch size of the ipam side (measured rounds only) */
  const measure = async (
    name: string,
    n: number,
    ipamOp: (i: number) => Promise<unknown>,
    bareOp: (i: number) => Promise<unknown>,
  ) => {
    const r = await compare(n, ipamOp, bareOp, undefined, () => {
      batches = 0;
      batched = 0;
    });
    rows.push({ name, ...r, batch: batches ? batched / batches : 1 });
  };
  const loadBefore = loadavg();
  try {
    // warm up both paths before the first row (script load, JIT of both sides' Node paths, and
    // Redis touching memory for the first time: rows after a fill reuse memory it has freed, and
    // the first row would pay page faults the later ones do not), then start from an empty Redis
    // First a fill as the later rows' fills do: the first row otherwise paid for the bench process'
    // heap growing (V8 GC pauses 17-24 ms in it against 2-6 ms in later rows, ~2-3 µs more Node CPU
    // per allocation on both sides; the same row run again after it did not).
    await ipam.registerSubnet({ name: 'warmfill', cidrBlock: '10.98.0.0/16' });
    await fill(ipam, 'warmfill', 60_000);
    await ipam.registerSubnet({ name: 'warm', cidrBlock: '10.99.0.0/16' });
    await compare(20_000, (i) => ipam.allocate({ subnet: 'warm', owner: `w${i}` }), pagedBare('bare:warm'));

    const N = 20_000;
    // every scenario starts from an empty Redis (the MAC registry is cluster-wide: without this, a
    // row would also pay for the records the rows before it left behind)
    // empty /16
    await redis.flushall();
    await ipam.registerSubnet({ name: 'empty16', cidrBlock: '10.16.0.0/16' });
    await measure(
      'empty /16',
      N,
      (i) => ipam.allocate({ subnet: 'empty16', owner: `o${i}` }),
      pagedBare('bare:empty16'),
    );

    // 90%-full /16, filled in order: never-used addresses remain above the fill
    const usable = 65534 - 1; // minus the gateway
    const ninety = Math.floor(65536 * 0.9);
    const M = 5000;
    await redis.flushall();
    await ipam.registerSubnet({ name: 'full16', cidrBlock: '10.17.0.0/16' });
    await fill(ipam, 'full16', ninety);
    // the bare bitmap gets the same fill: 90% of its bits set from the start
    await redis.setrange('bare:full16:0', 0, Buffer.alloc(ninety / 8, 0xff));
    await measure(
      '90%-full /16',
      M,
      (i) => ipam.allocate({ subnet: 'full16', owner: `o${i}` }),
      pagedBare('bare:full16'),
    );

    // 90%-full /16, fragmented: every address used once, then a random 10% released (the free ones
    // are all "released", so allocation takes the used-bitmap path)
    await redis.flushall();
    await ipam.registerSubnet({ name: 'frag16', cidrBlock: '10.18.0.0/16' });
    await fill(ipam, 'frag16', usable);
    const owners = Array.from({ length: usable }, (_, i) => i);
    for (let i = owners.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [owners[i], owners[j]] = [owners[j] as number, owners[i] as number];
    }
    const released = owners.slice(0, Math.floor(usable * 0.1));
    for (let i = 0; i < released.length; i += 1000) {
      await Promise.all(released.slice(i, i + 1000).map((o) => ipam.release('frag16', `fill-${o}`)));
    }
    await redis.set('bare:frag16:0', Buffer.alloc(8192, 0xff));
    const pipe = redis.pipeline();
    for (const o of released) pipe.setbit('bare:frag16:0', o + 2, 0);
    await pipe.exec();
    await measure(
      '90%-full /16, fragmented',
      M,
      (i) => ipam.allocate({ subnet: 'frag16', owner: `o${i}` }),
      pagedBare('bare:frag16'),
    );

    // IPv6 /64
    await redis.flushall();
    await ipam.registerSubnet({ name: 'v6', cidrBlock: 'fd00:10:16::/64' });
    await measure(
      'IPv6 /64',
      N,
      (i) => ipam.allocate({ subnet: 'v6', owner: `o${i}` }),
      pagedBare('bare:v6'),
    );

    // 90%-full /12: 2^20 addresses over 16 pages, filled in order, so the state hash, the owner
    // index and the MAC registry each hold ~1M entries more than in the rows above
    const big90 = Math.floor(BIG * 0.9);
    await redis.flushall();
    await ipam.registerSubnet({ name: 'full12', cidrBlock: '10.32.0.0/12' });
    await fill(ipam, 'full12', big90);
    for (let page = 0; page * PAGE_BITS < big90; page++) {
      const bits = Math.min(PAGE_BITS, big90 - page * PAGE_BITS);
      await redis.setrange(`bare:full12:${page}`, 0, Buffer.alloc(Math.floor(bits / 8), 0xff));
    }
    await measure(
      '90%-full /12 (1M)',
      M,
      (i) => ipam.allocate({ subnet: 'full12', owner: `o${i}` }),
      pagedBare('bare:full12'),
    );

    // "90%-full /64": a /64 never fills (2^64 addresses; a bitmap page exists once written), so this
    // is a /64 after a /12's worth of use: its first 2^20 addresses (16 pages) handed out, then a
    // random 10% released, 943,718 held. ipam hands out never-used addresses first, so new ones
    // come from page 16 on; the bare script takes the released holes of page 0 first.
    await redis.flushall();
    await ipam.registerSubnet({ name: 'full64', cidrBlock: 'fd00:64::/64' });
    const held64 = BIG - 2; // positions 2 .. 2^20-1 (::1 is the gateway)
    await fill(ipam, 'full64', held64);
    const order64 = Array.from({ length: held64 }, (_, i) => i);
    for (let i = order64.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order64[i], order64[j]] = [order64[j] as number, order64[i] as number];
    }
    const released64 = order64.slice(0, Math.floor(BIG * 0.1));
    for (let i = 0; i < released64.length; i += 1000) {
      await Promise.all(released64.slice(i, i + 1000).map((o) => ipam.release('full64', `fill-${o}`)));
    }
    for (let page = 0; page < BIG / PAGE_BITS; page++) {
      await redis.set(`bare:full64:${page}`, Buffer.alloc(PAGE_BITS / 8, 0xff));
    }
    for (let i = 0; i < released64.length; i += 10_000) {
      const pipe = redis.pipeline();
      for (const o of released64.slice(i, i + 10_000)) {
        const at = o + 2;
        pipe.setbit(`bare:full64:${Math.floor(at / PAGE_BITS)}`, at % PAGE_BITS, 0);
      }
      await pipe.exec();
    }
    await measure(
      '"90%-full" /64 (1M used)',
      M,
      (i) => ipam.allocate({ subnet: 'full64', owner: `o${i}` }),
      pagedBare('bare:full64'),
    );

    // the empty /16 again, a tick as one call (no split): what the split is worth, in the same run
    await redis.flushall();
    await oneCall.registerSubnet({ name: 'onecall16', cidrBlock: '10.20.0.0/16' });
    await measure(
      'empty /16, one call per tick',
      N,
      (i) => oneCall.allocate({ subnet: 'onecall16', owner: `o${i}` }),
      pagedBare('bare:onecall16'),
    );

    // the same empty /16 case with micro-batching off: one script call per allocation, like bare
    await redis.flushall();
    await unbatched.registerSubnet({ name: 'nobatch16', cidrBlock: '10.19.0.0/16' });
    await measure(
      'empty /16, batching off',
      M,
      (i) => unbatched.allocate({ subnet: 'nobatch16', owner: `o${i}` }),
      pagedBare('bare:nobatch16'),
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }

  const f = (n: number, d = 0) => n.toFixed(d);
  const header = [
    'scenario',
    'ipam alloc/s',
    'p50 ms',
    'p99 ms',
    'bare alloc/s',
    'p50 ms',
    'p99 ms',
    'ipam/bare',
    'rounds: median (IQR)',
    'batch',
    'CPU µs/op ipam node+redis',
    'bare node+redis',
    'CPU bare/ipam',
  ];
  const table = rows.map((r) => [
    r.name,
    f(r.ipam.perSecond),
    f(r.ipam.p50, 2),
    f(r.ipam.p99, 2),
    f(r.bare.perSecond),
    f(r.bare.p50, 2),
    f(r.bare.p99, 2),
    `${f(r.ipam.perSecond / r.bare.perSecond, 2)}x`,
    `${f(r.rounds.median, 2)}x (${f(r.rounds.low, 2)}-${f(r.rounds.high, 2)})`,
    f(r.batch, 1),
    `${f(r.ipam.nodeCpu, 1)}+${f(r.ipam.redisCpu, 1)}`,
    `${f(r.bare.nodeCpu, 1)}+${f(r.bare.redisCpu, 1)}`,
    `${f((r.bare.nodeCpu + r.bare.redisCpu) / (r.ipam.nodeCpu + r.ipam.redisCpu), 2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(
    `${new Date().toISOString()}, ${cpus().length} cores, load average before ${load(loadBefore)}, after ${load(loadavg())}`,
  );
  console.log(`concurrency ${CONCURRENCY}, one ioredis client, every ipam allocation includes its MAC`);
  console.log(
    'ipam: micro-batched (batch = mean allocations per script call); bare: one EVALSHA per allocation (not batched)',
  );
  console.log(
    'each row: a warm-up round per side, then rounds of n/rounds allocations per side, the side going first alternating; ipam/bare = total rates, rounds = ipam/bare of each round (median, 25th-75th percentile); CPU bare/ipam = the ratio the rates would have if CPU alone set them (a machine with no core to spare)',
  );
  console.log(line(header));
  for (const row of table) console.log(line(row));
  const aim = ['empty /16', '90%-full /16', 'IPv6 /64'].map((name) => {
    const r = rows.find((x) => x.name === name);
    return r ? `${name} ${f(r.ipam.perSecond / r.bare.perSecond, 2)}x / ${f(r.rounds.median, 2)}x` : '';
  });
  console.log(`aim (>= 0.9x in all three, total / round median): ${aim.join(', ')}`);
  const rate = (name: string) => rows.find((r) => r.name === name)?.ipam.perSecond ?? 0;
  const empty = rate('empty /16') || 1;
  console.log(
    `ipam 90%-full / empty: ${f(rate('90%-full /16') / empty, 2)}x (in order), ${f(rate('90%-full /16, fragmented') / empty, 2)}x (fragmented), ${f(rate('90%-full /12 (1M)') / empty, 2)}x (/12)`,
  );
  const busy = (name: string) => {
    const r = rows.find((x) => x.name === name);
    return r ? `${f((r.ipam.redisCpu * r.ipam.perSecond) / 1e4, 0)}%` : '?';
  };
  console.log(
    `ipam empty /16, a tick of 50 as two calls (the default) / as one call: ${f(empty / (rate('empty /16, one call per tick') || 1), 2)}x; Redis busy ${busy('empty /16')} / ${busy('empty /16, one call per tick')} (two calls: Node handles one call's replies while Redis runs the other)`,
  );
  console.log(
    '"90%-full" /64: a /64 never fills; its first 2^20 addresses handed out, then a random 10% released (943,718 held). ipam takes never-used addresses first (page 16 on); bare takes the released holes of page 0.',
  );
  console.log(
    'bare: BITPOS + SETBIT on one 65,536-bit page key per call (the layout ipam uses), moving to the next page when one is full; no owner, MAC, counts or index.',
  );
}
