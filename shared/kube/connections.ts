// Up to `max` kept-alive connections to one origin, each an undici `Client`, handed out the way
// node's keep-alive agent hands out sockets: the connection freed last is reused first, a new one
// is opened only when every one is taken, and calls beyond `max` wait in order. undici's own `Pool`
// opens a new connection for a call that comes right after another one finished (it waits a turn
// of the event loop before reusing a connection), so sequential calls would spread over two
// connections and a burst after a burst would double them.
import { Client, type Dispatcher } from 'undici';

/** A call's handler that knows the connection it runs on (set by `dispatch`). */
export interface ConnectionCall extends Dispatcher.DispatchHandlers {
  conn: Client | undefined;
  /** True once the caller has given up (timed out): a waiting call is then dropped, not sent. */
  readonly gone: boolean;
}

export class Connections {
  /** Every connection, taken or not. */
  private readonly all = new Set<Client>();
  /** Connections with no call on them, the one freed last at the end. */
  private readonly idle: Client[] = [];
  private readonly waiting: Array<{ opts: Dispatcher.DispatchOptions; call: ConnectionCall }> = [];
  private closing = false;

  constructor(
    private readonly origin: string,
    private readonly max: number,
    private readonly options: Client.Options,
  ) {}

  /** Connections open or opening. */
  get size(): number {
    return this.all.size;
  }

  dispatch(opts: Dispatcher.DispatchOptions, call: ConnectionCall): void {
    if (this.closing) {
      call.onError?.(new Error(`${this.origin}: the connections are closed`));
      return;
    }
    let conn = this.idle.pop();
    if (!conn && this.all.size < this.max) {
      conn = new Client(this.origin, this.options);
      this.all.add(conn);
    }
    if (!conn) {
      this.waiting.push({ opts, call });
      return;
    }
    call.conn = conn;
    // A connection just freed may still be finishing the last answer: undici queues the call on
    // it and writes it once done. A connection whose socket has closed opens a new one.
    conn.dispatch(opts, call);
  }

  /** The call on `conn` has ended (answered or failed): the connection takes the next call. */
  release(conn: Client | undefined): void {
    if (!conn || !this.all.has(conn)) return;
    if (conn.destroyed || conn.closed) {
      this.all.delete(conn);
      return;
    }
    let next = this.waiting.shift();
    while (next?.call.gone) next = this.waiting.shift();
    if (next) {
      next.call.conn = conn;
      conn.dispatch(next.opts, next.call);
    } else if (this.closing) {
      this.all.delete(conn);
      conn.close().catch(() => {});
    } else {
      this.idle.push(conn);
    }
  }

  /** Lets the calls sent or waiting finish, then closes each connection. */
  close(): void {
    this.closing = true;
    for (const conn of this.idle.splice(0)) {
      this.all.delete(conn);
      conn.close().catch(() => {});
    }
  }

  /** Ends every connection now; calls in flight or waiting fail. */
  destroy(): void {
    this.closing = true;
    this.idle.splice(0);
    for (const w of this.waiting.splice(0))
      w.call.onError?.(new Error(`${this.origin}: the connections were closed`));
    const all = [...this.all];
    this.all.clear();
    for (const conn of all) conn.destroy().catch(() => {});
  }
}
