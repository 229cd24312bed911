// A pod on this node: a network namespace with one veth into the integration bridge per NIC. Every
// function here runs synchronously-safe commands so the same code serves the exit hook.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { type PodNic, planSecondaries, type SecondaryNic } from './pod-nic.ts';

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
  await sh('ip', ['netns', 'add', nic.netns]);
  await sh('ip', ['-n', nic.netns, 'link', 'set', 'lo', 'up']);
  await plugVeth(nic.netns, { ...nic, ifName: 'eth0' }, p);
  for (const gw of nic.gateways) {
    await sh('ip', [
      '-n',
      nic.netns,
      ...(gw.includes(':') ? ['-6'] : []),
      ...['route', 'replace', 'default', 'via', gw, 'dev', 'eth0'],
    ]);
  }
}

/**
 * Brings a namespace's attachment interfaces (Multus, OVN provider) in line with the pod's: taken
 * out and added one by one, so a changed attachment leaves eth0 and the pod's processes alone.
 * Their veths go with the namespace: the agent's state file needs nothing for them. Answers what
 * is wired afterwards, and whether one failed (the agent retries it on its next pass).
 */
export async function syncSecondaryNics(
  nic: PodNic,
  wiredBefore: readonly SecondaryNic[],
  p: NicPlumbing,
  log: (line: string) => void,
): Promise<{ wired: SecondaryNic[]; failed: boolean }> {
  const change = planSecondaries(nic.secondaries, wiredBefore);
  let wired = wiredBefore.filter((s) => !change.remove.includes(s));
  let failed = false;
  for (const s of change.remove) {
    await removeSecondaryNic(nic.netns, s, p);
    log(`pod ${nic.port}: ${s.ifName} (${s.port}) removed`);
  }
  for (const s of change.create) {
    try {
      // Its own veth, MAC and addresses on the attachment's port. Only the subnet's connected
      // route comes with the address, as kube-ovn's CNI does off eth0: the default route stays.
      await plugVeth(nic.netns, s, p);
      wired = [...wired, s];
      log(`pod ${nic.port}: ${s.ifName} on ${s.port} (${s.addresses.join(', ')})`);
    } catch (err) {
      failed = true;
      log(`pod ${nic.port}: ${s.ifName}: ${(err as Error).message}`);
      await removeSecondaryNic(nic.netns, s, p);
    }
  }
  return { wired, failed };
}

/** Takes an attachment's interface out of a namespace that stays (both veth ends and the OVS port). */
async function removeSecondaryNic(netns: string, nic: SecondaryNic, p: NicPlumbing): Promise<void> {
  await p.vsctl('--if-exists', 'del-port', p.bridge, nic.hostIf).catch(() => {});
  await sh('ip', ['-n', netns, 'link', 'delete', nic.ifName]).catch(() => {});
  deleteLinkSync(nic.hostIf);
}

interface Veth {
  ifName: string;
  hostIf: string;
  mac: string;
  addresses: string[];
  port: string;
}

/** One veth: `ifName` in the namespace with the MAC and addresses, the host end on br-int as `port`. */
async function plugVeth(ns: string, v: Veth, p: NicPlumbing): Promise<void> {
  const inNs = (...a: string[]) => sh('ip', ['-n', ns, ...a]);
  await sh('ip', ['link', 'add', v.hostIf, 'type', 'veth', 'peer', 'name', v.ifName, 'netns', ns]);
  await inNs('link', 'set', v.ifName, 'address', v.mac.toLowerCase());
  for (const a of v.addresses) {
    await inNs(
      ...(a.includes(':')
        ? ['-6', 'addr', 'add', a, 'dev', v.ifName, 'nodad']
        : ['addr', 'add', a, 'dev', v.ifName]),
    );
  }
  await inNs('link', 'set', v.ifName, 'up');
  // The userspace datapath reads packets off the veth with AF_PACKET and does not fill in
  // checksums the kernel left to offload: TCP would arrive corrupt. ICMP works either way.
  await sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', v.ifName, 'tx', 'off']).catch(() => {});
  await sh('ip', ['link', 'set', v.hostIf, 'up']);
  await p.vsctl(
    '--may-exist',
    'add-port',
    p.bridge,
    v.hostIf,
    '--',
    'set',
    'interface',
    v.hostIf,
    `external_ids:iface-id=${v.port}`,
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

/**
 * Removes a pod's namespace: its processes, the OVS ports (if OVS still runs), the netns and its
 * veths (`otherHostIfs`: the attachments' host ends).
 */
export async function removePodNetns(
  ns: string,
  hostIf: string,
  p?: NicPlumbing,
  otherHostIfs: readonly string[] = [],
): Promise<void> {
  killNetnsProcesses(ns);
  if (p)
    for (const h of [hostIf, ...otherHostIfs])
      await p.vsctl('--if-exists', 'del-port', p.bridge, h).catch(() => {});
  removeNetnsSync(ns, hostIf);
  for (const h of otherHostIfs) deleteLinkSync(h);
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
