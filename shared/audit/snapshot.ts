// One snapshot of the API server, Redis and OVN NB, indexed the way every comparison asks it: the
// live owners (shared/domain/ownership.ts), reservations by owner, and who holds each address.
import { podsNamingVips } from '../domain/aap.ts';
import { type LiveOwners, liveOwners, placementsOf } from '../domain/ownership.ts';
import type { SubnetPlacement } from '../domain/pod-network.ts';
import type { Pod } from '../domain/types.ts';
import type { Reservation } from '../ipam/index.ts';
import type { LogicalSwitchPort } from '../ovn/nb/index.ts';
import type { ObservedState } from './types.ts';

export interface Snapshot {
  state: ObservedState;
  keepVmIp: boolean;
  placements: SubnetPlacement[];
  owners: LiveOwners;
  portsByName: ReadonlyMap<string, LogicalSwitchPort>;
  /** The pods naming a Vip in their aaps annotation (its only possible virtual parents). */
  podsNaming(namespace: string, vip: string): readonly Pod[];
  /** `<subnet>|<address or MAC, upper case>` -> the owner holding it. */
  holderOf: ReadonlyMap<string, string>;
  reservation(subnet: string, owner: string): Reservation | undefined;
  /** Another owner holding one of these addresses, which a repair would then collide with. */
  takenBy(subnet: string, owner: string, addrs: (string | undefined)[]): string | undefined;
}

/** Where two objects show one address: `claim` per shown address, then `claims` lists them. */
export type Claim = (subnet: string, address: string | undefined, who: string) => void;

export function snapshotOf(state: ObservedState): Snapshot {
  const keepVmIp = state.keepVmIp ?? true;
  const placements = placementsOf(state.subnets);
  const byOwner = new Map<string, Reservation>();
  for (const [subnet, list] of Object.entries(state.reservations))
    for (const r of list) byOwner.set(`${subnet}|${r.owner}`, r);
  const holderOf = new Map<string, string>();
  for (const r of byOwner.values())
    for (const a of [r.v4, r.v6, r.mac]) if (a) holderOf.set(`${r.subnet}|${a.toUpperCase()}`, r.owner);
  return {
    state,
    keepVmIp,
    placements,
    owners: liveOwners(state.vips, state.pods, placements, keepVmIp),
    portsByName: new Map(state.ports.map((p) => [p.name, p])),
    podsNaming: podsNamingVips(state.pods),
    holderOf,
    reservation: (subnet, owner) => byOwner.get(`${subnet}|${owner}`),
    takenBy: (subnet, owner, addrs) =>
      addrs
        .filter((a): a is string => !!a)
        .map((a) => holderOf.get(`${subnet}|${a.toUpperCase()}`))
        .find((h) => h !== undefined && h !== owner),
  };
}
