import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The seed's connectivity claims on real OVS + OVN, with pods as network namespaces made by the
// node agent. NB rows and pod annotations are written here the way the handlers write them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import {
  type Assembled,
  assemble,
  failOver,
  leftovers,
  msUntilPing,
  pings,
  SUBNET,
  virtualParent,
} from './helpers.ts';

const VIP = '10.16.0.100';
let s: Assembled;
const log: string[] = [];

beforeAll(async () => {
  s = await assemble({ log: (l) => log.push(l) });
  await Promise.all([
    s.addPod({ name: 'client', ip: '10.16.0.10', mac: '00:00:00:00:10:10' }),
    s.addPod({ name: 'busybox', ip: '10.16.0.11', mac: '00:00:00:00:10:11', labels: { app: 'busybox' } }),
    s.addPod({ name: 'busybox2', ip: '10.16.0.12', mac: '00:00:00:00:10:12', labels: { app: 'busybox' } }),
  ]);
  // The seed's vip-aap: a virtual port whose parents are the two busybox pods of `default`.
  await s.writer.ensureVipPorts({
    switchName: SUBNET.name,
    vipName: 'vip-aap',
    v4ip: VIP,
    parents: ['busybox.default', 'busybox2.default'],
  });
  // Port security as kube-ovn writes it for AAP: a parent may send from the VIP, no one else may.
  await s.secure('client.default', '00:00:00:00:10:10', ['10.16.0.10']);
  await s.secure('busybox.default', '00:00:00:00:10:11', ['10.16.0.11', VIP]);
  await s.secure('busybox2.default', '00:00:00:00:10:12', ['10.16.0.12', VIP]);
  await s.kube.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name: 'vip-aap' },
    spec: { subnet: SUBNET.name, namespace: 'default', selector: ['app: busybox'] },
  });
}, 180_000);

afterAll(async () => {
  if (!s) return;
  if (process.env.DEBUG_DATAPLANE)
    console.log(
      require('node:fs')
        .readFileSync(`${s.agent.dir}/ovs/ovn-controller.log`, 'utf8')
        .split('\n')
        .filter((l: string) => l.includes('pinctrl'))
        .join('\n'),
      log.join('\n'),
    );
  const { instance, bridge } = s.agent;
  await s.stop();
  // Nothing of this agent outlives the file (lifecycle.test.ts checks the same in detail).
  expect(await leftovers(instance, bridge)).toEqual([]);
});

const inPod = (pod: string, ...cmd: string[]) => s.agent.exec('default', pod, cmd);
const holderOf = async (vip: string) => (await s.kube.getVip(vip))?.status?.holder ?? '';

describe('node agent', () => {
  it('gives each pod a namespace with its MAC, address, default route and an OVS port named by iface-id', async () => {
    const ns = s.agent.netnsOf('default', 'busybox');
    expect(ns).toBe(`vp-${s.agent.instance}-busybox.default`);
    const link = await inPod('busybox', 'ip', '-o', 'link', 'show', 'eth0');
    expect(link).toContain('link/ether 00:00:00:00:10:11');
    expect(await inPod('busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0')).toContain('inet 10.16.0.11/16');
    expect(await inPod('busybox', 'ip', 'route', 'show', 'default')).toContain(
      'default via 10.16.0.1 dev eth0',
    );
    const nic = s.agent.wired().get('busybox.default')!;
    expect(await s.agent.vsctl('port-to-br', nic.hostIf)).toBe(`${s.agent.bridge}\n`);
    expect(await s.agent.vsctl('get', 'interface', nic.hostIf, 'external_ids:iface-id')).toBe(
      'busybox.default\n',
    );
    // pods reach each other and the subnet gateway
    expect(await msUntilPing(s.agent, { pod: 'client' }, '10.16.0.11', 5000)).toBeLessThan(5000);
    await msUntilPing(s.agent, { pod: 'client' }, SUBNET.gateway, 5000);
  });
});

describe("the seed's vip-aap, for real", () => {
  it('is unreachable until busybox claims it; then the client pings both addresses; OVN binds it to busybox', async () => {
    expect(await pings(s.agent, { pod: 'client' }, VIP)).toBe(false);
    await inPod('busybox', 'ip', 'addr', 'add', `${VIP}/16`, 'dev', 'eth0');
    await inPod('busybox', 'arping', '-U', '-c', '1', '-I', 'eth0', VIP);
    await msUntilPing(s.agent, { pod: 'client' }, VIP, 3000);
    await msUntilPing(s.agent, { pod: 'client' }, '10.16.0.11', 5000);
    await msUntilPing(s.agent, { pod: 'client' }, VIP, 5000);
    expect(await virtualParent(s.agent.sbRemote, 'vip-aap')).toBe('busybox.default');
    // status.holder follows the southbound binding
    await waitFor(
      'status.holder = busybox.default',
      async () => (await holderOf('vip-aap')) === 'busybox.default',
      {
        timeoutMs: 3000,
      },
    );
  });

  it('fails over keepalived-style: the address moves to busybox2 with a gratuitous ARP, pings within 1 s, holder within 1 s', async () => {
    const { pingMs, holderMs } = await failOver(s.agent, VIP, () => holderOf('vip-aap'), 1000);
    console.log(`failover: ping answered ${pingMs} ms after the move; holder shown after ${holderMs} ms`);
    expect(pingMs).toBeLessThan(1000);
    expect(holderMs).toBeLessThan(1000);
    expect(await virtualParent(s.agent.sbRemote, 'vip-aap')).toBe('busybox2.default');
  });

  it('a pod of another namespace that adds the address cannot take it over', async () => {
    await s.addPod({ name: 'intruder', namespace: 'other', ip: '10.16.0.13', mac: '00:00:00:00:10:13' });
    await s.secure('intruder.other', '00:00:00:00:10:13', ['10.16.0.13']);
    await s.agent.exec('other', 'intruder', ['ip', 'addr', 'add', `${VIP}/16`, 'dev', 'eth0']);
    await s.agent.exec('other', 'intruder', ['arping', '-U', '-c', '2', '-I', 'eth0', VIP]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await virtualParent(s.agent.sbRemote, 'vip-aap')).toBe('busybox2.default');
    expect(await holderOf('vip-aap')).toBe('busybox2.default');
    // The client's pings to the VIP are still answered by busybox2 (its MAC in the client's ARP cache).
    await msUntilPing(s.agent, { pod: 'client' }, VIP, 5000);
    const neigh = await inPod('client', 'ip', 'neigh', 'show', VIP);
    expect(neigh).toContain('00:00:00:00:10:12');
  });
});

describe('SwitchLBRule traffic', () => {
  const LB_VIP = '10.16.0.200';
  const backend = async (name: string, ip: string, mac: string) => {
    await s.addPod({ name, ip, mac, labels: { app: 'web' } });
    const www = join(s.dir, `www-${name}`);
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'index.html'), `${name}\n`);
    s.agent.spawnIn('default', name, ['busybox', 'httpd', '-f', '-p', '8080', '-h', www]);
  };
  const ask = async (n: number) => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const body = await inPod('client', 'curl', '-s', '-m', '2', `http://${LB_VIP}:80/`).catch(
        () => 'no answer',
      );
      const k = body.trim();
      seen[k] = (seen[k] ?? 0) + 1;
    }
    return seen;
  };

  it('spreads requests to vip:port over both back ends, and only the remaining one after a pod is deleted', async () => {
    await Promise.all([
      backend('web1', '10.16.0.21', '00:00:00:00:10:21'),
      backend('web2', '10.16.0.22', '00:00:00:00:10:22'),
    ]);
    // what the SwitchLBRule handler writes: front end vip:port, back ends the selected pods' ip:targetPort
    await s.writer.ensureLoadBalancer({
      name: 'slr-web',
      switchName: SUBNET.name,
      vips: { [`${LB_VIP}:80`]: ['10.16.0.21:8080', '10.16.0.22:8080'] },
      protocol: 'tcp',
    });
    // A switch LB rewrites the destination address, not the MAC: the client sends vip traffic to
    // the gateway's MAC, as a pod does for any off-link service address.
    await inPod('client', 'ip', 'route', 'replace', `${LB_VIP}/32`, 'via', SUBNET.gateway);
    await waitFor('both back ends serving', async () => {
      const a = await inPod('client', 'curl', '-s', '-m', '1', 'http://10.16.0.21:8080/').catch(() => '');
      const b = await inPod('client', 'curl', '-s', '-m', '1', 'http://10.16.0.22:8080/').catch(() => '');
      return a.trim() === 'web1' && b.trim() === 'web2';
    });
    await waitFor('the front end answers', async () => (await ask(1)).web1 || (await ask(1)).web2, {
      timeoutMs: 5000,
    });
    const before = await ask(30);
    console.log('30 requests, both back ends:', JSON.stringify(before));
    expect(Object.keys(before).sort()).toEqual(['web1', 'web2']);

    await s.deletePod('web2');
    await s.writer.ensureLoadBalancer({
      name: 'slr-web',
      switchName: SUBNET.name,
      vips: { [`${LB_VIP}:80`]: ['10.16.0.21:8080'] },
      protocol: 'tcp',
    });
    await waitFor('web2 gone from the answers', async () => {
      const r = await ask(4);
      return Object.keys(r).join() === 'web1';
    });
    const after = await ask(20);
    console.log('20 requests after deleting web2:', JSON.stringify(after));
    expect(after).toEqual({ web1: 20 });
  });
});
