// Heals what no event will ever point at again (SPEC §4: no address held by a gone owner, after
// one resync). Both were found by the chaos test:
// - Missed pod deletes. Pods carry no finalizer: a relay killed between a delete and its delivery
//   never learns the pod existed, and its relist cannot report it gone.
// - Rows written for a Vip after its delete path ran: a pod's parent refresh read the Vip just
//   before it went, then wrote its virtual port back.
// Every Subnet event (the relay's resync re-sends them) runs `sweepOrphans` for its subnet.
import { podNics } from '../domain/pod-network.ts';
import { portOwnerHint } from '../domain/vip-binding.ts';
import { KUBE_OVN_VENDOR, V6_PORT_SUFFIX } from '../domain/virtual-port.ts';
import { isDomainError } from '../errors.ts';
import type { Reservation } from '../ipam/index.ts';
import { reconcilePod, releaseBinding } from './pod.ts';
import { podOwner, type ReconcileDeps, vipOwner } from './ports.ts';
import { subnetPlacements } from './subnet-registration.ts';

const POD_OWNER_PREFIX = podOwner('');
const VIP_OWNER_PREFIX = vipOwner('');

// Lists of every pod and Vip that sweeps running at once in this process share: a relist delivers
// every Subnet's event together, and each sweep listed the whole cluster (three lists of 100,000+
// objects per subnet, which timed out and were retried). Sharing a list that began before a
// sweep read its reservations is safe: the list only preselects, and nothing is freed before a
// GET of the owner confirms it gone.
const inFlight = new WeakMap<object, Map<string, Promise<unknown>>>();
function sharedList<T>(deps: ReconcileDeps, what: string, read: () => Promise<T>): Promise<T> {
  const lists = inFlight.get(deps.kube) ?? new Map<string, Promise<unknown>>();
  inFlight.set(deps.kube, lists);
  const running = lists.get(what) as Promise<T> | undefined;
  if (running) return running;
  const started = read().finally(() => lists.delete(what));
  lists.set(what, started);
  return started;
}
const allPods = (deps: ReconcileDeps) => sharedList(deps, 'pods', () => deps.kube.listPods({}));
const allVips = (deps: ReconcileDeps) => sharedList(deps, 'vips', () => deps.kube.listVips());

/** Both sweeps; returns how many things were freed or removed. */
export async function sweepOrphans(deps: ReconcileDeps, subnet: string): Promise<number> {
  // Beside kube-ovn-controller the switch holds kube-ovn's own ports (pods, nodes, routers), all
  // with vendor kube-ovn: what is gone is for it to judge, not for this sweep.
  if (deps.besideKubeOvn) return 0;
  return (await sweepGonePods(deps, subnet)) + (await sweepGoneVips(deps, subnet));
}

/**
 * Vip reservations and NB ports of the subnet whose Vip no longer exists. A Vip that is being
 * deleted still exists (its finalizer holds it), so its own delete path is never raced here.
 */
export async function sweepGoneVips(deps: ReconcileDeps, subnet: string): Promise<number> {
  const owners = (await reservations(deps, subnet, VIP_OWNER_PREFIX)).map((r) => r.owner);
  const ports = await deps.nb.findPorts({ ls: subnet, vendor: KUBE_OVN_VENDOR });
  // Listed after the reservations and ports: anything they name that this list lacks was deleted.
  const [vips, pods, placements] = await Promise.all([allVips(deps), allPods(deps), subnetPlacements(deps)]);
  const liveVips = new Set(vips.map((v) => v.metadata.name));
  const livePorts = livePodPorts(deps, pods, placements);
  const gone = async (vip: string) => !liveVips.has(vip) && !(await deps.kube.getVip(vip));
  let swept = 0;
  for (const owner of owners) {
    const vip = owner.slice(VIP_OWNER_PREFIX.length);
    if (!(await gone(vip))) continue;
    if (await deps.allocator.release(subnet, owner)) deps.subnetChanged?.(subnet, 'released');
    deps.log?.warn({ subnet, vip }, 'released what a gone Vip held');
    swept++;
  }
  for (const { name } of ports) {
    if (livePorts.has(name)) continue;
    const vip = name.endsWith(V6_PORT_SUFFIX) ? name.slice(0, -V6_PORT_SUFFIX.length) : name;
    if (!(await gone(vip)) || (name !== vip && !(await gone(name)))) continue;
    // Not a Vip's: maybe a pod port; a pod that exists now (created since the list) keeps it.
    const hint = portOwnerHint(name);
    if (hint && (await deps.kube.getPod(hint.namespace, hint.name))) continue;
    if (
      (await deps.nb.findPorts({ pod: hint ? `${hint.namespace}/${hint.name}` : '' })).some(
        (p) => p.name === name,
      )
    )
      continue; // pod ports are the pod sweep's (it releases their reservation too)
    await deps.nb.deletePort(name);
    deps.log?.warn({ subnet, port: name }, 'removed the NB port of a gone Vip');
    swept++;
  }
  return swept;
}

export function livePodPorts(
  deps: ReconcileDeps,
  pods: Awaited<ReturnType<ReconcileDeps['kube']['listPods']>>,
  placements: Awaited<ReturnType<typeof subnetPlacements>>,
): Set<string> {
  const live = new Set<string>();
  for (const pod of pods) {
    const nics = podNics(pod, placements, { keepVmIp: deps.keepVmIp ?? true });
    if (nics.ok) for (const n of nics.value) live.add(n.portName);
  }
  return live;
}

/** Releases what gone pods still hold in `subnet`; returns how many ports were swept. */
export async function sweepGonePods(deps: ReconcileDeps, subnet: string): Promise<number> {
  const held = await reservations(deps, subnet, POD_OWNER_PREFIX);
  if (held.length === 0) return 0;
  // Listed after the reservations: a pod that holds one existed before this list was taken, so
  // missing from it means deleted (a re-created pod of the same name is re-checked below).
  const [pods, placements] = await Promise.all([allPods(deps), subnetPlacements(deps)]);
  const livePorts = livePodPorts(deps, pods, placements);
  let swept = 0;
  for (const r of held) {
    const port = r.owner.slice(POD_OWNER_PREFIX.length);
    if (livePorts.has(port)) continue;
    const hint = portOwnerHint(port);
    if (!hint || (await deps.kube.getPod(hint.namespace, hint.name))) continue;
    // The pod's own delete path (ports found in NB by external_ids, parents and rules refreshed),
    // then what it cannot find without the pod's last state: this reservation and port.
    await reconcilePod(deps, hint.namespace, hint.name);
    await releaseBinding(deps, port);
    if (await deps.allocator.release(subnet, r.owner)) deps.subnetChanged?.(subnet, 'released');
    await deps.nb.deletePort(port);
    deps.log?.warn({ subnet, port }, 'released what a gone pod held (its delete event was missed)');
    swept++;
  }
  return swept;
}

export async function reservations(
  deps: ReconcileDeps,
  subnet: string,
  prefix: string,
): Promise<Reservation[]> {
  const out: Reservation[] = [];
  let cursor: string | undefined;
  try {
    do {
      const page = await deps.allocator.list(subnet, { ...(cursor ? { cursor } : {}), limit: 1000 });
      for (const r of page.items) if (r.owner.startsWith(prefix)) out.push(r);
      cursor = page.nextCursor;
    } while (cursor);
  } catch (err) {
    // The subnet is not (or no longer) registered: nothing is held there.
    if (!isDomainError(err)) throw err;
    return [];
  }
  return out;
}
