// The round trips of the benchmark's AAP flow (bench/scale.ts): an AAP Vip, then a pod asking for
// it, each event handled through the real entry point, then whatever the relay would still
// deliver. Pins the Kubernetes calls and NB transactions so a regression shows, and checks the
// outcome is the one the slower path reached (parents, port security, status).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod, Vip } from '../../shared/domain/types.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';
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

const addEvent = (o: Vip | Pod): ResourceEvent => ({
  action: 'add',
  mode: 'resource',
  ref: {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  },
  object: o,
  id: `test-${o.metadata.resourceVersion}`,
  time: '',
  source: 'test',
});

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
}

describe('the AAP Vip + parent pod flow', () => {
  it('costs the pinned round trips and ends with the parent, its port security and the status', async () => {
    const dispatch = createDispatch(h.deps);
    const steps: Step[] = [];
    const handle = async (event: ResourceEvent) => {
      h.calls.length = 0;
      h.nbCalls.length = 0;
      h.transactions.length = 0;
      const outcome = await dispatch(event);
      expect(outcome.status).toBe('done');
      relay.handled(event, outcome);
      steps.push({
        event: `${event.action} ${event.ref.kind}`,
        kube: tally(h.calls),
        nb: tally(h.nbCalls),
        transactions: tally(h.transactions),
      });
    };

    // The subnet is in use already (registered, its switch there), as in the benchmark.
    const warm = await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'flow-warm-up' },
      spec: { subnet: h.subnet },
    });
    await handle(addEvent(warm as unknown as Vip));
    expect(await relay.pending()).toEqual([]);
    steps.length = 0;

    const name = 'flow-a';
    const vip = (await h.admin.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name },
      spec: { subnet: h.subnet, namespace: 'default', selector: [`vip: ${name}`] },
    })) as unknown as Vip;
    await handle(addEvent(vip));
    for (const ev of await relay.pending()) await handle(ev);
    const pod = (await h.admin.create('Pod', {
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
    await handle(addEvent(pod));
    // What the relay still delivers (not named in `produced`, not status-only), until quiet.
    for (let round = 0; round < 5; round++) {
      const echoes = await relay.pending();
      if (echoes.length === 0) break;
      for (const ev of echoes) await handle(ev);
    }
    console.log(JSON.stringify(steps, null, 1));

    // The outcome: the pod is the virtual port's parent, its port security allows the Vip's
    // address, and the Vip shows the parent's address.
    const now = (await h.admin.getVip(name))!;
    const parentPort = `parent-${name}.default`;
    const vport = (await h.ports.nb.findPorts({ ls: h.subnet })).map((p) => p.name);
    expect(vport).toContain(name);
    expect(await h.ports.nb.virtualPortsWithParent(parentPort)).toEqual([name]);
    const annotated = (await h.admin.getPod('default', `parent-${name}`))!;
    const podIp = annotated.metadata.annotations?.['ovn.kubernetes.io/ip_address'];
    expect(now.status?.ready).toBe(true);
    expect(now.status?.pv4ip).toBe(podIp);
    expect(now.status?.pmac).toBe(annotated.metadata.annotations?.['ovn.kubernetes.io/mac_address']);
  });
});
