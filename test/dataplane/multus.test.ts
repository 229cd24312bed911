// Multus secondary networks on real OVS + OVN: the whole local stack allocates each pod's
// attachment on a NetworkAttachmentDefinition-backed subnet (provider `<net>.<ns>.ovn`) and writes
// its port `<pod>.<ns>.<provider>`; the node agent wires it as net1 in the pod's namespace. An AAP
// Vip on that subnet then fails over between two pods' net1, as keepalived would move it.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { type NodeAgent, startNodeAgent } from '../../infra/node-agent/index.ts';
import type { Pod } from '../../shared/domain/types.ts';
import { type E2E, podObject, startE2E, vipObject } from '../e2e/harness.ts';
import { claimVip, failOver, leftovers, msUntilPing, pings, requireRoot } from './helpers.ts';

const NET = 'att1';
const PROVIDER = `${NET}.default.ovn`;
const SUBNET = { name: 'att1-sub', cidr: '172.17.0.0/24', gateway: '172.17.0.1', prefix: 24 };
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
const attachmentPort = (pod: string) => `${pod}.default.${PROVIDER}`;

let e: E2E;
let agent: NodeAgent;
const spawned: ChildProcess[] = [];

beforeAll(async () => {
  requireRoot();
  e = await startE2E();
  agent = await startNodeAgent({
    dir: `${e.stack.dir}/node`,
    nbRemote: e.stack.nbRemote,
    kube: { kubeconfigPath: e.stack.kubeconfig },
  });
}, 180_000);

afterAll(async () => {
  for (const c of spawned) if (c.exitCode === null) c.kill('SIGKILL');
  const { instance, bridge } = agent ?? {};
  await agent?.stop();
  await e?.stop();
  if (instance && bridge) expect(await leftovers(instance, bridge)).toEqual([]);
});

const inPod = (pod: string, ...cmd: string[]) => agent.exec('default', pod, cmd);
const attachmentIp = (p: Pod | undefined) =>
  p?.metadata.annotations?.[`${PROVIDER}.kubernetes.io/ip_address`] ?? '';
const holderOf = async (vip: string) => (await e.vip(vip))?.status?.holder ?? '';
const net1Of = (pod: string) =>
  agent
    .wired()
    .get(`${pod}.default`)
    ?.secondaries?.find((s) => s.ifName === 'net1');
const ovsPorts = async () => (await agent.vsctl('list-ports', agent.bridge)).split('\n').filter(Boolean);

/** The pod's attachment address once the handlers gave it one and the agent wired its net1. */
async function attached(pod: string): Promise<string> {
  const p = await e.waitPod('default', pod, (x) => !!attachmentIp(x), 'an attachment address');
  await agent.waitForPod('default', pod);
  await waitFor(`${pod}: net1 wired`, async () => !!net1Of(pod), { timeoutMs: 15_000, intervalMs: 25 });
  return attachmentIp(p);
}

/** The NetworkAttachmentDefinition kind (Multus installs it in a real cluster) and kube-ovn's NAD. */
async function applyNetworkAttachmentDefinition() {
  await e.kubectlApply({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'network-attachment-definitions.k8s.cni.cncf.io' },
    spec: {
      group: 'k8s.cni.cncf.io',
      scope: 'Namespaced',
      names: {
        plural: 'network-attachment-definitions',
        singular: 'network-attachment-definition',
        kind: 'NetworkAttachmentDefinition',
        shortNames: ['net-attach-def'],
      },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { config: { type: 'string' } } } },
            },
          },
        },
      ],
    },
  });
  // kube-ovn's CNI takes an attachment whose config names its provider: the Subnet's provider.
  const nad = {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: NET, namespace: 'default' },
    spec: {
      config: JSON.stringify({
        cniVersion: '0.3.1',
        type: 'kube-ovn',
        server_socket: '/run/openvswitch/kube-ovn-daemon.sock',
        provider: PROVIDER,
      }),
    },
  };
  // The new kind is served once the API server has taken the definition in.
  await waitFor('the NetworkAttachmentDefinition applied', () => e.kubectlApply(nad).then(() => true), {
    timeoutMs: 10_000,
    intervalMs: 200,
  });
}

describe('an AAP Vip on a Multus secondary network', () => {
  let vip = '';
  const ips: Record<string, string> = {};

  it('every pod gets net1 on the attachment subnet, bound to <pod>.<ns>.<provider>, with the default route left on eth0', async () => {
    await applyNetworkAttachmentDefinition();
    expect(await e.kubectl('get', 'net-attach-def', NET, '-o', 'jsonpath={.spec.config}')).toContain(
      PROVIDER,
    );
    await e.apply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: SUBNET.name },
      spec: {
        cidrBlock: SUBNET.cidr,
        gateway: SUBNET.gateway,
        excludeIps: [SUBNET.gateway],
        protocol: 'IPv4',
        provider: PROVIDER,
      },
    });
    await e.apply(
      vipObject('vip-sec', { subnet: SUBNET.name, namespace: 'default', selector: ['app: sec'] }),
    );
    const parent = {
      labels: { app: 'sec' },
      annotations: { 'ovn.kubernetes.io/aaps': 'vip-sec', [NETWORKS]: NET },
    };
    await e.apply(podObject('default', 'sec-a', parent));
    await e.apply(podObject('default', 'sec-b', parent));
    await e.apply(podObject('default', 'client', { annotations: { [NETWORKS]: NET } }));
    vip = (await e.waitVip('vip-sec', (v) => v.status?.ready === true)).status!.v4ip!;
    expect(vip.startsWith('172.17.0.')).toBe(true);
    for (const pod of ['sec-a', 'sec-b', 'client']) ips[pod] = await attached(pod);

    for (const pod of ['sec-a', 'sec-b', 'client']) {
      const annotations = (await e.pod('default', pod))!.metadata.annotations!;
      const mac = annotations[`${PROVIDER}.kubernetes.io/mac_address`]!.toLowerCase();
      expect(await inPod(pod, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'net1')).toContain(
        `${ips[pod]}/${SUBNET.prefix}`,
      );
      expect((await inPod(pod, 'ip', 'link', 'show', 'net1')).toLowerCase()).toContain(mac);
      // The attachment's own subnet only; the default route stays on eth0.
      expect((await inPod(pod, 'ip', '-4', 'route', 'show', 'dev', 'net1')).trim()).toMatch(
        new RegExp(`^${SUBNET.cidr.replaceAll('.', '\\.')} `),
      );
      expect(await inPod(pod, 'ip', '-4', 'route', 'show', 'default')).toMatch(/dev eth0/);
      expect(await inPod(pod, 'ip', '-4', 'route', 'show', 'default')).not.toMatch(/net1/);
      const hostIf = net1Of(pod)!.hostIf;
      expect(await agent.vsctl('get', 'interface', hostIf, 'external_ids:iface-id')).toContain(
        attachmentPort(pod),
      );
    }
    // The handlers made both pods' attachment ports the Vip's parents.
    await expect
      .poll(async () => (await e.portOptions('vip-sec'))?.['virtual-parents'], { timeout: 15_000 })
      .toBe(`${attachmentPort('sec-a')},${attachmentPort('sec-b')}`);
    expect(await msUntilPing(agent, { pod: 'client' }, ips['sec-b']!, 5000)).toBeLessThan(5000);
  });

  it('the VIP on sec-a net1 is reached by the client, then on sec-b net1 after a keepalived-style move', async () => {
    expect(await pings(agent, { pod: 'client' }, vip)).toBe(false);
    await claimVip(agent, { pod: 'sec-a' }, vip, 'net1', SUBNET.prefix);
    await msUntilPing(agent, { pod: 'client' }, vip, 5000);
    await waitFor('holder sec-a', async () => (await holderOf('vip-sec')) === attachmentPort('sec-a'), {
      timeoutMs: 5000,
    });

    const { pingMs, holderMs } = await failOver(agent, vip, () => holderOf('vip-sec'), 3000, {
      from: 'sec-a',
      to: 'sec-b',
      dev: 'net1',
      prefix: SUBNET.prefix,
      toPort: attachmentPort('sec-b'),
    });
    console.log(`secondary network failover: ping after ${pingMs} ms, status.holder after ${holderMs} ms`);
    expect(pingMs).toBeLessThan(3000);
    // The answer comes from sec-b's net1: the client's ARP entry holds its attachment MAC.
    const bMac = (await e.pod('default', 'sec-b'))!.metadata.annotations![
      `${PROVIDER}.kubernetes.io/mac_address`
    ]!;
    expect((await inPod('client', 'ip', 'neigh', 'show', vip)).toLowerCase()).toContain(bMac.toLowerCase());
  });

  it('dropping the attachment takes net1 out and leaves eth0 and the pod’s processes; deleting a pod removes both its ports', async () => {
    const sleeper = agent.spawnIn('default', 'client', ['sleep', '300']);
    spawned.push(sleeper);
    const clientNet1 = net1Of('client')!.hostIf;
    expect(await ovsPorts()).toContain(clientNet1);
    await e.kube.patch(
      'Pod',
      { namespace: 'default', name: 'client' },
      {
        metadata: { annotations: { [NETWORKS]: null } },
      },
    );
    await waitFor('client net1 unwired', async () => !net1Of('client'), {
      timeoutMs: 15_000,
      intervalMs: 25,
    });
    await expect(inPod('client', 'ip', 'link', 'show', 'net1')).rejects.toThrow();
    expect(await ovsPorts()).not.toContain(clientNet1);
    expect(sleeper.exitCode).toBeNull();
    const bPrimary = (await e.pod('default', 'sec-b'))!.metadata.annotations![
      'ovn.kubernetes.io/ip_address'
    ]!;
    expect(await msUntilPing(agent, { pod: 'client' }, bPrimary, 5000)).toBeLessThan(5000);

    const a = agent.wired().get('sec-a.default')!;
    await e.kube.delete('Pod', { namespace: 'default', name: 'sec-a' });
    await agent.waitForPodGone('default', 'sec-a');
    const ports = await ovsPorts();
    expect(ports).not.toContain(a.hostIf);
    expect(ports).not.toContain(a.secondaries[0]!.hostIf);
  });
});
