// A Subnet's deletion (SPEC-side: kube-ovn holds a Subnet with its controller's finalizer while
// addresses in it are in use): who still uses it, and what its condition says meanwhile.
import { FINALIZER } from './annotations.ts';
import { parseOwner } from './ownership.ts';

/** kube-ovn's finalizer on Subnets (the same name it puts on Vips). */
export const SUBNET_FINALIZER = FINALIZER;

export interface SubnetUsage {
  vips: number;
  pods: number;
  /** Reservations of any other owner (the manual reservation API). */
  other: number;
}

/** Counts reservations by owner kind (`vip/<name>`, `pod/<port>`, anything else). */
export function usageOf(owners: Iterable<string>): SubnetUsage {
  const u: SubnetUsage = { vips: 0, pods: 0, other: 0 };
  for (const o of owners) {
    const { kind } = parseOwner(o);
    if (kind === 'vip') u.vips++;
    else if (kind === 'pod') u.pods++;
    else u.other++;
  }
  return u;
}

export const isInUse = (u: SubnetUsage) => u.vips + u.pods + u.other > 0;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The message of `Ready=False reason=SubnetInUse` while a deletion waits. */
export function inUseMessage(subnet: string, u: SubnetUsage): string {
  const parts = [
    u.vips > 0 ? plural(u.vips, 'Vip', 'Vips') : '',
    u.pods > 0 ? plural(u.pods, 'pod', 'pods') : '',
    u.other > 0 ? plural(u.other, 'other reservation', 'other reservations') : '',
  ].filter(Boolean);
  return `subnet ${subnet} is being deleted but ${parts.join(', ')} still ${
    u.vips + u.pods + u.other === 1 ? 'uses' : 'use'
  } it; it is removed once they are gone`;
}
