// A pod event's own copy stands in for a GET; its annotation write is guarded by the copy's
// resourceVersion and named in the outcome, and one event lists the Subnets once however many
// decisions need them. Through the real entry point (createDispatch) against the development API
// server, the run's Redis and OVN NB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../shared/domain/types.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.78.0.0/24', gateway: '10.78.0.1' });
});

afterAll(async () => {
  await h?.stop();
});

const createPod = async (name: string, annotations: Record<string, string> = {}) =>
  (await h.admin.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      annotations: { 'ovn.kubernetes.io/logical_switch': h.subnet, ...annotations },
    },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  })) as unknown as Pod;

const eventOf = (pod: Pod, action: 'add' | 'update' = 'add'): ResourceEvent => ({
  action,
  mode: 'resource',
  ref: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, namespace: 'default' },
  object: pod,
  id: `test-${pod.metadata.resourceVersion}`,
  time: '',
  source: 'test',
});

describe('a pod reconciled from the event copy', () => {
  it('allocates and annotates without reading the pod, lists Subnets once, names its write', async () => {
    const dispatch = createDispatch(h.deps);
    const copy = await createPod('copy-pod');
    h.calls.length = 0;
    const outcome = await dispatch(eventOf(copy));
    // Deciding and writing took no read of the pod (port security reads it afterwards, on purpose:
    // it must see the pod after the port, see NorthboundWriter.refreshPortSecurity).
    expect(h.calls.slice(0, h.calls.indexOf('patchMetadata'))).not.toContain('getPod');
    expect(h.calls.filter((c) => c === 'listSubnets')).toHaveLength(1);
    expect(h.calls.filter((c) => c === 'patchMetadata')).toHaveLength(1);
    const now = (await h.admin.getPod('default', 'copy-pod'))!;
    expect(now.metadata.annotations?.['ovn.kubernetes.io/allocated']).toBe('true');
    expect(outcome).toEqual({ status: 'done', produced: [now.metadata.resourceVersion] });

    // Its own write coming back: nothing to write, nothing produced.
    h.calls.length = 0;
    expect(await dispatch(eventOf(now, 'update'))).toEqual({ status: 'done' });
    expect(h.calls).not.toContain('patchMetadata');
  });

  it('a stale copy is refused at the write and decided again from a fresh read', async () => {
    const dispatch = createDispatch(h.deps);
    const copy = await createPod('stale-pod');
    // Someone relabels the pod after the event was made: the copy does not know.
    await h.admin.patchMetadata('Pod', { namespace: 'default', name: 'stale-pod' }, { labels: { app: 'x' } });
    h.calls.length = 0;
    const outcome = await dispatch(eventOf(copy));
    expect(outcome.status).toBe('done');
    // The guarded write failed on the old version, so the pod was read again and written once.
    const writes = h.calls.filter((c) => c === 'patchMetadata' || c === 'getPod');
    expect(writes.slice(0, 3)).toEqual(['patchMetadata', 'getPod', 'patchMetadata']);
    expect(writes.filter((c) => c === 'patchMetadata')).toHaveLength(2);
    const now = (await h.admin.getPod('default', 'stale-pod'))!;
    expect(now.metadata.labels?.app).toBe('x');
    const reservation = await h.ports.allocator.get(h.subnet, 'pod/stale-pod.default');
    expect(now.metadata.annotations?.['ovn.kubernetes.io/ip_address']).toBe(reservation?.v4);
    expect((outcome as { produced?: string[] }).produced).toEqual([now.metadata.resourceVersion]);
  });

  it('an annotated copy is read afresh: an old redelivery of a pod deleted since reserves nothing', async () => {
    // A subnet with one usable address: a stale pass would get the very same address back.
    await h.admin.create('Subnet', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: `${h.subnet}-one` },
      spec: { cidrBlock: '10.79.0.0/30', gateway: '10.79.0.1', excludeIps: ['10.79.0.1'], protocol: 'IPv4' },
    });
    const dispatch = createDispatch(h.deps);
    await dispatch(
      eventOf(await createPod('old-pod', { 'ovn.kubernetes.io/logical_switch': `${h.subnet}-one` })),
    );
    const annotated = (await h.admin.getPod('default', 'old-pod'))!;
    expect(annotated.metadata.annotations?.['ovn.kubernetes.io/ip_address']).toBe('10.79.0.2');
    await h.admin.delete('Pod', { namespace: 'default', name: 'old-pod' });
    await dispatch({ ...eventOf(annotated), action: 'delete' });
    expect(await h.ports.allocator.get(`${h.subnet}-one`, 'pod/old-pod.default')).toBeUndefined();

    h.calls.length = 0;
    expect(await dispatch(eventOf(annotated, 'update'))).toEqual({ status: 'done' });
    // Read before anything was decided from the copy (the pod is gone: nothing else to do).
    expect(h.calls[0]).toBe('getPod');
    expect(await h.ports.allocator.get(`${h.subnet}-one`, 'pod/old-pod.default')).toBeUndefined();
    expect(await h.ports.nb.findPorts({ pod: 'default/old-pod' })).toEqual([]);
  });
});
