// AAP Vips with their parents and live holder: the page's Vip table and `kubectl vip holders`.
// Pure: parents come from the caller (the page maps status.pv4ip/pv6ip to the pods holding those
// addresses; the plugin reads the virtual port's virtual-parents in OVN NB).

import type { Vip } from '../domain/types.ts';
import { SWITCH_LB_VIP } from '../domain/vip-spec.ts';
import type { Reservation } from '../ipam/allocator.ts';
import { holderOf } from './grid.ts';

export interface AapRow {
  readonly name: string;
  readonly subnet: string;
  /** The namespace whose pods may be parents. */
  readonly namespace: string;
  /** The Vip's own addresses (v4, then v6). */
  readonly addresses: readonly string[];
  /** Parent ports (`pod.namespace`), sorted. */
  readonly parents: readonly string[];
  /** The parent OVN binds the address to now (status.holder); '' while none has claimed it. */
  readonly holder: string;
  readonly ready: boolean;
}

/** An Allowed-Address-Pair Vip: has a namespace and is not a switch_lb_vip (SPEC §3). */
export const isAapVip = (v: Vip): boolean => !!v.spec.namespace && v.spec.type !== SWITCH_LB_VIP;

export const vipSubnet = (v: Vip): string =>
  v.spec.subnet || v.metadata.labels?.['ovn.kubernetes.io/subnet'] || '';

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

export function aapRows(vips: readonly Vip[], parentsOf: (vip: Vip) => readonly string[]): AapRow[] {
  return vips
    .filter(isAapVip)
    .map((v) => ({
      name: v.metadata.name,
      subnet: vipSubnet(v),
      namespace: v.spec.namespace ?? '',
      addresses: [...list(v.status?.v4ip), ...list(v.status?.v6ip)],
      parents: [...parentsOf(v)].sort(),
      holder: v.status?.holder ?? '',
      ready: v.status?.ready === true,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Parents as status.pv4ip/pv6ip name them, resolved to the pods holding those addresses. */
export function parentsFromStatus(vip: Vip, reservations: readonly Reservation[]): string[] {
  const byAddress = new Map<string, string>();
  for (const r of reservations) {
    const h = holderOf(r.owner);
    if (h.state !== 'pod') continue;
    if (r.v4) byAddress.set(r.v4, h.name);
    if (r.v6) byAddress.set(r.v6, h.name);
  }
  const out = new Set<string>();
  for (const a of [...list(vip.status?.pv4ip), ...list(vip.status?.pv6ip)]) {
    const p = byAddress.get(a);
    if (p) out.add(p);
  }
  return [...out].sort();
}
