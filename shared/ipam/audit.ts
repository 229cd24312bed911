// Invariant checks over a consistent snapshot of a subnet's Redis state (pure; the snapshot is read
// by one script). Bits set = reserved network address + excluded + owned; each address has at most
// one owner; each owner at most one address per family, matching its record; counters exact.

import type { Family } from '../domain/ip-codec.ts';
import type { Violation } from './allocator.ts';
import { addressOf, PAGE_BITS, positionOf, valueAt } from './positions.ts';
import type { FamilyRange, SubnetRange } from './subnet-range.ts';

export interface FamilySnapshot {
  readonly ownedExcluded: number;
  readonly ownedCount: number;
  /** position -> owner */
  readonly a2o: ReadonlyMap<string, string>;
  /** page -> bitmaps (missing keys are empty) */
  readonly pages: ReadonlyMap<string, { used: Uint8Array; ever: Uint8Array; excluded: Uint8Array }>;
}

export interface SubnetSnapshot {
  /** owner -> "v4pos|v6pos|mac" */
  readonly records: ReadonlyMap<string, string>;
  /** owners in the list index */
  readonly indexed: ReadonlySet<string>;
  readonly families: ReadonlyMap<Family, FamilySnapshot>;
}

/**
 * The dump script's reply (redis/scripts.ts DUMP): gen (null when the subnet does not exist), the
 * state hash as field, value, ..., the owner index, then per family 4 and 6 the pages as
 * page, used, ever, excluded, ...
 */
export type SubnetDump = [
  gen: Uint8Array | null,
  state: Uint8Array[],
  indexed: Uint8Array[],
  pages4: Uint8Array[],
  pages6: Uint8Array[],
];

const utf8 = new TextDecoder();
const text = (b: Uint8Array | string) => (typeof b === 'string' ? b : utf8.decode(b));

/**
 * The snapshot `auditSnapshot` judges, from the dump. State fields: `o:<owner>` is an owner's
 * record, `<f>@<pos>` the owner of a position, `<f>:n` and `<f>:ox` the family counters.
 */
export function snapshotOfDump(dump: SubnetDump): { gen: string; snapshot: SubnetSnapshot } | undefined {
  const [gen, flat, indexed, ...familyPages] = dump;
  if (gen === null) return undefined;
  const state = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) state.set(text(flat[i]!), text(flat[i + 1]!));
  const records = new Map<string, string>();
  const a2o = new Map<Family, Map<string, string>>([
    [4, new Map()],
    [6, new Map()],
  ]);
  for (const [field, value] of state) {
    if (field.startsWith('o:')) records.set(field.slice(2), value);
    else if (field[1] === '@') a2o.get(Number(field[0]) as Family)?.set(field.slice(2), value);
  }
  const families = new Map<Family, FamilySnapshot>();
  ([4, 6] as const).forEach((f, i) => {
    const pages = familyPages[i] ?? [];
    const pageMap = new Map<string, { used: Uint8Array; ever: Uint8Array; excluded: Uint8Array }>();
    for (let j = 0; j + 3 < pages.length; j += 4) {
      pageMap.set(text(pages[j]!), { used: pages[j + 1]!, ever: pages[j + 2]!, excluded: pages[j + 3]! });
    }
    families.set(f, {
      ownedExcluded: Number(state.get(`${f}:ox`) ?? '0'),
      ownedCount: Number(state.get(`${f}:n`) ?? '0'),
      a2o: a2o.get(f) ?? new Map(),
      pages: pageMap,
    });
  });
  return { gen: text(gen), snapshot: { records, indexed: new Set(indexed.map(text)), families } };
}

const bitAt = (buf: Uint8Array, bit: number): boolean => {
  const byte = buf[bit >> 3];
  return byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0;
};

export function auditSnapshot(range: SubnetRange, snap: SubnetSnapshot): Violation[] {
  const out: Violation[] = [];
  const heldBy = new Map<string, string[]>(); // "f|pos" -> owners per records
  for (const [owner, rec] of snap.records) {
    const [v4, v6] = rec.split('|');
    for (const [family, pos] of [
      [4, v4],
      [6, v6],
    ] as const) {
      if (!pos) continue;
      const k = `${family}|${pos}`;
      heldBy.set(k, [...(heldBy.get(k) ?? []), owner]);
    }
  }
  for (const owner of snap.records.keys()) {
    if (!snap.indexed.has(owner))
      out.push({ kind: 'record-mismatch', message: `${owner} is missing from the list index` });
  }
  for (const owner of snap.indexed) {
    if (!snap.records.has(owner))
      out.push({ kind: 'record-mismatch', message: `${owner} is listed but holds nothing` });
  }
  for (const fr of range.families) {
    const fs = snap.families.get(fr.family);
    if (!fs) continue;
    auditFamily(fr, fs, snap, heldBy, out);
  }
  out.push(...duplicateMacs([...snap.records].map(([owner, rec]) => [owner, rec.split('|')[2] ?? ''])));
  return out;
}

function auditFamily(
  fr: FamilyRange,
  fs: FamilySnapshot,
  snap: SubnetSnapshot,
  heldBy: Map<string, string[]>,
  out: Violation[],
) {
  const family = fr.family;
  const addr = (pos: string) => addressOf(fr, pos);
  const isExcludedValue = (v: bigint) =>
    v === fr.gateway || fr.excludes.some((r) => r.from <= v && v <= r.to);
  // every record's address is owned by that record's owner, and no address has two owners
  for (const [k, owners] of heldBy) {
    const [f, pos] = k.split('|') as [string, string];
    if (Number(f) !== family) continue;
    if (owners.length > 1) {
      out.push({
        kind: 'two-owners',
        family,
        address: addr(pos),
        message: `${addr(pos)} is held by ${owners.join(', ')}`,
      });
    }
    const holder = fs.a2o.get(pos);
    if (holder === undefined || !owners.includes(holder)) {
      out.push({
        kind: 'record-mismatch',
        family,
        address: addr(pos),
        message: `${owners.join(', ')} record ${addr(pos)} but the address map says ${holder ?? 'nobody'}`,
      });
    }
  }
  let ownedExcluded = 0;
  for (const [pos, owner] of fs.a2o) {
    const rec = snap.records.get(owner);
    const recPos = rec?.split('|')[family === 4 ? 0 : 1];
    if (recPos !== pos) {
      out.push({
        kind: 'record-mismatch',
        family,
        address: addr(pos),
        message: `${addr(pos)} maps to ${owner}, whose record holds ${recPos ? addr(recPos) : 'nothing'}`,
      });
    }
    const [page, bit] = pos.split(':') as [string, string];
    const bm = fs.pages.get(page);
    if (!bm || !bitAt(bm.used, Number(bit)) || !bitAt(bm.ever, Number(bit))) {
      out.push({
        kind: 'owner-without-bit',
        family,
        address: addr(pos),
        message: `${addr(pos)} is owned by ${owner} but its bit is clear`,
      });
    }
    if (isExcludedValue(valueAt(fr, pos))) ownedExcluded++;
  }
  if (fs.a2o.size !== fs.ownedCount) {
    out.push({
      kind: 'counter',
      family,
      message: `owned counter is ${fs.ownedCount}, the address map has ${fs.a2o.size}`,
    });
  }
  if (ownedExcluded !== fs.ownedExcluded) {
    out.push({
      kind: 'counter',
      family,
      message: `owned-in-excludeIps counter is ${fs.ownedExcluded}, recount gives ${ownedExcluded}`,
    });
  }
  // every set bit is explained: network address reserved, excluded/gateway, or owned
  for (const [page, bm] of fs.pages) {
    const base = BigInt(page) * PAGE_BITS;
    for (let byte = 0; byte < bm.used.length; byte++) {
      const u = bm.used[byte] ?? 0;
      const e = bm.ever[byte] ?? 0;
      const x = bm.excluded[byte] ?? 0;
      if (u === 0 && x === 0 && (u & ~e) === 0) continue;
      for (let i = 0; i < 8; i++) {
        const mask = 0x80 >> i;
        const bit = byte * 8 + i;
        const value = fr.cidr.network + base + BigInt(bit);
        const pos = positionOf(fr, value);
        const a = formatAddr(fr, pos);
        if (u & mask && !(e & mask)) {
          out.push({
            kind: 'bit-without-owner',
            family,
            address: a,
            message: `${a} is used but not marked ever-used`,
          });
        }
        if (((x & mask) !== 0) !== isExcludedValue(value)) {
          out.push({
            kind: 'bit-without-owner',
            family,
            address: a,
            message: `${a} excluded bit disagrees with excludeIps/gateway`,
          });
        }
        if (x & mask && !(u & mask)) {
          out.push({
            kind: 'bit-without-owner',
            family,
            address: a,
            message: `${a} is excluded but its used bit is clear`,
          });
        }
        if (u & mask && !(x & mask) && !fs.a2o.has(pos) && value >= fr.firstUsable) {
          out.push({
            kind: 'bit-without-owner',
            family,
            address: a,
            message: `${a} is marked used but has no owner (orphan bit)`,
          });
        }
      }
    }
    // excluded bits can also sit in pages whose used bitmap is shorter
    for (let byte = bm.used.length; byte < bm.excluded.length; byte++) {
      if ((bm.excluded[byte] ?? 0) !== 0) {
        out.push({
          kind: 'bit-without-owner',
          family,
          message: `page ${page} has excluded bits past its used bitmap`,
        });
        break;
      }
    }
  }
  // excluded addresses must have their bits (checked from the plan side)
  for (const r of [...fr.excludes, { from: fr.gateway, to: fr.gateway }]) {
    if (r.to - r.from > 1_000_000n) continue; // huge ranges are covered by the per-bit pass above
    for (let v = r.from; v <= r.to; v++) {
      const pos = positionOf(fr, v);
      const [page, bit] = pos.split(':') as [string, string];
      const bm = fs.pages.get(page);
      if (!bm || !bitAt(bm.excluded, Number(bit)) || !bitAt(bm.used, Number(bit))) {
        out.push({
          kind: 'bit-without-owner',
          family,
          address: addr(pos),
          message: `${addr(pos)} is excluded but its bits are clear`,
        });
      }
    }
  }
}

const formatAddr = (fr: FamilyRange, pos: string) => addressOf(fr, pos);

/**
 * One 'mac' violation per MAC that more than one holder's record names. A registry that keeps a
 * dynamic MAC by its bit and the record only (layout v3) has no m:<MAC> naming one of them, so the
 * records are compared with each other. Holders sorted (a stable message whatever the read order).
 */
export function duplicateMacs(held: Iterable<readonly [holder: string, mac: string]>): Violation[] {
  const by = new Map<string, string[]>();
  for (const [holder, mac] of held) {
    if (mac) by.set(mac, [...(by.get(mac) ?? []), holder]);
  }
  return [...by]
    .filter(([, holders]) => holders.length > 1)
    .map(([mac, holders]) => ({
      kind: 'mac',
      message: `MAC ${mac} is held by ${holders.sort().join(', ')}`,
    }));
}

/**
 * MACs held in more than one subnet (the MAC registry is cluster-wide; a subnet's own audit sees
 * only its records): per subnet involved, one 'mac' violation naming every holder
 * ("<subnet>/<owner>"). Duplicates inside one subnet are its own audit's (auditSnapshot).
 */
export function crossSubnetDuplicateMacs(
  reservations: Readonly<Record<string, readonly { readonly owner: string; readonly mac: string }[]>>,
): Record<string, Violation[]> {
  const by = new Map<string, { subnet: string; holder: string }[]>();
  for (const subnet of Object.keys(reservations).sort()) {
    for (const r of reservations[subnet] ?? []) {
      if (r.mac) by.set(r.mac, [...(by.get(r.mac) ?? []), { subnet, holder: `${subnet}/${r.owner}` }]);
    }
  }
  const out: Record<string, Violation[]> = {};
  for (const [mac, held] of by) {
    const subnets = [...new Set(held.map((h) => h.subnet))];
    if (subnets.length < 2) continue;
    const message = `MAC ${mac} is held in more than one subnet: by ${held
      .map((h) => h.holder)
      .sort()
      .join(', ')}`;
    for (const subnet of subnets) out[subnet] = [...(out[subnet] ?? []), { kind: 'mac', message }];
  }
  return out;
}
