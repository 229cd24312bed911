// A small OVSDB client: one connection at a time to one of several remotes, leader-only through
// the `_Server` database, reconnect with backoff, monitors resumed with monitor_cond_since, an
// inactivity probe, and `transact` that waits (bounded) while disconnected. Schema-agnostic.
import { EventEmitter } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import {
  ClientClosed,
  Disconnected,
  NotConnected,
  NotLeader,
  operationError,
  RpcError,
  Timeout,
} from './errors.ts';
import { deliver, type Monitor, type MonitorSpec, type MonitorState } from './monitor.ts';
import {
  monitorRequestToJson,
  type Operation,
  type OperationResult,
  operationToJson,
  optional,
  resultFromJson,
  tableUpdates2FromJson,
  where,
  ZERO_UUID,
} from './protocol.ts';
import { JsonRpcConnection } from './rpc.ts';
import { openStream } from './transport.ts';

export type { Monitor, MonitorSpec, MonitorUpdateHandler, RawMonitorUpdateHandler } from './monitor.ts';

export interface ReconnectOptions {
  /** Default true. Without it the first drop leaves the client disconnected for good. */
  enabled?: boolean;
  /** Delay before round `n` over the remotes (0-based, reset after each successful connection). */
  backoff?: (attempt: number) => number;
}

export interface OvsdbClientOptions {
  /** `tcp:H:P`, `unix:/path` or `ssl:H:P`; tried in order, rotating after each failure. */
  remotes: string[];
  database: string;
  /** Treat a clustered server that is not the Raft leader as unusable. */
  leaderOnly?: boolean;
  /** TLS options for `ssl:` remotes (key, cert, ca, checkServerIdentity, ...). */
  tls?: ConnectionOptions;
  reconnect?: ReconnectOptions;
  /** Send an echo after this long without traffic; drop the connection if it is not answered. 0 = off. */
  inactivityProbeMs?: number;
  /** Default bound of each request, and of how long a call waits for a connection. */
  requestTimeoutMs?: number;
  /** Bound of opening a connection and its handshake (`_Server` check, monitors). */
  connectTimeoutMs?: number;
}

export const defaultBackoff = (attempt: number) =>
  Math.min(1000, 50 * 2 ** attempt) * (0.75 + Math.random() * 0.25);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface OvsdbClientEvents {
  connected: [remote: string];
  disconnected: [remote: string, reason: string];
  /** A connection attempt failed (unreachable, not the leader, handshake timeout). */
  attemptFailed: [remote: string, reason: string];
  /** One transaction ended: its duration and, when it failed, the error's name (for metrics). */
  transacted: [ms: number, error: string | undefined];
}

export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  private conn: JsonRpcConnection | undefined;
  private usable = false;
  private closed = false;
  /** Reconnect is off and the one connection attempt failed or ended. */
  private gaveUp = false;
  private remoteIndex = 0;
  private currentRemoteName: string | undefined;
  private waiters = new Set<() => void>();
  private monitors = new Map<string, MonitorState>();
  private nextMonitor = 1;
  private probeTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly o: Required<Omit<OvsdbClientOptions, 'tls' | 'reconnect'>> & {
    tls: ConnectionOptions;
    reconnect: Required<ReconnectOptions>;
  };

  constructor(options: OvsdbClientOptions) {
    super();
    if (options.remotes.length === 0) throw new TypeError('OvsdbClient needs at least one remote');
    this.o = {
      remotes: [...options.remotes],
      database: options.database,
      leaderOnly: options.leaderOnly ?? false,
      tls: options.tls ?? {},
      reconnect: {
        enabled: options.reconnect?.enabled ?? true,
        backoff: options.reconnect?.backoff ?? defaultBackoff,
      },
      inactivityProbeMs: options.inactivityProbeMs ?? 5_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    };
  }

  /** Creates a client and waits for its first usable connection (bounded by requestTimeoutMs). */
  static async connect(options: OvsdbClientOptions): Promise<OvsdbClient> {
    const client = new OvsdbClient(options);
    client.start();
    try {
      await client.ready();
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  get database() {
    return this.o.database;
  }
  get isConnected() {
    return this.usable && !this.closed;
  }
  /** The remote of the current usable connection, if any. */
  get remote(): string | undefined {
    return this.usable ? this.currentRemoteName : undefined;
  }

  /** Starts connecting in the background (idempotent). */
  start() {
    if (!this.loop && !this.closed) this.loop = this.run();
  }

  /** Resolves once connected; rejects with NotConnected after `timeoutMs`. */
  async ready(timeoutMs = this.o.requestTimeoutMs): Promise<void> {
    await this.connection(Date.now() + timeoutMs);
  }

  private async run() {
    let attempt = 0;
    while (!this.closed) {
      const remote = this.o.remotes[this.remoteIndex % this.o.remotes.length]!;
      let closedPromise: Promise<string> | undefined;
      try {
        closedPromise = (await this.establish(remote)).ended;
        attempt = 0;
      } catch (err) {
        this.emit('attemptFailed', remote, (err as Error).message);
      }
      if (closedPromise) {
        const reason = await closedPromise;
        this.setUnusable();
        if (!this.closed) this.emit('disconnected', remote, reason);
      }
      if (this.closed) break;
      if (!this.o.reconnect.enabled) {
        this.gaveUp = true;
        this.failWaiters();
        break;
      }
      // Rotate, so a dead, stuck or follower server is left for the next one. The backoff grows
      // per round over all remotes: the next remote of a round is tried at once.
      this.remoteIndex++;
      const endOfRound = this.remoteIndex % this.o.remotes.length === 0;
      const delay = endOfRound || closedPromise ? this.o.reconnect.backoff(attempt++) : 0;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, delay);
      });
      this.wake = undefined;
    }
  }

  /** Opens, checks and prepares one connection. Resolves with a promise of its end. */
  private async establish(remote: string): Promise<{ ended: Promise<string> }> {
    const deadlineMs = this.o.connectTimeoutMs;
    const socket = await openStream(remote, deadlineMs, this.o.tls);
    let onEnd!: (reason: string) => void;
    const ended = new Promise<string>((r) => {
      onEnd = r;
    });
    const conn = new JsonRpcConnection(socket, {
      requestTimeoutMs: this.o.requestTimeoutMs,
      onNotification: (method, params) => this.onNotification(conn, method, params),
      onClose: (reason) => onEnd(reason?.message ?? 'closed'),
    });
    this.conn = conn;
    this.currentRemoteName = remote;
    try {
      if (this.closed) throw new ClientClosed('client closed');
      await this.checkServer(conn, deadlineMs);
      for (const m of [...this.monitors.values()]) {
        await this.sendMonitor(conn, m, deadlineMs).catch((err) => {
          // The server refuses this monitor itself (bad table or column): drop it, keep the rest.
          if (!(err instanceof RpcError)) throw err;
          this.monitors.delete(m.id);
        });
      }
    } catch (err) {
      conn.close(err as Error);
      throw err;
    }
    if (conn.isClosed) throw new Disconnected('connection closed during handshake');
    this.usable = true;
    this.startProbe(conn);
    this.emit('connected', remote);
    for (const w of this.waiters) w();
    this.waiters.clear();
    return { ended };
  }

  /** Uses `_Server` to refuse a server that does not serve the database, is cut off from its cluster, or (leaderOnly) follows. */
  private async checkServer(conn: JsonRpcConnection, timeoutMs: number) {
    if (this.o.database === '_Server') return;
    const reply = await conn.request<unknown[]>(
      'transact',
      [
        '_Server',
        operationToJson({
          op: 'select',
          table: 'Database',
          where: [where('name', '==', this.o.database)],
          columns: ['model', 'connected', 'leader'],
        }),
      ],
      timeoutMs,
    );
    const rows = resultFromJson(reply[0]).rows ?? [];
    const row = rows[0];
    if (!row) throw new Error(`server does not serve database ${this.o.database}`);
    if (optional(row.model) === 'clustered') {
      if (optional(row.connected) !== true) throw new Error('server is not connected to its cluster');
      if (this.o.leaderOnly && optional(row.leader) !== true)
        throw new Error('server is not the cluster leader');
      // Watch for losing leadership or the cluster while connected.
      const id = '_server';
      const initial = await conn.request<unknown>(
        'monitor_cond',
        [
          '_Server',
          id,
          { Database: [{ columns: ['connected', 'leader'], where: [['name', '==', this.o.database]] }] },
        ],
        timeoutMs,
      );
      this.checkServerUpdate(conn, initial);
    }
  }

  private checkServerUpdate(conn: JsonRpcConnection, json: unknown) {
    const updates = tableUpdates2FromJson(json);
    for (const change of Object.values(updates.Database ?? {})) {
      const row =
        'initial' in change
          ? change.initial
          : 'insert' in change
            ? change.insert
            : 'modify' in change
              ? change.modify
              : undefined;
      if (!row) continue;
      if (optional(row.connected) === false) conn.close(new Disconnected('server lost its cluster'));
      if (this.o.leaderOnly && optional(row.leader) === false)
        conn.close(new Disconnected('server is no longer the leader'));
    }
  }

  private onNotification(conn: JsonRpcConnection, method: string, params: unknown[]) {
    if (conn !== this.conn) return;
    if (params[0] === '_server' && method === 'update2') {
      this.checkServerUpdate(conn, params[1]);
      return;
    }
    const m = this.monitors.get(String(params[0]));
    if (!m) return;
    if (method === 'update3') {
      m.lastTxnId = String(params[1]);
      deliver(m.spec, params[2], false);
    } else if (method === 'update2') {
      deliver(m.spec, params[1], false);
    }
  }

  private async sendMonitor(conn: JsonRpcConnection, m: MonitorState, timeoutMs: number) {
    const requests: Record<string, unknown> = {};
    for (const [table, r] of Object.entries(m.spec.tables)) requests[table] = [monitorRequestToJson(r)];
    const resuming = m.lastTxnId !== ZERO_UUID;
    try {
      const [found, lastTxnId, updates] = await conn.request<[boolean, string, unknown]>(
        'monitor_cond_since',
        [this.o.database, m.id, requests, m.lastTxnId],
        timeoutMs,
      );
      m.lastTxnId = lastTxnId;
      m.live = true;
      // Not found: the server could not resume from our txn id, so this is the whole state again.
      deliver(m.spec, updates, !(resuming && found));
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      // A server without monitor_cond_since: plain monitor_cond, always a full resend.
      const updates = await conn.request<unknown>(
        'monitor_cond',
        [this.o.database, m.id, requests],
        timeoutMs,
      );
      m.live = true;
      deliver(m.spec, updates, true);
    }
    m.firstDelivery();
  }

  private startProbe(conn: JsonRpcConnection) {
    this.stopProbe();
    const every = this.o.inactivityProbeMs;
    if (every <= 0) return;
    let probing = false;
    this.probeTimer = setInterval(
      () => {
        if (conn.isClosed || probing || Date.now() - conn.lastReceivedAt < every) return;
        probing = true;
        conn
          .request('echo', ['probe'], every)
          .catch(() => conn.close(new Disconnected(`no reply to echo within ${every} ms`)))
          .finally(() => {
            probing = false;
          });
      },
      Math.max(10, Math.floor(every / 4)),
    );
    this.probeTimer.unref();
  }

  private stopProbe() {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private setUnusable() {
    this.usable = false;
    this.stopProbe();
    for (const m of this.monitors.values()) m.live = false;
  }

  private failWaiters() {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  /** The current usable connection, waiting for one until `deadline`. */
  private async connection(deadline: number): Promise<JsonRpcConnection> {
    for (;;) {
      if (this.closed) throw new ClientClosed('client is closed');
      if (this.usable && this.conn && !this.conn.isClosed) return this.conn;
      const left = deadline - Date.now();
      if (left <= 0 || this.gaveUp) {
        throw new NotConnected(`not connected to ${this.o.database} at ${this.o.remotes.join(',')}`);
      }
      this.start();
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /**
   * Sends one transaction. Resolves with each operation's result; rejects with the typed error of
   * the first failed operation (WaitFailed, ConstraintViolation, ...), NotConnected, Disconnected
   * (outcome unknown) or Timeout.
   */
  async transact(ops: readonly Operation[], opts: { timeoutMs?: number } = {}): Promise<OperationResult[]> {
    if (this.listenerCount('transacted') === 0) return this.transactOnce(ops, opts);
    const start = performance.now();
    try {
      const results = await this.transactOnce(ops, opts);
      this.emit('transacted', performance.now() - start, undefined);
      return results;
    } catch (err) {
      this.emit('transacted', performance.now() - start, (err as Error).name || 'Error');
      throw err;
    }
  }

  private async transactOnce(
    ops: readonly Operation[],
    opts: { timeoutMs?: number },
  ): Promise<OperationResult[]> {
    const timeoutMs = opts.timeoutMs ?? this.o.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const conn = await this.connection(deadline);
    const json = ops.map(operationToJson);
    const reply = await conn.request<unknown[]>(
      'transact',
      [this.o.database, ...json],
      Math.max(1, deadline - Date.now()),
    );
    const results = reply.map(resultFromJson);
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (r.error !== undefined) {
        const err = operationError(i, json[i], r.error, r.details);
        // A clustered server that lost leadership: look for the new leader.
        if (err instanceof NotLeader) conn.close(new Disconnected(err.message));
        throw err;
      }
    }
    return results;
  }

  /** Starts a monitor (monitor_cond_since), kept across reconnects. Resolves after the initial state was delivered. */
  async monitor(spec: MonitorSpec, opts: { timeoutMs?: number } = {}): Promise<Monitor> {
    const id = `m${this.nextMonitor++}`;
    let firstDelivery!: () => void;
    const delivered = new Promise<void>((r) => {
      firstDelivery = r;
    });
    const state: MonitorState = { id, spec, lastTxnId: ZERO_UUID, live: false, firstDelivery };
    this.monitors.set(id, state);
    const deadline = Date.now() + (opts.timeoutMs ?? this.o.requestTimeoutMs);
    try {
      const conn = await this.connection(deadline);
      // If this connection drops first, the next one sends it (establish re-sends every monitor).
      if (!state.live) {
        await this.sendMonitor(conn, state, Math.max(1, deadline - Date.now())).catch((err) => {
          if (!(err instanceof Disconnected || err instanceof Timeout)) throw err;
        });
      }
      await Promise.race([
        delivered,
        sleep(Math.max(0, deadline - Date.now())).then(() => {
          throw new NotConnected(`monitor ${id}: no initial state before the deadline`);
        }),
      ]);
    } catch (err) {
      this.monitors.delete(id);
      throw err;
    }
    return {
      id,
      get lastTxnId() {
        return state.lastTxnId;
      },
      cancel: async () => {
        this.monitors.delete(id);
        const conn = this.conn;
        if (conn && this.usable && state.live) await conn.request('monitor_cancel', [id]).catch(() => {});
      },
    };
  }

  async echo(timeoutMs = this.o.requestTimeoutMs): Promise<void> {
    const conn = await this.connection(Date.now() + timeoutMs);
    await conn.request('echo', ['echo'], timeoutMs);
  }

  async getSchema(database = this.o.database): Promise<unknown> {
    const conn = await this.connection(Date.now() + this.o.requestTimeoutMs);
    return conn.request('get_schema', [database]);
  }

  /** Ends the connection and every wait; pending calls fail with ClientClosed. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.stopProbe();
    this.usable = false;
    this.conn?.close(new ClientClosed('client closed'));
    this.wake?.();
    this.failWaiters();
  }
}
