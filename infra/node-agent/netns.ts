// A pod on this node: a network namespace with one veth into the integration bridge. Every
// function here runs synchronously-safe commands so the same code serves the exit hook.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { PodNic } from './pod-nic.ts';

const run = promisify(execFile);
const PATH_ENV = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { env: PATH_ENV, timeout: 10_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

function shSync(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, {
      env: PATH_ENV,
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
  } catch {
    return undefined;
  }
}

export interface NicPlumbing {
  /** ovs-vsctl with the node's database and environment. */
  vsctl(...args: string[]): Promise<string>;
  bridge: string;
  instance: string;
}

/** Builds the namespace, the veth, addresses, default routes, and plugs the host end into OVS. */
export async function createPodNetns(nic: PodNic, p: NicPlumbing): Promise<void> {
  const ns = nic.netns;
  const inNs = (...a: string[]) => sh('ip', ['-n', ns, ...a]);
  await sh('ip', ['netns', 'add', ns]);
  await sh('ip', ['link', 'add', nic.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await inNs('link', 'set', 'lo', 'up');
  await inNs('link', 'set', 'eth0', 'address', nic.mac.toLowerCase());
  for (const a of nic.addresses) {
    await inNs(
      ...(a.includes(':')
        ? ['-6', 'addr', 'add', a, 'dev', 'eth0', 'nodad']
        : ['addr', 'add', a, 'dev', 'eth0']),
    );
  }
  await inNs('link', 'set', 'eth0', 'up');
  for (const gw of nic.gateways) {
    await inNs(...(gw.includes(':') ? ['-6'] : []), 'route', 'replace', 'default', 'via', gw, 'dev', 'eth0');
  }
  // The userspace datapath reads packets off the veth with AF_PACKET and does not fill in
  // checksums the kernel left to offload: TCP would arrive corrupt. ICMP works either way.
  await sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']).catch(() => {});
  await sh('ip', ['link', 'set', nic.hostIf, 'up']);
  await p.vsctl(
    '--may-exist',
    'add-port',
    p.bridge,
    nic.hostIf,
    '--',
    'set',
    'interface',
    nic.hostIf,
    `external_ids:iface-id=${nic.port}`,
    `external_ids:vipres-agent=${p.instance}`,
  );
}

/** Pids of processes running inside a namespace (what a person started "in" the pod). */
export function netnsPids(ns: string): number[] {
  const out = shSync('ip', ['netns', 'pids', ns]) ?? '';
  return out
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => n > 0 && n !== process.pid);
}

/** Removes a pod's namespace: its processes, the OVS port (if OVS still runs), the netns and veth. */
export async function removePodNetns(ns: string, hostIf: string, p?: NicPlumbing): Promise<void> {
  killNetnsProcesses(ns);
  if (p) await p.vsctl('--if-exists', 'del-port', p.bridge, hostIf).catch(() => {});
  removeNetnsSync(ns, hostIf);
}

export function killNetnsProcesses(ns: string) {
  for (const pid of netnsPids(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** The synchronous part of removal, also used by the exit hook (no OVS call there). */
export function removeNetnsSync(ns: string, hostIf: string) {
  killNetnsProcesses(ns);
  shSync('ip', ['netns', 'delete', ns]);
  // The veth normally goes with its namespace; delete the host end in case it did not.
  deleteLinkSync(hostIf);
}

export function deleteLinkSync(name: string) {
  if (linkExists(name)) shSync('ip', ['link', 'delete', name]);
}

export function linkExists(name: string): boolean {
  return shSync('ip', ['link', 'show', 'dev', name]) !== undefined;
}

export function netnsExists(ns: string): boolean {
  return (shSync('ip', ['netns', 'list']) ?? '').split('\n').some((l) => l.split(' ')[0] === ns);
}

/** Namespaces whose name starts with a prefix (tests use it to prove nothing was left behind). */
export function listNetns(prefix: string): string[] {
  return (shSync('ip', ['netns', 'list']) ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** The command line of a pid, '' if it is gone. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
