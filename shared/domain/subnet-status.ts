// Subnet: the parsed view every decision uses, and its status from the allocator's counts.

import { setCondition } from './conditions.ts';
import { Reason } from './errors.ts';
import {
  type CidrBlock,
  canonicalV4,
  canonicalV6,
  defaultGateway,
  familyOf,
  isUsable,
  parseCidr,
  toBigInt,
} from './ip.ts';
import { isDnsLabel } from './labels.ts';
import type { Condition, SubnetResource } from './types.ts';
import type { FieldError } from './vip-spec.ts';

export type Protocol = 'IPv4' | 'IPv6' | 'Dual';

export interface Subnet {
  name: string;
  /** Canonical CIDRs, IPv4 first: `10.16.0.0/16,fd00:10:16::/64`. */
  cidrBlock: string;
  /** One per family in cidrBlock order, defaulted to the first usable address. */
  gateway: string;
  /** As written, trimmed, empty items dropped. */
  excludeIps: string[];
  namespaces: string[];
  default: boolean;
  protocol: Protocol;
  /** `ovn` unless the Subnet serves a Multus attachment. */
  provider: string;
}

export type SubnetParse = { ok: true; subnet: Subnet } | { ok: false; errors: FieldError[] };

export function protocolOf(cidrs: readonly Pick<CidrBlock, 'family'>[]): Protocol {
  const v4 = cidrs.some((c) => c.family === 'v4');
  const v6 = cidrs.some((c) => c.family === 'v6');
  return v4 && v6 ? 'Dual' : v6 ? 'IPv6' : 'IPv4';
}

/**
 * Validates a Subnet object: cidrBlock (one CIDR, or one per family, host bits zero), protocol
 * (derived when absent, must agree when given), gateway (usable address of its family's CIDR,
 * defaulted per family), excludeIps (`a` or `a..b`, a <= b, same family, inside the CIDR),
 * namespaces (valid names).
 */
export function parseSubnet(cr: Pick<SubnetResource, 'metadata' | 'spec'>): SubnetParse {
  const errors: FieldError[] = [];
  const err = (field: string, message: string) =>
    errors.push({ field, reason: Reason.InvalidSubnet, message });
  const spec = cr.spec ?? {};
  const parts = (spec.cidrBlock ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const cidrs: CidrBlock[] = [];
  if (parts.length === 0) err('spec.cidrBlock', 'cidrBlock is required');
  for (const p of parts) {
    const c = parseCidr(p);
    if (!c) err('spec.cidrBlock', `"${p}" is not a CIDR with its host bits zero (e.g. 10.16.0.0/16)`);
    else if (cidrs.some((x) => x.family === c.family))
      err('spec.cidrBlock', `cidrBlock has two ${c.family === 'v4' ? 'IPv4' : 'IPv6'} blocks`);
    else cidrs.push(c);
  }
  cidrs.sort((a, b) => (a.family === b.family ? 0 : a.family === 'v4' ? -1 : 1));
  const protocol = protocolOf(cidrs);
  if (spec.protocol && cidrs.length > 0 && spec.protocol !== protocol) {
    err(
      'spec.protocol',
      `protocol ${spec.protocol} does not match cidrBlock ${spec.cidrBlock} (${protocol})`,
    );
  }

  const gateways: string[] = [];
  const given = (spec.gateway ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const g of given) {
    const fam = familyOf(g);
    const cidr = cidrs.find((c) => c.family === fam);
    if (!fam || !cidr)
      err('spec.gateway', `gateway ${g} is not an address of any block in ${spec.cidrBlock}`);
    else if (!isUsable(cidr, g)) err('spec.gateway', `gateway ${g} is not a usable address of ${cidr.text}`);
  }
  for (const c of cidrs) {
    const g = given.find((x) => familyOf(x) === c.family);
    gateways.push(g ? canonical(g) : defaultGateway(c));
  }

  const excludeIps: string[] = [];
  (spec.excludeIps ?? []).forEach((raw, i) => {
    const item = raw.trim();
    if (item === '') return;
    const [a, b, extra] = item.split('..');
    const fa = a === undefined ? undefined : familyOf(a);
    const fb = b === undefined ? fa : familyOf(b);
    const cidr = cidrs.find((c) => c.family === fa);
    if (extra !== undefined || !fa || fa !== fb)
      err(`spec.excludeIps[${i}]`, `"${raw}" is not an address or an a..b range of one family`);
    else if (b !== undefined && toBigInt(a!) > toBigInt(b))
      err(`spec.excludeIps[${i}]`, `"${raw}" starts after it ends`);
    else if (cidr && !(isIn(cidr, a!) && isIn(cidr, b ?? a!)))
      err(`spec.excludeIps[${i}]`, `"${raw}" is outside ${cidr.text}`);
    else if (!cidr)
      err(`spec.excludeIps[${i}]`, `"${raw}" has no ${fa === 'v4' ? 'IPv4' : 'IPv6'} block in cidrBlock`);
    else excludeIps.push(item);
  });

  const namespaces = (spec.namespaces ?? []).map((n) => n.trim()).filter((n) => n !== '');
  namespaces.forEach((n, i) => {
    if (!isDnsLabel(n)) err(`spec.namespaces[${i}]`, `"${n}" is not a namespace name`);
  });

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    subnet: {
      name: cr.metadata.name,
      cidrBlock: cidrs.map((c) => c.text).join(','),
      gateway: gateways.join(','),
      excludeIps,
      namespaces: [...new Set(namespaces)],
      default: spec.default === true,
      protocol,
      provider: spec.provider || 'ovn',
    },
  };
}

const canonical = (a: string) => canonicalV4(a) ?? canonicalV6(a) ?? a;
const isIn = (c: CidrBlock, a: string) => {
  const n = toBigInt(a);
  return n >= c.network && n <= c.last;
};

/** The allocator's counts (shared/ipam SubnetCounts), as far as status needs them. */
export interface SubnetCountsView {
  v4AvailableIPs: number;
  v4UsingIPs: number;
  v4UsingIPRange: string;
  v6AvailableIPs: number;
  v6UsingIPs: number;
  v6UsingIPRange: string;
}

export interface SubnetStatusFields {
  v4availableIPs: number;
  v4usingIPs: number;
  v4usingIPrange: string;
  v6availableIPs: number;
  v6usingIPs: number;
  v6usingIPrange: string;
  conditions: Condition[];
}

export interface SubnetStatusInput {
  counts?: SubnetCountsView;
  /** Why the Subnet is not ready (invalid spec, allocator refused it); undefined when ready. */
  failure?: { reason: string; message: string };
  previous?: { conditions?: Condition[] };
  generation?: number;
  now: string;
}

/**
 * Subnet status in kube-ovn's field spelling. Counts are copied from the allocator (it owns
 * their exactness); without counts (not registered yet) they are zero and Ready is False.
 */
export function computeSubnetStatus(input: SubnetStatusInput): SubnetStatusFields {
  const c = input.counts;
  const ready = !input.failure && c !== undefined;
  const conditions = setCondition(
    input.previous?.conditions,
    {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: input.failure?.reason ?? (ready ? 'SubnetReady' : 'Pending'),
      message:
        input.failure?.message ??
        (ready ? 'addresses can be allocated' : 'not registered with the allocator yet'),
      observedGeneration: input.generation,
    },
    input.now,
  );
  return {
    v4availableIPs: c?.v4AvailableIPs ?? 0,
    v4usingIPs: c?.v4UsingIPs ?? 0,
    v4usingIPrange: c?.v4UsingIPRange ?? '',
    v6availableIPs: c?.v6AvailableIPs ?? 0,
    v6usingIPs: c?.v6UsingIPs ?? 0,
    v6usingIPrange: c?.v6UsingIPRange ?? '',
    conditions,
  };
}

/** Whether the stored status already shows these fields (skip the write when it does). */
export function subnetStatusEquals(
  stored: Record<string, unknown> | undefined,
  next: SubnetStatusFields,
): boolean {
  if (!stored) return false;
  return (Object.keys(next) as (keyof SubnetStatusFields)[]).every(
    (k) => JSON.stringify(stored[k] ?? null) === JSON.stringify(next[k]),
  );
}

/**
 * How long a Subnet's status refresh waits after a change, given what the last refresh of every
 * subnet took (summed: a round over all busy subnets). Counting once listed every address held
 * (to show kube-ovn's `usingIPRange`), so a fixed delay turned into a cost that grew with the
 * subnets: filling ten subnets towards 10,000 reservations each, refreshes every 250 ms took most
 * of Redis's time. Counts now read the bitmaps (~1 ms for 10,000 reservations, so ten such
 * subnets stay at the base delay), but formatting a fragmented usingIPRange still grows with its
 * ranges. Waiting `costFactor` times that round bounds the share to about 1 / costFactor whatever
 * the size, up to `maxMs`; small subnets keep the base delay.
 */
export function subnetRefreshDelay(
  baseMs: number,
  lastRefreshMs: number | undefined,
  opts: { costFactor?: number; maxMs?: number } = {},
): number {
  const factor = opts.costFactor ?? 20;
  const max = opts.maxMs ?? 10_000;
  if (lastRefreshMs === undefined || !Number.isFinite(lastRefreshMs) || lastRefreshMs <= 0) return baseMs;
  return Math.min(max, Math.max(baseMs, Math.round(factor * lastRefreshMs)));
}
