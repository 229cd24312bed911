// `npm run bench -- curve`: cost as the work grows. One stack, filled through the API server in
// stages (0 -> 10,000 -> 50,000 -> 100,000 Vips, 10% AAP with a parent pod, plus as many plain
// pods as Vips), every object handled by the relay and the functions as fast as they take them.
// At each stage: the create rate of the next 3,000 Vips, p50/p99 create -> Ready, CPU ms per Vip
// by process, and the memory of every process (RSS), Redis's used_memory, the NB database's size
// and ovsdb-server's own count of cells. After the last stage: a relay restart (a relist of every
// kind with the relay's settled-version store: time to drain, events delivered and skipped, writes
// it caused per store), a function replica restart (spawn -> first handled event), and the audit at
// that size.
//
// Settings (environment):
//   BENCH_CURVE_STEPS=0,10000,50000,100000   Vips present at each measured stage
//   BENCH_CURVE_VIPS=3000                    Vips measured per stage
//   BENCH_CURVE_SUBNETS                      subnets the objects spread over (default: one per
//                                            10,000 Vips of the last stage; a /16 each)
//   BENCH_CURVE_BACKLOG=2000                 objects created and not yet handled, at most, while filling
//   BENCH_CURVE_WARMUP=1500                  Vips (and as many pods) created first, not measured
//   BENCH_CURVE_REPLICAS=1                   function replicas
//   BENCH_CURVE_JSON=FILE                    also write the results as JSON
//   BENCH_CURVE_DIR=DIR                      keep the stack's logs and data there (default: a temp dir, removed)
//   BENCH_CURVE_FULL_RELIST=1                also restart the relay without its store: every
//                                            object delivered again (takes minutes at 100,000)
//   BENCH_CURVE_FUNCTION_NODE_ARGS           node flags of the replicas (e.g. --cpu-prof --cpu-prof-dir=DIR)
//   BENCH_CURVE_AUDIT_NODE_ARGS              node flags of the audit
//   BENCH_CURVE_NB_EXTRA=0                   Logical_Switch_Ports written straight into NB (a switch
//                                            of their own, not kube-ovn's) before the restarts: the
//                                            replicas' port cache as at 200,000 objects, in minutes
// Development size: BENCH_CURVE_STEPS=0,1000,5000 BENCH_CURVE_VIPS=500 npm run bench -- curve
import { statSync, writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { type Stack, startStack } from '../infra/local/stack.ts';
import {
  compactNb,
  countApiRequests,
  nbMemory,
  redisCommandStats,
  redisUsedMemory,
  relayDrained,
  rssOf,
  scrape,
} from '../infra/local/write-counters.ts';
import { kubeTransport, type WatchLine } from '../infra/relay/kube-transport.ts';
import { createKube } from '../shared/kube/index.ts';
import { NorthboundWriter, Table } from '../shared/ovn/nb/index.ts';
import { map, namedUuid, OvsdbClient, op, set, where } from '../shared/ovsdb/index.ts';
import { cpuPerUnit, sampleCpu } from './cpu.ts';
import {
  type CreateVip,
  relayRestart,
  replicaRestart,
  replicasGcSeconds,
  runAudit,
  settled,
} from './resync.ts';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number >= 0`);
  return v;
};
const STEPS = (process.env.BENCH_CURVE_STEPS ?? '0,10000,50000,100000')
  .split(',')
  .map((s) => Number(s.trim()))
  .sort((a, b) => a - b);
if (STEPS.some((s) => !Number.isInteger(s) || s < 0))
  throw new Error('BENCH_CURVE_STEPS: whole numbers >= 0');
const MEASURED = num('BENCH_CURVE_VIPS', 3000);
const LAST = STEPS[STEPS.length - 1] ?? 0;
// A /16 per subnet, as kube-ovn's ovn-default: 200,000 addresses need several. Objects spread
// round-robin, the measured ones too, so each stage measures switches as full as the rest.
const SUBNETS = Math.max(1, num('BENCH_CURVE_SUBNETS', Math.ceil(LAST / 10_000)));
if (SUBNETS > 150) throw new Error('BENCH_CURVE_SUBNETS: at most 150 (10.100.0.0/16 .. 10.249.0.0/16)');
const BACKLOG = Math.max(1, num('BENCH_CURVE_BACKLOG', 2000));
const REPLICAS = Math.max(1, num('BENCH_CURVE_REPLICAS', 1));
const AAP_EVERY = 10;
const CONCURRENCY = 64;
const WARMUP = num('BENCH_CURVE_WARMUP', 1500);
const NB_EXTRA = num('BENCH_CURVE_NB_EXTRA', 0);

/** `n` ports on a switch of their own, 2,000 per transaction (as bench/coldstart.bench.ts fills). */
async function fillNbExtra(remote: string, n: number) {
  const client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  try {
    const ls = 'curve-extra';
    await new NorthboundWriter(client).ensureLogicalSwitch({ name: ls, cidrBlock: '11.0.0.0/8' });
    for (let from = 0; from < n; from += 2_000) {
      const ops = [];
      const names = [];
      for (let i = from; i < Math.min(n, from + 2_000); i++) {
        const b = [(i >> 16) & 255, (i >> 8) & 255, i & 255];
        const addr = `00:00:0b:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')} 11.${b.join('.')}`;
        names.push(namedUuid(`p${i}`));
        ops.push(
          op.insert(
            Table.LogicalSwitchPort,
            {
              name: `extra-${i}`,
              addresses: set([addr]),
              port_security: set([addr]),
              external_ids: map({ ls, vendor: 'bench', pod: `extra/pod-${i}` }),
            },
            `p${i}`,
          ),
        );
      }
      ops.push(op.mutate(Table.LogicalSwitch, [where('name', '==', ls)], [['ports', 'insert', set(names)]]));
      await client.transact(ops);
    }
  } finally {
    client.close();
  }
}

const say = (line: string) => console.log(`[curve ${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const MB = (bytes: number) => bytes / 1024 / 1024;

const subnetName = (k: number) => `curve-${k}`;

/**
 * What the stack has handled, as two watches of the whole cluster see it: Vips Ready, pods
 * allocated. Re-watches from the last version it saw when a watch ends (the server's timeout).
 */
class Tracker {
  readonly readyAt = new Map<string, number>();
  readonly allocated = new Set<string>();
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  constructor(private readonly kc: KubeConfig) {}

  start() {
    this.loops.push(
      this.follow('/apis/kubeovn.io/v1/vips', (obj) => {
        const name = obj.metadata?.name;
        if (name && obj.status?.ready && !this.readyAt.has(name)) this.readyAt.set(name, performance.now());
      }),
      this.follow('/api/v1/pods', (obj) => {
        if (obj.metadata?.annotations?.['ovn.kubernetes.io/allocated'] === 'true')
          this.allocated.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
      }),
    );
  }

  private async follow(path: string, on: (obj: Watched) => void) {
    const transport = kubeTransport(this.kc);
    let rv = '';
    while (!this.abort.signal.aborted) {
      let gone = false;
      const end = await transport.watch(
        path,
        { allowWatchBookmarks: 'true', ...(rv ? { resourceVersion: rv } : {}) },
        (line: WatchLine) => {
          const obj = line.object as Watched;
          if (line.type === 'ERROR') {
            gone = true;
            return;
          }
          if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          if (line.type !== 'BOOKMARK') on(obj);
        },
        this.abort.signal,
      );
      if (this.abort.signal.aborted) return;
      // Too old to resume: watch again from now; a list fills in what happened meanwhile.
      if (gone || (end.kind === 'http-error' && end.status === 410)) {
        rv = '';
        const listed = await transport.list(path, this.abort.signal).catch(() => undefined);
        for (const item of (listed?.body as { items?: Watched[] } | undefined)?.items ?? []) on(item);
      } else if (end.kind !== 'closed') await sleep(200);
    }
  }

  async stop() {
    this.abort.abort();
    await Promise.all(this.loops);
  }
}

interface Watched {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  status?: { ready?: boolean };
}

interface StageRow {
  vipsPresent: number;
  podsPresent: number;
  fillSeconds: number;
  vipsPerSecond: number;
  p50: number;
  p99: number;
  cpuMsPerVip: Record<string, number>;
  /** API requests (reads too, watches not) per measured Vip, by shape, the most frequent first. */
  requestsPerVip: Record<string, number>;
  /** Seconds the stack took to go quiet after the fill, before the stage was measured. */
  quietSeconds: number;
  /** Redis µs per measured Vip by command (INFO commandstats; a script's own calls count twice). */
  redisUsPerVip: Record<string, number>;
  /** V8 garbage collection per measured Vip (ms): this process (API server + load), the replicas. */
  gcMsPerVip: { self: number; functions: number };
  rssMB: Record<string, number>;
  /** V8 heap in use (MB) of the functions and the relay, from their /metrics: what they hold, not what the OS lent them. */
  heapMB: Record<string, number>;
  redisUsedMB: number;
  nbFileMB: number;
  nbCells: number;
}

export async function run() {
  const began = performance.now();
  say(
    `steps ${STEPS.join(', ')}; ${MEASURED} Vips measured per step; ${SUBNETS} subnet(s); ` +
      `${REPLICAS} replica(s); backlog ${BACKLOG}`,
  );
  const stack = await startStack({
    replicas: REPLICAS,
    admission: false,
    ...(process.env.BENCH_CURVE_FUNCTION_NODE_ARGS && {
      functionNodeArgs: process.env.BENCH_CURVE_FUNCTION_NODE_ARGS.split(' ').filter(Boolean),
    }),
    // No periodic relist while filling: the restart below is the relist that is measured.
    resync: '24h',
    relayReadyTimeoutMs: 600_000,
    log: (l) => say(l),
    // Kept after the run (the processes' logs) when named.
    ...(process.env.BENCH_CURVE_DIR && { dir: process.env.BENCH_CURVE_DIR }),
  });
  const redis = new Redis(stack.redisUrl!);
  const kube = createKube({ kubeconfigPath: stack.kubeconfig });
  const kc = new KubeConfig();
  kc.loadFromFile(stack.kubeconfig);
  const tracker = new Tracker(kc);
  tracker.start();
  try {
    for (let k = 0; k < SUBNETS; k++) {
      const ns = subnetName(k);
      // A namespace as the cluster's admin makes it (the handlers never write namespaces).
      await stack.apiServer.api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await kube.create('Subnet', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: ns },
        spec: {
          cidrBlock: `10.${100 + k}.0.0/16`,
          gateway: `10.${100 + k}.0.1`,
          excludeIps: [`10.${100 + k}.0.1`],
          protocol: 'IPv4',
          namespaces: [ns],
        },
      });
    }
    const counts = { vips: 0, pods: 0, plain: 0, nextSlot: 0 };
    const createVip = async (name: string, slot: number, aap: boolean) => {
      const k = slot % SUBNETS;
      await kube.create('Vip', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name },
        spec: aap
          ? { subnet: subnetName(k), namespace: subnetName(k), selector: [`vip: ${name}`] }
          : { subnet: subnetName(k) },
      });
      counts.vips++;
      if (aap) {
        await createPod(`parent-${name}`, slot, {
          labels: { vip: name },
          annotations: { 'ovn.kubernetes.io/aaps': name },
        });
      }
    };
    const createPod = async (
      name: string,
      slot: number,
      meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
    ) => {
      await kube.create('Pod', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: subnetName(slot % SUBNETS), ...meta },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      counts.pods++;
    };
    const handled = () => tracker.readyAt.size + tracker.allocated.size;

    /** Fills up to `vips` Vips and as many plain pods, keeping at most BACKLOG unhandled. */
    const fill = async (vips: number, label: string) => {
      const start = performance.now();
      const startCount = counts.vips + counts.pods;
      // Taken before each create is sent, so that workers never overshoot the targets.
      const taken = { vips: counts.vips, plain: counts.plain };
      const tick = setInterval(() => {
        const done = counts.vips + counts.pods - startCount;
        const s = (performance.now() - start) / 1000;
        say(
          `  ${label}: Vips ${counts.vips}/${vips}, pods ${counts.pods}, handled ${handled()}; ` +
            `${(done / s).toFixed(0)} objects/s`,
        );
      }, 10_000);
      try {
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (taken.vips < vips || taken.plain < vips) {
              while (counts.vips + counts.pods - handled() > BACKLOG) await sleep(20);
              const slot = counts.nextSlot++;
              if (taken.vips < vips) {
                taken.vips++;
                await createVip(`v-${slot}`, slot, slot % AAP_EVERY === 0);
              }
              if (taken.plain < vips) {
                taken.plain++;
                await createPod(`p-${slot}`, slot);
                counts.plain++;
              }
            }
          }),
        );
        await waitHandled(label);
      } finally {
        clearInterval(tick);
      }
      return (performance.now() - start) / 1000;
    };
    const waitHandled = async (label: string) => {
      let last = Date.now();
      while (handled() < counts.vips + counts.pods) {
        if (Date.now() - last > 10_000) {
          say(`  ${label}: waiting, handled ${handled()}/${counts.vips + counts.pods}`);
          last = Date.now();
        }
        await sleep(50);
      }
      await relayDrained(stack.relayHealthUrl, 0, { timeoutMs: 600_000 });
    };

    // Warm-up, not measured: fresh processes pay for JIT compilation and their first connections.
    say('warm-up');
    // The same mix as the fill (Vips, AAP parents, plain pods), so every path is compiled.
    let w = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (w < WARMUP) {
          const i = w++;
          const slot = counts.nextSlot++;
          await createVip(`w-${i}`, slot, i % AAP_EVERY === 0);
          await createPod(`wp-${i}`, slot);
          counts.plain++;
        }
      }),
    );
    await waitHandled('warm-up');
    // The replicas ask for their NB port snapshot once events go quiet, as after the warm-up: wait
    // until it is loaded, so its one-off cost does not fall into the first measured stage.
    for (const f of stack.functions) {
      const deadline = Date.now() + 120_000;
      while (
        (await scrape(`${f.healthUrl}/metrics`, ['vip_nb_port_cache_ready'])).vip_nb_port_cache_ready !== 1
      ) {
        if (Date.now() > deadline) throw new Error(`${f.healthUrl}: the port cache did not load in 120 s`);
        await sleep(100);
      }
    }

    const rows: StageRow[] = [];
    for (const [stepIndex, step] of STEPS.entries()) {
      const fillSeconds = step > counts.vips ? await fill(step, `filling to ${step}`) : 0;
      say(`step ${step}: ${counts.vips} Vips, ${counts.pods} pods present; measuring ${MEASURED} Vips`);
      const row = await measure(stack, stepIndex, counts, createVip, tracker);
      rows.push({ ...row, fillSeconds });
      printRows(rows);
    }

    if (NB_EXTRA > 0) {
      say(`writing ${NB_EXTRA} more ports straight into NB`);
      await fillNbExtra(stack.nbRemote, NB_EXTRA);
      await sleep(5_000); // the replicas' port caches take them in through their monitors
    }
    const objects = counts.vips + counts.pods + SUBNETS + 1;
    say('relay restart with its settled-version store: relist of every kind');
    const restart = await relayRestart(stack, redis, objects);
    // The figure of a full re-delivery (a relay without the store), on request: it takes long at scale.
    let fullRelist: Awaited<ReturnType<typeof relayRestart>> | undefined;
    if (process.env.BENCH_CURVE_FULL_RELIST === '1') {
      say('relay restart without the store: every object delivered again');
      fullRelist = await relayRestart(stack, redis, objects, false);
    }
    const waited = await settled({ relay: stack.relay!.pid });
    say(`function replica restart (the API server and relay quiet after ${waited.toFixed(1)} s)`);
    const replica = await replicaRestart(stack, createVip, counts, (n) => tracker.readyAt.get(n));
    say('audit');
    const audit = await runAudit(stack);

    console.log(
      `\nResync and restart at ${counts.vips} Vips + ${counts.pods} pods (${SUBNETS} subnets; loaded 2-core machine)`,
    );
    printRows(rows);
    for (const [label, r] of [
      ['relay restart (settled-version store)', restart],
      ['relay restart without the store (full re-delivery)', fullRelist],
    ] as const) {
      if (!r) continue;
      console.log(
        `${label}: lists in ${r.listSeconds.toFixed(1)} s, drained in ${r.drainSeconds.toFixed(1)} s ` +
          `from spawn (${r.delivered} events delivered, ${r.skipped} skipped as settled); writes: API ${r.apiWrites}, Redis ${r.redisWrites}, ` +
          `NB commits ${r.nbCommits} (NB transactions sent ${r.nbTransactions}); relay RSS after ${r.relayRssMB.toFixed(0)} MB; ` +
          // With nothing delivered, the CPU over the restart in all (the lists), not per event.
          `CPU ms ${r.delivered > 0 ? 'per event' : 'in all (nothing delivered)'}: functions ${r.cpuMsPerEvent.functions!.toFixed(2)} (GC ${r.gcMsPerEvent.toFixed(2)}), API server and bench ${r.cpuMsPerEvent.self!.toFixed(2)}` +
          (NB_EXTRA > 0 ? `; ${NB_EXTRA} more NB ports written straight in` : ''),
      );
      if (r.apiWrites > 0) console.log(`  API writes by shape: ${JSON.stringify(r.apiByShape)}`);
    }
    console.log(
      `function replica restart: /healthz after ${replica.healthySeconds.toFixed(2)} s, first event handled ` +
        `${replica.firstEventSeconds.toFixed(2)} s after spawn (Ready seen by a watch)` +
        (replica.ownFirstEventMs
          ? `; the replica's own clock: first event came ${replica.ownFirstEventMs.came} ms, done ${replica.ownFirstEventMs.done} ms after its process started`
          : ''),
    );
    console.log(
      `audit (npm run audit): ${audit.seconds.toFixed(1)} s, exit ${audit.code}, peak RSS ${audit.peakMB.toFixed(0)} MB: ${audit.summary}`,
    );
    const total = (performance.now() - began) / 1000;
    console.log(`whole run: ${(total / 60).toFixed(1)} min`);
    if (process.env.BENCH_CURVE_JSON)
      writeFileSync(
        process.env.BENCH_CURVE_JSON,
        `${JSON.stringify({ steps: STEPS, subnets: SUBNETS, replicas: REPLICAS, rows, restart, ...(fullRelist ? { fullRelist } : {}), replica, audit, totalSeconds: total }, null, 2)}\n`,
      );
  } finally {
    await tracker.stop();
    redis.disconnect();
    await stack.stop();
  }
}

interface Counts {
  vips: number;
  pods: number;
  plain: number;
  nextSlot: number;
}

async function measure(
  stack: Stack,
  stepIndex: number,
  counts: Counts,
  createVip: CreateVip,
  tracker: Tracker,
): Promise<Omit<StageRow, 'fillSeconds'>> {
  const vipsPresent = counts.vips;
  const podsPresent = counts.pods;
  const names = Array.from({ length: MEASURED }, (_, i) => `m${stepIndex}-${i}`);
  const created = new Map<string, number>();
  const sample = () =>
    sampleCpu({
      functions: stack.functions.map((f) => f.pid),
      relay: stack.relay!.pid,
      redis: stack.redis!.pid,
      nb: stack.nb!.pid,
    });
  // Every stage starts from a quiet stack, as the first does (after the warm-up): the work of
  // the fill (its last events, the garbage it left, Subnet counts due) is not this stage's.
  const quietSeconds = await settled({
    functions: stack.functions.map((f) => f.pid),
    relay: stack.relay!.pid,
    redis: stack.redis!.pid,
    nb: stack.nb!.pid,
  });
  const replicasGc = async () => (await replicasGcSeconds(stack)) * 1000;
  const statsRedis = new Redis(stack.redisUrl!);
  const redisStatsBefore = await redisCommandStats(statsRedis);
  const gc = gcClock();
  const replicasGcBefore = await replicasGc();
  const requests = countApiRequests(stack.apiServer);
  const before = sample();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < names.length) {
        const i = next++;
        created.set(names[i]!, performance.now());
        await createVip(names[i]!, counts.nextSlot++, i % AAP_EVERY === 0);
      }
    }),
  );
  const deadline = Date.now() + 600_000;
  while (names.some((n) => !tracker.readyAt.has(n)) && Date.now() < deadline) await sleep(20);
  const after = sample();
  const selfGcMs = gc.stop();
  const redisStatsAfter = await redisCommandStats(statsRedis);
  statsRedis.disconnect();
  const replicasGcMs = (await replicasGc()) - replicasGcBefore;
  requests.detach();
  const ready = names.filter((n) => tracker.readyAt.has(n));
  const end = Math.max(...ready.map((n) => tracker.readyAt.get(n)!));
  const lat = ready.map((n) => tracker.readyAt.get(n)! - created.get(n)!).sort((a, b) => a - b);
  const cpuMsPerVip = cpuPerUnit(before, after, Math.max(1, ready.length));
  // Parent pods of the measured AAP Vips too, before memory is read.
  while (tracker.allocated.size + tracker.readyAt.size < counts.vips + counts.pods) await sleep(50);
  await relayDrained(stack.relayHealthUrl, 0, { timeoutMs: 600_000 });
  const redis = new Redis(stack.redisUrl!);
  try {
    await compactNb(stack.nb!.ctl);
    const mem = await nbMemory(stack.nb!.ctl);
    const rss = (pids: number[]) => MB(pids.reduce((s, p) => s + rssOf(p), 0));
    const heap = async (urls: string[]) => {
      const all = await Promise.all(urls.map((u) => scrape(`${u}/metrics`, ['nodejs_heap_size_used_bytes'])));
      return MB(all.reduce((s, m) => s + (m.nodejs_heap_size_used_bytes ?? 0), 0));
    };
    return {
      vipsPresent,
      podsPresent,
      vipsPerSecond: ready.length / ((end - start) / 1000),
      p50: pct(lat, 0.5),
      p99: pct(lat, 0.99),
      cpuMsPerVip,
      quietSeconds,
      redisUsPerVip: Object.fromEntries(
        [...redisStatsAfter]
          .map(
            ([cmd, st]) =>
              [cmd, (st.usec - (redisStatsBefore.get(cmd)?.usec ?? 0)) / Math.max(1, ready.length)] as const,
          )
          .filter(([, us]) => us > 0)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8),
      ),
      gcMsPerVip: {
        self: selfGcMs / Math.max(1, ready.length),
        functions: replicasGcMs / Math.max(1, ready.length),
      },
      requestsPerVip: Object.fromEntries(
        [...requests.byShape]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12)
          .map(([shape, n]) => [shape, n / Math.max(1, ready.length)]),
      ),
      rssMB: {
        functions: rss(stack.functions.map((f) => f.pid)),
        relay: rss([stack.relay!.pid]),
        'api+load': rss([process.pid]),
        redis: rss([stack.redis!.pid]),
        nb: rss([stack.nb!.pid]),
      },
      heapMB: {
        functions: await heap(stack.functions.map((f) => f.healthUrl)),
        relay: await heap([stack.relayHealthUrl]),
        'api+load': MB(process.memoryUsage().heapUsed),
      },
      redisUsedMB: MB(await redisUsedMemory(redis)),
      nbFileMB: MB(statSync(stack.nb!.dbFile).size),
      nbCells: mem.cells ?? Number.NaN,
    };
  } finally {
    redis.disconnect();
  }
}

/** Milliseconds this process spent in garbage collection from now until `stop()`. */
function gcClock(): { stop: () => number } {
  let ms = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) ms += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      for (const e of obs.takeRecords()) ms += e.duration;
      obs.disconnect();
      return ms;
    },
  };
}

function printRows(rows: StageRow[]) {
  const base = rows[0]?.vipsPerSecond ?? 0;
  const c = (v: number, w: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '-').padStart(w);
  console.log(
    '\n  Vips   pods   fill s  Vips/s  x0    p50 ms  p99 ms | CPU ms/Vip: func  relay api+load redis   nb  total | RSS MB: func relay api+load redis   nb | heap MB: func relay api+load | Redis MB  NB file MB  NB cells',
  );
  for (const r of rows) {
    const cpu = r.cpuMsPerVip;
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    const m = r.rssMB;
    console.log(
      `${c(r.vipsPresent, 6)} ${c(r.podsPresent, 6)} ${c(r.fillSeconds, 8)} ${c(r.vipsPerSecond, 7)} ${c(r.vipsPerSecond / base, 5, 2)} ${c(r.p50, 7)} ${c(r.p99, 7)} |` +
        `             ${c(cpu.functions ?? 0, 5, 2)} ${c(cpu.relay ?? 0, 6, 2)} ${c(cpu.self ?? 0, 8, 2)} ${c(cpu.redis ?? 0, 5, 2)} ${c(cpu.nb ?? 0, 4, 2)} ${c(total, 6, 2)} |` +
        `        ${c(m.functions ?? 0, 4)} ${c(m.relay ?? 0, 5)} ${c(m['api+load'] ?? 0, 8)} ${c(m.redis ?? 0, 5)} ${c(m.nb ?? 0, 4)} |` +
        `         ${c(r.heapMB.functions ?? 0, 4)} ${c(r.heapMB.relay ?? 0, 5)} ${c(r.heapMB['api+load'] ?? 0, 8)} |` +
        ` ${c(r.redisUsedMB, 8)} ${c(r.nbFileMB, 11, 1)} ${c(r.nbCells, 9)}`,
    );
  }
  for (const r of rows)
    console.log(
      `  at ${r.vipsPresent}: quiet after ${r.quietSeconds.toFixed(1)} s before measuring; GC ms per Vip: ` +
        `api+load ${r.gcMsPerVip.self.toFixed(2)}, functions ${r.gcMsPerVip.functions.toFixed(2)}; Redis µs per Vip: ` +
        Object.entries(r.redisUsPerVip)
          .map(([cmd, us]) => `${cmd} ${us.toFixed(1)}`)
          .join(', '),
    );
  // Reads count too: a LIST of a namespace's pods costs the API server a scan of that namespace.
  for (const r of rows)
    console.log(
      `  API requests per Vip at ${r.vipsPresent}: ` +
        Object.entries(r.requestsPerVip)
          .map(([shape, n]) => `${shape} ${n.toFixed(2)}`)
          .join(', '),
    );
}
