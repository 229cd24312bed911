// String-facing address helpers for the domain decisions, built on the value types the allocator
// uses too (ip-codec.ts), so the whole system parses and formats addresses one way.
import {
  bitsOf as bitsOfFamily,
  formatCidr,
  formatIp,
  type Family as IpVersion,
  parseCidr as parseCodecCidr,
  parseIp,
} from './ip-codec.ts';

/** A family as kube-ovn's fields name it (`v4ip`, `v6ip`); the codec's is the IP version, 4 | 6. */
export type FamilyName = 'v4' | 'v6';

const toFamily = (f: IpVersion): FamilyName => (f === 4 ? 'v4' : 'v6');
const toIpVersion = (f: FamilyName): IpVersion => (f === 'v4' ? 4 : 6);
const bitsOf = (f: FamilyName): number => bitsOfFamily(toIpVersion(f));

/** Canonical IPv4 dotted quad, or undefined when `s` is not a plain four-part decimal address. */
export function canonicalV4(s: string): string | undefined {
  const ip = parseIp(s);
  return ip?.family === 4 ? formatIp(ip) : undefined;
}

/** Canonical (RFC 5952, lower-case) IPv6, or undefined when `s` is not IPv6. Zone ids are refused. */
export function canonicalV6(s: string): string | undefined {
  const ip = parseIp(s);
  return ip?.family === 6 ? formatIp(ip) : undefined;
}

export function familyOf(addr: string): FamilyName | undefined {
  const ip = parseIp(addr);
  return ip ? toFamily(ip.family) : undefined;
}

export function toBigInt(addr: string): bigint {
  const ip = parseIp(addr);
  if (!ip) throw new Error(`"${addr}" is not an IP address`);
  return ip.value;
}

export function fromBigInt(n: bigint, family: FamilyName): string {
  return formatIp({ family: toIpVersion(family), value: n });
}

/** A CIDR as the domain reads a Subnet's `cidrBlock`: family by name, canonical text (the codec's `Cidr` is the bare value). */
export interface CidrBlock {
  family: FamilyName;
  /** Canonical text, network address + prefix, e.g. `10.16.0.0/16`. */
  text: string;
  prefix: number;
  network: bigint;
  last: bigint;
}

/** Parses one CIDR. Host bits must be zero (kube-ovn's webhook refuses `10.16.0.1/16` too). */
export function parseCidr(s: string): CidrBlock | undefined {
  const c = parseCodecCidr(s);
  if ('error' in c) return undefined;
  return {
    family: toFamily(c.family),
    text: formatCidr(c),
    prefix: c.prefix,
    network: c.network,
    last: c.network + c.size - 1n,
  };
}

export function cidrContains(cidr: CidrBlock, addr: string): boolean {
  if (familyOf(addr) !== cidr.family) return false;
  const n = toBigInt(addr);
  return n >= cidr.network && n <= cidr.last;
}

/**
 * First and last address that may be handed out (SPEC §2): IPv4 network+1..broadcast-1, IPv6
 * ::1..all-ones-1 within the prefix; tiny prefixes (/31, /32, /127, /128) use every address.
 */
export function usableRange(cidr: CidrBlock): { first: bigint; last: bigint } {
  const tiny = bitsOf(cidr.family) - cidr.prefix <= 1;
  return tiny ? { first: cidr.network, last: cidr.last } : { first: cidr.network + 1n, last: cidr.last - 1n };
}

export function usableCount(cidr: CidrBlock): bigint {
  const r = usableRange(cidr);
  return r.last - r.first + 1n;
}

export function isUsable(cidr: CidrBlock, addr: string): boolean {
  if (!cidrContains(cidr, addr)) return false;
  const n = toBigInt(addr);
  const r = usableRange(cidr);
  return n >= r.first && n <= r.last;
}

/** The default gateway of a CIDR: its first usable address (kube-ovn's default). */
export function defaultGateway(cidr: CidrBlock): string {
  return fromBigInt(usableRange(cidr).first, cidr.family);
}
