// Where an address lives in the paged bitmaps: offset from the network address, split into a page
// number and a bit inside the page ("<page>:<bit>"). Pure; shared by the Redis scripts' callers
// and the audit.
import { formatIp, formatV6Groups, v6Groups } from '../domain/ip-codec.ts';
import type { AddressRange, FamilyRange } from './subnet-range.ts';

export const PAGE_BITS = 65536n;

export interface PageBits {
  readonly page: bigint;
  readonly fromBit: number;
  readonly toBit: number;
}

export function positionOf(fr: FamilyRange, value: bigint): string {
  const offset = value - fr.cidr.network;
  return `${offset / PAGE_BITS}:${offset % PAGE_BITS}`;
}

export function valueAt(fr: FamilyRange, position: string): bigint {
  const [page, bit] = position.split(':');
  return fr.cidr.network + BigInt(page ?? '0') * PAGE_BITS + BigInt(bit ?? '0');
}

export function addressOf(fr: FamilyRange, position: string): string {
  // hot path (every allocation): plain numbers, no bigint, while the offset fits a double exactly
  const at = position.indexOf(':');
  const page = Number(position.slice(0, at));
  const bit = Number(position.slice(at + 1));
  if (fr.family === 4) {
    const v = Number(fr.cidr.network) + page * 65536 + bit;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  if (page < 2 ** 32) {
    let base = networkGroups.get(fr);
    if (!base) {
      base = v6Groups(fr.cidr.network);
      networkGroups.set(fr, base);
    }
    const groups = base.slice();
    // add page * 65536 + bit, group by group from the least significant, with carry
    let carry = 0;
    const add = [bit, page % 65536, Math.floor(page / 65536)];
    for (let i = 7; i >= 0; i--) {
      const sum = (groups[i] as number) + (add[7 - i] ?? 0) + carry;
      groups[i] = sum % 65536;
      carry = sum >= 65536 ? 1 : 0;
    }
    return formatV6Groups(groups);
  }
  return formatIp({ family: fr.family, value: valueAt(fr, position) });
}

const networkGroups = new WeakMap<FamilyRange, number[]>();

/** The bitmap shape of a family: how many pages, and how many bits of the last page are usable. */
export function pageShape(fr: FamilyRange): { pages: bigint; lastPageBits: number } {
  const lastOffset = fr.lastUsable - fr.cidr.network;
  return { pages: lastOffset / PAGE_BITS + 1n, lastPageBits: Number(lastOffset % PAGE_BITS) + 1 };
}

/** Splits absolute address ranges into per-page bit ranges. */
export function pageBitsOf(fr: FamilyRange, ranges: readonly AddressRange[]): PageBits[] {
  const out: PageBits[] = [];
  for (const r of ranges) {
    let from = r.from - fr.cidr.network;
    const to = r.to - fr.cidr.network;
    while (from <= to) {
      const page = from / PAGE_BITS;
      const pageEnd = (page + 1n) * PAGE_BITS - 1n;
      const end = to < pageEnd ? to : pageEnd;
      out.push({ page, fromBit: Number(from % PAGE_BITS), toBit: Number(end % PAGE_BITS) });
      from = end + 1n;
    }
  }
  return out;
}

/** Excluded ranges of a family as the bitmaps hold them: excludeIps plus the gateway. */
export const excludedRanges = (fr: FamilyRange): AddressRange[] => [
  ...fr.excludes,
  { from: fr.gateway, to: fr.gateway },
];
