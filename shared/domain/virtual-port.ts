// The OVN Northbound rows an AAP Vip needs (SPEC §3.1): virtual logical switch ports. OVN 23.03's
// `virtual-ip` holds one address (ENV-NOTES), so a dual-stack Vip gets one port per family.

import { vipPortNames } from './ownership.ts';
import { type VipUsage, vipUsage } from './vip-spec.ts';

export const KUBE_OVN_VENDOR = 'kube-ovn';

export interface VirtualPortRow {
  name: string;
  /** The logical switch, named after the Subnet as kube-ovn does. */
  switchName: string;
  virtualIp: string;
  /** Parent port names, sorted; empty means the `virtual-parents` option is absent. */
  parents: string[];
  externalIds: { ls: string; vendor: typeof KUBE_OVN_VENDOR };
}

/**
 * Every port name a Vip can own, so deletion and cleanup can remove all of them: `<vip>` (the
 * IPv4 port, or the only port of a single-stack Vip) and `<vip>_v6` (the IPv6 port when dual stack).
 */
export function virtualPortNames(vipName: string): string[] {
  // One naming rule for the whole system (shared/domain/ownership.ts).
  return vipPortNames(vipName);
}

export interface VirtualPortInput {
  name: string;
  subnet: string;
  type: '' | 'switch_lb_vip';
  namespace?: string;
  /** The assigned addresses (from the reservation), not the requested ones. */
  v4?: string;
  v6?: string;
}

/**
 * The virtual ports a Vip should have: none for a plain reservation, a switch_lb_vip, or before
 * an address is assigned; otherwise one per family, sorted by name.
 */
export function desiredVirtualPorts(vip: VirtualPortInput, parents: readonly string[]): VirtualPortRow[] {
  const usage: VipUsage = vipUsage(vip);
  if (usage !== 'aap') return [];
  const sortedParents = [...new Set(parents)].sort();
  const row = (name: string, virtualIp: string): VirtualPortRow => ({
    name,
    switchName: vip.subnet,
    virtualIp,
    parents: sortedParents,
    externalIds: { ls: vip.subnet, vendor: KUBE_OVN_VENDOR },
  });
  const [v4Name, v6Name] = virtualPortNames(vip.name) as [string, string];
  const rows: VirtualPortRow[] = [];
  if (vip.v4) rows.push(row(v4Name, vip.v4));
  if (vip.v6) rows.push(row(vip.v4 ? v6Name : v4Name, vip.v6));
  return rows;
}

/** The row's `options` column: `virtual-parents` only when there are parents (SPEC §3.1). */
export function virtualPortOptions(
  row: Pick<VirtualPortRow, 'virtualIp' | 'parents'>,
): Record<string, string> {
  const options: Record<string, string> = { 'virtual-ip': row.virtualIp };
  if (row.parents.length > 0) options['virtual-parents'] = row.parents.join(',');
  return options;
}
