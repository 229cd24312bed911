// JSON-RPC 1.0 as OVSDB uses it, over any Duplex (TCP, unix socket, TLS): numbered requests with a
// per-request timeout, replies matched by id, `echo` requests from the server answered at once,
// and notifications (update2/update3/...) handed to a callback in arrival order.
import type { Duplex } from 'node:stream';
import { Disconnected, OvsdbError, RpcError, Timeout } from './errors.ts';
import { ChunkedMessage, JsonStreamSplitter } from './framing.ts';

/**
 * Messages this large are parsed a piece per macrotask (framing.ts): a monitor snapshot of 120,000
 * ports is 37 MB, seconds of JSON.parse in one go on a loaded machine, during which no event is served.
 */
const CHUNK_ABOVE_BYTES = 4 * 1024 * 1024;

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface RpcOptions {
  /** Default timeout of each request; 0 means none. */
  requestTimeoutMs?: number;
  onNotification?: (method: string, params: unknown[]) => void;
  /** Called once when the connection ends, with the reason if it was an error. */
  onClose?: (reason: Error | undefined) => void;
}

export class JsonRpcConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly splitter = new JsonStreamSplitter({ chunkAboveBytes: CHUNK_ABOVE_BYTES });
  /** Messages received and not yet dispatched: those behind a large one still being parsed wait for it. */
  private readonly inbox: unknown[] = [];
  private parsing = false;
  private closed = false;
  /** Time of the last byte received: the inactivity probe's clock. */
  lastReceivedAt = Date.now();

  constructor(
    private readonly stream: Duplex,
    private readonly opts: RpcOptions = {},
  ) {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err) => this.close(err));
    stream.on('close', () => this.close(new Disconnected('connection closed by peer')));
    stream.on('end', () => this.close(new Disconnected('connection closed by peer')));
  }

  get isClosed() {
    return this.closed;
  }

  request<T = unknown>(
    method: string,
    params: unknown[],
    timeoutMs = this.opts.requestTimeoutMs ?? 0,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Disconnected(`${method}: connection is closed`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { method, resolve: resolve as (v: unknown) => void, reject, timer: undefined };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Timeout(method, timeoutMs));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      this.write({ method, params, id });
    });
  }

  notify(method: string, params: unknown[]) {
    this.write({ method, params, id: null });
  }

  private write(msg: unknown) {
    if (this.closed) return;
    this.stream.write(JSON.stringify(msg));
  }

  private onData(chunk: Buffer) {
    this.lastReceivedAt = Date.now();
    let messages: unknown[];
    try {
      messages = this.splitter.push(chunk);
    } catch (err) {
      this.close(err as Error);
      return;
    }
    for (const m of messages) {
      // Behind a large message being parsed, only notifications keep their place (a monitor's
      // updates follow its snapshot). A reply, or the server's echo (it drops a connection whose
      // echo goes unanswered), is dispatched at once: an event's read does not wait for a
      // snapshot it never asked for.
      const msg = m as Record<string, unknown>;
      const notification = typeof msg.method === 'string' && (msg.id === null || msg.id === undefined);
      if (this.inbox.length > 0 && !(m instanceof ChunkedMessage) && !notification) this.dispatch(msg);
      else this.inbox.push(m);
    }
    this.drain();
  }

  /** Dispatches what is complete, in order; a large message is parsed one piece per macrotask. */
  private drain() {
    while (this.inbox.length > 0 && !this.closed) {
      const head = this.inbox[0];
      if (head instanceof ChunkedMessage && !head.done) {
        if (!this.parsing) {
          this.parsing = true;
          setImmediate(() => this.parseStep(head));
        }
        return;
      }
      this.inbox.shift();
      this.dispatch((head instanceof ChunkedMessage ? head.value : head) as Record<string, unknown>);
    }
  }

  private parseStep(m: ChunkedMessage) {
    if (this.closed) return;
    try {
      if (!m.step()) {
        setImmediate(() => this.parseStep(m));
        return;
      }
    } catch (err) {
      this.close(err as Error);
      return;
    }
    this.parsing = false;
    this.drain();
  }

  private dispatch(msg: Record<string, unknown>) {
    if (typeof msg.method === 'string') {
      const params = Array.isArray(msg.params) ? msg.params : [];
      if (msg.id === null || msg.id === undefined) {
        this.opts.onNotification?.(msg.method, params);
      } else if (msg.method === 'echo') {
        this.write({ result: params, error: null, id: msg.id });
      } else {
        this.write({ result: null, error: `unknown method ${msg.method}`, id: msg.id });
      }
      return;
    }
    const id = msg.id as number;
    const p = this.pending.get(id);
    if (!p) return; // a reply after its timeout: nobody waits for it any more
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (msg.error !== null && msg.error !== undefined) p.reject(new RpcError(p.method, msg.error));
    else p.resolve(msg.result);
  }

  /** Ends the connection; every request still waiting fails with `reason` (Disconnected by default). */
  close(reason?: Error) {
    if (this.closed) return;
    this.closed = true;
    const err =
      reason instanceof OvsdbError ? reason : new Disconnected(reason?.message ?? 'connection closed');
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.stream.destroy();
    this.opts.onClose?.(reason);
  }
}
