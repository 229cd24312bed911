// The reads the judgement of shared/domain/ownership.ts needs: what the allocator holds in a
// subnet (paged), and who exists in the API server. One loop for the sweep, the kube-ovn
// adoption and the audit, so they page and filter alike.

import { isDomainError } from '../domain/errors.ts';
import { type KubernetesOwnerKind, type LiveOwners, liveOwners, parseOwner } from '../domain/ownership.ts';
import type { Allocator, Reservation } from '../ipam/index.ts';
import type { ReconcileDeps } from './deps.ts';
import { subnetPlacements } from './subnet-registration.ts';

/** Every reservation of a subnet, `limit` per list call; `progress` gets the running count. */
export async function allReservations(
  allocator: Pick<Allocator, 'list'>,
  subnet: string,
  opts: { limit?: number; progress?: (n: number) => void } = {},
): Promise<Reservation[]> {
  const out: Reservation[] = [];
  let cursor: string | undefined;
  do {
    const page = await allocator.list(subnet, { ...(cursor ? { cursor } : {}), limit: opts.limit ?? 1000 });
    out.push(...page.items);
    opts.progress?.(out.length);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** The reservations of one owner kind in a subnet; an unregistered subnet holds nothing. */
export async function reservationsOf(
  deps: Pick<ReconcileDeps, 'allocator'>,
  subnet: string,
  kind: KubernetesOwnerKind,
): Promise<Reservation[]> {
  try {
    return (await allReservations(deps.allocator, subnet)).filter((r) => parseOwner(r.owner).kind === kind);
  } catch (err) {
    // The subnet is not (or no longer) registered: nothing is held there.
    if (!isDomainError(err)) throw err;
    return [];
  }
}

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
  return liveOwners(vips, pods, placements, deps.keepVmIp ?? true);
}
