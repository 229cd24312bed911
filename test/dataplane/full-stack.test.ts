// The seed's claims end to end: the whole local stack (relay, function handlers, Redis, OVN NB,
// development API server) allocates and writes NB; the node agent turns every pod the handlers
// annotated into a network namespace on real OVS + OVN, and keeps status.holder current.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { type NodeAgent, startNodeAgent } from '../../infra/node-agent/index.ts';
import type { Pod } from '../../shared/domain/types.ts';
import {
  type E2E,
  namespaceObject,
  podObject,
  startE2E,
  switchLbRuleObject,
  vipObject,
} from '../e2e/harness.ts';
import { failOver, leftovers, msUntilPing, pings, requireRoot, virtualParent } from './helpers.ts';

let e: E2E;
let agent: NodeAgent;

beforeAll(async () => {
  requireRoot();
  e = await startE2E();
  agent = await startNodeAgent({
    dir: `${e.stack.dir}/node`,
    nbRemote: e.stack.nbRemote,
    kube: { kubeconfigPath: e.stack.kubeconfig },
  });
  await e.kubectlApply(namespaceObject('other'));
}, 180_000);

afterAll(async () => {
  const { instance, bridge } = agent ?? {};
  await agent?.stop();
  await e?.stop();
  if (instance && bridge) expect(await leftovers(instance, bridge)).toEqual([]);
});

const ipOf = (p: Pod | undefined) => p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'] ?? '';
const inPod = (pod: string, ...cmd: string[]) => agent.exec('default', pod, cmd);
const holderOf = async (vip: string) => (await e.vip(vip))?.status?.holder ?? '';
/** The pod's address once the handlers gave it one and the agent wired its namespace. */
async function running(namespace: string, name: string): Promise<string> {
  const p = await e.waitPod(namespace, name, (x) => !!ipOf(x), 'an address');
  await agent.waitForPod(namespace, name);
  return ipOf(p);
}

describe("the seed's vip-aap through the handlers", () => {
  let vip = '';
  let busyboxIp = '';

  it('busybox claims the VIP; the client pings both addresses; status.holder names busybox', async () => {
    await e.applyExample('vip-aap.yaml');
    await e.applyExample('busybox-pod.yaml');
    const asks = { annotations: { 'ovn.kubernetes.io/aaps': 'vip-aap' }, labels: { app: 'aap1' } };
    await e.apply(podObject('default', 'busybox2', asks));
    await e.apply(podObject('default', 'client'));
    vip = (await e.waitVip('vip-aap', (v) => v.status?.ready === true)).status!.v4ip!;
    busyboxIp = await running('default', 'busybox');
    await Promise.all([running('default', 'busybox2'), running('default', 'client')]);
    await expect
      .poll(async () => (await e.portOptions('vip-aap'))?.['virtual-parents'], { timeout: 15_000 })
      .toBe('busybox.default,busybox2.default');
    // Port security lets each parent, and only a parent, send from the VIP.
    for (const port of ['busybox.default', 'busybox2.default'])
      await expect
        .poll(async () => (await e.portSecurity(port))?.split(' '), { timeout: 15_000 })
        .toContain(vip);
    expect((await e.portSecurity('client.default'))?.split(' ')).not.toContain(vip);

    expect(await pings(agent, { pod: 'client' }, vip)).toBe(false);
    await inPod('busybox', 'ip', 'addr', 'add', `${vip}/16`, 'dev', 'eth0');
    await inPod('busybox', 'arping', '-U', '-c', '1', '-I', 'eth0', vip);
    await msUntilPing(agent, { pod: 'client' }, vip, 5000);
    await msUntilPing(agent, { pod: 'client' }, busyboxIp, 5000);
    await waitFor('holder busybox', async () => (await holderOf('vip-aap')) === 'busybox.default', {
      timeoutMs: 3000,
    });
    expect(await e.kubectl('get', 'vip', 'vip-aap', '-o', 'wide')).toMatch(/HOLDER[\s\S]*busybox\.default/);
  });

  it('fails over to busybox2: pings within 1 s, status.holder within 1 s', async () => {
    const { pingMs, holderMs } = await failOver(agent, vip, () => holderOf('vip-aap'), 1500);
    console.log(`full stack failover: ping after ${pingMs} ms, status.holder after ${holderMs} ms`);
    expect(pingMs).toBeLessThan(1000);
    expect(holderMs).toBeLessThan(1000);
  });

  it('a pod of another namespace asking for the VIP and adding its address takes neither the binding, the holder nor the traffic', async () => {
    await e.apply(
      podObject('other', 'intruder', {
        labels: { app: 'aap1' },
        annotations: { 'ovn.kubernetes.io/aaps': 'vip-aap' },
      }),
    );
    await running('other', 'intruder');
    // Its port may send from its own addresses only (written with the port, before it is wired).
    const intruderSecurity = (await e.portSecurity('intruder.other'))?.split(' ') ?? [];
    expect(intruderSecurity.length).toBeGreaterThan(1);
    expect(intruderSecurity).not.toContain(vip);
    const busybox2Mac = (await e.pod('default', 'busybox2'))!.metadata.annotations![
      'ovn.kubernetes.io/mac_address'
    ]!;
    await msUntilPing(agent, { pod: 'client' }, vip, 5000);
    expect((await inPod('client', 'ip', 'neigh', 'show', vip)).toLowerCase()).toContain(
      busybox2Mac.toLowerCase(),
    );

    await agent.exec('other', 'intruder', ['ip', 'addr', 'add', `${vip}/16`, 'dev', 'eth0']);
    await agent.exec('other', 'intruder', ['arping', '-U', '-c', '2', '-I', 'eth0', vip]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await e.portOptions('vip-aap'))?.['virtual-parents']).toBe('busybox.default,busybox2.default');
    expect(await virtualParent(agent.sbRemote, 'vip-aap')).toBe('busybox2.default');
    expect(await holderOf('vip-aap')).toBe('busybox2.default');
    // Port security drops the intruder's gratuitous ARP: the client still sends the VIP's traffic
    // to busybox2 (its MAC in the client's ARP entry), and busybox2 answers.
    await msUntilPing(agent, { pod: 'client' }, vip, 5000);
    expect((await inPod('client', 'ip', 'neigh', 'show', vip)).toLowerCase()).toContain(
      busybox2Mac.toLowerCase(),
    );
    // Even with the entry forgotten, only busybox2's answer to the client's ARP gets through.
    await inPod('client', 'ip', 'neigh', 'flush', vip);
    await msUntilPing(agent, { pod: 'client' }, vip, 5000);
    expect((await inPod('client', 'ip', 'neigh', 'show', vip)).toLowerCase()).toContain(
      busybox2Mac.toLowerCase(),
    );
  });
});

describe('a fixed address through a Vip, for real', () => {
  it('the pod bound by ovn.kubernetes.io/vip answers on the Vip address, and a recreated StatefulSet pod again', async () => {
    await e.apply(vipObject('sts-vip', { subnet: 'ovn-default', type: '' }));
    const vip = (await e.waitVip('sts-vip', (v) => v.status?.ready === true)).status!.v4ip!;
    const sts = await e.apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    });
    const owner = [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata.uid, controller: true },
    ];
    const makePod = () =>
      e.apply(
        podObject('default', 'db-0', {
          labels: { app: 'db' },
          annotations: { 'ovn.kubernetes.io/vip': 'sts-vip' },
          ownerReferences: owner,
        }),
      );
    await makePod();
    expect(await running('default', 'db-0')).toBe(vip);
    expect(await msUntilPing(agent, { pod: 'client' }, vip, 5000)).toBeLessThan(5000);
    const firstNs = agent.wired().get('db-0.default')!;

    await e.kube.delete('Pod', { namespace: 'default', name: 'db-0' });
    await agent.waitForPodGone('default', 'db-0');
    expect(await pings(agent, { pod: 'client' }, vip)).toBe(false);
    await makePod();
    expect(await running('default', 'db-0')).toBe(vip);
    expect(agent.wired().get('db-0.default')!.fingerprint).not.toBe(firstNs.fingerprint);
    expect(await msUntilPing(agent, { pod: 'client' }, vip, 5000)).toBeLessThan(5000);
  });
});

describe('SwitchLBRule traffic through the handlers', () => {
  it('requests to vip:port reach both back ends, and only the remaining one after a back end pod is deleted', async () => {
    await e.apply(vipObject('slr-web', { subnet: 'ovn-default', type: 'switch_lb_vip' }));
    const front = (await e.waitVip('slr-web', (v) => v.status?.ready === true)).status!.v4ip!;
    for (const name of ['web-a', 'web-b']) {
      await e.apply(podObject('default', name, { labels: { app: 'web' } }));
      await running('default', name);
      const www = join(agent.dir, `www-${name}`);
      mkdirSync(www, { recursive: true });
      writeFileSync(join(www, 'index.html'), `${name}\n`);
      agent.spawnIn('default', name, ['busybox', 'httpd', '-f', '-p', '8080', '-h', www]);
    }
    await e.apply(
      switchLbRuleObject('web', {
        vip: front,
        namespace: 'default',
        selector: ['app: web'],
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      }),
    );
    // the gateway's MAC carries front-end traffic (see docs/parts/dataplane.md)
    await inPod('client', 'ip', 'route', 'replace', `${front}/32`, 'via', '10.16.0.1');
    const ask = async (n: number) => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const body = (
          await inPod('client', 'curl', '-s', '-m', '2', `http://${front}:80/`).catch(() => '')
        ).trim();
        seen[body || 'no answer'] = (seen[body || 'no answer'] ?? 0) + 1;
      }
      return seen;
    };
    await waitFor(
      'both back ends behind the front end',
      async () => {
        const r = await ask(6);
        return r['web-a'] && r['web-b'];
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const before = await ask(30);
    console.log('full stack, 30 requests:', JSON.stringify(before));
    expect(Object.keys(before).sort()).toEqual(['web-a', 'web-b']);

    await e.kube.delete('Pod', { namespace: 'default', name: 'web-a' });
    await agent.waitForPodGone('default', 'web-a');
    await waitFor('only web-b answers', async () => Object.keys(await ask(4)).join() === 'web-b', {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(await ask(20)).toEqual({ 'web-b': 20 });
  });
});
