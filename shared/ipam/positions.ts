// Where an address lives in the paged bitmaps: offset from the network address, split into a page
// number and a bit inside the page ("<page>:<bit>"). Pure; shared by the Redis scripts' callers
// and the audit.
import { formatIp } from './ip.ts';
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
  if (fr.family === 4) {
    // hot path (every allocation): plain numbers, no bigint
    const at = position.indexOf(':');
    const v =
      Number(fr.cidr.network) + Number(position.slice(0, at)) * 65536 + Number(position.slice(at + 1));
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return formatIp({ family: fr.family, value: valueAt(fr, position) });
}

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
