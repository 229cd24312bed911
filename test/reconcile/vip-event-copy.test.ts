// A Vip event's own copy of the object stands in for a GET: every write is guarded by the copy's
// resourceVersion, so a stale copy is caught and re-decided from a fresh read, and the outcome
// names the resourceVersions the pass wrote (the echoes a sender may drop). Real API server
// (development), real Redis, real OVN NB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerPorts } from '../../infra/wiring/controller.ts';
import type { Vip } from '../../shared/domain/types.ts';
import type { Kube } from '../../shared/kube/index.ts';
import type { ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;
let SUBNET: string;
let ports: ControllerPorts;
let deps: ReconcileDeps;
let admin: Kube;
let calls: string[];
const KUBE_VIP_CALLS = ['getVip', 'patchStatus', 'ensureClaimed'];
/** The Vip reads and writes recorded since the last reset. */
const vipCalls = () => calls.filter((c) => KUBE_VIP_CALLS.includes(c));

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.77.0.0/24', gateway: '10.77.0.1' });
  ({ ports, deps, admin, calls, subnet: SUBNET } = h);
});

afterAll(async () => {
  await h?.stop();
});

const createVip = async (name: string, spec: Record<string, unknown> = {}) =>
  (await admin.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: SUBNET, ...spec },
  })) as unknown as Vip;

describe('a Vip reconciled from the event copy', () => {
  it('claims, reserves and writes status without reading the Vip, and names what it wrote', async () => {
    const copy = await createVip('copy-fresh');
    calls.length = 0;
    const outcome = await reconcileVip(deps, 'copy-fresh', undefined, { observed: copy });
    expect(vipCalls()).toEqual(['ensureClaimed', 'patchStatus']);
    const now = (await ports.kube.getVip('copy-fresh'))!;
    expect(now.status?.ready).toBe(true);
    expect(outcome).toEqual({ status: 'done', produced: expect.any(Array) });
    const produced = (outcome as { produced: string[] }).produced;
    expect(produced).toHaveLength(2);
    expect(produced).not.toContain(copy.metadata.resourceVersion);
    expect(produced.at(-1)).toBe(now.metadata.resourceVersion);

    // The last state it wrote is settled: handing it back costs no write and produces nothing.
    calls.length = 0;
    expect(await reconcileVip(deps, 'copy-fresh', undefined, { observed: now })).toEqual({ status: 'done' });
    expect(vipCalls()).toEqual([]);
  });

  it('re-decides from a fresh read when the copy is stale, reserving only what the Vip asks now', async () => {
    const copy = await createVip('copy-stale', { v4ip: '10.77.0.20' });
    // The user changes the address before any handler ran; the event in hand still says .20.
    await admin.patch('Vip', { name: 'copy-stale' }, { spec: { v4ip: '10.77.0.30' } });
    calls.length = 0;
    const outcome = await reconcileVip(deps, 'copy-stale', undefined, { observed: copy });
    expect(outcome.status).toBe('done');
    expect(vipCalls()[0]).toBe('ensureClaimed');
    expect(vipCalls()).toContain('getVip');
    const now = (await ports.kube.getVip('copy-stale'))!;
    expect(now.status?.v4ip).toBe('10.77.0.30');
    expect((await ports.allocator.get(SUBNET, 'vip/copy-stale'))?.v4).toBe('10.77.0.30');
    const reserved = (await ports.allocator.list(SUBNET)).items.map((r) => r.v4);
    expect(reserved).toContain('10.77.0.30');
    expect(reserved).not.toContain('10.77.0.20');
  });

  it('a claimed copy is read afresh: an old redelivery of a Vip deleted since reserves nothing', async () => {
    const first = await createVip('copy-old');
    await reconcileVip(deps, 'copy-old', undefined, { observed: first });
    const settled = (await admin.getVip('copy-old'))!;
    expect(settled.status?.ready).toBe(true);
    // Deleted and cleaned up (the finalizer holds it until its reconcile released everything).
    await admin.delete('Vip', { name: 'copy-old' });
    await reconcileVip(deps, 'copy-old');
    expect(await admin.getVip('copy-old')).toBeUndefined();
    expect(await ports.allocator.get(SUBNET, 'vip/copy-old')).toBeUndefined();

    calls.length = 0;
    expect(await reconcileVip(deps, 'copy-old', undefined, { observed: settled })).toEqual({
      status: 'done',
    });
    expect(vipCalls()).toEqual(['getVip']);
    expect(await ports.allocator.get(SUBNET, 'vip/copy-old')).toBeUndefined();
  });

  it('a pod binding made after the copy was taken survives the claim (ip_reserved is not reset)', async () => {
    const copy = await createVip('copy-bound');
    // A pod binds the Vip before this Vip's own first reconcile ran (the pod binding's claim).
    await admin.patchMetadata(
      'Vip',
      { name: 'copy-bound' },
      { labels: { 'ovn.kubernetes.io/ip_reserved': 'bound.default' } },
    );
    const outcome = await reconcileVip(deps, 'copy-bound', undefined, { observed: copy });
    expect(outcome.status).toBe('done');
    const now = (await admin.getVip('copy-bound'))!;
    expect(now.metadata.labels?.['ovn.kubernetes.io/ip_reserved']).toBe('bound.default');
    expect(now.metadata.finalizers).toContain('kubeovn.io/kube-ovn-controller');
    expect(now.status?.ready).toBe(true);
  });

  it('a copy of a Vip that is already gone reserves nothing', async () => {
    const copy = await createVip('copy-gone');
    await admin.delete('Vip', { name: 'copy-gone' });
    const outcome = await reconcileVip(deps, 'copy-gone', undefined, { observed: copy });
    expect(outcome).toEqual({ status: 'done' });
    expect(await ports.allocator.get(SUBNET, 'vip/copy-gone')).toBeUndefined();
  });
});
