// The run-finding and formatting behind counts(), without Redis: bitmaps built here the way Redis
// stores them (bit 0 = the first byte's 0x80, a key as long as its highest set byte).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BitmapPage,
  ownedExcludedProbe,
  ownedRuns,
  usageFromBitmaps,
  usageFromPositions,
  withPositions,
} from './owned-runs.ts';
import { excludedRanges, positionOf } from './positions.ts';
import { type FamilyRange, subnetRange } from './subnet-range.ts';

const familyOf = (cidrBlock: string, excludeIps: string[] = []): FamilyRange => {
  const r = subnetRange({ name: 't', cidrBlock, excludeIps });
  return (r.v4 ?? r.v6) as FamilyRange;
};

/** Pages of a bitmap with these bits set, as Redis would return them. */
function bitmap(bits: Iterable<[page: number, bit: number]>): Map<number, Uint8Array> {
  const byPage = new Map<number, number[]>();
  for (const [page, bit] of bits) byPage.set(page, [...(byPage.get(page) ?? []), bit]);
  const out = new Map<number, Uint8Array>();
  for (const [page, list] of byPage) {
    const buf = new Uint8Array((Math.max(...list) >> 3) + 1);
    for (const b of list) buf[b >> 3] = (buf[b >> 3] as number) | (0x80 >> (b & 7));
    out.set(page, buf);
  }
  return out;
}

function pagesOf(used: Iterable<[number, number]>, excluded: Iterable<[number, number]> = []): BitmapPage[] {
  const u = bitmap(used);
  const x = bitmap(excluded);
  return [...new Set([...u.keys(), ...x.keys()])].map((page) => ({
    page,
    used: u.get(page) ?? new Uint8Array(0),
    excluded: x.get(page) ?? new Uint8Array(0),
  }));
}

const span = (page: number, from: number, to: number): [number, number][] =>
  Array.from({ length: to - from + 1 }, (_, i) => [page, from + i]);

/** The bitmaps a subnet holds: network bit, excluded and gateway bits (used and excluded), owned bits. */
function subnetPages(fr: FamilyRange, owned: readonly bigint[]): BitmapPage[] {
  const at = (v: bigint): [number, number] => {
    const [p, b] = positionOf(fr, v).split(':');
    return [Number(p), Number(b)];
  };
  const excluded: [number, number][] = [];
  for (const r of excludedRanges(fr)) for (let v = r.from; v <= r.to; v++) excluded.push(at(v));
  const used = [...excluded, ...owned.map(at)];
  if (fr.firstUsable > fr.cidr.network) used.push([0, 0]);
  return pagesOf(used, excluded);
}

describe('ownedRuns', () => {
  const whole = { first: { page: 0, bit: 0 }, last: { page: 9, bit: 65535 } };

  it('joins a run across a byte boundary', () => {
    const { runs, count } = ownedRuns(pagesOf(span(0, 6, 9)), whole.first, whole.last);
    expect(runs).toEqual([{ from: { page: 0, bit: 6 }, to: { page: 0, bit: 9 } }]);
    expect(count).toBe(4);
  });

  it('joins a run across a page boundary, pages in any order', () => {
    const pages = pagesOf([...span(1, 0, 2), ...span(0, 65533, 65535)]);
    const { runs, count } = ownedRuns(pages.reverse(), whole.first, whole.last);
    expect(runs).toEqual([{ from: { page: 0, bit: 65533 }, to: { page: 1, bit: 2 } }]);
    expect(count).toBe(6);
  });

  it('does not join the end of a page to the start of a page further on', () => {
    const { runs } = ownedRuns(
      pagesOf([...span(0, 65535, 65535), ...span(2, 0, 0)]),
      whole.first,
      whole.last,
    );
    expect(runs).toHaveLength(2);
  });

  it('leaves out excluded bits and bits outside first..last, inside a byte too', () => {
    const pages = pagesOf(span(0, 0, 23), span(0, 8, 9));
    const { runs, count } = ownedRuns(pages, { page: 0, bit: 3 }, { page: 0, bit: 20 });
    expect(runs).toEqual([
      { from: { page: 0, bit: 3 }, to: { page: 0, bit: 7 } },
      { from: { page: 0, bit: 10 }, to: { page: 0, bit: 20 } },
    ]);
    expect(count).toBe(5 + 11);
  });

  it('an empty subnet has no runs (no pages, or empty keys)', () => {
    expect(ownedRuns([], whole.first, whole.last)).toEqual({ runs: [], count: 0 });
    const empty = [{ page: 0, used: new Uint8Array(0), excluded: new Uint8Array(0) }];
    expect(ownedRuns(empty, whole.first, whole.last)).toEqual({ runs: [], count: 0 });
  });
});

describe('withPositions', () => {
  it('merges single positions that touch a run, on either side and across a page', () => {
    const runs = [{ from: { page: 0, bit: 5 }, to: { page: 0, bit: 65535 } }];
    const merged = withPositions(runs, [
      { page: 1, bit: 0 },
      { page: 0, bit: 4 },
      { page: 3, bit: 7 },
    ]);
    expect(merged).toEqual([
      { from: { page: 0, bit: 4 }, to: { page: 1, bit: 0 } },
      { from: { page: 3, bit: 7 }, to: { page: 3, bit: 7 } },
    ]);
  });
});

describe('usageFromBitmaps', () => {
  it('first and last usable addresses of a /24; network and broadcast bits never counted', () => {
    const fr = familyOf('10.0.0.0/24');
    // network (0) and a stray broadcast bit (255, never set by the allocator) next to owned ones
    const pages = pagesOf([[0, 0], [0, 1], [0, 2], [0, 3], ...span(0, 248, 255)], [[0, 1]]);
    expect(usageFromBitmaps(fr, pages)).toEqual({
      using: 9,
      range: '10.0.0.2-10.0.0.3,10.0.0.248-10.0.0.254',
    });
  });

  it('a full subnet is one run from the first address after the gateway to the last usable', () => {
    const fr = familyOf('10.0.0.0/24');
    const owned = Array.from({ length: 253 }, (_, i) => fr.cidr.network + 2n + BigInt(i));
    expect(usageFromBitmaps(fr, subnetPages(fr, owned))).toEqual({
      using: 253,
      range: '10.0.0.2-10.0.0.254',
    });
  });

  it('/31 and /32: every address is usable, bit 0 included', () => {
    const fr = familyOf('10.9.0.0/31');
    const pages = pagesOf([
      [0, 0],
      [0, 1],
    ]);
    expect(usageFromBitmaps(fr, pages)).toEqual({ using: 2, range: '10.9.0.0-10.9.0.1' });
  });

  it('IPv6 /64: a run across a page, an address far out, formatted as kube-ovn does', () => {
    const fr = familyOf('fd00:10::/64');
    const far = fr.cidr.network + (1n << 63n) + 5n;
    const owned = [65534n, 65535n, 65536n, 65537n].map((o) => fr.cidr.network + o).concat(far);
    expect(usageFromBitmaps(fr, subnetPages(fr, owned))).toEqual({
      using: 5,
      range: 'fd00:10::fffe-fd00:10::1:1,fd00:10::8000:0:0:5',
    });
  });

  it('owned addresses inside excludeIps, passed alongside, join the runs next to them', () => {
    const fr = familyOf('10.0.0.0/24', ['10.0.0.10..10.0.0.12']);
    const pages = subnetPages(
      fr,
      [8n, 9n, 13n].map((h) => fr.cidr.network + h),
    );
    const got = usageFromBitmaps(fr, pages, [
      { page: 0, bit: 10 },
      { page: 0, bit: 11 },
      { page: 0, bit: 12 },
    ]);
    expect(got).toEqual({ using: 6, range: '10.0.0.8-10.0.0.13' });
  });

  it('agrees with the per-address method on random subnets (fixed seed)', () => {
    const subnets = [
      familyOf('10.0.0.0/22', ['10.0.0.20..10.0.0.40', '10.0.2.0..10.0.2.3']),
      familyOf('10.16.0.0/15', ['10.16.255.250..10.17.0.5']),
      familyOf('fd00::/110', ['fd00::1:0..fd00::1:10']),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...subnets),
        fc.array(fc.bigInt({ min: 0n, max: 3000n }), { maxLength: 300 }),
        fc.array(fc.bigInt({ min: 0n, max: 1n << 17n }), { maxLength: 300 }),
        (fr, low, spread) => {
          const excluded = (v: bigint) => excludedRanges(fr).some((r) => r.from <= v && v <= r.to);
          const values = [...new Set([...low, ...spread].map((o) => fr.firstUsable + (o % fr.usableCount)))];
          // the allocator never hands out the gateway; excluded ones are owned only as fixed addresses
          const owned = values.filter((v) => v !== fr.gateway);
          const ownedExcluded = owned.filter(excluded).map((v) => {
            const [page, bit] = positionOf(fr, v).split(':');
            return { page: Number(page), bit: Number(bit) };
          });
          const want = usageFromPositions(
            fr,
            owned.map((v) => positionOf(fr, v)),
          );
          expect(usageFromBitmaps(fr, subnetPages(fr, owned), ownedExcluded)).toEqual(want);
        },
      ),
      { seed: 16, numRuns: 150 },
    );
  });
});

describe('ownedExcludedProbe', () => {
  it('names the excluded bits (gateway included) while few, every owned position past the bound', () => {
    expect(ownedExcludedProbe(undefined)).toBe('-');
    expect(ownedExcludedProbe(familyOf('10.0.0.0/16', ['10.0.0.10..10.0.0.12', '10.0.1.0']))).toBe(
      '0:1:1,0:10:12,0:256:256',
    );
    expect(ownedExcludedProbe(familyOf('10.0.0.0/16', ['10.0.0.10..10.0.255.0']))).toBe('*');
  });
});
