// The AAP parent index's Redis side (shared/ipam/redis/aap-index.ts) on a standalone server and on
// a 3-master Cluster: every key in one slot (so the pipelines and the multi-key delete run there),
// members with their tokens (a state recorded twice is written once), compare-and-delete, a deleted pod's removal by uid, the marker, and
// the audit's check of what it misses.
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RedisClusterHandle, startRedisCluster } from '../../infra/local/services.ts';
import { createRedisAapIndex } from '../../shared/ipam/redis/aap-index.ts';
import { aapCompleteKey, aapNamedKey } from '../../shared/ipam/redis/keys.ts';

let cluster: RedisClusterHandle;
let clusterClient: Cluster;
let standalone: Redis;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  clusterClient = new Cluster(cluster.startupNodes);
  standalone = new Redis(inject('redisUrl'));
}, 60_000);
afterAll(async () => {
  clusterClient?.disconnect();
  standalone?.disconnect();
  await cluster?.stop();
});

describe.each(['standalone', 'cluster'] as const)('the AAP index on %s Redis', (mode) => {
  const client = () => (mode === 'cluster' ? clusterClient : standalone);

  it('records, reads, forgets by token and by uid, marks complete, and finds what it misses', async () => {
    const scope = `t-${mode}-${Date.now()}`;
    const index = createRedisAapIndex(client(), { scope });
    if (mode === 'cluster') {
      // One slot for every key, whatever the namespace and Vip: the multi-key script is allowed.
      const keys = [aapCompleteKey(scope), aapNamedKey(scope, 'ns1', 'a'), aapNamedKey(scope, 'ns2', 'zz')];
      const slots = new Set(await Promise.all(keys.map((k) => clusterClient.cluster('KEYSLOT', k))));
      expect(slots.size).toBe(1);
    }
    expect(await index.isComplete()).toBe(false);
    expect(await index.read('ns1', 'a')).toEqual({ complete: false, members: new Map() });

    await index.add([
      { namespace: 'ns1', name: 'p1', uid: 'u1', vips: ['a', 'b'] },
      { namespace: 'ns1', name: 'p2', uid: 'u2', vips: ['a'] },
      { namespace: 'ns2', name: 'p1', uid: 'u3', vips: ['a'] },
    ]);
    const a = await index.read('ns1', 'a');
    expect([...a.members.keys()].sort()).toEqual(['p1', 'p2']);
    expect(a.members.get('p1')).toMatch(/^u1\//);
    expect([...(await index.read('ns2', 'a')).members.keys()]).toEqual(['p1']);

    // The same pod again, in the same state (a relist) or a later one (a change another handler
    // made): nothing written, the token stays.
    const old = a.members.get('p2')!;
    await index.add([{ namespace: 'ns1', name: 'p2', uid: 'u2', vips: ['a'] }]);
    await index.add([{ namespace: 'ns1', name: 'p2', uid: 'u2', resourceVersion: '2', vips: ['a'] }]);
    expect((await index.read('ns1', 'a')).members.get('p2')).toBe(old);
    // A token read, then another pod under that name recorded: the read one no longer removes it.
    await index.add([{ namespace: 'ns1', name: 'p2', uid: 'u7', vips: ['a'] }]);
    expect(await index.forget('ns1', 'a', [{ name: 'p2', token: old }])).toBe(0);
    const now = (await index.read('ns1', 'a')).members.get('p2')!;
    expect(now).toMatch(/^u7\//);
    expect(await index.forget('ns1', 'a', [{ name: 'p2', token: now }])).toBe(1);

    // A deleted pod: only where its token carries its uid (not a newer pod of the same name).
    await index.add([{ namespace: 'ns1', name: 'p1', uid: 'u9', vips: ['b'] }]);
    await index.forgetPod({ namespace: 'ns1', name: 'p1', uid: 'u1', vips: ['a', 'b'] });
    expect([...(await index.read('ns1', 'a')).members.keys()]).toEqual([]);
    expect((await index.read('ns1', 'b')).members.get('p1')).toMatch(/^u9\//);

    expect(
      await index.missing([
        { namespace: 'ns1', name: 'p1', vips: ['a', 'b'] },
        { namespace: 'ns2', name: 'p1', vips: ['a'] },
      ]),
    ).toEqual([{ namespace: 'ns1', name: 'p1', vip: 'a' }]);

    await index.markComplete();
    expect(await index.isComplete()).toBe(true);
    expect((await index.read('ns2', 'a')).complete).toBe(true);
    // Another scope sees none of it.
    const other = createRedisAapIndex(client(), { scope: `${scope}-other` });
    expect(await other.read('ns2', 'a')).toEqual({ complete: false, members: new Map() });
  });

  it('records many pods in chunks', async () => {
    const index = createRedisAapIndex(client(), { scope: `t-many-${mode}-${Date.now()}` });
    const pods = Array.from({ length: 2_500 }, (_, i) => ({
      namespace: 'ns',
      name: `p${i}`,
      uid: `u${i}`,
      vips: [`v${i % 3}`],
    }));
    await index.add(pods);
    expect((await index.read('ns', 'v0')).members.size).toBe(834);
    expect(await index.missing(pods)).toEqual([]);
  });
});
