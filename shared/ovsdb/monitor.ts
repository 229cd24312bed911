// Monitors as the client's callers see them (what to watch, the handler, the handle to cancel) and
// as the client keeps them across reconnects (the last transaction id, for monitor_cond_since).
import {
  type MonitorRequest,
  type RawTableUpdates,
  type TableUpdates2,
  tableUpdates2FromJson,
} from './protocol.ts';

export type MonitorUpdateHandler = (updates: TableUpdates2, info: { reset: boolean }) => void;

export type RawMonitorUpdateHandler = (updates: RawTableUpdates, info: { reset: boolean }) => void;

export interface MonitorSpec {
  tables: Record<string, MonitorRequest>;
  /** `reset: true` means `updates` is the full current state: drop what you kept before. */
  onUpdate?: MonitorUpdateHandler;
  /**
   * Instead of onUpdate: the rows' changes as JSON, for a handler that decodes them itself (a
   * snapshot of 120,000 rows decoded in one go holds the thread; the port cache does it in slices).
   */
  onRawUpdate?: RawMonitorUpdateHandler;
}

export interface Monitor {
  readonly id: string;
  /** The last transaction id seen (monitor_cond_since), or the zero uuid. */
  readonly lastTxnId: string;
  cancel(): Promise<void>;
}

/** A monitor as the client keeps it across reconnects. */
export interface MonitorState {
  id: string;
  spec: MonitorSpec;
  lastTxnId: string;
  /** False until the server accepted this monitor on the current connection. */
  live: boolean;
  firstDelivery: () => void;
}

/** Hands an update to the monitor's handler: raw JSON, or decoded rows. */
export function deliver(spec: MonitorSpec, json: unknown, reset: boolean) {
  if (spec.onRawUpdate) {
    const raw = json && typeof json === 'object' ? (json as RawTableUpdates) : {};
    spec.onRawUpdate(raw, { reset });
  } else spec.onUpdate?.(tableUpdates2FromJson(json), { reset });
}
