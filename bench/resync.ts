// The curve's last phase (bench/curve.bench.ts): a relay restart and the writes it caused, a
// function replica restart, and the audit, on the stack the curve filled.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ROOT, type Stack } from '../infra/local/stack.ts';
import {
  compactNb,
  countApiWrites,
  nbCommitsSince,
  nbLogMark,
  peakRssOf,
  redisWrites,
  relayDrained,
  rssOf,
  scrape,
} from '../infra/local/write-counters.ts';
import { cpuPerUnit, sampleCpu } from './cpu.ts';

const say = (line: string) => console.log(`[curve ${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = (bytes: number) => bytes / 1024 / 1024;

/** Creates one Vip (an AAP one with its parent pod) in the subnet of `slot`. */
export type CreateVip = (name: string, slot: number, aap: boolean) => Promise<void>;
/** Where the next object goes (round-robin over the subnets). */
export interface Slots {
  nextSlot: number;
}

/**
 * Stops the relay and starts a new one, measuring until it has handled its lists. `state: true`
 * (the stack's default): the new relay reads the settled versions and skips unchanged objects;
 * `false`: it delivers every object again (a relay without the store).
 */
/** V8's own count of collection time in the replicas, summed (prom-client's default metrics). */
export function replicasGcSeconds(stack: Stack): Promise<number> {
  return Promise.all(
    stack.functions.map((f) => scrape(`${f.healthUrl}/metrics`, ['nodejs_gc_duration_seconds_sum'])),
  ).then((all) => all.reduce((s, m) => s + (m.nodejs_gc_duration_seconds_sum ?? 0), 0));
}

export async function relayRestart(stack: Stack, redis: Redis, objects: number, state = true) {
  // Subnet counts are written up to 10 s after the last change (shared/domain/subnet-status.ts
  // subnetRefreshDelay): let them land, or the relist would find them due and write them.
  await sleep(11_000);
  await relayDrained(stack.relayHealthUrl, 0, { timeoutMs: 600_000 });
  await compactNb(stack.nb!.ctl);
  const mark = nbLogMark(stack.nb!.dbFile);
  const nbTxns = () =>
    Promise.all(
      stack.functions.map((f) =>
        scrape(`${f.healthUrl}/metrics`, ['vip_nb_transaction_duration_seconds_count']),
      ),
    ).then((all) => all.reduce((s, m) => s + (m.vip_nb_transaction_duration_seconds_count ?? 0), 0));
  const txBefore = await nbTxns();
  const gcSeconds = () => replicasGcSeconds(stack);
  const gcBefore = await gcSeconds();
  const redisBefore = await redisWrites(redis);
  const api = countApiWrites(stack.apiServer);
  await stack.relay!.stop();
  // CPU of the function replicas and of this process (the API server, and Redis/NB clients of the
  // bench) over the relist, per event delivered: what a no-op event costs.
  const cpuBefore = sampleCpu({ functions: stack.functions.map((f) => f.pid) });
  const spawned = performance.now();
  const ticker = setInterval(
    () => say(`  relay relisting (${((performance.now() - spawned) / 1000).toFixed(0)} s)`),
    10_000,
  );
  let listSeconds: number;
  let drained: Awaited<ReturnType<typeof relayDrained>>;
  try {
    await stack.startRelay(0, { state });
    listSeconds = (performance.now() - spawned) / 1000;
    drained = await relayDrained(stack.relayHealthUrl, objects, {
      timeoutMs: 600_000,
      onTick: (p) => say(`  relay: ${p.delivered}/${p.received} delivered, ${p.depth} waiting`),
    });
  } finally {
    clearInterval(ticker);
  }
  const drainSeconds = (performance.now() - spawned) / 1000;
  const cpuMsPerEvent = cpuPerUnit(
    cpuBefore,
    sampleCpu({ functions: stack.functions.map((f) => f.pid) }),
    Math.max(1, drained.delivered),
  );
  api.detach();
  return {
    listSeconds,
    drainSeconds,
    delivered: drained.delivered,
    skipped: drained.skipped,
    apiWrites: api.total,
    apiByShape: Object.fromEntries(api.byShape),
    redisWrites: (await redisWrites(redis)) - redisBefore,
    nbCommits: nbCommitsSince(stack.nb!.dbFile, mark),
    nbTransactions: (await nbTxns()) - txBefore,
    relayRssMB: MB(rssOf(stack.relay!.pid)),
    /** Of the functions' CPU per event, the part V8 spent collecting garbage. */
    gcMsPerEvent: (((await gcSeconds()) - gcBefore) * 1000) / Math.max(1, drained.delivered),
    /** `functions`: the replicas; `self`: this process, the API server above all. */
    cpuMsPerEvent,
  };
}

/**
 * Waits (up to 30 s) until the API server stand-in (this process) and the relay together use under
 * a tenth of a core: a relist leaves them collecting the garbage of 180 MB of lists at 213,000
 * objects, which a replica restarted on a settled cluster would not wait behind.
 */
export async function settled(pids: Record<string, number | number[]>): Promise<number> {
  const began = performance.now();
  while (performance.now() - began < 30_000) {
    const a = sampleCpu(pids);
    await sleep(500);
    const used = Object.values(cpuPerUnit(a, sampleCpu(pids), 1)).reduce((x, y) => x + y, 0);
    if (used < 50) break;
  }
  return (performance.now() - began) / 1000;
}

/**
 * Restarts function replica 0 with 20 Vips created for it meanwhile. The first handled event is
 * the first of them whose Ready status the bench's watch sees (`readyAt`), not a poll of the
 * replica's /metrics: every scrape runs its readiness checks against Redis, NB and the API server,
 * which a 10 ms poll turned into load on the replica it measured, and a late answer into a late
 * reading. The replica's own line (when its first event came and was done) is returned beside it.
 */
export async function replicaRestart(
  stack: Stack,
  createVip: CreateVip,
  counts: Slots,
  readyAt: (name: string) => number | undefined,
) {
  await stack.functions[0]!.stop();
  const spawned = performance.now();
  const started = stack.startReplica(0).then(() => performance.now());
  // Events for it while it starts: the relay holds them and sends them once it answers.
  const names = Array.from({ length: 20 }, (_, i) => `restart-${i}`);
  await Promise.all(names.map((name) => createVip(name, counts.nextSlot++, false)));
  let first = Number.NaN;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const times = names.map(readyAt).filter((t): t is number => t !== undefined);
    if (times.length > 0) {
      first = Math.min(...times);
      break;
    }
    await sleep(5);
  }
  const healthy = await started;
  // The replica prints its line once its first event's answer is sent, a moment after the Ready
  // the watch saw: read it for up to 2 s.
  const ownLine = () =>
    /first event: came (\d+) ms, done (\d+) ms since start/.exec(
      readFileSync(stack.functions[0]!.logFile, 'utf8').split('listening on').pop() ?? '',
    );
  let own = ownLine();
  for (let waited = 0; !own && waited < 2_000; waited += 50) {
    await sleep(50);
    own = ownLine();
  }
  return {
    healthySeconds: (healthy - spawned) / 1000,
    firstEventSeconds: (first - spawned) / 1000,
    ...(own && { ownFirstEventMs: { came: Number(own[1]), done: Number(own[2]) } }),
  };
}

export async function runAudit(stack: Stack) {
  const compiled = import.meta.url.endsWith('.js');
  // BENCH_CURVE_AUDIT_NODE_ARGS: node flags of the audit (e.g. --cpu-prof --cpu-prof-dir=DIR).
  const nodeArgs = (process.env.BENCH_CURVE_AUDIT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = compiled
    ? [...nodeArgs, join(ROOT, 'dist/infra/local/audit.js'), '--quiet']
    : [...nodeArgs, '--import', 'tsx', join(ROOT, 'infra/local/audit.ts'), '--quiet'];
  const start = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${stack.redis!.port}`,
      REDIS_PASSWORD_FILE: join(stack.secretsDir, 'redis-password'),
      OVN_NB_REMOTES: stack.nbRemote,
      KUBECONFIG: stack.kubeconfig,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  let peak = 0;
  const poll = setInterval(() => {
    const p = peakRssOf(child.pid!);
    if (Number.isFinite(p)) peak = Math.max(peak, p);
  }, 100);
  const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  clearInterval(poll);
  const lines = out.trim().split('\n');
  return {
    seconds: (performance.now() - start) / 1000,
    code,
    peakMB: MB(peak),
    summary: lines.slice(-3).join(' / ').slice(0, 300),
  };
}
