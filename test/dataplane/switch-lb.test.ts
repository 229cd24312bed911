// A SwitchLBRule front end reached from its own subnet with nothing but the pod's default route:
// the Vip reconcile's front-end step (refreshFrontEndArp, real NB writer, Vips from the
// development API server) makes the subnet gateway answer ARP for the switch_lb_vip address, so
// the client sends to the gateway's MAC and the switch's load balancer rewrites the address.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { gatewayMac } from '../../infra/node-agent/gateway.ts';
import { northboundPort } from '../../infra/wiring/northbound-port.ts';
import type { ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { refreshFrontEndArp } from '../../shared/reconcile/switch-lb-rule.ts';
import { type Assembled, assemble, SUBNET } from './helpers.ts';

const LB_VIP = '10.16.0.200';
let s: Assembled;

beforeAll(async () => {
  s = await assemble();
  await s.addPod({ name: 'client', ip: '10.16.0.10', mac: '00:00:00:00:10:10' });
}, 180_000);

afterAll(async () => {
  await s?.stop();
});

const inPod = (pod: string, ...cmd: string[]) => s.agent.exec('default', pod, cmd);

describe('switch_lb_vip front end without routes', () => {
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
      const k = body.trim() || 'no answer';
      seen[k] = (seen[k] ?? 0) + 1;
    }
    return seen;
  };

  it('a client with only its default route reaches both back ends through the front end', async () => {
    await Promise.all([
      backend('web1', '10.16.0.21', '00:00:00:00:10:21'),
      backend('web2', '10.16.0.22', '00:00:00:00:10:22'),
    ]);
    await s.writer.ensureLoadBalancer({
      name: 'slr-web-tcp',
      switchName: SUBNET.name,
      vips: { [`${LB_VIP}:80`]: ['10.16.0.21:8080', '10.16.0.22:8080'] },
      protocol: 'tcp',
    });
    const routes = await inPod('client', 'ip', '-4', 'route', 'show');
    expect(
      routes
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ).toEqual([
      `default via ${SUBNET.gateway} dev eth0`,
      '10.16.0.0/16 dev eth0 proto kernel scope link src 10.16.0.10',
    ]);
    await waitFor('both back ends serving', async () => {
      const a = await inPod('client', 'curl', '-s', '-m', '1', 'http://10.16.0.21:8080/').catch(() => '');
      const b = await inPod('client', 'curl', '-s', '-m', '1', 'http://10.16.0.22:8080/').catch(() => '');
      return a.trim() === 'web1' && b.trim() === 'web2';
    });
    // Without the gateway answering ARP for it, the front end is an on-link address nobody owns.
    expect(await ask(1)).toEqual({ 'no answer': 1 });

    await s.kube.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'slr-front', labels: { 'ovn.kubernetes.io/subnet': SUBNET.name } },
      spec: { subnet: SUBNET.name, type: 'switch_lb_vip' },
    });
    await s.kube.patchStatus('Vip', 'slr-front', { v4ip: LB_VIP, type: 'switch_lb_vip', ready: true });
    const deps = { nb: northboundPort(s.writer), kube: s.kube } as unknown as ReconcileDeps;
    await refreshFrontEndArp(deps, SUBNET.name);

    await waitFor('the front end answers', async () => (await ask(1))['no answer'] === undefined, {
      timeoutMs: 10_000,
    });
    const seen = await ask(30);
    console.log('30 requests to the front end, default route only:', JSON.stringify(seen));
    expect(Object.keys(seen).sort()).toEqual(['web1', 'web2']);
    const neigh = await inPod('client', 'ip', 'neigh', 'show', LB_VIP);
    // The front end resolves to the gateway's MAC.
    expect(neigh.split(' lladdr ')[1]?.split(' ')[0]).toBe(gatewayMac(SUBNET.name));

    // The Vip goes: the gateway stops answering for it.
    await s.kube.delete('Vip', { name: 'slr-front' });
    await refreshFrontEndArp(deps, SUBNET.name);
    await inPod('client', 'ip', 'neigh', 'flush', LB_VIP);
    await waitFor('the front end is gone', async () => (await ask(1))['no answer'] === 1, {
      timeoutMs: 10_000,
    });
  });
});
