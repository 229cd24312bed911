// `node dist/bench/projection.js --from results.json [--write docs/scaling.md]`: a projection of
// the system on a real cluster from what `npm run demo:scale -- --rtt ... --json results.json`
// measured here (CPU ms per Vip by process, API server writes per Vip, the round trips a Vip
// waits on) plus stated assumptions (the cluster's RTT, the API server's write capacity, NB txn/s
// from `npm run bench -- ovsdb`). It prints a markdown section; `--write FILE` replaces the part of
// FILE between the generated-section markers, so rerunning the demo and this updates the figures.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ScaleResult } from './scale.ts';

export interface ProjectionInputs {
  measured: {
    /** CPU ms per Vip, by process (one replica's row, latency-bound). */
    functionsCpuMs: number;
    relayCpuMs: number;
    redisCpuMs: number;
    nbCpuMs: number;
    apiWritesPerVip: number;
    apiReadsPerVip: number;
    /** Round trips a Vip waits on in the functions (upper bound: CPU contention counts as waiting). */
    roundTripsPerVip: number;
    /** Where they were measured, for the text. */
    source: string;
  };
  assumed: {
    clusterRttMs: number;
    containerConcurrency: number;
    /** Cores one replica may use (its CPU limit). */
    coresPerReplica: number;
    /** Mutating requests per second the API server (and etcd) takes for these objects. */
    apiWritesPerSecond: number;
    /** NB transactions per second at the cluster's port count (`npm run bench -- ovsdb`). */
    nbTxnPerSecond: number;
    nbTxnPerVip: number;
    /** Redis Cluster masters (shards) when Vips spread over at least that many subnets. */
    redisShards: number;
    /** Share of its standalone write rate an NB Raft leader keeps (commit to a majority first). */
    nbRaftWriteShare: number;
  };
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'unbounded');
const replicasText = (n: number) => `${n0(n)} replica${n === 1 ? '' : 's'}`;

export interface Ceiling {
  part: string;
  vipsPerSecond: number;
  why: string;
}

export interface Projection {
  perReplica: number;
  perReplicaWhy: string;
  ceilings: Ceiling[];
  /** With Redis Cluster by subnet and NB Raft. */
  scaledCeilings: Ceiling[];
}

export function project(i: ProjectionInputs): Projection {
  const m = i.measured;
  const a = i.assumed;
  const wait = m.roundTripsPerVip * a.clusterRttMs + m.functionsCpuMs;
  const byLatency = (a.containerConcurrency * 1000) / wait;
  const byCpu = (a.coresPerReplica * 1000) / m.functionsCpuMs;
  const perReplica = Math.min(byLatency, byCpu);
  const perReplicaWhy =
    byLatency <= byCpu
      ? `${a.containerConcurrency} events in flight / (${m.roundTripsPerVip.toFixed(0)} round trips x ${a.clusterRttMs} ms + ${m.functionsCpuMs.toFixed(2)} ms CPU)`
      : `${a.coresPerReplica} core(s) / ${m.functionsCpuMs.toFixed(2)} ms CPU per Vip`;
  const nbByTxn = a.nbTxnPerSecond / a.nbTxnPerVip;
  const nbByCpu = m.nbCpuMs > 0 ? 1000 / m.nbCpuMs : Infinity;
  const ceilings: Ceiling[] = [
    {
      part: 'relay (one leader delivers)',
      vipsPerSecond: 1000 / m.relayCpuMs,
      why: `one core / ${m.relayCpuMs.toFixed(2)} ms CPU per Vip`,
    },
    {
      part: 'Redis (one shard, single-threaded)',
      vipsPerSecond: 1000 / m.redisCpuMs,
      why: `one core / ${m.redisCpuMs.toFixed(3)} ms CPU per Vip`,
    },
    {
      part: 'OVN NB (ovsdb-server, one writer)',
      vipsPerSecond: Math.min(nbByTxn, nbByCpu),
      why:
        nbByTxn <= nbByCpu
          ? `${n0(a.nbTxnPerSecond)} txn/s / ${a.nbTxnPerVip} txn per Vip`
          : `one core / ${m.nbCpuMs.toFixed(3)} ms CPU per Vip`,
    },
    {
      part: 'API server + etcd',
      vipsPerSecond: a.apiWritesPerSecond / m.apiWritesPerVip,
      why: `${n0(a.apiWritesPerSecond)} writes/s / ${m.apiWritesPerVip.toFixed(1)} writes per Vip`,
    },
  ].sort((x, y) => x.vipsPerSecond - y.vipsPerSecond);
  const scaledCeilings = ceilings
    .map((c): Ceiling => {
      if (c.part.startsWith('Redis'))
        return {
          part: `Redis Cluster, ${a.redisShards} shards by subnet`,
          vipsPerSecond: c.vipsPerSecond * a.redisShards,
          why: `x${a.redisShards} when Vips spread over >= ${a.redisShards} subnets; one hot subnet stays at one shard`,
        };
      if (c.part.startsWith('OVN NB'))
        return {
          part: 'OVN NB Raft (3 members)',
          vipsPerSecond: c.vipsPerSecond * a.nbRaftWriteShare,
          why: `writes still go through one leader; x${a.nbRaftWriteShare} for the commit to a majority`,
        };
      return c;
    })
    .sort((x, y) => x.vipsPerSecond - y.vipsPerSecond);
  return { perReplica, perReplicaWhy, ceilings, scaledCeilings };
}

export function projectionMarkdown(i: ProjectionInputs, p: Projection): string {
  const table = (cs: Ceiling[]) => [
    '| back end | ceiling, Vips/s | replicas to reach it | from |',
    '|---|---|---|---|',
    ...cs.map(
      (c) =>
        `| ${c.part} | ${n0(c.vipsPerSecond)} | ${n0(Math.ceil(c.vipsPerSecond / p.perReplica))} | ${c.why} |`,
    ),
  ];
  const first = p.ceilings[0]!;
  const firstScaled = p.scaledCeilings[0]!;
  const m = i.measured;
  const a = i.assumed;
  return [
    `Measured here (${m.source}): functions ${m.functionsCpuMs.toFixed(2)} ms, relay ${m.relayCpuMs.toFixed(2)} ms, ` +
      `Redis ${m.redisCpuMs.toFixed(3)} ms, NB ${m.nbCpuMs.toFixed(3)} ms of CPU per Vip; ` +
      `${m.apiWritesPerVip.toFixed(1)} API server writes and ${m.apiReadsPerVip.toFixed(1)} reads per Vip; ` +
      `at most ${m.roundTripsPerVip.toFixed(0)} round trips waited on per Vip.`,
    '',
    `Assumed: cluster RTT ${a.clusterRttMs} ms, containerConcurrency ${a.containerConcurrency}, ` +
      `${a.coresPerReplica} core(s) per replica, API server ${n0(a.apiWritesPerSecond)} writes/s, ` +
      `NB ${n0(a.nbTxnPerSecond)} txn/s and ${a.nbTxnPerVip} txn per Vip, ${a.redisShards} Redis shards, ` +
      `an NB Raft leader keeps ${a.nbRaftWriteShare} of a standalone server's write rate.`,
    '',
    `One replica: about **${n0(p.perReplica)} Vips/s** (${p.perReplicaWhy}).`,
    '',
    'Standalone Redis and NB, in the order they saturate:',
    '',
    ...table(p.ceilings),
    '',
    `The first to saturate: **${first.part} at about ${n0(first.vipsPerSecond)} Vips/s, ` +
      `reached with ${replicasText(Math.ceil(first.vipsPerSecond / p.perReplica))}**. More replicas past that add backlog, not throughput.`,
    '',
    'With Redis Cluster sharded by subnet and NB as a 3-member Raft cluster:',
    '',
    ...table(p.scaledCeilings),
    '',
    `Then the first to saturate: **${firstScaled.part} at about ${n0(firstScaled.vipsPerSecond)} Vips/s**.`,
  ].join('\n');
}

const BEGIN = '<!-- projection:begin (generated by bench/projection.ts) -->';
const END = '<!-- projection:end -->';

if (process.argv[1]?.match(/projection\.[jt]s$/)) {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      write: { type: 'string' },
      'cluster-rtt-ms': { type: 'string', default: '1' },
      // Default: the run's own per-replica cap.
      'container-concurrency': { type: 'string' },
      'cores-per-replica': { type: 'string', default: '1' },
      'api-writes-per-s': { type: 'string', default: '1000' },
      // `npm run bench -- ovsdb`, session 2: ensurePort with the port cache at 10,000 ports.
      'nb-txn-per-s': { type: 'string', default: '1651' },
      'nb-txn-per-vip': { type: 'string', default: '1' },
      'redis-shards': { type: 'string', default: '3' },
      'nb-raft-write-share': { type: 'string', default: '0.7' },
    },
  });
  if (!values.from) throw new Error('--from results.json (from npm run demo:scale -- --rtt 5ms --json FILE)');
  const run = JSON.parse(readFileSync(values.from, 'utf8')) as {
    cores: number;
    latency?: { rttMs: number; containerConcurrency: number };
    latencyBound: ScaleResult[];
  };
  const one = run.latencyBound.find((r) => r.replicas === 1);
  if (!one || !run.latency) throw new Error('the results need a latency-bound row with 1 replica');
  const cpu = one.cpuMsPerVip;
  // Little's law: `containerConcurrency` slots always busy, each Vip holds one for cc / rate s.
  const holdMs = (run.latency.containerConcurrency * 1000) / one.vipsPerSecond;
  const inputs: ProjectionInputs = {
    measured: {
      functionsCpuMs: cpu.functions ?? 0,
      relayCpuMs: cpu.relay ?? 0,
      redisCpuMs: cpu.redis ?? 0,
      nbCpuMs: cpu.nb ?? 0,
      apiWritesPerVip: one.apiWritesPerVip,
      apiReadsPerVip: one.apiReadsPerVip,
      roundTripsPerVip: Math.max(1, (holdMs - (cpu.functions ?? 0)) / run.latency.rttMs),
      source: `\`npm run demo:scale -- --rtt ${run.latency.rttMs}ms --concurrency ${run.latency.containerConcurrency}\`, 1 replica, ${one.vips} Vips, ${run.cores} shared cores`,
    },
    assumed: {
      clusterRttMs: Number(values['cluster-rtt-ms']),
      containerConcurrency: Number(values['container-concurrency'] ?? run.latency.containerConcurrency),
      coresPerReplica: Number(values['cores-per-replica']),
      apiWritesPerSecond: Number(values['api-writes-per-s']),
      nbTxnPerSecond: Number(values['nb-txn-per-s']),
      nbTxnPerVip: Number(values['nb-txn-per-vip']),
      redisShards: Number(values['redis-shards']),
      nbRaftWriteShare: Number(values['nb-raft-write-share']),
    },
  };
  const md = projectionMarkdown(inputs, project(inputs));
  if (values.write) {
    const doc = readFileSync(values.write, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${values.write} has no ${BEGIN} ... ${END} section`);
    writeFileSync(values.write, `${doc.slice(0, a + BEGIN.length)}\n${md}\n${doc.slice(b)}`);
    console.log(`projection written into ${values.write}`);
  } else console.log(md);
}
