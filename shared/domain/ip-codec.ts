// IP addresses as (family, bigint) values: one representation for IPv4 and IPv6, so range
// arithmetic is the same code for both. Parsing is strict; IPv6 is formatted in RFC 5952 form
// (lower case, shortest), which is how every address is stored and returned.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

/** Parses one address; undefined when the text is not exactly one IPv4 or IPv6 address. */
export function parseIp(text: string): Ip | undefined {
  const s = text.trim();
  if (s.includes('%') || s.includes('/')) return undefined; // zones and prefixes are not addresses
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) {
    return { family: 4, value: bytesToBigint(ipaddr.IPv4.parse(s).toByteArray()) };
  }
  if (s.includes(':') && ipaddr.IPv6.isValid(s)) {
    return { family: 6, value: bytesToBigint(ipaddr.IPv6.parse(s).toByteArray()) };
  }
  return undefined;
}

/** Dotted quad for IPv4; RFC 5952 for IPv6 (lower case, longest zero run of 2+ groups as "::"). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return formatV6Groups(v6Groups(ip.value));
}

/** The eight 16-bit groups of an IPv6 value, most significant first. */
export function v6Groups(value: bigint): number[] {
  const groups = new Array<number>(8);
  let v = value;
  for (let i = 7; i >= 0; i--) {
    groups[i] = Number(v & 0xffffn);
    v >>= 16n;
  }
  return groups;
}

/** RFC 5952 text of eight 16-bit groups. */
export function formatV6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // one pass, no arrays: this formats every IPv6 allocation's address
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) out += ':';
    out += (groups[i] as number).toString(16);
  }
  return out;
}

/** The canonical text of an address (IPv6 lower-cased and shortened); undefined if invalid. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

export const compareIp = (a: Ip, b: Ip): number =>
  a.family !== b.family ? a.family - b.family : a.value < b.value ? -1 : a.value > b.value ? 1 : 0;

function bytesToBigint(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export interface Cidr {
  readonly family: Family;
  readonly network: bigint;
  readonly prefix: number;
  /** Number of addresses in the block (2^(bits-prefix)). */
  readonly size: bigint;
}

/** Parses `a.b.c.d/n` or `v6/n`; the address must be the network address (no host bits). */
export function parseCidr(text: string): Cidr | { error: string } {
  const [addr, len, ...rest] = text.trim().split('/');
  if (addr === undefined || len === undefined || rest.length > 0 || !/^\d{1,3}$/.test(len)) {
    return { error: `"${text}" is not a CIDR block (expected e.g. 10.16.0.0/16 or fd00:10:16::/64)` };
  }
  const ip = parseIp(addr);
  if (!ip) return { error: `"${addr}" in "${text}" is not an IP address` };
  const prefix = Number(len);
  const bits = bitsOf(ip.family);
  if (prefix > bits) return { error: `prefix /${prefix} is longer than ${bits} bits in "${text}"` };
  const size = 1n << BigInt(bits - prefix);
  if (ip.value % size !== 0n) {
    const net = formatIp({ family: ip.family, value: ip.value - (ip.value % size) });
    return { error: `"${text}" has host bits set; did you mean ${net}/${prefix}?` };
  }
  return { family: ip.family, network: ip.value, prefix, size };
}

export const formatCidr = (c: Cidr): string =>
  `${formatIp({ family: c.family, value: c.network })}/${c.prefix}`;
