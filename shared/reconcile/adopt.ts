// Taking a cluster over from kube-ovn (see shared/domain/adopt.ts): the addresses kube-ovn's IP
// objects keep for absent StatefulSet pods, VMs and nodes are held under `ip/<name>`, so nothing
// allocated here takes them; a hold goes when its IP object goes or a live pod has that port (the
// pod's reconcile then holds the address from its annotations). Run by every Subnet reconcile.
import { ipObjectHolds } from '../domain/adopt.ts';
import { isDomainError } from '../domain/errors.ts';
import { ipOwner, livePodPorts } from '../domain/ownership.ts';
import type { ReconcileDeps } from './deps.ts';
import { reservationsOf } from './live-owners.ts';
import { subnetPlacements } from './subnet-registration.ts';

/** Returns how many holds were taken or released. */
export async function adoptIpObjects(deps: ReconcileDeps, subnet: string): Promise<number> {
  if (!deps.kube.listIPs) return 0;
  const held = await reservationsOf(deps, subnet, 'ip');
  const ips = await deps.kube.listIPs();
  // Every pod is listed only when there is something to adopt or release (a cluster kube-ovn
  // never ran has no IP objects: each Subnet event listed 110,000 pods for nothing).
  if (ips.length === 0 && held.length === 0) return 0;
  const [pods, placements] = await Promise.all([deps.kube.listPods({}), subnetPlacements(deps)]);
  const live = livePodPorts(pods, placements, deps.keepVmIp ?? true);
  const holds = ipObjectHolds(subnet, ips, new Set(live.keys()));
  let changed = 0;
  for (const h of holds) {
    try {
      const a = await deps.allocator.allocate({
        subnet,
        owner: ipOwner(h.name),
        v4: h.v4,
        v6: h.v6,
        mac: h.mac,
      });
      if (a.created) {
        changed++;
        deps.subnetChanged?.(subnet);
      }
    } catch (err) {
      if (!isDomainError(err)) throw err;
      // Someone here holds it already (or it is outside the range): reported, not fought over.
      deps.log?.warn({ subnet, ip: h.name, reason: err.reason }, 'kube-ovn IP object not adopted');
    }
  }
  const wanted = new Set(holds.map((h) => ipOwner(h.name)));
  for (const r of held) {
    if (wanted.has(r.owner)) continue;
    if (await deps.allocator.release(subnet, r.owner)) {
      changed++;
      deps.subnetChanged?.(subnet, 'released');
    }
  }
  return changed;
}
