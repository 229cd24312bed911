// Status and annotations are the handlers' output, never a way in: a Vip status or a pod's
// `ip_address` annotation edited by hand is rewritten from the allocator's record by the next
// reconcile, the record itself untouched. Real development API server, the run's Redis and NB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod, Vip } from '../../shared/domain/types.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { eventOf, type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.79.0.0/24', gateway: '10.79.0.1' });
});

afterAll(async () => {
  await h?.stop();
});

async function readyVip(name: string, spec: Record<string, unknown> = {}): Promise<Vip> {
  const created = (await h.admin.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: h.subnet, ...spec },
  })) as unknown as Vip;
  expect((await createDispatch(h.deps)(eventOf(created, 'add'))).status).toBe('done');
  const vip = (await h.admin.getVip(name))!;
  expect(vip.status?.ready).toBe(true);
  return vip;
}

/** `kubectl patch vip X --subresource=status --type merge -p '{"status":{...}}'` */
const editStatus = async (name: string, status: Record<string, unknown>) =>
  (await h.admin.patchStatus('Vip', name, status)) as unknown as Vip;

describe('a Vip status edited by hand', () => {
  it('is overwritten by the reconcile of that update (a dynamic Vip)', async () => {
    const before = await readyVip('edit-dyn');
    const record = (await h.ports.allocator.get(h.subnet, 'vip/edit-dyn'))!;
    expect(before.status?.v4ip).toBe(record.v4);
    const edited = await editStatus('edit-dyn', { v4ip: '10.79.0.200' });
    expect(edited.status?.v4ip).toBe('10.79.0.200');

    expect((await createDispatch(h.deps)(eventOf(edited, 'update'))).status).toBe('done');
    const after = (await h.admin.getVip('edit-dyn'))!;
    expect(after.status?.v4ip).toBe(record.v4);
    expect(after.status?.ready).toBe(true);
    expect(await h.ports.allocator.get(h.subnet, 'vip/edit-dyn')).toEqual(record);
  });

  it('is overwritten for a fixed Vip too, with no ImmutableField refusal', async () => {
    await readyVip('edit-fixed', { v4ip: '10.79.0.20' });
    const edited = await editStatus('edit-fixed', { v4ip: '10.79.0.201', mac: '00:00:00:00:00:77' });
    await createDispatch(h.deps)(eventOf(edited, 'update'));
    const after = (await h.admin.getVip('edit-fixed'))!;
    expect(after.status?.v4ip).toBe('10.79.0.20');
    expect(after.status?.mac).toBe((await h.ports.allocator.get(h.subnet, 'vip/edit-fixed'))!.mac);
    expect(after.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('Reserved');
  });

  it('shown parents on a plain Vip are not settled: the full pass clears them', async () => {
    await readyVip('edit-parents');
    const edited = await editStatus('edit-parents', { pv4ip: '10.79.0.9', pmac: '00:00:00:00:00:09' });
    await createDispatch(h.deps)(eventOf(edited, 'update'));
    const after = (await h.admin.getVip('edit-parents'))!;
    expect(after.status?.pv4ip).toBe('');
    expect(after.status?.pmac).toBe('');
  });
});

const ADDR = 'ovn.kubernetes.io/ip_address';
const ALLOCATED = 'ovn.kubernetes.io/allocated';

async function allocatedPod(name: string): Promise<Pod> {
  const created = (await h.admin.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', annotations: { 'ovn.kubernetes.io/logical_switch': h.subnet } },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  })) as unknown as Pod;
  await createDispatch(h.deps)(eventOf(created, 'add'));
  const pod = (await h.admin.getPod('default', name))!;
  expect(pod.metadata.annotations?.[ALLOCATED]).toBe('true');
  return pod;
}

describe("a pod's ip_address annotation edited by hand", () => {
  it('is rewritten from the reservation', async () => {
    const pod = await allocatedPod('edit-pod');
    const was = pod.metadata.annotations?.[ADDR];
    const edited = (await h.admin.patchMetadata(
      'Pod',
      { namespace: 'default', name: 'edit-pod' },
      { annotations: { [ADDR]: '10.79.0.202' } },
    )) as unknown as Pod;
    expect((await createDispatch(h.deps)(eventOf(edited, 'update'))).status).toBe('done');
    expect((await h.admin.getPod('default', 'edit-pod'))!.metadata.annotations?.[ADDR]).toBe(was);
  });

  it('is rewritten even when the edit also drops `allocated` (which asks for a fixed address)', async () => {
    const pod = await allocatedPod('edit-pod-2');
    const was = pod.metadata.annotations?.[ADDR];
    const owner = `pod/edit-pod-2.default`;
    const record = await h.ports.allocator.get(h.subnet, owner);
    expect(record?.v4).toBe(was);
    const edited = (await h.admin.patchMetadata(
      'Pod',
      { namespace: 'default', name: 'edit-pod-2' },
      { annotations: { [ADDR]: '10.79.0.203', [ALLOCATED]: null } },
    )) as unknown as Pod;
    expect((await createDispatch(h.deps)(eventOf(edited, 'update'))).status).toBe('done');
    const after = (await h.admin.getPod('default', 'edit-pod-2'))!;
    expect(after.metadata.annotations?.[ADDR]).toBe(was);
    expect(after.metadata.annotations?.[ALLOCATED]).toBe('true');
    expect(after.metadata.annotations?.['ovn.kubernetes.io/allocation_error']).toBeUndefined();
    expect(await h.ports.allocator.get(h.subnet, owner)).toEqual(record);
  });
});
