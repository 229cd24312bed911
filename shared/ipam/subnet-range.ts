// A Subnet's address plan as a pure value (SPEC §2): usable range per family, gateway, excluded
// ranges and the counts derived from them. No I/O; the Redis allocator stores the result.

import { DomainError, Reason } from '../domain/errors.ts';
import { type Cidr, type Family, formatCidr, formatIp, parseCidr, parseIp } from '../domain/ip-codec.ts';

export interface SubnetSpec {
  readonly name: string;
  /** `10.16.0.0/16`, `fd00:10:16::/64`, or both comma-separated (dual stack). */
  readonly cidrBlock: string;
  /** Per family, comma-separated for dual stack; default: the first usable address. */
  readonly gateway?: string | undefined;
  /** Single addresses and `a..b` ranges, of either family. */
  readonly excludeIps?: readonly string[] | undefined;
}

export interface AddressRange {
  readonly from: bigint;
  readonly to: bigint;
}

export interface FamilyRange {
  readonly family: Family;
  readonly cidr: Cidr;
  readonly firstUsable: bigint;
  readonly lastUsable: bigint;
  readonly usableCount: bigint;
  readonly gateway: bigint;
  /** excludeIps of this family, clipped to the usable range, merged and sorted. */
  readonly excludes: readonly AddressRange[];
  /** |excludes ∪ {gateway}|: what is never handed out dynamically. */
  readonly excludedCount: bigint;
}

export interface SubnetRange {
  readonly name: string;
  readonly cidrBlock: string;
  readonly gateway: string;
  readonly excludeIps: readonly string[];
  readonly protocol: 'IPv4' | 'IPv6' | 'Dual';
  readonly v4?: FamilyRange | undefined;
  readonly v6?: FamilyRange | undefined;
  readonly families: readonly FamilyRange[];
}

// Subnet names become part of Redis keys inside a {hash tag}; Kubernetes names fit this.
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Page numbers travel as Lua doubles (exact below 2^53) with 2^16 bits per page: /59 and longer. */
export const MIN_V6_PREFIX = 59;
/** Excluded addresses are materialised as bits; this bounds the memory one subnet can ask for. */
export const MAX_EXCLUDED_PER_FAMILY = 1n << 24n;

const invalid = (message: string, details: Record<string, string> = {}) =>
  new DomainError(Reason.InvalidSubnet, message, details);

export function subnetRange(spec: SubnetSpec): SubnetRange {
  if (!NAME.test(spec.name)) {
    throw invalid(
      `subnet name "${spec.name}" must be lower-case letters, digits, "-" or "." (a Kubernetes name)`,
    );
  }
  const cidrs = spec.cidrBlock
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (cidrs.length === 0 || cidrs.length > 2) {
    throw invalid(`cidrBlock "${spec.cidrBlock}" must hold one CIDR or one IPv4 and one IPv6 CIDR`);
  }
  const parsed: Cidr[] = [];
  for (const text of cidrs) {
    const c = parseCidr(text);
    if ('error' in c) throw invalid(c.error, { field: 'cidrBlock' });
    if (parsed.some((p) => p.family === c.family)) {
      throw invalid(`cidrBlock "${spec.cidrBlock}" has two IPv${c.family} blocks; dual stack is one of each`);
    }
    if (c.family === 6 && c.prefix < MIN_V6_PREFIX) {
      throw invalid(`IPv6 block ${text} is too large: use /${MIN_V6_PREFIX} or longer (e.g. /64)`);
    }
    parsed.push(c);
  }
  parsed.sort((a, b) => a.family - b.family);

  const gateways = new Map<Family, bigint>();
  for (const g of (spec.gateway ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const ip = parseIp(g);
    if (!ip) throw invalid(`gateway "${g}" is not an IP address`, { field: 'gateway' });
    // One gateway per family: a second one would silently replace the first.
    if (gateways.has(ip.family)) {
      throw invalid(`gateway "${spec.gateway}" has two IPv${ip.family} addresses; give one per family`, {
        field: 'gateway',
      });
    }
    gateways.set(ip.family, ip.value);
  }

  const excludesByFamily = new Map<Family, AddressRange[]>([
    [4, []],
    [6, []],
  ]);
  for (const item of spec.excludeIps ?? []) {
    const r = parseExclude(item);
    const cidr = parsed.find((c) => c.family === r.family);
    if (!cidr || r.from < cidr.network || r.to >= cidr.network + cidr.size) {
      throw invalid(`excludeIps item "${item}" is not inside cidrBlock ${spec.cidrBlock}`, {
        field: 'excludeIps',
      });
    }
    excludesByFamily.get(r.family)?.push({ from: r.from, to: r.to });
  }

  const families = parsed.map((cidr): FamilyRange => {
    const bits = cidr.family === 4 ? 32 : 128;
    // /31, /32 (and /127, /128) have no network/broadcast to spare: every address is usable.
    const wholeBlock = cidr.prefix >= bits - 1;
    const firstUsable = wholeBlock ? cidr.network : cidr.network + 1n;
    const lastUsable = wholeBlock ? cidr.network + cidr.size - 1n : cidr.network + cidr.size - 2n;
    const gateway = gateways.get(cidr.family) ?? firstUsable;
    if (gateway < firstUsable || gateway > lastUsable) {
      throw invalid(
        `gateway ${formatIp({ family: cidr.family, value: gateway })} is not a usable address of ${formatCidr(cidr)}`,
        { field: 'gateway' },
      );
    }
    const excludes = mergeRanges(
      (excludesByFamily.get(cidr.family) ?? [])
        .map((r) => ({ from: max(r.from, firstUsable), to: min(r.to, lastUsable) }))
        .filter((r) => r.from <= r.to),
    );
    const excludedIps = excludes.reduce((n, r) => n + (r.to - r.from + 1n), 0n);
    if (excludedIps > MAX_EXCLUDED_PER_FAMILY) {
      throw invalid(
        `excludeIps cover ${excludedIps} IPv${cidr.family} addresses; at most ${MAX_EXCLUDED_PER_FAMILY} are supported`,
        { field: 'excludeIps' },
      );
    }
    const gatewayExcluded = excludes.some((r) => r.from <= gateway && gateway <= r.to);
    return {
      family: cidr.family,
      cidr,
      firstUsable,
      lastUsable,
      usableCount: lastUsable - firstUsable + 1n,
      gateway,
      excludes,
      excludedCount: excludedIps + (gatewayExcluded ? 0n : 1n),
    };
  });
  for (const f of gateways.keys()) {
    if (!families.some((r) => r.family === f)) {
      throw invalid(`gateway has an IPv${f} address but cidrBlock ${spec.cidrBlock} has no IPv${f} block`, {
        field: 'gateway',
      });
    }
  }
  const v4 = families.find((f) => f.family === 4);
  const v6 = families.find((f) => f.family === 6);
  return {
    name: spec.name,
    cidrBlock: families.map((f) => formatCidr(f.cidr)).join(','),
    gateway: families.map((f) => formatIp({ family: f.family, value: f.gateway })).join(','),
    excludeIps: (spec.excludeIps ?? []).map(canonicalExclude),
    protocol: v4 && v6 ? 'Dual' : v4 ? 'IPv4' : 'IPv6',
    v4,
    v6,
    families,
  };
}

function parseExclude(item: string): { family: Family; from: bigint; to: bigint } {
  const [a, b, ...rest] = item.split('..');
  const from = a === undefined ? undefined : parseIp(a);
  const to = b === undefined ? from : parseIp(b);
  if (!from || !to || rest.length > 0) {
    throw invalid(`excludeIps item "${item}" must be an address or a range "a..b"`, { field: 'excludeIps' });
  }
  if (from.family !== to.family || from.value > to.value) {
    throw invalid(`excludeIps range "${item}" must go from a lower to a higher address of one family`, {
      field: 'excludeIps',
    });
  }
  return { family: from.family, from: from.value, to: to.value };
}

function canonicalExclude(item: string): string {
  const r = parseExclude(item);
  const f = (v: bigint) => formatIp({ family: r.family, value: v });
  return r.from === r.to ? f(r.from) : `${f(r.from)}..${f(r.to)}`;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** Sorts and merges overlapping or adjacent ranges. */
export function mergeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1n) out[out.length - 1] = { from: last.from, to: max(last.to, r.to) };
    else out.push(r);
  }
  return out;
}

/** Merges sorted single addresses into kube-ovn's usingIPRange text: `10.16.0.2-10.16.0.5,10.16.0.9`. */
export function formatUsingRange(family: Family, values: readonly bigint[]): string {
  const ranges = mergeRanges(values.map((v) => ({ from: v, to: v })));
  const f = (v: bigint) => formatIp({ family, value: v });
  return ranges.map((r) => (r.from === r.to ? f(r.from) : `${f(r.from)}-${f(r.to)}`)).join(',');
}

export const familyOf = (range: SubnetRange, family: Family): FamilyRange | undefined =>
  family === 4 ? range.v4 : range.v6;

export const inBlock = (fr: FamilyRange, value: bigint): boolean =>
  value >= fr.cidr.network && value < fr.cidr.network + fr.cidr.size;
export const isUsable = (fr: FamilyRange, value: bigint): boolean =>
  value >= fr.firstUsable && value <= fr.lastUsable;
export const isExcluded = (fr: FamilyRange, value: bigint): boolean =>
  value === fr.gateway || fr.excludes.some((r) => r.from <= value && value <= r.to);
