// How drift is shown to people: a fixed-width table (KIND OBJECT DETAIL REPAIR) and a summary.
import type { RepairReport } from './repair.ts';
import type { AuditCounts, Drift } from './types.ts';

const HEADERS = ['KIND', 'OBJECT', 'DETAIL', 'REPAIR'] as const;

/** Columns padded to their widest cell; DETAIL is cut at `maxDetail` characters (0 = never). */
export function driftTable(drifts: readonly Drift[], opts: { maxDetail?: number } = {}): string {
  const max = opts.maxDetail ?? 0;
  const cut = (s: string) => (max > 0 && s.length > max ? `${s.slice(0, max - 1)}…` : s);
  const rows = drifts.map((d) => [d.kind, d.object, cut(d.detail), d.repair]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), ...rows.map(line)].join('\n');
}

const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

export function countsText(c: AuditCounts): string {
  return [
    n(c.vips, 'Vip'),
    n(c.pods, 'pod'),
    n(c.reservations, 'reservation'),
    n(c.ports, 'NB port'),
    n(c.loadBalancers, 'NB load balancer'),
  ].join(', ');
}

/** `3 drifts (2 leaked-reservation, 1 orphan-port) in 12 Vips, ...` or `no drift in ...`. */
export function summaryLine(drifts: readonly Drift[], counts: AuditCounts): string {
  if (drifts.length === 0) return `no drift in ${countsText(counts)}`;
  const byKind = new Map<string, number>();
  for (const d of drifts) byKind.set(d.kind, (byKind.get(d.kind) ?? 0) + 1);
  const parts = [...byKind].map(([k, n]) => `${n} ${k}`).join(', ');
  return `${n(drifts.length, 'drift')} (${parts}) in ${countsText(counts)}`;
}

export function repairLine(r: RepairReport): string {
  return `repair: ${r.repaired} repaired, ${r.skipped.length} skipped, ${r.failed.length} failed`;
}
