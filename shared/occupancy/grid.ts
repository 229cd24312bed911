// A subnet's occupancy as runs of cells by state: what the occupancy page draws and what
// `kubectl vip who|usage` print. Pure: the caller reads the allocator's registration and
// reservations and passes them in. Runs, not one item per address: a /16 is 65,536 cells, of which
// only the held ones (and the gateway) are single cells; free and excluded spans are one run each.

import { type Family, formatIp, parseIp } from '../domain/ip-codec.ts';
import { parseOwner } from '../domain/ownership.ts';
import type { Reservation, SubnetCounts, SubnetInfo } from '../ipam/allocator.ts';
import { type FamilyRange, mergeRanges, type SubnetRange, subnetRange } from '../ipam/subnet-range.ts';

export const CELL_STATES = ['free', 'excluded', 'gateway', 'vip', 'pod', 'manual'] as const;
export type CellState = (typeof CELL_STATES)[number];

/** Cells drawn per family at most: a /16. Bigger blocks (IPv6) show their first MAX_CELLS addresses. */
export const MAX_CELLS = 65_536;

export interface Holder {
  readonly state: 'vip' | 'pod' | 'manual';
  /** The Vip's name, the pod's port (`pod.namespace`), or the manual owner as given. */
  readonly name: string;
  /** The allocator owner (`vip/<name>`, `pod/<port>`, anything else = manual). */
  readonly owner: string;
}

/** Allocator owners are `vip/<name>` and `pod/<port>` (Kubernetes); any other owner is manual. */
export function holderOf(owner: string): Holder {
  const parsed = parseOwner(owner);
  if (parsed.kind === 'vip' || parsed.kind === 'pod') return { state: parsed.kind, name: parsed.name, owner };
  return { state: 'manual', name: owner, owner };
}

export interface Run {
  /** Offset of the first cell from the block's network address. */
  readonly start: number;
  readonly length: number;
  readonly state: CellState;
  /** Set on held cells and the gateway (one cell per run). */
  readonly holder?: string;
}

export interface FamilyGrid {
  readonly family: Family;
  readonly cidr: string;
  /** The address of cell 0 (the network address). */
  readonly first: string;
  /** Cells drawn: the block's size, at most MAX_CELLS. */
  readonly cells: number;
  /** The block has more addresses than cells drawn. */
  readonly truncated: boolean;
  /** Cover [0, cells) in order, without gaps; adjacent runs of the same unheld state are merged. */
  readonly runs: readonly Run[];
  /** Reservations beyond the drawn cells (only when truncated). */
  readonly heldBeyond: number;
}

/** The allocator's registration back as a SubnetRange (it was validated when registered). */
export const rangeOf = (info: SubnetInfo): SubnetRange =>
  subnetRange({
    name: info.name,
    cidrBlock: info.cidrBlock,
    gateway: info.gateway,
    excludeIps: info.excludeIps,
  });

const addressOf = (r: Reservation, family: Family) => (family === 4 ? r.v4 : r.v6);

export function familyGrid(
  fr: FamilyRange,
  reservations: readonly Reservation[],
  maxCells = MAX_CELLS,
): FamilyGrid {
  const size = fr.cidr.size;
  const cells = Number(size < BigInt(maxCells) ? size : BigInt(maxCells));
  const base = fr.cidr.network;
  const family = fr.family;

  // Single cells: the gateway, then holders (a holder wins over the gateway or an exclude: it is
  // what actually uses the address).
  const points = new Map<number, { state: CellState; holder?: string }>();
  const offsetOf = (v: bigint): number | undefined => {
    const o = v - base;
    return o >= 0n && o < BigInt(cells) ? Number(o) : undefined;
  };
  const gw = offsetOf(fr.gateway);
  if (gw !== undefined) points.set(gw, { state: 'gateway', holder: 'gateway' });
  let heldBeyond = 0;
  for (const r of reservations) {
    const text = addressOf(r, family);
    const ip = text === undefined ? undefined : parseIp(text);
    if (!ip || ip.family !== family) continue;
    const o = offsetOf(ip.value);
    if (o === undefined) {
      heldBeyond++;
      continue;
    }
    const h = holderOf(r.owner);
    points.set(o, { state: h.state, holder: h.name });
  }

  // Spans never handed out: the network and broadcast addresses and excludeIps.
  const unusable = [
    ...(fr.firstUsable > base ? [{ from: base, to: fr.firstUsable - 1n }] : []),
    ...(fr.lastUsable < base + size - 1n ? [{ from: fr.lastUsable + 1n, to: base + size - 1n }] : []),
    ...fr.excludes,
  ];
  const excluded = mergeRanges(unusable)
    .filter((r) => r.from - base < BigInt(cells))
    .map((r) => ({ from: Number(r.from - base), to: Math.min(Number(r.to - base), cells - 1) }));

  const runs: Run[] = [];
  const push = (run: Run) => {
    const last = runs[runs.length - 1];
    if (
      last &&
      !last.holder &&
      !run.holder &&
      last.state === run.state &&
      last.start + last.length === run.start
    ) {
      runs[runs.length - 1] = { ...last, length: last.length + run.length };
    } else runs.push(run);
  };
  let ex = 0;
  // Free and excluded runs covering [from, to].
  const fill = (from: number, to: number) => {
    let at = from;
    while (at <= to) {
      while (ex < excluded.length && excluded[ex]!.to < at) ex++;
      const e = excluded[ex];
      if (!e || e.from > to) {
        push({ start: at, length: to - at + 1, state: 'free' });
        return;
      }
      if (e.from > at) {
        push({ start: at, length: e.from - at, state: 'free' });
        at = e.from;
      }
      const end = Math.min(e.to, to);
      push({ start: at, length: end - at + 1, state: 'excluded' });
      at = end + 1;
    }
  };
  let cursor = 0;
  for (const o of [...points.keys()].sort((a, b) => a - b)) {
    if (o > cursor) fill(cursor, o - 1);
    const p = points.get(o)!;
    push({ start: o, length: 1, state: p.state, ...(p.holder ? { holder: p.holder } : {}) });
    cursor = o + 1;
  }
  if (cursor < cells) fill(cursor, cells - 1);

  return {
    family,
    cidr: `${formatIp({ family, value: base })}/${fr.cidr.prefix}`,
    first: formatIp({ family, value: base }),
    cells,
    truncated: BigInt(cells) < size,
    runs,
    heldBeyond,
  };
}

export interface FamilyUsage {
  readonly family: Family;
  readonly cidr: string;
  /** Held addresses (the Subnet status's v4UsingIPs / v6UsingIPs). */
  readonly used: number;
  /** Still free to hand out (v4AvailableIPs / v6AvailableIPs; exact text in availableExact). */
  readonly available: number;
  readonly availableExact: string;
  /** Never handed out dynamically: excludeIps and the gateway. */
  readonly excluded: string;
  readonly usingRange: string;
}

/** Per family, as the Subnet status counts it. */
export function familyUsage(range: SubnetRange, counts: SubnetCounts): FamilyUsage[] {
  return range.families.map((fr) => {
    const v4 = fr.family === 4;
    return {
      family: fr.family,
      cidr: `${formatIp({ family: fr.family, value: fr.cidr.network })}/${fr.cidr.prefix}`,
      used: v4 ? counts.v4UsingIPs : counts.v6UsingIPs,
      available: v4 ? counts.v4AvailableIPs : counts.v6AvailableIPs,
      availableExact: v4 ? counts.v4AvailableIPsExact : counts.v6AvailableIPsExact,
      excluded: fr.excludedCount.toString(),
      usingRange: v4 ? counts.v4UsingIPRange : counts.v6UsingIPRange,
    };
  });
}

export interface SubnetOccupancy {
  readonly name: string;
  readonly protocol: SubnetRange['protocol'];
  readonly families: readonly { grid: FamilyGrid; usage: FamilyUsage }[];
}

export function subnetOccupancy(
  info: SubnetInfo,
  reservations: readonly Reservation[],
  counts: SubnetCounts,
  maxCells = MAX_CELLS,
): SubnetOccupancy {
  const range = rangeOf(info);
  const usage = familyUsage(range, counts);
  return {
    name: info.name,
    protocol: range.protocol,
    families: range.families.map((fr, i) => ({
      grid: familyGrid(fr, reservations, maxCells),
      usage: usage[i]!,
    })),
  };
}
