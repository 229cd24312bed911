// The local node agent: one machine acting as a Kubernetes node on a real OVN dataplane. It runs
// the southbound database, ovn-northd, Open vSwitch (userspace datapath) and ovn-controller, and
// gives every pod that the handlers gave an address a network namespace plugged into br-int.
// It writes down what it makes before making it; stop(), the exit hook and the next start remove
// exactly that. Needs root.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import type { Pod } from '../../shared/domain/types.ts';
import { type HolderSync, startHolderSync } from '../../shared/holder/index.ts';
import { createKube, type KubeOptions, loadKubeConfig } from '../../shared/kube/index.ts';
import type { ExecBackend } from '../dev-apiserver/exec.ts';
import { type Daemon, sleep } from '../local/services.ts';
import { type Ovs, type Sb, startOvnController, startOvs, startSouthbound, tool } from './daemons.ts';
import { podExecBackend } from './exec.ts';
import { ensureGateway, removeGateway } from './gateway.ts';
import {
  cmdlineOf,
  createPodNetns,
  deleteLinkSync,
  linkExists,
  type NicPlumbing,
  removeNetnsSync,
  removePodNetns,
  syncSecondaryNics,
} from './netns.ts';
import { netnsName, type PodNic, planNamespaces, podNic, type SecondaryNic } from './pod-nic.ts';
import { type AgentState, readState, removeState, writeState } from './state.ts';

/** The userspace datapath's own tap device: one per machine, so one agent per machine. */
export const DATAPATH_TAP = 'ovs-netdev';
export const LOCK_FILE = existsSync('/run')
  ? '/run/vipres-node-agent.lock'
  : join(tmpdir(), 'vipres-node-agent.lock');

export interface NodeAgentOptions {
  /** The agent's own directory: state file, databases, logs, sockets (kept short: unix socket paths). */
  dir: string;
  /** OVN Northbound remote(s), comma-separated as ovn-northd takes them. */
  nbRemote: string;
  kube: KubeOptions;
  /** Short id in every name the agent makes (default: random 4 hex digits). */
  instance?: string;
  chassis?: string;
  /** Keep Vips' status.holder current from the southbound database (default true). */
  holder?: boolean;
  /** How long to wait for another agent on this machine to finish (default 120 s). */
  lockTimeoutMs?: number;
  log?: (line: string) => void;
  /** Told of each holder change the holder sync writes (metrics, Events). */
  onHolderChange?: (vip: string, from: string, to: string) => void;
}

export interface NodeAgent {
  readonly dir: string;
  readonly instance: string;
  readonly bridge: string;
  readonly sbRemote: string;
  /** The namespace a pod gets (whether or not it exists yet). */
  netnsOf(namespace: string, pod: string): string;
  /** Pods wired now: port name -> NIC. */
  wired(): Map<string, PodNic>;
  /** Resolves with the pod's namespace once it is wired (bounded). */
  waitForPod(namespace: string, pod: string, timeoutMs?: number): Promise<string>;
  /** Resolves once the pod's namespace is gone (bounded). */
  waitForPodGone(namespace: string, pod: string, timeoutMs?: number): Promise<void>;
  /** Runs a command in the pod's namespace, `ip netns exec` style; resolves with stdout. */
  exec(namespace: string, pod: string, args: string[], timeoutMs?: number): Promise<string>;
  /** Starts a long-running process in the pod (ended when the pod goes or the agent stops). */
  spawnIn(namespace: string, pod: string, args: string[]): ChildProcess;
  /** ovs-vsctl against this node's Open vSwitch database. */
  vsctl(...args: string[]): Promise<string>;
  /** `kubectl exec` into wired pods: the development API server's exec backend (infra/local wires it). */
  readonly execBackend: ExecBackend;
  readonly holderSync: HolderSync | undefined;
  stop(): Promise<void>;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Why the agent cannot run here, or undefined when it can. */
export function cannotRunReason(): string | undefined {
  if (!isRoot()) return 'the node agent needs root (network namespaces, veths, Open vSwitch); skipped';
  return undefined;
}

// ------------------------------------------------------------------------------------ lock

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readLock(): { pid: number; dir: string } | undefined {
  try {
    return JSON.parse(readFileSync(LOCK_FILE, 'utf8'));
  } catch {
    return undefined;
  }
}

async function acquireLock(dir: string, timeoutMs: number, log: (l: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, dir }));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readLock();
    if (!owner || !pidAlive(owner.pid)) {
      // The previous agent died without cleaning up: remove what it recorded, then take over.
      if (owner?.dir) cleanupRecorded(owner.dir, log);
      rmSync(LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `another node agent (pid ${owner.pid}, ${owner.dir}) runs on this machine; the userspace datapath allows one`,
      );
    if (!said) log(`waiting for the node agent of pid ${owner.pid} to finish`);
    said = true;
    await sleep(200);
  }
}

function releaseLock() {
  const owner = readLock();
  if (owner?.pid === process.pid) rmSync(LOCK_FILE, { force: true });
}

// ------------------------------------------------------------------------------------ cleanup

/** Removes everything a state file records (a dead run's, or ours on exit). Synchronous. */
function cleanupRecorded(dir: string, log: (l: string) => void) {
  const s = readState(dir);
  if (!s) return;
  const killed: number[] = [];
  for (const pid of s.pids) {
    // Only our own daemon: the pid must still run a command that names our directory.
    if (pid !== process.pid && cmdlineOf(pid).includes(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {}
    }
  }
  // Synchronous (the exit hook uses this too): wait, bounded, until they are gone and let go of the taps.
  const deadline = Date.now() + 2000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (killed.some((p) => cmdlineOf(p) !== '') && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
  for (const [ns, hostIf] of Object.entries(s.namespaces)) {
    removeNetnsSync(ns, hostIf);
    log(`removed namespace ${ns} left by an earlier run`);
  }
  // vswitchd killed hard leaves the userspace datapath's tap devices behind.
  for (const tap of [s.bridge, ...(s.datapath ? [DATAPATH_TAP] : [])]) deleteLinkSync(tap);
  removeState(dir);
}

/** Pids of every ovs-vswitchd on the machine. */
function runningVswitchd(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'ovs-vswitchd') out.push(Number(entry));
    } catch {}
  }
  return out;
}

// ------------------------------------------------------------------------------------ agent

export async function startNodeAgent(o: NodeAgentOptions): Promise<NodeAgent> {
  const reason = cannotRunReason();
  if (reason) throw new Error(reason);
  const log = o.log ?? (() => {});
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });

  await acquireLock(dir, o.lockTimeoutMs ?? 120_000, log);
  // An earlier run in this directory that was killed: remove what it made (pods are rebuilt below).
  cleanupRecorded(dir, log);
  if (linkExists(DATAPATH_TAP)) {
    // With no ovs-vswitchd left on the machine the tap is a leftover (of a run whose state is
    // gone); with one running, it belongs to an Open vSwitch that is not ours.
    if (runningVswitchd().length > 0) {
      releaseLock();
      throw new Error(`a ${DATAPATH_TAP} datapath of another running ovs-vswitchd exists; not touching it`);
    }
    log(`removing a stale ${DATAPATH_TAP} tap (no ovs-vswitchd runs)`);
    deleteLinkSync(DATAPATH_TAP);
  }
  for (const sub of ['ovs', 'sb']) rmSync(join(dir, sub), { recursive: true, force: true });

  const instance = o.instance ?? randomBytes(2).toString('hex');
  const bridge = `br-${instance}`;
  const state: AgentState = { instance, bridge, datapath: true, pids: [], namespaces: {} };
  writeState(dir, state);
  const made = new Map<string, PodNic>();
  const gatewaysMade = new Set<string>();
  let stopped = false;
  const attachmentHostIfs = (nic: PodNic) => nic.secondaries.map((s) => s.hostIf);

  const onExit = () => {
    if (stopped) return;
    // Crash or exit without stop(): daemons first (they hold the taps), then what we made.
    for (const pid of state.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    cleanupRecorded(dir, () => {});
    releaseLock();
  };
  process.on('exit', onExit);

  let sb: Sb | undefined;
  let ovs: Ovs | undefined;
  let controller: Daemon | undefined;
  let holderSync: HolderSync | undefined;
  let informer: ReturnType<typeof makeInformer<V1Pod>> | undefined;

  const record = (d: Daemon) => {
    state.pids.push(d.pid);
    writeState(dir, state);
  };

  // Every step is guarded: a failing step must not keep the later ones from running.
  const attempt = async (what: string, step: () => unknown) => {
    try {
      await step();
    } catch (err) {
      log(`stop: ${what}: ${(err as Error).message}`);
    }
  };
  const shutdown = async () => {
    stopped = true;
    await attempt('pod watch', () => informer?.stop());
    await attempt('holder sync', () => holderSync?.stop());
    await attempt('pending pass', () => pass);
    const plumbing = ovs && { vsctl: ovs.vsctl, bridge, instance };
    for (const nic of made.values())
      await attempt(`namespace ${nic.netns}`, () =>
        removePodNetns(nic.netns, nic.hostIf, plumbing, attachmentHostIfs(nic)),
      );
    made.clear();
    for (const ls of gatewaysMade) await attempt(`gateway of ${ls}`, () => removeGateway(o.nbRemote, ls));
    await attempt('ovn-controller', () => controller?.stop());
    if (ovs) {
      const o2 = ovs;
      // `exit --cleanup` makes vswitchd delete its datapath and the bridge's tap device.
      await attempt('bridge', () => o2.vsctl('--if-exists', 'del-br', bridge));
      await attempt('vswitchd exit', () =>
        tool(
          join(dir, 'ovs'),
          'ovs-appctl',
          ['-t', join(dir, 'ovs', 'ovs-vswitchd.ctl'), 'exit', '--cleanup'],
          5000,
        ),
      );
      await attempt('ovs', () => o2.stop());
    }
    await attempt('southbound', () => sb?.stop());
    // Whatever is still recorded (a daemon that would not stop, a namespace) goes the hard way.
    cleanupRecorded(dir, log);
    for (const tap of [bridge, DATAPATH_TAP]) deleteLinkSync(tap);
    removeState(dir);
    process.off('exit', onExit);
    releaseLock();
  };

  let pass: Promise<void> = Promise.resolve();
  try {
    sb = await startSouthbound(join(dir, 'sb'), o.nbRemote);
    record(sb.server);
    record(sb.northd);
    ovs = await startOvs(join(dir, 'ovs'));
    record(ovs.db);
    record(ovs.vswitchd);
    controller = await startOvnController({
      dir: join(dir, 'ovs'),
      ovs,
      sbRemote: sb.server.remote,
      chassis: o.chassis ?? `vipres-${instance}`,
      bridge,
    });
    record(controller);
  } catch (err) {
    await shutdown();
    throw err;
  }
  const plumbing: NicPlumbing = { vsctl: ovs.vsctl, bridge, instance };
  const sbRemote = sb.server.remote;

  const kube = createKube(o.kube);
  if (o.holder !== false) {
    try {
      holderSync = await startHolderSync({
        sbRemotes: [sbRemote],
        kube,
        log,
        ...(o.onHolderChange ? { onChange: o.onHolderChange } : {}),
      });
    } catch (err) {
      await shutdown();
      throw err;
    }
  }

  // ---------------------------------------------------------------------------- pods
  const kc = loadKubeConfig(o.kube);
  const core = kc.makeApiClient(CoreV1Api);
  informer = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());

  let pending = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const desired = (): Map<string, PodNic> => {
    const out = new Map<string, PodNic>();
    for (const p of informer?.list() ?? []) {
      const nic = podNic(JSON.parse(JSON.stringify(p)) as Pod, instance);
      if (nic) out.set(nic.port, nic);
    }
    return out;
  };
  let failed = false;
  const syncAttachments = async (nic: PodNic, wiredBefore: readonly SecondaryNic[]) => {
    const r = await syncSecondaryNics(nic, wiredBefore, plumbing, log);
    if (r.failed) failed = true;
    return r.wired;
  };
  const syncPods = async () => {
    const want = desired();
    const plan = planNamespaces(want, made);
    failed = false;
    for (const nic of plan.remove) {
      await removePodNetns(nic.netns, nic.hostIf, plumbing, attachmentHostIfs(nic));
      made.delete(nic.port);
      delete state.namespaces[nic.netns];
      writeState(dir, state);
      log(`pod ${nic.port}: namespace ${nic.netns} removed`);
    }
    for (const nic of plan.create) {
      if (stopped) return;
      try {
        if (nic.logicalSwitch && !gatewaysMade.has(nic.logicalSwitch) && nic.gatewayNetworks.length > 0) {
          if (
            await ensureGateway(o.nbRemote, {
              logicalSwitch: nic.logicalSwitch,
              networks: nic.gatewayNetworks,
            })
          )
            gatewaysMade.add(nic.logicalSwitch);
        }
        state.namespaces[nic.netns] = nic.hostIf;
        writeState(dir, state);
        await createPodNetns(nic, plumbing);
        // Wired (waitForPod, exec) only with its attachments in place.
        made.set(nic.port, { ...nic, secondaries: await syncAttachments(nic, []) });
        log(`pod ${nic.port}: namespace ${nic.netns} (${nic.addresses.join(', ')})`);
      } catch (err) {
        failed = true;
        log(`pod ${nic.port}: ${(err as Error).message}`);
        removeNetnsSync(nic.netns, nic.hostIf);
        delete state.namespaces[nic.netns];
        writeState(dir, state);
      }
    }
    // Namespaces that stood already: only their attachments may have changed.
    for (const [port, nic] of want) {
      const have = made.get(port);
      if (!have || stopped || plan.create.includes(nic)) continue;
      made.set(port, { ...have, secondaries: await syncAttachments(nic, have.secondaries) });
    }
    if (failed && !stopped) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(schedule, 1000);
      retryTimer.unref();
    }
  };
  function schedule() {
    if (pending || stopped) return;
    pending = true;
    pass = pass.then(async () => {
      pending = false;
      if (!stopped) await syncPods();
    });
  }
  informer.on('add', schedule);
  informer.on('update', schedule);
  informer.on('delete', schedule);
  informer.on('error', (err) => {
    if (stopped) return;
    log(`pod watch: ${(err as Error)?.message ?? err}; restarting`);
    setTimeout(() => {
      if (!stopped) void informer?.start().catch(() => {});
    }, 500).unref();
  });
  try {
    await informer.start();
  } catch (err) {
    await shutdown();
    throw err;
  }
  schedule();

  const netnsOf = (namespace: string, pod: string) => netnsName(instance, `${pod}.${namespace}`);
  const agent: NodeAgent = {
    dir,
    instance,
    bridge,
    sbRemote,
    holderSync,
    netnsOf,
    vsctl: plumbing.vsctl,
    execBackend: podExecBackend({ wiredNetns: (ns, pod) => made.get(`${pod}.${ns}`)?.netns }),
    wired: () => new Map(made),
    async waitForPod(namespace, pod, timeoutMs = 15_000) {
      const port = `${pod}.${namespace}`;
      const deadline = Date.now() + timeoutMs;
      while (!made.has(port)) {
        if (Date.now() > deadline) throw new Error(`pod ${port} was not wired within ${timeoutMs} ms`);
        await sleep(25);
      }
      return made.get(port)!.netns;
    },
    async waitForPodGone(namespace, pod, timeoutMs = 15_000) {
      const port = `${pod}.${namespace}`;
      const deadline = Date.now() + timeoutMs;
      while (made.has(port)) {
        if (Date.now() > deadline) throw new Error(`pod ${port} was not removed within ${timeoutMs} ms`);
        await sleep(25);
      }
    },
    async exec(namespace, pod, args, timeoutMs = 10_000) {
      return tool(dir, 'ip', ['netns', 'exec', netnsOf(namespace, pod), ...args], timeoutMs);
    },
    spawnIn(namespace, pod, args) {
      const child = spawn('ip', ['netns', 'exec', netnsOf(namespace, pod), ...args], { stdio: 'ignore' });
      child.unref();
      return child;
    },
    async stop() {
      if (stopped) return;
      clearTimeout(retryTimer);
      await shutdown();
    },
  };
  return agent;
}

/**
 * For `npm start`: starts the agent when this process is root, otherwise says in one line why not
 * (the rest of the stack runs either way).
 */
export async function maybeStartNodeAgent(
  o: NodeAgentOptions,
): Promise<{ agent: NodeAgent; skipped?: undefined } | { agent?: undefined; skipped: string }> {
  const reason = cannotRunReason();
  if (reason) return { skipped: reason };
  return { agent: await startNodeAgent(o) };
}
