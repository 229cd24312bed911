// Which parent OVN binds each Vip's address to, read from the southbound Port_Binding of its
// virtual port(s) (`virtual_parent`, set by ovn-controller when a parent sends a gratuitous ARP /
// NA for the address). Pure: the sync loop feeds rows in and writes what this returns.
import { vipOfPort } from '../domain/ownership.ts';
import { type Row, setValues, type TableUpdates2 } from '../ovsdb/protocol.ts';

export const PORT_BINDING = 'Port_Binding';
export const BINDING_COLUMNS = ['logical_port', 'type', 'virtual_parent'] as const;
// Each monitored column holds at most one element, so update2 sends its new value, not a set diff
// (ovsdb-server 3.1 sends `{"modify":{"virtual_parent":"p2"}}` for p1 -> p2 and an empty set when
// cleared). A generic set-toggling apply would turn p1 -> p2 into {p1, p2}: replace instead.
const replaceColumns = (row: Row, diff: Row): Row => ({ ...row, ...diff });

/** One virtual port's binding: the parent port OVN currently sends its address to ('' = none). */
export interface VirtualBinding {
  logicalPort: string;
  virtualParent: string;
}

/** The Vip a virtual port belongs to: `<vip>` (first family) or `<vip>_v6` (second family). */
export function vipOfVirtualPort(port: string): string {
  return vipOfPort(port);
}

export function bindingFromRow(row: Row): VirtualBinding {
  return {
    logicalPort: String(row.logical_port ?? ''),
    virtualParent: setValues(row.virtual_parent).map(String)[0] ?? '',
  };
}

/** Applies one monitor update to the rows kept by uuid (a `reset` starts from nothing). */
export function applyBindingUpdates(
  rows: Map<string, Row>,
  updates: TableUpdates2,
  reset: boolean,
): Map<string, Row> {
  const next = reset ? new Map<string, Row>() : new Map(rows);
  for (const [uuid, change] of Object.entries(updates[PORT_BINDING] ?? {})) {
    if ('initial' in change) next.set(uuid, change.initial);
    else if ('insert' in change) next.set(uuid, change.insert);
    else if ('modify' in change) next.set(uuid, replaceColumns(next.get(uuid) ?? {}, change.modify));
    else next.delete(uuid);
  }
  return next;
}

/**
 * The holder of every Vip that has a virtual port: the parent of its first-family port, else of
 * its second (a dual-stack Vip claimed over one family only); '' while unclaimed. This is the
 * same rule as shared/ovn/sb's vipHolder, so the two writers never disagree.
 */
export function holdersByVip(bindings: Iterable<VirtualBinding>): Map<string, string> {
  const parts = new Map<string, { first: string; second: string }>();
  for (const b of bindings) {
    const vip = vipOfVirtualPort(b.logicalPort);
    const p = parts.get(vip) ?? { first: '', second: '' };
    if (b.logicalPort === vip) p.first = b.virtualParent;
    else p.second = b.virtualParent;
    parts.set(vip, p);
  }
  const out = new Map<string, string>();
  for (const [vip, p] of parts) out.set(vip, p.first || p.second);
  return out;
}

/**
 * The status writes that bring what the Vips show to what OVN binds. A Vip that shows a holder
 * but has no virtual port any more is cleared; a Vip without a port that shows nothing is left alone.
 */
export function holderChanges(
  desired: ReadonlyMap<string, string>,
  shown: ReadonlyMap<string, string>,
): { vip: string; holder: string }[] {
  const out: { vip: string; holder: string }[] = [];
  for (const [vip, holder] of desired) if ((shown.get(vip) ?? '') !== holder) out.push({ vip, holder });
  for (const [vip, holder] of shown) if (!desired.has(vip) && holder !== '') out.push({ vip, holder: '' });
  return out.sort((a, b) => a.vip.localeCompare(b.vip));
}
