// Sweeps that run at once (a relist delivers every Subnet's event together) share one list of
// every pod and every Vip instead of each listing the whole cluster, and still free only what a
// GET confirms gone.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { podOwner } from '../../shared/domain/ownership.ts';
import { ensureSubnetRegistered } from '../../shared/reconcile/subnet-registration.ts';
import { sweepOrphans } from '../../shared/reconcile/sweep.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;
beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.81.0.0/24', gateway: '10.81.0.1' });
});
afterAll(async () => {
  await h?.stop();
});

it('four sweeps at once share their lists of every pod, and free only what gone pods held', async () => {
  expect((await ensureSubnetRegistered(h.deps, h.subnet)).status).toBe('ready');
  // Reservations of pods that do not exist (their delete events were missed), and one that does.
  for (let i = 0; i < 5; i++)
    await h.ports.allocator.allocate({ subnet: h.subnet, owner: podOwner(`gone-${i}.sw`) });
  await h.admin.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'here', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  });
  await h.ports.allocator.allocate({ subnet: h.subnet, owner: podOwner('here.default') });
  h.calls.length = 0;

  await Promise.all(Array.from({ length: 4 }, () => sweepOrphans(h.deps, h.subnet)));

  const lists = (name: string) => h.calls.filter((c) => c === name).length;
  // Without sharing: one list of every pod per sweep, 4; the sweeps overlap, so they share one
  // (two at most, whatever the timing).
  expect(lists('listPods')).toBeLessThanOrEqual(2);
  const owners = (await h.ports.allocator.list(h.subnet, { limit: 100 })).items.map((r) => r.owner);
  expect(owners.filter((o) => o.includes('gone-'))).toEqual([]);
  expect(owners).toContain(podOwner('here.default'));
});
