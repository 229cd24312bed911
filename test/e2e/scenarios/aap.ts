// Allowed-Address-Pairs through the relay: parents come out sorted and follow pods being added,
// relabelled, re-annotated and deleted; a pod of another namespace is never a parent; two dynamic
// Vips never share an address or a MAC. Run against any backend (a fresh stack: the first two
// dynamic addresses are checked).
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/local/services.ts';
import { aapCompleteKey, aapNamedKey } from '../../../shared/ipam/redis/keys.ts';
import { type E2E, namespaceObject, podObject, vipObject } from '../harness.ts';

export function aapScenario(stack: () => E2E): void {
  let e: E2E;
  beforeAll(async () => {
    e = stack();
    await e.kubectlApply(namespaceObject('other'));
  });

  const parentsOf = async (vip: string) => (await e.portOptions(vip))?.['virtual-parents'] ?? '';
  const waitParents = (vip: string, want: string) =>
    expect.poll(() => parentsOf(vip), { timeout: 15_000, interval: 50 }).toBe(want);

  describe('dynamic Vips', () => {
    it('get different addresses and MACs', async () => {
      await e.apply(vipObject('dyn-a', { subnet: 'ovn-default', type: '' }));
      await e.apply(vipObject('dyn-b', { subnet: 'ovn-default', type: '' }));
      const a = await e.waitVip('dyn-a', (v) => v.status?.ready === true);
      const b = await e.waitVip('dyn-b', (v) => v.status?.ready === true);
      expect(a.status?.v4ip).not.toBe(b.status?.v4ip);
      expect(a.status?.mac).not.toBe(b.status?.mac);
      // Lowest free first: the gateway is .1, so the first two dynamic addresses are .2 and .3.
      expect([a.status?.v4ip, b.status?.v4ip].sort()).toEqual(['10.16.0.2', '10.16.0.3']);
    });
  });

  describe('AAP parents', () => {
    it('follow pods being added, relabelled, re-annotated and deleted, sorted, same namespace only', async () => {
      await e.apply(
        vipObject('keepalived', {
          subnet: 'ovn-default',
          namespace: 'default',
          selector: ['app: lb', ' tier : edge '],
        }),
      );
      await e.waitVip('keepalived', (v) => v.status?.ready === true);
      expect(await e.portOptions('keepalived')).toMatchObject({
        'virtual-ip': expect.stringMatching(/^10\.16\./),
      });
      expect(await parentsOf('keepalived')).toBe('');

      const asks = { 'ovn.kubernetes.io/aaps': 'keepalived' };
      const labels = { app: 'lb', tier: 'edge' };
      // Created in reverse order: the parents list must still come out sorted.
      await e.apply(podObject('default', 'lb-z', { labels, annotations: asks }));
      await e.apply(podObject('default', 'lb-a', { labels, annotations: asks }));
      await e.apply(podObject('other', 'lb-other', { labels, annotations: asks }));
      await e.apply(podObject('default', 'lb-nolabel', { labels: { app: 'lb' }, annotations: asks }));
      await e.apply(podObject('default', 'lb-noask', { labels }));
      await waitParents('keepalived', 'lb-a.default,lb-z.default');

      // status shows the parents' addresses and MACs, each list sorted
      const v = await e.waitVip(
        'keepalived',
        (x) => (x.status?.pv4ip ?? '').split(',').length === 2,
        'two parents',
      );
      const a = await e.pod('default', 'lb-a');
      const z = await e.pod('default', 'lb-z');
      const ips = [a, z].map((p) => p!.metadata.annotations!['ovn.kubernetes.io/ip_address']!);
      expect(v.status?.pv4ip).toBe(
        ips.sort((x, y) => Number(x.split('.')[3]) - Number(y.split('.')[3])).join(','),
      );

      // relabel lb-z out of the selector
      await e.kube.patchMetadata('Pod', { namespace: 'default', name: 'lb-z' }, { labels: { tier: 'core' } });
      await waitParents('keepalived', 'lb-a.default');
      // relabel lb-nolabel into it
      await e.kube.patchMetadata(
        'Pod',
        { namespace: 'default', name: 'lb-nolabel' },
        { labels: { tier: 'edge' } },
      );
      await waitParents('keepalived', 'lb-a.default,lb-nolabel.default');
      // lb-noask starts asking
      await e.kube.patchMetadata('Pod', { namespace: 'default', name: 'lb-noask' }, { annotations: asks });
      await waitParents('keepalived', 'lb-a.default,lb-noask.default,lb-nolabel.default');
      // lb-noask stops asking (the pod's new state no longer names the Vip)
      await e.kube.patchMetadata(
        'Pod',
        { namespace: 'default', name: 'lb-noask' },
        { annotations: { 'ovn.kubernetes.io/aaps': null } },
      );
      await waitParents('keepalived', 'lb-a.default,lb-nolabel.default');
      // delete a parent
      await e.kube.delete('Pod', { namespace: 'default', name: 'lb-a' });
      await waitParents('keepalived', 'lb-nolabel.default');
      await e.kube.delete('Pod', { namespace: 'default', name: 'lb-nolabel' });
      // no parents: the key is removed, not left empty
      await waitParents('keepalived', '');
      expect(await e.portOptions('keepalived')).not.toHaveProperty('virtual-parents');
      await e.waitVip(
        'keepalived',
        (x) => x.status?.pv4ip === '' && x.status?.pmac === '',
        'no parents in status',
      );
      // the other namespace's pod never appeared
      expect(await parentsOf('keepalived')).not.toContain('other');
    });

    it('follows a change of the Vip selector', async () => {
      await e.apply(vipObject('sel', { subnet: 'ovn-default', namespace: 'default', selector: ['role: x'] }));
      await e.apply(
        podObject('default', 'sel-x', {
          labels: { role: 'x' },
          annotations: { 'ovn.kubernetes.io/aaps': 'sel' },
        }),
      );
      await e.apply(
        podObject('default', 'sel-y', {
          labels: { role: 'y' },
          annotations: { 'ovn.kubernetes.io/aaps': 'sel' },
        }),
      );
      await waitParents('sel', 'sel-x.default');
      await e.kube.patch('Vip', { name: 'sel' }, { spec: { selector: ['role: y'] } });
      await waitParents('sel', 'sel-y.default');
      await e.kube.patch('Vip', { name: 'sel' }, { spec: { selector: null } });
      await waitParents('sel', 'sel-x.default,sel-y.default');
    });

    it('port security: own addresses for a plain pod, plus the Vip for a parent only while it is one', async () => {
      await e.apply(
        vipObject('ps-vip', { subnet: 'ovn-default', namespace: 'default', selector: ['app: ps'] }),
      );
      const vip = (await e.waitVip('ps-vip', (v) => v.status?.ready === true)).status!.v4ip!;
      const asks = { 'ovn.kubernetes.io/aaps': 'ps-vip' };
      await e.apply(podObject('default', 'ps-plain', { labels: { app: 'ps' } }));
      await e.apply(podObject('default', 'ps-parent', { labels: { app: 'ps' }, annotations: asks }));
      await e.apply(podObject('other', 'ps-intruder', { labels: { app: 'ps' }, annotations: asks }));
      const addresses = async (port: string) =>
        (await e.nbctl('--bare', '--columns=addresses', 'find', 'logical_switch_port', `name=${port}`))
          .trim()
          .replace(/"/g, '');
      const own = async (port: string) =>
        waitFor(`${port} has its addresses`, async () => (await addresses(port)) || undefined, {
          timeoutMs: 15_000,
        });
      const waitSecurity = (port: string, want: string) =>
        expect.poll(() => e.portSecurity(port), { timeout: 15_000, interval: 50 }).toBe(want);

      const plain = await own('ps-plain.default');
      const parent = await own('ps-parent.default');
      const intruder = await own('ps-intruder.other');
      expect(plain).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2} 10\.16\./i);
      await waitParents('ps-vip', 'ps-parent.default');
      await waitSecurity('ps-plain.default', plain);
      await waitSecurity('ps-parent.default', `${parent} ${vip}`);
      // another namespace's pod asking for the Vip may send from its own addresses only
      await waitSecurity('ps-intruder.other', intruder);

      // relabelled out of the selector: no longer a parent, and the Vip leaves its port security
      await e.kube.patchMetadata(
        'Pod',
        { namespace: 'default', name: 'ps-parent' },
        { labels: { app: 'x' } },
      );
      await waitParents('ps-vip', '');
      await waitSecurity('ps-parent.default', parent);
      // back in, then the Vip deleted: in, then out again
      await e.kube.patchMetadata(
        'Pod',
        { namespace: 'default', name: 'ps-parent' },
        { labels: { app: 'ps' } },
      );
      await waitSecurity('ps-parent.default', `${parent} ${vip}`);
      await e.kube.delete('Vip', { name: 'ps-vip' });
      await e.waitGone('Vip', 'ps-vip');
      await waitSecurity('ps-parent.default', parent);
      expect(await e.portSecurity('ps-intruder.other')).toBe(intruder);
    });

    it('once the AAP index is complete, a Vip created after its parents finds them in it', async () => {
      // A Subnet event runs the sweep, whose whole-cluster pod list completes the index (once).
      await e.kube.patchMetadata(
        'Subnet',
        { name: 'ovn-default' },
        { annotations: { 'e2e/touch': 'aap-index' } },
      );
      await expect.poll(() => e.redis.exists(aapCompleteKey()), { timeout: 15_000, interval: 100 }).toBe(1);
      const asks = { 'ovn.kubernetes.io/aaps': 'late' };
      await e.apply(podObject('default', 'late-b', { labels: { app: 'late' }, annotations: asks }));
      await e.apply(podObject('default', 'late-a', { labels: { app: 'late' }, annotations: asks }));
      await e.apply(podObject('default', 'late-x', { labels: { app: 'no' }, annotations: asks }));
      // Each pod's event records it (the hash is on whichever Cluster node owns the index's slot).
      await expect
        .poll(async () => Object.keys(await e.redis.hgetall(aapNamedKey('', 'default', 'late'))).sort(), {
          timeout: 15_000,
          interval: 100,
        })
        .toEqual(['late-a', 'late-b', 'late-x']);
      await e.apply(
        vipObject('late', { subnet: 'ovn-default', namespace: 'default', selector: ['app: late'] }),
      );
      await waitParents('late', 'late-a.default,late-b.default');
    });

    it('removes the virtual port and the reservation when the Vip is deleted', async () => {
      const before = (await e.allocator.get('ovn-default', 'vip/sel'))?.v4;
      expect(before).toBeDefined();
      await e.kube.delete('Vip', { name: 'sel' });
      await e.waitGone('Vip', 'sel');
      expect(await e.portOptions('sel')).toBeUndefined();
      expect(await e.allocator.get('ovn-default', 'vip/sel')).toBeUndefined();
    });
  });
}
