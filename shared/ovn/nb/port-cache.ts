// A local copy of Logical_Switch_Port kept by a monitor, so the writer can find a port by name
// without asking the server (OVSDB has no index lookup in queries: a select by name scans every
// port, which made reads the cost that grew with the database). It may lag the server by a
// moment; that is safe because every write is still guarded on the server (unique name index,
// waits on _uuid + values read), and a guard that fails makes the writer look again.
import type { Monitor, OvsdbClient } from '../../ovsdb/client.ts';
import {
  atomString,
  OvsMap,
  optional,
  type Row,
  rowUpdate2FromJson,
  setValues,
  Uuid,
  type Value,
} from '../../ovsdb/protocol.ts';
import {
  type LogicalSwitchPort,
  LogicalSwitchPortColumns,
  logicalSwitchPortFromRow,
  Table,
} from './model.ts';
import { parentsOf } from './ops/logical-switch-port.ts';

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

const noop = () => {};

/** Rows applied per macrotask while a snapshot fills (about 10 ms of work here). */
const SLICE_ROWS = 2_000;

export interface PortCacheOpenOptions {
  /**
   * Ask for the monitor only once this settles. The first snapshot of 60,000 ports is one 15 MB
   * reply, parsed and applied on the process's only thread for about a second: a restarted replica
   * holds it back until it has taken its first events (reads ask the server meanwhile).
   */
  startAfter?: Promise<unknown>;
}

export class PortCache {
  /** The typed port of each row, made once per change rather than on every read (reads are per event). */
  private readonly ports = new Map<string, LogicalSwitchPort>();
  private readonly byName = new Map<string, string>();
  // Row ids by what the reconcilers look ports up by on every event, so that a lookup costs the
  // matches and not a scan of every port (which grew with the database: a pod event scanned
  // 100,000 ports for the virtual ports naming it a parent).
  private readonly byParent = new Map<string, Set<string>>();
  private readonly byPod = new Map<string, Set<string>>();
  private monitor: Monitor | undefined;
  private loading: Promise<unknown> = Promise.resolve();
  private requested = false;
  private failure: unknown;
  /**
   * Whether the current ports are loaded. Until then a reader must ask the server (the writer and
   * the wiring do): a process opened with `open` serves at once while the cache fills.
   */
  ready = false;

  private constructor() {}

  /** Starts the monitor and resolves once the current ports are loaded. */
  static async start(client: Pick<OvsdbClient, 'monitor'>): Promise<PortCache> {
    const cache = PortCache.open(client);
    await cache.loading;
    if (!cache.ready) throw cache.failure;
    return cache;
  }

  /**
   * Starts the monitor and returns at once; `ready` turns true once the current ports are loaded
   * (100,000 ports take seconds: a restarted replica takes events meanwhile). A monitor that could
   * not start leaves the cache not ready, so readers keep asking the server.
   */
  static open(client: Pick<OvsdbClient, 'monitor'>, opts: PortCacheOpenOptions = {}): PortCache {
    const cache = new PortCache();
    // Whatever the gate does (resolves or fails), the cache loads after it: it only picks the moment.
    const gate = opts.startAfter ? opts.startAfter.then(noop, noop) : Promise.resolve();
    cache.loading = gate
      .then(async () => {
        if (cache.closed) return;
        await cache.load(client);
        cache.ready = true;
      })
      .then(noop, (err: unknown) => {
        cache.failure = err;
      });
    return cache;
  }

  /** Whether the monitor was asked for (false while `startAfter` holds it back). */
  get requestedSnapshot(): boolean {
    return this.requested;
  }

  private closed = false;

  private async load(client: Pick<OvsdbClient, 'monitor'>): Promise<void> {
    this.requested = true;
    this.monitor = await client.monitor({
      tables: {
        [Table.LogicalSwitchPort]: { columns: LogicalSwitchPortColumns.filter((c) => c !== '_uuid') },
      },
      onRawUpdate: (updates, { reset }) => {
        if (reset) {
          this.backlog.length = 0;
          this.ports.clear();
          this.byName.clear();
          this.byParent.clear();
          this.byPod.clear();
        }
        const rows = Object.entries(updates[Table.LogicalSwitchPort] ?? {});
        // Small updates with nothing queued before them apply at once, as they come; a snapshot
        // (120,000 rows) goes in slices, and what arrives meanwhile queues behind it in order.
        if (this.backlog.length === 0 && rows.length <= this.sliceRows) this.apply(rows, 0, rows.length);
        else this.queue(rows);
      },
    });
    await this.drained();
  }

  /**
   * Rows waiting to be applied (a snapshot, then what arrived while it was), with where the first
   * one stands. Applied `sliceRows` at a time, each slice its own macrotask: events arriving
   * while a snapshot fills wait one slice, not the whole snapshot (seconds at 120,000 ports).
   */
  private readonly backlog: { rows: [string, Record<string, unknown>][]; at: number }[] = [];
  private pumping = false;
  private whenDrained: (() => void)[] = [];
  /** Rows per slice (a test makes it small to see events pass between slices). */
  sliceRows = SLICE_ROWS;

  /** Resolves once every row received so far is applied. */
  private drained(): Promise<void> {
    if (!this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.whenDrained.push(resolve));
  }

  private queue(rows: [string, Record<string, unknown>][]) {
    if (rows.length === 0) return;
    this.backlog.push({ rows, at: 0 });
    if (this.pumping) return;
    this.pumping = true;
    const step = () => {
      let budget = this.sliceRows;
      while (budget > 0 && this.backlog.length > 0 && !this.closed) {
        const head = this.backlog[0]!;
        const end = Math.min(head.rows.length, head.at + budget);
        this.apply(head.rows, head.at, end);
        budget -= end - head.at;
        head.at = end;
        if (head.at === head.rows.length) this.backlog.shift();
      }
      if (this.backlog.length > 0 && !this.closed) {
        setImmediate(step);
        return;
      }
      this.pumping = false;
      for (const resolve of this.whenDrained.splice(0)) resolve();
    };
    setImmediate(step);
  }

  private apply(rows: [string, Record<string, unknown>][], from: number, to: number) {
    for (let i = from; i < to; i++) {
      const [id, json] = rows[i]!;
      const change = rowUpdate2FromJson(json);
      if (!change) continue;
      const old = this.ports.get(id);
      if (old) {
        this.byName.delete(old.name);
        this.index(id, old, false);
      }
      if ('delete' in change) {
        this.ports.delete(id);
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
      this.ports.set(id, Object.freeze(port));
      this.byName.set(port.name, id);
      this.index(id, port, true);
    }
  }

  private index(id: string, port: LogicalSwitchPort, add: boolean) {
    const keys: [Map<string, Set<string>>, string][] = [];
    if (port.type === 'virtual') for (const p of parentsOf(port)) keys.push([this.byParent, p]);
    if (port.externalIds.pod) keys.push([this.byPod, port.externalIds.pod]);
    for (const [map, key] of keys) {
      const ids = map.get(key) ?? new Set<string>();
      if (add) map.set(key, ids.add(id));
      else if (ids.delete(id) && ids.size === 0) map.delete(key);
    }
  }

  private lookup(map: Map<string, Set<string>>, key: string): LogicalSwitchPort[] {
    return [...(map.get(key) ?? [])].map((id) => this.ports.get(id)).filter((p) => p !== undefined);
  }

  /** Virtual ports whose `virtual-parents` name this port. */
  virtualPortsWithParent(parent: string): LogicalSwitchPort[] {
    return this.lookup(this.byParent, parent);
  }

  /** Ports whose external_ids:pod is `namespace/name`. */
  portsOfPod(pod: string): LogicalSwitchPort[] {
    return this.lookup(this.byPod, pod);
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
    // A cache still waiting for its gate never asks for the monitor (nor waits for the gate).
    this.closed = true;
    if (!this.requested) return;
    await this.loading;
    await this.monitor?.cancel();
  }
}
