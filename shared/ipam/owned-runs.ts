// A family's owned addresses read from its bitmaps (pure): the runs of set bits of `used & ~excluded`
// from the first to the last usable address, and kube-ovn's usingIPRange text formatted from the
// runs. This is what counts() costs now: O(pages) bytes scanned, one string per run, instead of
// one Redis field, one BigInt and one sort entry per reservation.
import { addressOf, excludedRanges, PAGE_BITS, pageBitsOf, valueAt } from './positions.ts';
import { type FamilyRange, formatUsingRange, mergeRanges } from './subnet-range.ts';

/** One page of a family's bitmaps as Redis holds it (keys may be shorter than the page, or absent). */
export interface BitmapPage {
  readonly page: number;
  readonly used: Uint8Array;
  readonly excluded: Uint8Array;
}

/** A bit of the family's bitmaps: page number (exact below 2^53, the /59 limit) and bit in it. */
export interface BitAt {
  readonly page: number;
  readonly bit: number;
}

/** Consecutive owned positions, both ends included; may cross pages. */
export interface Run {
  readonly from: BitAt;
  to: BitAt;
}

const LAST_BIT = Number(PAGE_BITS) - 1;

// bits set per byte value
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + (POPCOUNT[i >> 1] as number);

const follows = (end: BitAt, page: number, bit: number) =>
  (end.page === page && end.bit + 1 === bit) || (end.bit === LAST_BIT && bit === 0 && end.page + 1 === page);

// the runs of set bits inside each byte value, as flat [from, to, from, to, ...] (bit 0 = 0x80)
const SEGMENTS: number[][] = Array.from({ length: 256 }, (_, b) => {
  const out: number[] = [];
  for (let k = 0; k < 8; k++) {
    if (!(b & (0x80 >> k))) continue;
    let e = k;
    while (e < 7 && b & (0x80 >> (e + 1))) e++;
    out.push(k, e);
    k = e;
  }
  return out;
});

const bitOf = (fr: FamilyRange, value: bigint): BitAt => {
  const offset = value - fr.cidr.network;
  return { page: Number(offset / PAGE_BITS), bit: Number(offset % PAGE_BITS) };
};

/**
 * The runs of bits set in `used` and clear in `excluded` between `first` and `last` (inclusive),
 * and how many bits they hold. Pages in any order; bits are Redis' (bit 0 = the first byte's 0x80).
 * One object per run (the open run is kept in numbers): a fragmented /12 has ~50,000 runs.
 */
export function ownedRuns(
  pages: readonly BitmapPage[],
  first: BitAt,
  last: BitAt,
): { runs: Run[]; count: number } {
  const runs: Run[] = [];
  let count = 0;
  let open = false;
  let fromPage = 0;
  let fromBit = 0;
  let toPage = 0;
  let toBit = 0;
  const add = (page: number, from: number, to: number) => {
    if (
      open &&
      ((toPage === page && toBit + 1 === from) || (toBit === LAST_BIT && from === 0 && toPage + 1 === page))
    ) {
      toPage = page;
      toBit = to;
      return;
    }
    if (open) runs.push({ from: { page: fromPage, bit: fromBit }, to: { page: toPage, bit: toBit } });
    open = true;
    fromPage = toPage = page;
    fromBit = from;
    toBit = to;
  };
  const sorted = [...pages].sort((a, b) => a.page - b.page);
  for (const { page, used, excluded } of sorted) {
    if (page < first.page || page > last.page) continue;
    const lo = page === first.page ? first.bit : 0;
    const hi = page === last.page ? last.bit : LAST_BIT;
    const loByte = lo >> 3;
    const hiByte = hi >> 3;
    const end = Math.min(hiByte, used.length - 1);
    for (let i = loByte; i <= end; i++) {
      let b = (used[i] as number) & ~(excluded[i] ?? 0) & 0xff;
      if (b === 0) continue;
      if (i === loByte) b &= 0xff >> (lo & 7);
      if (i === hiByte) b &= (0xff << (7 - (hi & 7))) & 0xff;
      if (b === 0) continue;
      count += POPCOUNT[b] as number;
      const base = i * 8;
      const seg = SEGMENTS[b] as number[];
      for (let k = 0; k < seg.length; k += 2)
        add(page, base + (seg[k] as number), base + (seg[k + 1] as number));
    }
  }
  if (open) runs.push({ from: { page: fromPage, bit: fromBit }, to: { page: toPage, bit: toBit } });
  return { runs, count };
}

const before = (a: BitAt, b: BitAt) => a.page < b.page || (a.page === b.page && a.bit < b.bit);

/** Runs with single positions added (owned addresses the bitmaps cannot show: inside excludeIps). */
export function withPositions(runs: readonly Run[], positions: readonly BitAt[]): Run[] {
  if (positions.length === 0) return [...runs];
  const singles = positions.map((p) => ({ from: p, to: p }));
  const all = [...runs, ...singles].sort((a, b) =>
    before(a.from, b.from) ? -1 : before(b.from, a.from) ? 1 : 0,
  );
  const out: Run[] = [];
  for (const r of all) {
    const lastRun = out[out.length - 1];
    if (lastRun && follows(lastRun.to, r.from.page, r.from.bit)) lastRun.to = r.to;
    else out.push({ from: r.from, to: r.to });
  }
  return out;
}

const same = (a: BitAt, b: BitAt) => a.page === b.page && a.bit === b.bit;

const OCTET = Array.from({ length: 256 }, (_, i) => String(i));

/** kube-ovn's usingIPRange from runs: `10.16.0.2-10.16.0.5,10.16.0.9`. */
export function formatRuns(fr: FamilyRange, runs: readonly Run[]): string {
  let at: (p: BitAt) => string;
  if (fr.family === 4) {
    // a fragmented /12 has ~50,000 runs: the first three octets are formatted once per /24
    const net = Number(fr.cidr.network);
    let hi = -1;
    let hiText = '';
    at = (p) => {
      const v = net + p.page * 65536 + p.bit;
      if (v >>> 8 !== hi) {
        hi = v >>> 8;
        hiText = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.`;
      }
      return hiText + OCTET[v & 255];
    };
  } else {
    at = (p) => addressOf(fr, `${p.page}:${p.bit}`);
  }
  let out = '';
  for (const r of runs) {
    if (out !== '') out += ',';
    out += same(r.from, r.to) ? at(r.from) : `${at(r.from)}-${at(r.to)}`;
  }
  return out;
}

/**
 * A family's usingIPs and usingIPRange from its bitmaps, plus the owned positions inside
 * excludeIps (their bits are set in `excluded` too, so the scan cannot tell them from excluded ones).
 */
export function usageFromBitmaps(
  fr: FamilyRange,
  pages: readonly BitmapPage[],
  ownedExcluded: readonly BitAt[] = [],
): { using: number; range: string } {
  const { runs, count } = ownedRuns(pages, bitOf(fr, fr.firstUsable), bitOf(fr, fr.lastUsable));
  return { using: count + ownedExcluded.length, range: formatRuns(fr, withPositions(runs, ownedExcluded)) };
}

/** "<page>:<bit>" as a BitAt. */
export const bitAtOf = (position: string): BitAt => {
  const at = position.indexOf(':');
  return { page: Number(position.slice(0, at)), bit: Number(position.slice(at + 1)) };
};

/**
 * The way counts were read before (and still are when a family has many excluded addresses and
 * some of them owned): every owned position, as an address, sorted, merged into ranges.
 */
export function usageFromPositions(
  fr: FamilyRange,
  positions: readonly string[],
): { using: number; range: string } {
  const values = positions.map((p) => valueAt(fr, p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { using: values.length, range: formatUsingRange(fr.family, values) };
}

/** Above this many excluded addresses, owned ones among them are found by listing every owned one. */
export const MAX_EXCLUDED_PROBES = 4096n;

/**
 * What the counts script is told to read for a family when owned addresses sit inside excludeIps
 * (scripts/read.ts COUNTS): '-' no such family, '*' every owned position, else the excluded bits
 * to probe one by one ('page:from:to,...'), cheaper while the excluded set is small.
 */
export function ownedExcludedProbe(fr: FamilyRange | undefined): string {
  if (!fr) return '-';
  if (fr.excludedCount > MAX_EXCLUDED_PROBES) return '*';
  let probe = probes.get(fr);
  if (probe === undefined) {
    probe = pageBitsOf(fr, mergeRanges(excludedRanges(fr)))
      .map((r) => `${r.page}:${r.fromBit}:${r.toBit}`)
      .join(',');
    probes.set(fr, probe);
  }
  return probe;
}

// per parsed spec (the allocator caches it by generation), so a counts call does not rebuild it
const probes = new WeakMap<FamilyRange, string>();
