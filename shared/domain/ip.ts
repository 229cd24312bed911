// Small, pure address helpers for the domain decisions. Addresses are handled as BigInt so one
// code path serves IPv4 and IPv6 (an IPv6 /64 does not fit in a JS number).
import ipaddr from 'ipaddr.js';

export type Family = 'v4' | 'v6';

/** Canonical IPv4 dotted quad, or undefined when `s` is not a plain four-part decimal address. */
export function canonicalV4(s: string): string | undefined {
  const t = s.trim();
  if (!ipaddr.IPv4.isValidFourPartDecimal(t)) return undefined;
  return ipaddr.IPv4.parse(t).toString();
}

/** Canonical (RFC 5952, lower-case) IPv6, or undefined when `s` is not IPv6. Zone ids are refused. */
export function canonicalV6(s: string): string | undefined {
  const t = s.trim();
  if (t.includes('%') || !ipaddr.IPv6.isValid(t)) return undefined;
  return ipaddr.IPv6.parse(t).toRFC5952String();
}

export function familyOf(addr: string): Family | undefined {
  if (canonicalV4(addr) !== undefined) return 'v4';
  if (canonicalV6(addr) !== undefined) return 'v6';
  return undefined;
}

const bitsOf = (f: Family): number => (f === 'v4' ? 32 : 128);

export function toBigInt(addr: string): bigint {
  const bytes = ipaddr.parse(addr.trim()).toByteArray();
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

export function fromBigInt(n: bigint, family: Family): string {
  const len = bitsOf(family) / 8;
  const bytes: number[] = new Array(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const ip = ipaddr.fromByteArray(bytes);
  return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString();
}

export interface Cidr {
  family: Family;
  /** Canonical text, network address + prefix, e.g. `10.16.0.0/16`. */
  text: string;
  prefix: number;
  network: bigint;
  last: bigint;
}

/** Parses one CIDR. Host bits must be zero (kube-ovn's webhook refuses `10.16.0.1/16` too). */
export function parseCidr(s: string): Cidr | undefined {
  const t = s.trim();
  const slash = t.indexOf('/');
  if (slash < 0) return undefined;
  const addrText = t.slice(0, slash);
  const prefixText = t.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const family = familyOf(addrText);
  if (!family || prefix > bitsOf(family)) return undefined;
  const width = BigInt(bitsOf(family));
  const hostBits = width - BigInt(prefix);
  const hostMask = (1n << hostBits) - 1n;
  const value = toBigInt(addrText);
  if ((value & hostMask) !== 0n) return undefined;
  return {
    family,
    text: `${fromBigInt(value, family)}/${prefix}`,
    prefix,
    network: value,
    last: value | hostMask,
  };
}

export function cidrContains(cidr: Cidr, addr: string): boolean {
  if (familyOf(addr) !== cidr.family) return false;
  const n = toBigInt(addr);
  return n >= cidr.network && n <= cidr.last;
}

/**
 * First and last address that may be handed out (SPEC §2): IPv4 network+1..broadcast-1, IPv6
 * ::1..all-ones-1 within the prefix; tiny prefixes (/31, /32, /127, /128) use every address.
 */
export function usableRange(cidr: Cidr): { first: bigint; last: bigint } {
  const tiny = bitsOf(cidr.family) - cidr.prefix <= 1;
  return tiny ? { first: cidr.network, last: cidr.last } : { first: cidr.network + 1n, last: cidr.last - 1n };
}

export function usableCount(cidr: Cidr): bigint {
  const r = usableRange(cidr);
  return r.last - r.first + 1n;
}

export function isUsable(cidr: Cidr, addr: string): boolean {
  if (!cidrContains(cidr, addr)) return false;
  const n = toBigInt(addr);
  const r = usableRange(cidr);
  return n >= r.first && n <= r.last;
}

/** The default gateway of a CIDR: its first usable address (kube-ovn's default). */
export function defaultGateway(cidr: Cidr): string {
  return fromBigInt(usableRange(cidr).first, cidr.family);
}
