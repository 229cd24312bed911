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

export function formatIp(ip: Ip): string {
  const bytes = bigintToBytes(ip.value, ip.family === 4 ? 4 : 16);
  const addr = ipaddr.fromByteArray(bytes);
  return addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
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

function bigintToBytes(value: bigint, length: number): number[] {
  const out = new Array<number>(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
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
