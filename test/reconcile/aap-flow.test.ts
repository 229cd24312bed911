// The round trips of the benchmark's AAP flow (bench/scale.ts): an AAP Vip, then a pod asking for
// it, each event handled through the real entry point, then whatever the relay would still
// deliver. Pins the Kubernetes calls and NB transactions so a regression shows, and checks the
// outcome is the one the slower path reached (parents, port security, status).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod, Vip } from '../../shared/domain/types.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { eventOf, type ReconcileHarness, startReconcileHarness } from './harness.ts';
import { type RelayView, startRelayView } from './relay-view.ts';

let h: ReconcileHarness;
let relay: RelayView;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.76.0.0/24', gateway: '10.76.0.1' });
  relay = await startRelayView(h.api.server.kubeconfigPath, h.admin);
});

afterAll(async () => {
  await relay?.stop();
  await h?.stop();
});

const addEvent = (o: Vip | Pod): ResourceEvent => eventOf(o, 'add');

/** Counts by name, in first-seen order. */
const tally = (names: string[]) => {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
};

interface Step {
  event: string;
  kube: Record<string, number>;
  nb: Record<string, number>;
  transactions: Record<string, number>;
  redis: Record<string, number>;
}

type Order = 'vip-first' | 'pod-first';

/**
 * The benchmark's pair: an AAP Vip and its parent pod, created back to back. `vip-first`: the
 * Vip's event is handled before the pod is created; `pod-first`: both exist and the pod's event
 * comes first (two events racing in the relay). Then what the relay still delivers, until quiet.
 */
async function runFlow(name: string, order: Order): Promise<Step[]> {
  const dispatch = createDispatch(h.deps);
  const steps: Step[] = [];
  const handle = async (event: ResourceEvent) => {
    h.calls.length = 0;
    h.nbCalls.length = 0;
    h.transactions.length = 0;
    h.redisCalls.length = 0;
    const outcome = await dispatch(event);
    expect(outcome.status).toBe('done');
    relay.handled(event, outcome);
    steps.push({
      event: `${event.action} ${event.ref.kind}`,
      kube: tally(h.calls),
      nb: tally(h.nbCalls),
      transactions: tally(h.transactions),
      redis: tally(h.redisCalls),
    });
  };
  const createVip = async () =>
    (await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name },
      spec: { subnet: h.subnet, namespace: 'default', selector: [`vip: ${name}`] },
    })) as unknown as Vip;
  const createPod = async () =>
    (await h.admin.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `parent-${name}`,
        namespace: 'default',
        labels: { vip: name },
        annotations: { 'ovn.kubernetes.io/aaps': name, 'ovn.kubernetes.io/logical_switch': h.subnet },
      },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    })) as unknown as Pod;

  if (order === 'vip-first') {
    await handle(addEvent(await createVip()));
    for (const ev of await relay.pending()) await handle(ev);
    await handle(addEvent(await createPod()));
  } else {
    const vip = await createVip();
    await handle(addEvent(await createPod()));
    await handle(addEvent(vip));
  }
  for (let round = 0; round < 5; round++) {
    const echoes = await relay.pending();
    if (echoes.length === 0) break;
    for (const ev of echoes) await handle(ev);
  }
  return steps;
}

/** The pod is the virtual port's one parent, may send from the Vip's address, and the Vip shows it. */
async function expectOutcome(name: string) {
  const vip = (await h.admin.getVip(name))!;
  const pod = (await h.admin.getPod('default', `parent-${name}`))!;
  const podIp = pod.metadata.annotations?.['ovn.kubernetes.io/ip_address'];
  const podMac = pod.metadata.annotations?.['ovn.kubernetes.io/mac_address'];
  const parentPort = `parent-${name}.default`;
  expect(vip.status?.ready).toBe(true);
  expect(vip.status?.pv4ip).toBe(podIp);
  expect(vip.status?.pmac).toBe(podMac);
  expect(await h.ports.nb.virtualPortsWithParent(parentPort)).toEqual([name]);
  const vport = await h.nbWriter.getPort(name);
  expect(vport?.options['virtual-ip']).toBe(vip.status?.v4ip);
  expect((await h.nbWriter.getPort(parentPort))?.portSecurity).toEqual([
    `${podMac} ${podIp} ${vip.status?.v4ip}`,
  ]);
}

const total = (steps: Step[], of: 'kube' | 'transactions' | 'redis') =>
  steps.reduce(
    (n, s) => n + Object.entries(s[of]).reduce((m, [k, v]) => m + (k === 'ensureClaimed:no-op' ? 0 : v), 0),
    0,
  );

describe('the AAP Vip + parent pod flow', () => {
  beforeAll(async () => {
    // The subnet is in use already (registered, its switch there), as in the benchmark.
    const warm = await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'flow-warm-up' },
      spec: { subnet: h.subnet },
    });
    const event = addEvent(warm as unknown as Vip);
    relay.handled(event, await createDispatch(h.deps)(event));
    expect(await relay.pending()).toEqual([]);
  });

  it('Vip event, then the pod: pinned round trips, and the parent, its port security and the status', async () => {
    const steps = await runFlow('flow-a', 'vip-first');
    await expectOutcome('flow-a');
    // Before session 2's changes: 5 + 13 Kubernetes round trips, 2 + 5 NB transactions (the pod's ports' security was
    // refreshed twice, each pass reading the pod and the Vip).
    expect(steps.map((s) => s.event)).toEqual(['add Vip', 'add Pod']);
    // Claim, the parents (none yet; the port's insert needs no re-list), the status.
    expect(steps[0]!.kube).toEqual({ ensureClaimed: 1, listPods: 1, patchStatus: 1 });
    // NIC placement; the annotations; the pod's membership in the Vip's parents (the Vip read, the
    // pod read again after the parents changed, the status: no list of the namespace's pods; before
    // the change, the Vip's full reconcile with two pod lists and a claim check); the pod port's
    // security (its first pass decides from the Vip read above, its second reads afresh); the rules.
    expect(steps[1]!.kube).toEqual({
      listSubnets: 1,
      patchMetadata: 1,
      getVip: 2,
      patchStatus: 1,
      getPod: 2,
      listSwitchLBRules: 1,
    });
    expect(steps.map((s) => total([s], 'kube'))).toEqual([3, 8]);
    // New ports are inserted without a select first (the port cache has not seen them).
    expect(steps.map((s) => total([s], 'transactions'))).toEqual([1, 3]);
    // The pod's address. Its membership in the Vip's parents reads nothing of the Vip's reservation
    // (before: the Vip's full reconcile read its record).
    expect(steps[1]!.redis).toEqual({ getSubnet: 1, allocate: 1 });
  });

  it('the pod event first: pinned round trips, same outcome', async () => {
    const steps = await runFlow('flow-b', 'pod-first');
    await expectOutcome('flow-b');
    // The Vip is not claimed yet when the pod's event reads it, so that event leaves it to the
    // Vip's own add event, whose reconcile claims it and lists the pods after the claim, finding
    // the parent. Its copy is current (nobody claimed it meanwhile) and its claim is its own echo.
    // Before: the pod's event reconciled the Vip in full (9 round trips, the claim included), the
    // Vip's add event found its copy stale (4) and the claim came back as an update (3); NB 3 + 0 + 0.
    expect(steps.map((s) => s.event)).toEqual(['add Pod', 'add Vip']);
    expect(steps.map((s) => total([s], 'kube'))).toEqual([5, 7]);
    // The pod's event: its port, and its port security's guard checked (nothing to change yet); the
    // Vip's: its port inserted with the parent, and the parent's port security (now with the Vip).
    expect(steps.map((s) => total([s], 'transactions'))).toEqual([2, 2]);
  });

  it('with the AAP parent index complete, neither order lists the pods', async () => {
    // Last in this file: the marker stays set for this harness's index.
    await h.deps.aapIndex!.markComplete();
    const vipFirst = await runFlow('flow-c', 'vip-first');
    await expectOutcome('flow-c');
    // The Vip's set is empty (its pod does not exist yet): no pod request at all.
    expect(vipFirst[0]!.kube).toEqual({ ensureClaimed: 1, patchStatus: 1 });
    expect(vipFirst.map((s) => total([s], 'kube'))).toEqual([2, 8]);
    const podFirst = await runFlow('flow-d', 'pod-first');
    await expectOutcome('flow-d');
    expect(podFirst.flatMap((s) => Object.keys(s.kube))).not.toContain('listPods');
    // The Vip's event reads its one member by name where it listed the namespace: the same count of
    // round trips, each reading one pod instead of every pod of the namespace.
    expect(podFirst[1]!.kube).toMatchObject({ ensureClaimed: 1, getPod: 3 });
    expect(podFirst.map((s) => total([s], 'kube'))).toEqual([5, 7]);
  });
});
