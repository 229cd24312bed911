// The seed document, applied as written, through the relay: every Vip Ready with a 10.16.x address
// and a 00:00:00:XX:XX:XX MAC, static-vip01 on 10.16.0.121, busybox the virtual parent of vip-aap,
// the pod-use-vip address on the static-ip pod, the printed table with the seed's header, and the
// subnet counts back to zero once everything is deleted. Run against any backend (a fresh stack).
import { beforeAll, describe, expect, it } from 'vitest';
import { SEED_VIP_HEADER } from '../../setup/seed.ts';
import { type E2E, readyCondition } from '../harness.ts';

const MAC = /^00:00:00(:[0-9A-F]{2}){3}$/;

export function seedScenario(stack: () => E2E): void {
  describe('the seed, applied with kubectl through the relay', () => {
    let e: E2E;
    beforeAll(() => {
      e = stack();
    });

    it('reserves every Vip of the seed, with the fixed one on 10.16.0.121', async () => {
      await e.kubectl('apply', '-f', 'examples/');
      for (const name of ['vip-dynamic-01', 'static-vip01', 'vip-aap', 'slr-01', 'pod-use-vip']) {
        const v = await e.waitVip(name, (x) => x.status?.ready === true, 'ready');
        expect(v.status?.v4ip, name).toMatch(/^10\.16\.\d+\.\d+$/);
        expect(v.status?.mac, name).toMatch(MAC);
        expect(readyCondition(v)?.status).toBe('True');
        expect(v.metadata.finalizers).toContain('kubeovn.io/kube-ovn-controller');
        expect(v.metadata.labels?.['ovn.kubernetes.io/subnet']).toBe('ovn-default');
      }
      expect((await e.vip('static-vip01'))?.status?.v4ip).toBe('10.16.0.121');
      const addresses = new Set<string>();
      const macs = new Set<string>();
      for (const v of await e.kube.listVips()) {
        addresses.add(v.status!.v4ip!);
        macs.add(v.status!.mac!);
      }
      expect(addresses.size).toBe(5);
      expect(macs.size).toBe(5);
    });

    it('prints the seed header and a READY true row per Vip', async () => {
      const out = await e.kubectl('get', 'vip');
      const [header, ...rows] = out.trim().split('\n');
      expect(header!.trim().split(/\s+/)).toEqual(SEED_VIP_HEADER);
      expect(rows).toHaveLength(5);
      for (const row of rows) expect(row).toMatch(/ovn-default\s+true$/);
    });

    it('makes busybox the virtual parent of vip-aap, as ovn-nbctl shows it', async () => {
      const v = await e.waitVip('vip-aap', (x) => (x.status?.pv4ip ?? '') !== '', 'a parent');
      const busybox = await e.pod('default', 'busybox');
      expect(v.status?.pv4ip).toBe(busybox?.metadata.annotations?.['ovn.kubernetes.io/ip_address']);
      expect(v.status?.pmac).toBe(busybox?.metadata.annotations?.['ovn.kubernetes.io/mac_address']);
      const listed = await e.nbctl('list', 'logical_switch_port', 'vip-aap');
      expect(listed).toMatch(
        /options\s+: \{virtual-ip="10\.16\.\d+\.\d+", virtual-parents=busybox\.default\}/,
      );
      expect(listed).toMatch(/external_ids\s+: \{ls=ovn-default, vendor=kube-ovn\}/);
      expect(listed).toMatch(/type\s+: virtual/);
      expect(listed).toMatch(/addresses\s+: \[\]/);
      expect(listed).toContain(`virtual-ip="${v.status?.v4ip}"`);
      const show = await e.nbctl('show', 'ovn-default');
      expect(show).toMatch(/port vip-aap\n\s+type: virtual/);
    });

    it('gives the static-ip pod the address and MAC of pod-use-vip, and labels the Vip', async () => {
      const vip = await e.waitVip(
        'pod-use-vip',
        (x) => x.metadata.labels?.['ovn.kubernetes.io/ip_reserved'] === 'static-ip.default',
        'held by static-ip',
      );
      const pod = await e.waitPod(
        'default',
        'static-ip',
        (p) => !!p.metadata.annotations?.['ovn.kubernetes.io/ip_address'],
      );
      expect(pod.metadata.annotations?.['ovn.kubernetes.io/ip_address']).toBe(vip.status?.v4ip);
      expect(pod.metadata.annotations?.['ovn.kubernetes.io/mac_address']).toBe(vip.status?.mac);
      const port = await e.nbctl(
        '--bare',
        '--columns=addresses',
        'list',
        'logical_switch_port',
        'static-ip.default',
      );
      expect(port.trim()).toBe(`${vip.status?.mac} ${vip.status?.v4ip}`);
      // The address is still the Vip's: it was never handed back to the pool in between.
      expect(await e.allocator.get('ovn-default', 'vip/pod-use-vip')).toMatchObject({ v4: vip.status?.v4ip });
    });

    it('counts exactly what is held in the subnet status', async () => {
      const held = (await e.allocator.list('ovn-default', { limit: 1000 })).items.length;
      const subnet = await e.kube.getSubnet('ovn-default');
      await expect
        .poll(async () => (await e.kube.getSubnet('ovn-default'))?.status?.v4usingIPs, { timeout: 10_000 })
        .toBe(held);
      expect(held).toBe(6); // five Vips and busybox; static-ip borrows pod-use-vip's address
      expect(subnet).toBeDefined();
      await expect
        .poll(async () => (await e.kube.getSubnet('ovn-default'))?.status?.v4availableIPs, {
          timeout: 10_000,
        })
        .toBe(65534 - 1 - held);
    });

    it('keeps nothing behind when everything is deleted, and counts return to zero', async () => {
      await e.kubectl('delete', '-f', 'examples/', '--wait=true', '--timeout=30s');
      for (const name of ['vip-dynamic-01', 'static-vip01', 'vip-aap', 'slr-01', 'pod-use-vip'])
        await e.waitGone('Vip', name);
      await expect
        .poll(async () => (await e.allocator.list('ovn-default')).items.length, { timeout: 10_000 })
        .toBe(0);
      await expect
        .poll(async () => (await e.nbctl('--bare', '--columns=name', 'list', 'logical_switch_port')).trim(), {
          timeout: 10_000,
        })
        .toBe('');
      await expect
        .poll(async () => (await e.kube.getSubnet('ovn-default'))?.status?.v4usingIPs, { timeout: 10_000 })
        .toBe(0);
      expect(await e.allocator.audit('ovn-default')).toEqual([]);
    });
  });
}
