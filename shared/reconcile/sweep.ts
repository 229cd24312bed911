// Heals missed pod deletes. Pods carry no finalizer, so a delete event can be lost for good: a
// relay killed between the delete and its delivery never learns the pod existed, and its relist
// cannot report it gone. Every Subnet event (the relay's resync re-sends them) therefore looks for
// pod reservations of the subnet whose pod no longer exists, and runs the pod's delete path for
// them (SPEC §4: no address held by a gone owner, after one resync). The chaos test found this.
import { podNics } from '../domain/pod-network.ts';
import { portOwnerHint } from '../domain/vip-binding.ts';
import { isDomainError } from '../errors.ts';
import type { Reservation } from '../ipam/index.ts';
import { reconcilePod, releaseBinding } from './pod.ts';
import { podOwner, type ReconcileDeps } from './ports.ts';
import { subnetPlacements } from './subnet.ts';

const POD_OWNER_PREFIX = podOwner('');

/** Releases what gone pods still hold in `subnet`; returns how many ports were swept. */
export async function sweepGonePods(deps: ReconcileDeps, subnet: string): Promise<number> {
  const held = await podReservations(deps, subnet);
  if (held.length === 0) return 0;
  // Listed after the reservations: a pod that holds one existed before this list was taken, so
  // missing from it means deleted (a re-created pod of the same name is re-checked below).
  const [pods, placements] = await Promise.all([deps.kube.listPods({}), subnetPlacements(deps)]);
  const livePorts = new Set<string>();
  for (const pod of pods) {
    const nics = podNics(pod, placements, { keepVmIp: deps.keepVmIp ?? true });
    if (nics.ok) for (const n of nics.value) livePorts.add(n.portName);
  }
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
    if (await deps.allocator.release(subnet, r.owner)) deps.subnetChanged?.(subnet);
    await deps.nb.deletePort(port);
    deps.log?.warn({ subnet, port }, 'released what a gone pod held (its delete event was missed)');
    swept++;
  }
  return swept;
}

async function podReservations(deps: ReconcileDeps, subnet: string): Promise<Reservation[]> {
  const out: Reservation[] = [];
  let cursor: string | undefined;
  try {
    do {
      const page = await deps.allocator.list(subnet, { ...(cursor ? { cursor } : {}), limit: 1000 });
      for (const r of page.items) if (r.owner.startsWith(POD_OWNER_PREFIX)) out.push(r);
      cursor = page.nextCursor;
    } while (cursor);
  } catch (err) {
    // The subnet is not (or no longer) registered: nothing is held there.
    if (!isDomainError(err)) throw err;
    return [];
  }
  return out;
}
