// Sweeps that run at once (a relist delivers every Subnet's event together) share one list of
// every pod and every Vip instead of each listing the whole cluster, and still free only what a
// GET confirms gone.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { podOwner } from '../../shared/domain/ownership.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
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

it('Subnet events dispatched at once share their lists of every pod and Vip (each event has its own kube wrapper)', async () => {
  const subnet = await h.admin.getSubnet(h.subnet);
  const event = (i: number): ResourceEvent => ({
    action: 'update',
    mode: 'resource',
    ref: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', name: h.subnet },
    object: subnet!,
    id: `relist-${i}`,
    time: '',
    source: 'test',
  });
  const dispatch = createDispatch(h.deps);
  h.calls.length = 0;
  // The first list of every pod is held until all four events have asked for their kube-ovn IP
  // objects (adoption, just before the sweep), so the sweeps overlap however busy the machine is:
  // the events come in waves, as their finalizer writes conflict.
  h.beforeKubeCall = (method) => {
    if (method !== 'listPods') return undefined;
    h.beforeKubeCall = undefined;
    return vi.waitFor(() => expect(h.calls.filter((c) => c === 'listIPs').length).toBe(4), {
      timeout: 10_000,
    });
  };
  const outcomes = await Promise.all(Array.from({ length: 4 }, (_, i) => dispatch(event(i))));
  expect(outcomes.map((o) => o.status)).toEqual(['done', 'done', 'done', 'done']);
  const lists = (name: string) => h.calls.filter((c) => c === name).length;
  // Each event listed every pod twice (adoption, sweep) and every Vip twice (sweep, the requeue of
  // Vips waiting on the subnet): 8 and 8. Adoption lists no pod when there is no kube-ovn IP
  // object, and the sweeps share theirs (these four events come in waves, as their finalizer
  // writes conflict). The requeue's Vip lists are shared only by calls that overlap one.
  expect(lists('listIPs')).toBe(4);
  expect(lists('listPods')).toBeGreaterThanOrEqual(1);
  expect(lists('listPods')).toBeLessThanOrEqual(3);
});
