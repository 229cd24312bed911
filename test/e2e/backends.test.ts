// The core scenarios (seed with its deletion counts, AAP, bindings) on the scale-out backends: a
// 3-master Redis Cluster and a 3-member OVN NB Raft cluster on loopback, two function replicas.
// The scenario bodies are the same ones the standalone files run (test/e2e/scenarios/); each gets
// a fresh stack, since each checks first-allocation addresses or exact counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, startE2E } from './harness.ts';
import { aapScenario } from './scenarios/aap.ts';
import { bindingScenario } from './scenarios/binding.ts';
import { seedScenario } from './scenarios/seed.ts';

const scenarios: [string, (stack: () => E2E) => void][] = [
  ['seed', seedScenario],
  ['AAP and dynamic Vips', aapScenario],
  ['Vip bindings', bindingScenario],
];

for (const [name, scenario] of scenarios) {
  describe(`${name} on Redis Cluster and NB Raft`, () => {
    let e: E2E;
    beforeAll(async () => {
      e = await startE2E({ redis: 'cluster', nb: 'raft', replicas: 2 });
    });
    afterAll(async () => {
      await e?.stop();
    });

    it('runs on the cluster backends', async () => {
      expect(e.stack.redisCluster?.nodes).toHaveLength(3);
      expect(e.stack.nbRaft?.members).toHaveLength(3);
      expect(e.stack.nbRemote.split(',')).toHaveLength(3);
      expect(await e.redis.cluster('INFO')).toContain('cluster_state:ok');
      // ovn-nbctl gets every Raft remote and reaches the leader through them
      await expect
        .poll(async () => (await e.nbctl('--bare', '--columns=name', 'list', 'logical_switch')).trim(), {
          timeout: 15_000,
        })
        .toBe('ovn-default');
    });

    scenario(() => e);
  });
}
