// One watch as an HTTP response: newline-delimited JSON events, optional bookmarks, the Table
// form, and a too-old resourceVersion answered as kube-apiserver does (200, one ERROR event, end).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.ts';
import { groupVersion, type ResourceInfo } from './resources.ts';
import type { KubeObject } from './selectors.ts';
import type { Store, WatchEvent } from './store.ts';
import { type IncludeObject, toTable } from './table.ts';

export interface WatchRequest {
  info: ResourceInfo;
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
  private readonly open = new Set<ServerResponse>();

  add(res: ServerResponse): void {
    this.open.add(res);
  }

  remove(res: ServerResponse): void {
    this.open.delete(res);
  }

  /** Destroys every socket abruptly; returns how many watches were open. */
  drop(): number {
    const n = this.open.size;
    for (const res of this.open) res.socket?.destroy();
    this.open.clear();
    return n;
  }

  /** Ends every watch cleanly. */
  close(): void {
    for (const res of this.open) res.end();
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
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-cache, private',
    'transfer-encoding': 'chunked',
  });
  res.flushHeaders();
  const send = (line: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify(line)}\n`);
  };
  const render = (ev: WatchEvent) => ({
    type: ev.type,
    object: w.asTable ? toTable(info, [ev.object], { includeObject: w.includeObject }) : ev.object,
  });
  const bookmark = (annotations?: Record<string, string>) =>
    send({
      type: 'BOOKMARK',
      object: {
        kind: info.kind,
        apiVersion: groupVersion(info),
        metadata: { resourceVersion: store.resourceVersion, ...(annotations ? { annotations } : {}) },
      },
    });
  let stop: () => void;
  try {
    stop = store.watch(
      info,
      { namespace: w.namespace, matcher: w.matcher, resourceVersion: w.resourceVersion },
      (ev) => send(render(ev)),
    );
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message);
    send({ type: 'ERROR', object: e.toStatus() });
    res.end();
    return;
  }
  if (w.allowBookmarks && w.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
  const timers: NodeJS.Timeout[] = [];
  if (w.allowBookmarks) timers.push(setInterval(() => bookmark(), bookmarkIntervalMs));
  if (w.timeoutSeconds > 0) timers.push(setTimeout(() => res.end(), w.timeoutSeconds * 1000));
  registry.add(res);
  const cleanup = () => {
    stop();
    for (const t of timers) clearTimeout(t);
    registry.remove(res);
  };
  res.on('close', cleanup);
  req.on('close', cleanup);
}
