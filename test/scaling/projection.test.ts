// The cluster projection of docs/scaling.md: per-replica rate from latency or CPU, back ends in
// the order they saturate, and what sharding Redis and NB Raft change.
import { describe, expect, it } from 'vitest';
import { type ProjectionInputs, project, projectionMarkdown } from '../../bench/projection.ts';

const inputs: ProjectionInputs = {
  measured: {
    functionsCpuMs: 2,
    relayCpuMs: 0.5,
    redisCpuMs: 0.1,
    nbCpuMs: 0.2,
    apiWritesPerVip: 2,
    apiReadsPerVip: 1,
    roundTripsPerVip: 8,
    source: 'test',
  },
  assumed: {
    clusterRttMs: 1,
    containerConcurrency: 16,
    coresPerReplica: 1,
    apiWritesPerSecond: 1000,
    nbTxnPerSecond: 1500,
    nbTxnPerVip: 1,
    redisShards: 3,
    nbRaftWriteShare: 0.7,
  },
};

describe('projection', () => {
  it('a replica is bound by its waits when they are longer than its CPU, else by its core', () => {
    // 16 / (8 x 1 ms + 2 ms) = 1,600/s by latency, 500/s by one core: the core wins.
    expect(project(inputs).perReplica).toBeCloseTo(500);
    const slow = project({ ...inputs, assumed: { ...inputs.assumed, clusterRttMs: 10 } });
    expect(slow.perReplica).toBeCloseTo(16_000 / 82);
  });

  it('orders the back ends by ceiling and says how many replicas reach the first', () => {
    const p = project(inputs);
    expect(p.ceilings.map((c) => [c.part.split(' ')[0], Math.round(c.vipsPerSecond)])).toEqual([
      ['API', 500],
      ['OVN', 1500],
      ['relay', 2000],
      ['Redis', 10000],
    ]);
    expect(projectionMarkdown(inputs, p)).toContain(
      'API server + etcd at about 500 Vips/s, reached with 1 replica',
    );
  });

  it('Redis Cluster multiplies the Redis ceiling by its shards; NB Raft lowers the NB one', () => {
    const p = project(inputs);
    const by = (prefix: string) => p.scaledCeilings.find((c) => c.part.startsWith(prefix))!.vipsPerSecond;
    expect(by('Redis Cluster')).toBeCloseTo(30_000);
    expect(by('OVN NB Raft')).toBeCloseTo(1050);
  });
});
