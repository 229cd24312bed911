// SPEC §3.3 through the relay: a pod takes its fixed address from a Vip, a second pod is refused
// with the holder named, and a StatefulSet pod recreated under the same name gets the same address
// until the StatefulSet is scaled below its ordinal.
// Run against any backend.
import { beforeAll, describe, expect, it } from 'vitest';
import { type E2E, podObject, vipObject } from '../harness.ts';

export function bindingScenario(stack: () => E2E): void {
  let e: E2E;
  beforeAll(() => {
    e = stack();
  });

  const HELD = 'ovn.kubernetes.io/ip_reserved';
  const ipOf = (p: { metadata: { annotations?: Record<string, string> } } | undefined) =>
    p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'];

  describe('a pod fixed by a Vip', () => {
    it('gets the Vip address; a second pod is refused naming the holder; the address never leaves the Vip', async () => {
      await e.apply(vipObject('fixed', { subnet: 'ovn-default', type: '' }));
      const vip = await e.waitVip('fixed', (v) => v.status?.ready === true);
      await e.apply(podObject('default', 'first', { annotations: { 'ovn.kubernetes.io/vip': 'fixed' } }));
      const first = await e.waitPod('default', 'first', (p) => !!ipOf(p));
      expect(ipOf(first)).toBe(vip.status?.v4ip);
      await e.waitVip('fixed', (v) => v.metadata.labels?.[HELD] === 'first.default', 'held by first');

      await e.apply(podObject('default', 'second', { annotations: { 'ovn.kubernetes.io/vip': 'fixed' } }));
      const second = await e.waitPod(
        'default',
        'second',
        (p) => !!p.metadata.annotations?.['ovn.kubernetes.io/allocation_error'],
        'refused',
      );
      expect(second.metadata.annotations?.['ovn.kubernetes.io/allocation_error']).toMatch(
        /^VipInUse: .*first\.default/,
      );
      expect(ipOf(second)).toBeUndefined();
      expect(
        await e.nbctl('--bare', '--columns=name', 'find', 'logical_switch_port', 'name=second.default'),
      ).toBe('');
      // The Vip still holds the address in the allocator: nobody else can be given it.
      expect(await e.allocator.get('ovn-default', 'vip/fixed')).toMatchObject({ v4: vip.status?.v4ip });

      // A plain pod elsewhere never gets the Vip's address.
      await e.apply(podObject('default', 'plain'));
      const plain = await e.waitPod('default', 'plain', (p) => !!ipOf(p));
      expect(ipOf(plain)).not.toBe(vip.status?.v4ip);

      // The holder goes away (not a StatefulSet pod): the Vip is free again, and keeps its address.
      await e.kube.delete('Pod', { namespace: 'default', name: 'first' });
      await e.waitVip('fixed', (v) => v.metadata.labels?.[HELD] === '', 'free again');
      expect((await e.vip('fixed'))?.status?.v4ip).toBe(vip.status?.v4ip);
      expect(await e.allocator.get('ovn-default', 'vip/fixed')).toMatchObject({ v4: vip.status?.v4ip });
    });
  });

  describe('a StatefulSet pod bound to a Vip', () => {
    it('keeps the binding across re-creation and releases it when scaled below its ordinal', async () => {
      await e.apply(vipObject('sts-vip', { subnet: 'ovn-default', type: '' }));
      const vip = await e.waitVip('sts-vip', (v) => v.status?.ready === true);
      const sts = await e.apply({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          replicas: 2,
          serviceName: 'web',
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'c', image: 'nginx' }] },
          },
        },
      });
      const owner = [
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: sts.metadata.uid, controller: true },
      ];
      const makePod = () =>
        e.apply(
          podObject('default', 'web-1', {
            labels: { app: 'web' },
            annotations: { 'ovn.kubernetes.io/vip': 'sts-vip' },
            ownerReferences: owner,
          }),
        );
      await makePod();
      const pod = await e.waitPod('default', 'web-1', (p) => !!ipOf(p));
      expect(ipOf(pod)).toBe(vip.status?.v4ip);
      await e.waitVip('sts-vip', (v) => v.metadata.labels?.[HELD] === 'web-1.default');

      // The pod is deleted (a restart): the binding stays for the pod that replaces it.
      await e.kube.delete('Pod', { namespace: 'default', name: 'web-1' });
      await e.waitGone('Pod', 'web-1', 'default');
      // Give the delete event time to be handled, then check the binding survived it.
      await expect
        .poll(
          async () =>
            e.nbctl('--bare', '--columns=name', 'find', 'logical_switch_port', 'name=web-1.default'),
          {
            timeout: 10_000,
          },
        )
        .toBe('');
      expect((await e.vip('sts-vip'))?.metadata.labels?.[HELD]).toBe('web-1.default');

      await makePod();
      const again = await e.waitPod('default', 'web-1', (p) => !!ipOf(p));
      expect(ipOf(again)).toBe(vip.status?.v4ip);

      // Scaled to 1: ordinal 1 is out of range, so once its pod is gone the binding is released.
      await e.kube.delete('Pod', { namespace: 'default', name: 'web-1' });
      await e.kube.patch('StatefulSet', { namespace: 'default', name: 'web' }, { spec: { replicas: 1 } });
      await e.waitVip('sts-vip', (v) => v.metadata.labels?.[HELD] === '', 'released after scale-down');
      expect((await e.vip('sts-vip'))?.status?.v4ip).toBe(vip.status?.v4ip);
    });
  });
}
