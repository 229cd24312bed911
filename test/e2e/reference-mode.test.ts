// Knative's ApiServerSource in Reference mode sends only {apiVersion, kind, name, namespace}: the
// handlers must fetch the object themselves, and a delete carries no last state, so what a gone pod
// held is found from OVN (its port's external_ids) and released all the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeReferenceEvent } from '../../shared/events/encode.ts';
import { signBody } from '../../shared/events/signature.ts';
import type { Action, ObjectRef } from '../../shared/events/types.ts';
import { type E2E, podObject, startE2E, vipObject } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E({ relay: false });
});
afterAll(async () => {
  await e?.stop();
});

async function send(action: Action, ref: ObjectRef): Promise<number> {
  const msg = encodeReferenceEvent(ref, { action, source: e.stack.apiServer.url });
  const headers = { ...msg.headers, ...(await signBody(e.stack.relaySecret, msg.body)) };
  const res = await fetch(`${e.stack.functions[0]!.url}/events`, { method: 'POST', headers, body: msg.body });
  await res.text();
  return res.status;
}

const vipRef = (name: string): ObjectRef => ({ apiVersion: 'kubeovn.io/v1', kind: 'Vip', name });
const podRef = (name: string): ObjectRef => ({ apiVersion: 'v1', kind: 'Pod', name, namespace: 'default' });

describe('reference-mode events', () => {
  it('reserve a Vip and release it on deletion, reading the object from the API server', async () => {
    await e.apply(vipObject('ref-vip', { subnet: 'ovn-default', v4ip: '10.16.0.40' }));
    expect(await send('add', vipRef('ref-vip'))).toBe(200);
    const v = await e.vip('ref-vip');
    expect(v?.status).toMatchObject({ ready: true, v4ip: '10.16.0.40' });
    expect(v?.metadata.finalizers).toContain('kubeovn.io/kube-ovn-controller');

    await e.kube.delete('Vip', { name: 'ref-vip' }); // held by the finalizer until handled
    expect((await e.vip('ref-vip'))?.metadata.deletionTimestamp).toBeTruthy();
    expect(await send('update', vipRef('ref-vip'))).toBe(200);
    expect(await e.vip('ref-vip')).toBeUndefined();
    expect(await e.allocator.get('ovn-default', 'vip/ref-vip')).toBeUndefined();
  });

  it('address a pod, and free its address and port on a delete that carries no state', async () => {
    await e.apply(podObject('default', 'ref-pod'));
    expect(await send('add', podRef('ref-pod'))).toBe(200);
    const pod = await e.pod('default', 'ref-pod');
    const ip = pod?.metadata.annotations?.['ovn.kubernetes.io/ip_address'];
    expect(ip).toMatch(/^10\.16\./);
    expect(await e.allocator.get('ovn-default', 'pod/ref-pod.default')).toMatchObject({ v4: ip });
    expect(
      await e.nbctl('--bare', '--columns=name', 'find', 'logical_switch_port', 'name=ref-pod.default'),
    ).toContain('ref-pod.default');

    await e.kube.delete('Pod', { namespace: 'default', name: 'ref-pod' });
    expect(await send('delete', podRef('ref-pod'))).toBe(200);
    expect(await e.allocator.get('ovn-default', 'pod/ref-pod.default')).toBeUndefined();
    expect(
      (
        await e.nbctl('--bare', '--columns=name', 'find', 'logical_switch_port', 'name=ref-pod.default')
      ).trim(),
    ).toBe('');
  });
});
