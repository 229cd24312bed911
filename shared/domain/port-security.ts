// Port security of pod ports (kube-ovn's fix for address takeover): a pod may send only from its
// own MAC and addresses, and a virtual parent of AAP Vips also from those Vips' addresses. So a
// pod of another namespace that adds a Vip's address cannot announce it to anyone. Pure: the
// value is a function of API-server state alone, which is what lets concurrent writers agree.
import { podAaps, virtualParents } from './aap.ts';
import { familyOf, toBigInt } from './ip.ts';
import type { SubnetPlacement } from './pod-network.ts';
import type { Pod, Vip } from './types.ts';
import { parseVipSpec, vipUsage } from './vip-spec.ts';
import { assignedFromVip } from './vip-status.ts';
import type { PortNamingOptions } from './workload.ts';

/** One port_security element, "<mac> <addr> <addr>...": duplicates dropped, first order kept. */
export function portSecurityElement(mac: string, addresses: readonly string[]): string {
  return [mac, ...new Set(addresses.filter(Boolean))].join(' ');
}

/**
 * The port's one port_security element: "<mac> <own ips> <vip addresses>", own addresses first
 * in their order, then the Vip addresses sorted (IPv4 before IPv6, numerically), no duplicates.
 */
export function portSecurity(
  own: { mac: string; ips: readonly string[] },
  vipAddresses: readonly string[],
): string {
  return portSecurityElement(own.mac, [...own.ips, ...[...vipAddresses].sort(cmpAddr)]);
}

/**
 * Addresses of the AAP Vips whose virtual parent is the pod's port `portName`, by the same rule
 * that picks parents (aap.ts virtualParents: same namespace, listed in the pod's aaps, selector
 * matches, pod not being deleted, the NIC on the Vip's subnet). A Vip counts only while it is not
 * being deleted, its spec is valid and it has an assigned address (status) on its spec's subnet.
 * `vips` may hold any Vips (those the pod's aaps annotation names are enough).
 */
export function parentVipAddresses(
  pod: Pod,
  portName: string,
  vips: readonly Vip[],
  subnets: readonly SubnetPlacement[],
  opts: PortNamingOptions = {},
): string[] {
  const asked = new Set(podAaps(pod));
  const out = new Set<string>();
  for (const vip of vips) {
    if (!asked.has(vip.metadata.name) || vip.metadata.deletionTimestamp) continue;
    const parsed = parseVipSpec(vip.spec);
    if (!parsed.ok || vipUsage(parsed.spec) !== 'aap') continue;
    const spec = parsed.spec;
    const assigned = assignedFromVip(vip);
    if (!assigned || assigned.subnet !== spec.subnet) continue;
    const parents = virtualParents(
      { name: vip.metadata.name, subnet: spec.subnet, namespace: spec.namespace, selector: spec.selector },
      [pod],
      subnets,
      opts,
    );
    if (!parents.some((p) => p.portName === portName)) continue;
    if (assigned.v4ip) out.add(assigned.v4ip);
    if (assigned.v6ip) out.add(assigned.v6ip);
  }
  return [...out].sort(cmpAddr);
}

const RANK = { v4: 0, v6: 1 } as const;

/** IPv4 before IPv6, each numerically; anything else last, as text. */
function cmpAddr(a: string, b: string): number {
  const fa = familyOf(a);
  const fb = familyOf(b);
  const ra = fa ? RANK[fa] : 2;
  const rb = fb ? RANK[fb] : 2;
  if (ra !== rb) return ra - rb;
  const [x, y] = fa ? [toBigInt(a), toBigInt(b)] : [a, b];
  return x < y ? -1 : x > y ? 1 : 0;
}
