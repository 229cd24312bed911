// The reads the judgement of shared/domain/ownership.ts needs: what the allocator holds in a
// subnet (ipam/list-all.ts pages it for the sweep, the kube-ovn adoption, the audit, the Subnet
// lifecycle and the occupancy page alike), and who exists in the API server.

import { isDomainError } from '../domain/errors.ts';
import { type KubernetesOwnerKind, type LiveOwners, liveOwners, parseOwner } from '../domain/ownership.ts';
import type { Reservation } from '../ipam/index.ts';
import { allReservations } from '../ipam/list-all.ts';
import { completeAapIndex } from './aap-index.ts';
import type { ReconcileDeps } from './deps.ts';
import { subnetPlacements } from './subnet-registration.ts';

/** Everything held in a subnet; an unregistered subnet holds nothing. */
export async function heldIn(deps: Pick<ReconcileDeps, 'allocator'>, subnet: string): Promise<Reservation[]> {
  try {
    return await allReservations(deps.allocator, subnet);
  } catch (err) {
    // The subnet is not (or no longer) registered: nothing is held there.
    if (!isDomainError(err)) throw err;
    return [];
  }
}

/** What owners of one kind hold in a subnet. */
export async function reservationsOf(
  deps: Pick<ReconcileDeps, 'allocator'>,
  subnet: string,
  kind: KubernetesOwnerKind,
): Promise<Reservation[]> {
  return ofKind(await heldIn(deps, subnet), kind);
}

export const ofKind = (held: readonly Reservation[], kind: KubernetesOwnerKind) =>
  held.filter((r) => parseOwner(r.owner).kind === kind);

/**
 * Who exists now. Read after what is judged against it: an owner that held something before this
 * list and is missing from it was deleted (the sweep re-checks each by a point read).
 */
export async function readLiveOwners(deps: ReconcileDeps): Promise<LiveOwners> {
  const [vips, pods, placements] = await Promise.all([
    deps.kube.listVips(),
    deps.kube.listPods({}),
    subnetPlacements(deps),
  ]);
  // Every pod of the cluster, just read: what the AAP index needs to be known complete (once).
  await completeAapIndex(deps, pods);
  return liveOwners(vips, pods, placements, deps.keepVmIp ?? true);
}
