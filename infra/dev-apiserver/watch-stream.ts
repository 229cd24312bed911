// One watch as an HTTP response: newline-delimited JSON events, optional bookmarks, the Table
// form, and a too-old resourceVersion answered as kube-apiserver does (200, one ERROR event, end).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { storedEvent } from './encoding.ts';
import { ApiError } from './errors.ts';
import { groupVersion, type ResourceInfo } from './resources.ts';
import type { KubeObject } from './selectors.ts';
import type { Store, WatchEvent } from './store.ts';
import { type IncludeObject, toTable } from './table.ts';

export interface WatchRequest {
  /** the resource whose objects are watched (the storage one of a view) */
  info: ResourceInfo;
  /** the resource as the client asked for it (its kind, columns); `info` when absent */
  served?: ResourceInfo;
  /** turns a stored object into the served shape (a view's); events are then encoded per watch */
  convert?: (o: KubeObject) => KubeObject;
  namespace?: string;
  matcher: (o: KubeObject) => boolean;
  resourceVersion?: string;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds: number;
  asTable: boolean;
  includeObject: IncludeObject;
}

/** Open watch responses, so a test can cut them all (a dropped connection) or the server close them. */
export class WatchRegistry {
  /** each open watch and how to end it cleanly (after its pending events) */
  private readonly open = new Map<ServerResponse, () => void>();

  add(res: ServerResponse, end: () => void): void {
    this.open.set(res, end);
  }

  remove(res: ServerResponse): void {
    this.open.delete(res);
  }

  /** Destroys every socket abruptly; returns how many watches were open. */
  drop(): number {
    const n = this.open.size;
    for (const res of this.open.keys()) res.socket?.destroy();
    this.open.clear();
    return n;
  }

  /** Ends every watch cleanly. */
  close(): void {
    for (const end of this.open.values()) end();
    this.open.clear();
  }
}

export function serveWatch(
  store: Store,
  registry: WatchRegistry,
  bookmarkIntervalMs: number,
  w: WatchRequest,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const { info } = w;
  const served = w.served ?? info;
  const convert = w.convert;
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-cache, private',
    'transfer-encoding': 'chunked',
  });
  res.flushHeaders();
  // Events of one turn of the event loop go out as one write, as kube-apiserver flushes only once
  // its queue of events is empty: one TLS record and one wake-up of the client instead of many.
  let pending: Buffer[] = [];
  let flushing = false;
  const flush = () => {
    flushing = false;
    if (pending.length === 0) return;
    const bytes = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    pending = [];
    if (!res.writableEnded && !res.destroyed) res.write(bytes);
  };
  const sendLine = (line: Buffer) => {
    pending.push(line);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };
  const send = (event: unknown) => sendLine(Buffer.from(`${JSON.stringify(event)}\n`));
  // The line's bytes are shared with every other watcher, its object's JSON with the write's reply.
  const render = (ev: WatchEvent) =>
    w.asTable
      ? send({
          type: ev.type,
          object: toTable(served, [convert ? convert(ev.object) : ev.object], {
            includeObject: w.includeObject,
          }),
        })
      : convert
        ? send({ type: ev.type, object: convert(ev.object) })
        : sendLine(storedEvent(ev.type, ev.object));
  const bookmark = (annotations?: Record<string, string>) =>
    send({
      type: 'BOOKMARK',
      object: {
        kind: served.kind,
        apiVersion: groupVersion(served),
        metadata: { resourceVersion: store.resourceVersion, ...(annotations ? { annotations } : {}) },
      },
    });
  let stop: () => void;
  try {
    stop = store.watch(
      info,
      { namespace: w.namespace, matcher: w.matcher, resourceVersion: w.resourceVersion },
      render,
    );
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message);
    res.end(`${JSON.stringify({ type: 'ERROR', object: e.toStatus() })}\n`);
    return;
  }
  if (w.allowBookmarks && w.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
  const timers: NodeJS.Timeout[] = [];
  if (w.allowBookmarks) timers.push(setInterval(() => bookmark(), bookmarkIntervalMs));
  // What is pending goes out before the end, in the same order as it was sent.
  const end = () => {
    if (flushing) flush();
    res.end();
  };
  if (w.timeoutSeconds > 0) timers.push(setTimeout(end, w.timeoutSeconds * 1000));
  registry.add(res, end);
  const cleanup = () => {
    stop();
    for (const t of timers) clearTimeout(t);
    registry.remove(res);
  };
  res.on('close', cleanup);
  req.on('close', cleanup);
}
