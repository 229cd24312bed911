import { describe, expect, it } from 'vitest';
import {
  type AutoscalePolicy,
  type AutoscaleState,
  autoscalePolicyProblem,
  decideScale,
  desiredReplicas,
} from './autoscale.ts';

const policy: AutoscalePolicy = {
  minReplicas: 1,
  maxReplicas: 8,
  targetPerReplica: 20,
  upCooldownMs: 1_000,
  downDelayMs: 5_000,
};
const at = (replicas: number, lastChangeAt = 0): AutoscaleState => ({ replicas, lastChangeAt });

/** Feeds backlogs one per second from `start`, returning the replica count after each. */
function run(backlogs: number[], start: AutoscaleState, p = policy): number[] {
  let state = start;
  return backlogs.map((b, i) => {
    const d = decideScale(state, b, 10_000 + i * 1_000, p);
    state = d.state;
    return d.replicas;
  });
}

describe('autoscaler decision', () => {
  it('wants ceil(backlog / target) replicas, within the bounds', () => {
    expect(desiredReplicas(0, policy)).toBe(1);
    expect(desiredReplicas(20, policy)).toBe(1);
    expect(desiredReplicas(21, policy)).toBe(2);
    expect(desiredReplicas(10_000, policy)).toBe(8);
    expect(desiredReplicas(-5, policy)).toBe(1);
  });

  it('scales up when the backlog grows, at most doubling per step and not within the cooldown', () => {
    const d = decideScale(at(1), 200, 10_000, policy);
    expect(d.replicas).toBe(2); // wants 8, one step doubles
    const again = decideScale(d.state, 200, 10_500, policy);
    expect(again.replicas).toBe(2);
    expect(again.why).toMatch(/cooling down/);
    expect(decideScale(d.state, 200, 11_000, policy).replicas).toBe(4);
  });

  it('removes replicas only after a quiet period, then to the most wanted during it', () => {
    // 4 replicas; the backlog falls to 30 (wants 2), one blip of 70 (wants 4 again: quiet restarts),
    // then stays low.
    const counts = run([30, 30, 70, 30, 30, 30, 30, 30, 30, 0], at(4));
    expect(counts.slice(0, 7)).toEqual([4, 4, 4, 4, 4, 4, 4]);
    expect(counts[8]).toBe(2); // 5 s after the blip: down to 2, the most wanted in the quiet period
    expect(counts[9]).toBe(2); // a new quiet period starts before it goes lower
  });

  it('never leaves the bounds and returns to them when they change', () => {
    const counts = run([10_000, 10_000, 10_000, 10_000, 10_000], at(1));
    expect(Math.max(...counts)).toBe(8);
    expect(counts).toEqual([2, 4, 8, 8, 8]);
    const d = decideScale(at(8), 10_000, 20_000, { ...policy, maxReplicas: 3 });
    expect(d.replicas).toBe(3);
    expect(run([0, 0, 0, 0, 0, 0, 0, 0], at(2), { ...policy, minReplicas: 2 })).toEqual([
      2, 2, 2, 2, 2, 2, 2, 2,
    ]);
  });

  it('holds steady at the desired count', () => {
    expect(run([60, 60, 60], at(3))).toEqual([3, 3, 3]);
  });

  it('says what is wrong with a policy', () => {
    expect(autoscalePolicyProblem(policy)).toBeUndefined();
    expect(autoscalePolicyProblem({ ...policy, minReplicas: 0 })).toMatch(/minReplicas/);
    expect(autoscalePolicyProblem({ ...policy, maxReplicas: 0 })).toMatch(/maxReplicas/);
    expect(autoscalePolicyProblem({ ...policy, targetPerReplica: 0 })).toMatch(/targetPerReplica/);
    expect(autoscalePolicyProblem({ ...policy, maxScaleUpRate: 1 })).toMatch(/maxScaleUpRate/);
  });
});
