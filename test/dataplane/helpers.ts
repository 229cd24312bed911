// A dataplane assembled from the pieces that work on their own: a private OVN NB, the development
// API server with the CRDs, the NB writer playing the handlers' part (switch, pod ports, Vip
// virtual ports) and pods created with the annotations the handlers would set. Needs root.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DevApiServer, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import { makeTempDir, nbctl, type OvsdbServer, startNbServer, waitFor } from '../../infra/local/services.ts';
import { LOCK_FILE, type NodeAgent, startNodeAgent } from '../../infra/node-agent/index.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import { NorthboundWriter } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const crdDir = join(root, 'infra/manifests/crds');

export const SUBNET = { name: 'ovn-default', cidr: '10.16.0.0/16', gateway: '10.16.0.1' };

/** The dataplane tests need root, and say so instead of skipping (CI runs as root). */
export function requireRoot() {
  if (process.getuid?.() !== 0)
    throw new Error('test/dataplane needs root (network namespaces, OVS): run as root');
}

export interface Assembled {
  dir: string;
  nb: OvsdbServer;
  api: DevApiServer;
  kube: Kube;
  client: OvsdbClient;
  writer: NorthboundWriter;
  /** The in-process agent (absent with `agent: false` until startAgent). */
  agent: NodeAgent;
  startAgent(o?: { dir?: string }): Promise<NodeAgent>;
  /** Creates the pod's NB port and the pod, annotated as the handlers would; waits for its namespace. */
  addPod(p: {
    name: string;
    namespace?: string;
    ip: string;
    mac: string;
    labels?: Record<string, string>;
    wait?: boolean;
  }): Promise<string>;
  deletePod(name: string, namespace?: string): Promise<void>;
  /** Port security as kube-ovn writes it: the port's own MAC and addresses, plus the VIPs it may claim. */
  secure(port: string, mac: string, ips: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function assemble(
  opts: { log?: (l: string) => void; agent?: boolean } = {},
): Promise<Assembled> {
  requireRoot();
  const dir = makeTempDir('vpdp-');
  const nb = await startNbServer({ dir: join(dir, 'nb') });
  const api = await startDevApiServer({
    dir: join(dir, 'api'),
    token: 'dataplane',
    crdFiles: readdirSync(crdDir).map((f) => join(crdDir, f)),
  });
  const kube = createKube({ kubeconfigPath: api.kubeconfigPath });
  const client = await OvsdbClient.connect({ remotes: [nb.remote], database: 'OVN_Northbound' });
  const writer = new NorthboundWriter(client);
  await writer.ensureLogicalSwitch({
    name: SUBNET.name,
    cidrBlock: SUBNET.cidr,
    excludeIps: [SUBNET.gateway],
    gateway: SUBNET.gateway,
  });
  const startAgent = (o: { dir?: string } = {}) =>
    startNodeAgent({
      dir: o.dir ?? join(dir, 'agent'),
      nbRemote: nb.remote,
      kube: { kubeconfigPath: api.kubeconfigPath },
      ...(opts.log ? { log: opts.log } : {}),
    });
  const self: Assembled = {
    dir,
    nb,
    api,
    kube,
    client,
    writer,
    agent: opts.agent === false ? (undefined as unknown as NodeAgent) : await startAgent(),
    async startAgent(o) {
      self.agent = await startAgent(o);
      return self.agent;
    },
    async addPod({ name, namespace = 'default', ip, mac, labels, wait = true }) {
      if (namespace !== 'default')
        await api.api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      await writer.ensurePort({
        switchName: SUBNET.name,
        name: `${name}.${namespace}`,
        mac,
        ips: [ip],
        pod: name,
        namespace,
      });
      await kube.create('Pod', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace,
          labels: labels ?? {},
          annotations: {
            'ovn.kubernetes.io/allocated': 'true',
            'ovn.kubernetes.io/ip_address': ip,
            'ovn.kubernetes.io/mac_address': mac,
            'ovn.kubernetes.io/cidr': SUBNET.cidr,
            'ovn.kubernetes.io/gateway': SUBNET.gateway,
            'ovn.kubernetes.io/logical_switch': SUBNET.name,
          },
        },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      return wait ? self.agent.waitForPod(namespace, name) : '';
    },
    async secure(port, mac, ips) {
      await nbctl(nb.remote, 'lsp-set-port-security', port, [mac, ...ips].join(' '));
    },
    async deletePod(name, namespace = 'default') {
      await kube.delete('Pod', { name, namespace });
      await writer.deletePort(`${name}.${namespace}`);
      await self.agent?.waitForPodGone(namespace, name);
    },
    async stop() {
      await self.agent?.stop();
      client.close();
      await api.stop();
      await nb.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

/** True when one ping gets an answer within a second. */
export async function pings(
  agent: NodeAgent,
  from: { namespace?: string; pod: string },
  ip: string,
  waitS = 1,
) {
  try {
    await agent.exec(
      from.namespace ?? 'default',
      from.pod,
      ['ping', '-c1', '-W', String(waitS), ip],
      (waitS + 2) * 1000,
    );
    return true;
  } catch {
    return false;
  }
}

/** How long until a ping from `from` to `ip` is answered (bounded); rejects on timeout. */
export async function msUntilPing(
  agent: NodeAgent,
  from: { namespace?: string; pod: string },
  ip: string,
  timeoutMs: number,
) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    // One probe waits at most 200 ms, so a miss costs little.
    try {
      await agent.exec(from.namespace ?? 'default', from.pod, ['ping', '-c1', '-W', '0.2', ip], 3000);
      return Date.now() - t0;
    } catch {}
  }
  throw new Error(`no ping answer from ${ip} within ${timeoutMs} ms`);
}

/**
 * Pings `ip` from the pod every 20 ms until stopped; resolves with the kernel-stamped times
 * (epoch ms) of the replies. Continuous, so no process start-up lands inside a measurement.
 */
export function startPinger(agent: NodeAgent, from: { namespace?: string; pod: string }, ip: string) {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      agent.netnsOf(from.namespace ?? 'default', from.pod),
      'ping',
      '-D',
      '-n',
      '-i',
      '0.02',
      ip,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const replies = () =>
    [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Math.round(Number(m[1]) * 1000));
  return {
    replies,
    async stop(): Promise<number[]> {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await done;
      return replies();
    },
  };
}

export async function sbctl(remote: string, ...args: string[]) {
  return (await run('ovn-sbctl', [`--db=${remote}`, '--timeout=10', ...args])).stdout;
}

/** `Port_Binding.virtual_parent` of one port ('' when unset). */
export async function virtualParent(sbRemote: string, port: string): Promise<string> {
  const out = await sbctl(
    sbRemote,
    '--bare',
    '--columns=virtual_parent',
    'find',
    'port_binding',
    `logical_port=${port}`,
  );
  return out.trim();
}

/** The pid holding the machine's node-agent lock, if any. */
export function lockOwner(): number | undefined {
  try {
    return JSON.parse(readFileSync(LOCK_FILE, 'utf8')).pid;
  } catch {
    return undefined;
  }
}

/**
 * Links and namespaces this machine has whose names carry the agent's instance id, and the
 * datapath tap unless another agent (of a test file running alongside) holds the lock now.
 */
export async function leftovers(instance: string, bridge: string): Promise<string[]> {
  const datapathIsAnothers = lockOwner() !== undefined;
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter(
      (n) => n === bridge || (n === 'ovs-netdev' && !datapathIsAnothers) || n.startsWith(`vh${instance}`),
    );
  const ns = (await run('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`vp-${instance}-`));
  return [...links.map((l) => `link ${l}`), ...ns.map((n) => `netns ${n}`)];
}

/** Who a failover moves the VIP between, and on which interface (the seed's pods on eth0 by default). */
export interface FailOverPods {
  namespace?: string;
  from?: string;
  to?: string;
  client?: string;
  /** The interface the VIP lives on in both pods (an attachment's `net1`, say). */
  dev?: string;
  /** The prefix the VIP is added with: its subnet's. */
  prefix?: number;
  /** What `holder()` names once `to` holds it: the port of `to` on the VIP's subnet. */
  toPort?: string;
}

/** Puts `vip` on the pod's interface and announces it with a gratuitous ARP, as keepalived does. */
export async function claimVip(
  agent: NodeAgent,
  pod: { namespace?: string; pod: string },
  vip: string,
  dev = 'eth0',
  prefix = 16,
) {
  const ns = pod.namespace ?? 'default';
  await agent.exec(ns, pod.pod, ['ip', 'addr', 'add', `${vip}/${prefix}`, 'dev', dev]);
  await agent.exec(ns, pod.pod, ['arping', '-U', '-c', '1', '-I', dev, vip]);
}

/**
 * Moves `vip` from one pod to the other as keepalived does (off one, on the other, a gratuitous
 * ARP) while the client pings it. Answers how long after the move a ping was answered again and
 * `holder()` named the new holder's port. Defaults: busybox to busybox2 on eth0, client pinging.
 */
export async function failOver(
  agent: NodeAgent,
  vip: string,
  holder: () => Promise<string>,
  holderTimeoutMs: number,
  pods: FailOverPods = {},
): Promise<{ pingMs: number; holderMs: number }> {
  const {
    namespace = 'default',
    from = 'busybox',
    to = 'busybox2',
    client = 'client',
    dev = 'eth0',
    prefix = 16,
  } = pods;
  const toPort = pods.toPort ?? `${to}.${namespace}`;
  const inPod = (pod: string, ...cmd: string[]) => agent.exec(namespace, pod, cmd);
  const pinger = startPinger(agent, { namespace, pod: client }, vip);
  await waitFor(`pings answered by ${from}`, async () => pinger.replies().length > 0);
  await inPod(from, 'ip', 'addr', 'del', `${vip}/${prefix}`, 'dev', dev);
  await inPod(to, 'ip', 'addr', 'add', `${vip}/${prefix}`, 'dev', dev);
  // The move: the address is on the new holder and it announces it.
  const moved = Date.now();
  const garp = inPod(to, 'arping', '-U', '-c', '1', '-I', dev, vip);
  await waitFor(`holder = ${toPort}`, async () => (await holder()) === toPort, {
    timeoutMs: holderTimeoutMs,
    intervalMs: 20,
  });
  const holderMs = Date.now() - moved;
  await waitFor('a ping answered after the move', async () => pinger.replies().some((t) => t > moved), {
    timeoutMs: 3000,
  });
  const replies = await pinger.stop();
  await garp;
  return { pingMs: replies.find((t) => t > moved)! - moved, holderMs };
}
