// Living beside kube-ovn-controller (BESIDE_KUBE_OVN=true; docs/parts/beside-kube-ovn.md). kube-ovn
// keeps pod addresses and its own in-memory IPAM; this system takes over Vips. Addresses are split
// per Subnet: the Vip range (annotation `vip.kubeovn.io/vip-range`) must lie inside the Subnet's
// `excludeIps`, which kube-ovn's IPAM never hands out by itself; our allocator hands out Vip
// addresses only from that range. An address outside it is kube-ovn's to decide: a Vip gets it
// only by kube-ovn-controller itself, which also writes its own choice into the spec of every new
// Vip: admission refuses those writes (besideAddressChange), the reconciler refuses what slips by.
import { type Cidr, type Family, formatIp, parseCidr, parseIp } from './ip-codec.ts';

export const VIP_RANGE_ANNOTATION = 'vip.kubeovn.io/vip-range';

export interface ValueRange {
  family: Family;
  first: bigint;
  last: bigint;
}

/** `a`, `a..b`, comma-separated (kube-ovn's excludeIps syntax); undefined items are errors. */
export function parseRanges(items: readonly string[]): { ranges: ValueRange[]; errors: string[] } {
  const ranges: ValueRange[] = [];
  const errors: string[] = [];
  for (const raw of items.flatMap((i) => i.split(','))) {
    const item = raw.trim();
    if (!item) continue;
    const [a, b, ...rest] = item.split('..');
    const first = a === undefined ? undefined : parseIp(a);
    const last = b === undefined ? first : parseIp(b);
    if (!first || !last || rest.length > 0 || first.family !== last.family || first.value > last.value) {
      errors.push(`"${item}" is not an address or a range "a..b"`);
      continue;
    }
    ranges.push({ family: first.family, first: first.value, last: last.value });
  }
  return { ranges, errors };
}

export const inRanges = (ip: string, ranges: readonly ValueRange[]): boolean => {
  const p = parseIp(ip);
  return !!p && ranges.some((r) => r.family === p.family && r.first <= p.value && p.value <= r.last);
};

/** True when every address of `r` is in some range of `cover`. */
function covered(r: ValueRange, cover: readonly ValueRange[]): boolean {
  let next = r.first;
  const sorted = cover.filter((c) => c.family === r.family).sort((x, y) => (x.first < y.first ? -1 : 1));
  for (const c of sorted) {
    if (c.first > next) break;
    if (c.last >= next) next = c.last + 1n;
    if (next > r.last) return true;
  }
  return next > r.last;
}

const text = (family: Family, first: bigint, last: bigint) =>
  first === last
    ? formatIp({ family, value: first })
    : `${formatIp({ family, value: first })}..${formatIp({ family, value: last })}`;

export interface SubnetFacts {
  name: string;
  cidrBlock: string;
  excludeIps?: readonly string[];
  annotations?: Record<string, string>;
}

export type BesideView =
  /** Register with these excludeIps: everything of the CIDR outside the Vip range. */
  { ok: true; vipRange: ValueRange[]; allocatorExcludeIps: string[] } | { ok: false; message: string };

/**
 * What our allocator may hand out in a Subnet kube-ovn-controller also allocates from: only the
 * declared Vip range, and only if kube-ovn's own `excludeIps` keep it out of kube-ovn's hands.
 */
export function besideView(s: SubnetFacts): BesideView {
  const declared = s.annotations?.[VIP_RANGE_ANNOTATION]?.trim();
  if (!declared)
    return {
      ok: false,
      message: `Subnet ${s.name} has no ${VIP_RANGE_ANNOTATION} annotation: beside kube-ovn-controller, Vips are served only from a declared range that its excludeIps keep from kube-ovn`,
    };
  const { ranges, errors } = parseRanges([declared]);
  if (errors.length > 0) return { ok: false, message: `${VIP_RANGE_ANNOTATION}: ${errors.join('; ')}` };
  const cidrs = s.cidrBlock
    .split(',')
    .map((c) => parseCidr(c))
    .filter((c): c is Cidr => !('error' in c));
  const excluded = parseRanges(s.excludeIps ?? []).ranges;
  for (const r of ranges) {
    const cidr = cidrs.find((c) => c.family === r.family);
    if (!cidr || r.first < cidr.network || r.last >= cidr.network + cidr.size)
      return {
        ok: false,
        message: `${VIP_RANGE_ANNOTATION} ${text(r.family, r.first, r.last)} is not inside ${s.cidrBlock}`,
      };
    if (!covered(r, excluded))
      return {
        ok: false,
        message: `${VIP_RANGE_ANNOTATION} ${text(r.family, r.first, r.last)} is not inside the Subnet's excludeIps: kube-ovn-controller could hand those addresses to pods`,
      };
  }
  // Our allocator excludes the complement of the range in each family of the CIDR (the network
  // and broadcast edges are the allocator's own business).
  const allocatorExcludeIps: string[] = [];
  for (const cidr of cidrs) {
    const mine = ranges.filter((r) => r.family === cidr.family).sort((x, y) => (x.first < y.first ? -1 : 1));
    let next = cidr.network + 1n;
    const end = cidr.network + cidr.size - 1n;
    for (const r of mine) {
      if (r.first > next) allocatorExcludeIps.push(text(cidr.family, next, r.first - 1n));
      if (r.last + 1n > next) next = r.last + 1n;
    }
    if (next < end) allocatorExcludeIps.push(text(cidr.family, next, end - 1n));
  }
  return { ok: true, vipRange: ranges, allocatorExcludeIps };
}

export type BesideVipDecision =
  /** Our range (or no fixed address): our allocator decides, as without kube-ovn. */
  | { kind: 'ours' }
  /** An address of kube-ovn's part: not ours to hand out or to show. */
  | { kind: 'refuse'; message: string };

/**
 * Whose decision a Vip's fixed addresses are: inside the Vip range ours; outside it kube-ovn's,
 * and a Vip there is kube-ovn-controller's own (its IPAM checks it against its pods; ours cannot).
 */
export function besideVipDecision(
  vip: { name: string; v4ip?: string; v6ip?: string },
  vipRange: readonly ValueRange[],
): BesideVipDecision {
  const outside = [vip.v4ip, vip.v6ip].filter((a): a is string => !!a && !inRanges(a, vipRange));
  if (outside.length === 0) return { kind: 'ours' };
  return {
    kind: 'refuse',
    message: `${outside.join(', ')} is outside this system's Vip range (${VIP_RANGE_ANNOTATION}); beside kube-ovn-controller only addresses of that range are served here`,
  };
}

/**
 * Admission beside kube-ovn-controller: an UPDATE may not set or change a Vip's addresses or MAC.
 * kube-ovn-controller's handleAddVirtualIP writes the address its own IPAM chose (and a MAC) into
 * the spec of every Vip whose status has no MAC yet; refused, it retries until our status is there
 * and then leaves the Vip alone. A user loses nothing: a Vip's addresses never change after they
 * are assigned anyway (kube-ovn refuses that too).
 */
export function besideAddressChange(
  old: { v4ip?: string; v6ip?: string; macAddress?: string } | undefined,
  next: { v4ip?: string; v6ip?: string; macAddress?: string },
): string | undefined {
  if (!old) return undefined;
  const changed = (['v4ip', 'v6ip', 'macAddress'] as const).filter((f) => (old[f] ?? '') !== (next[f] ?? ''));
  if (changed.length === 0) return undefined;
  return `spec.${changed.join(', spec.')} cannot be set or changed after creation beside kube-ovn-controller (its controller writes its own choice there)`;
}
