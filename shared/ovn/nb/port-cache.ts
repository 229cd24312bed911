// A local copy of Logical_Switch_Port kept by a monitor, so the writer can find a port by name
// without asking the server (OVSDB has no index lookup in queries: a select by name scans every
// port, which made reads the cost that grew with the database). It may lag the server by a
// moment; that is safe because every write is still guarded on the server (unique name index,
// waits on _uuid + values read), and a guard that fails makes the writer look again.
import type { Monitor, OvsdbClient } from '../../ovsdb/client.ts';
import { atomString, OvsMap, optional, type Row, setValues, Uuid, type Value } from '../../ovsdb/protocol.ts';
import {
  type LogicalSwitchPort,
  LogicalSwitchPortColumns,
  logicalSwitchPortFromRow,
  Table,
} from './model.ts';

/** Set elements in an update2 diff are toggled: present ones leave, absent ones join (order kept). */
function toggled(current: readonly string[], diff: Value): string[] {
  const out = new Set(current);
  for (const a of setValues(diff)) {
    const v = atomString(a);
    if (!out.delete(v)) out.add(v);
  }
  return [...out];
}

/** Map keys in an update2 diff: the same value removes the key, another value sets it. */
function mapWithDiff(current: Readonly<Record<string, string>>, diff: Value): Record<string, string> {
  const out = { ...current };
  if (diff instanceof OvsMap) {
    for (const [k, v] of diff.entries) {
      const key = atomString(k);
      const value = atomString(v);
      if (out[key] === value) delete out[key];
      else out[key] = value;
    }
  }
  return out;
}

/**
 * A port with an update2 `modify` diff applied (RFC 7047 extension semantics), straight on the
 * typed port: the cache keeps one object per port, not a raw row beside it, and a change copies
 * only that port. Columns the cache does not monitor are ignored.
 */
export function applyPortDiff(port: LogicalSwitchPort, diff: Row): LogicalSwitchPort {
  const next: LogicalSwitchPort = { ...port };
  for (const [col, d] of Object.entries(diff)) {
    switch (col) {
      case 'name':
      case 'type':
        next[col] = atomString(optional(d) ?? '');
        break;
      case 'addresses':
        next.addresses = toggled(port.addresses, d);
        break;
      case 'port_security':
        next.portSecurity = toggled(port.portSecurity ?? [], d);
        break;
      case 'options':
        next.options = mapWithDiff(port.options, d);
        break;
      case 'external_ids':
        next.externalIds = mapWithDiff(port.externalIds, d);
        break;
      case 'up': {
        // An optional column's diff carries its new value (an empty set: now unset).
        const up = optional(d);
        if (typeof up === 'boolean') next.up = up;
        else delete next.up;
        break;
      }
    }
  }
  return next;
}

export class PortCache {
  /** The typed port of each row, made once per change rather than on every read (reads are per event). */
  private readonly ports = new Map<string, LogicalSwitchPort>();
  private readonly byName = new Map<string, string>();
  private monitor: Monitor | undefined;

  private constructor() {}

  /** Starts the monitor and resolves once the current ports are loaded. */
  static async start(client: Pick<OvsdbClient, 'monitor'>): Promise<PortCache> {
    const cache = new PortCache();
    cache.monitor = await client.monitor({
      tables: {
        [Table.LogicalSwitchPort]: { columns: LogicalSwitchPortColumns.filter((c) => c !== '_uuid') },
      },
      onUpdate: (updates, { reset }) => {
        if (reset) {
          cache.ports.clear();
          cache.byName.clear();
        }
        for (const [id, change] of Object.entries(updates[Table.LogicalSwitchPort] ?? {})) {
          const old = cache.ports.get(id);
          if (old) cache.byName.delete(old.name);
          if ('delete' in change) {
            cache.ports.delete(id);
            continue;
          }
          let port: LogicalSwitchPort;
          if ('modify' in change) {
            // A consistent monitor never modifies a row it has not sent: skip rather than invent half a port.
            if (!old) continue;
            port = applyPortDiff(old, change.modify);
          } else {
            // The decoded row is this update's own: name it in place rather than copy it.
            const row = 'initial' in change ? change.initial : change.insert;
            row._uuid = new Uuid(id);
            port = logicalSwitchPortFromRow(row);
          }
          cache.ports.set(id, Object.freeze(port));
          cache.byName.set(port.name, id);
        }
      },
    });
    return cache;
  }

  get size() {
    return this.ports.size;
  }

  /** The port as last seen (shared and frozen: copy before changing). */
  get(name: string): LogicalSwitchPort | undefined {
    const id = this.byName.get(name);
    return id ? this.ports.get(id) : undefined;
  }

  /** Every cached port (a snapshot; callers filter, e.g. by external_ids or options). */
  all(): LogicalSwitchPort[] {
    return [...this.ports.values()];
  }

  async close() {
    await this.monitor?.cancel();
  }
}
