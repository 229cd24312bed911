// A local copy of Logical_Switch_Port kept by a monitor, so the writer can find a port by name
// without asking the server (OVSDB has no index lookup in queries: a select by name scans every
// port, which made reads the cost that grew with the database). It may lag the server by a
// moment; that is safe because every write is still guarded on the server (unique name index,
// waits on _uuid + values read), and a guard that fails makes the writer look again.
import type { Monitor, OvsdbClient } from '../../ovsdb/client.ts';
import { applyModify, type ColumnKinds, type Row, Uuid } from '../../ovsdb/protocol.ts';
import {
  type LogicalSwitchPort,
  LogicalSwitchPortColumns,
  logicalSwitchPortFromRow,
  Table,
} from './model.ts';
import { parentsOf } from './ops/logical-switch-port.ts';

const KINDS: ColumnKinds = {
  name: 'atom',
  type: 'atom',
  addresses: 'set',
  options: 'map',
  external_ids: 'map',
  port_security: 'set',
  // optional boolean: replaced, not toggled (see columnKinds)
  up: 'atom',
};

export class PortCache {
  private readonly rows = new Map<string, Row>();
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
  static open(client: Pick<OvsdbClient, 'monitor'>): PortCache {
    const cache = new PortCache();
    cache.loading = cache.load(client).then(
      () => {
        cache.ready = true;
      },
      (err: unknown) => {
        cache.failure = err;
      },
    );
    return cache;
  }

  private failure: unknown;

  private async load(client: Pick<OvsdbClient, 'monitor'>): Promise<void> {
    this.monitor = await client.monitor({
      tables: {
        [Table.LogicalSwitchPort]: { columns: LogicalSwitchPortColumns.filter((c) => c !== '_uuid') },
      },
      onUpdate: (updates, { reset }) => {
        if (reset) {
          this.rows.clear();
          this.ports.clear();
          this.byName.clear();
          this.byParent.clear();
          this.byPod.clear();
        }
        for (const [id, change] of Object.entries(updates[Table.LogicalSwitchPort] ?? {})) {
          const old = this.rows.get(id);
          if (old) this.byName.delete(String(old.name));
          const oldPort = this.ports.get(id);
          if (oldPort) this.index(id, oldPort, false);
          if ('delete' in change) {
            this.rows.delete(id);
            this.ports.delete(id);
            continue;
          }
          const row =
            'modify' in change
              ? applyModify(old ?? {}, change.modify, KINDS)
              : { ...('initial' in change ? change.initial : change.insert) };
          this.rows.set(id, row);
          const port = Object.freeze(logicalSwitchPortFromRow({ ...row, _uuid: new Uuid(id) }));
          this.ports.set(id, port);
          this.index(id, port, true);
          this.byName.set(String(row.name), id);
        }
      },
    });
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
    return this.rows.size;
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
    await this.loading;
    await this.monitor?.cancel();
  }
}
