// An in-memory stand-in for the API server behind the relay's KubeTransport interface (our own
// seam, not a Kubernetes client mock): list, watch from a resourceVersion with history replay,
// bookmarks, 410 after compaction, dropped connections and unserved types on demand.
import type { KubeObject } from '../../infra/relay/cache.ts';
import type { KubeTransport, WatchEnd, WatchLine } from '../../infra/relay/kube-transport.ts';

interface Watcher {
  path: string;
  onLine: (l: WatchLine) => void;
  end: (e: WatchEnd) => void;
}

export class FakeKube implements KubeTransport {
  readonly server = 'https://fake-apiserver:6443';
  private rv = 100;
  private oldest = 100;
  private readonly store = new Map<string, Map<string, KubeObject>>();
  private readonly history: { path: string; rv: number; line: WatchLine }[] = [];
  private readonly watchers = new Set<Watcher>();
  readonly missing = new Set<string>();
  listCalls = 0;
  watchCalls: Record<string, string>[] = [];
  /** When set, a too-old watch gets an HTTP 410 instead of an ERROR event. */
  goneAsHttp = false;

  put(
    path: string,
    obj: Omit<KubeObject, 'metadata'> & {
      metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    },
  ) {
    const objects = this.objects(path);
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type = objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(++this.rv) },
    } as KubeObject;
    objects.set(key, stored);
    this.publish(path, { type, object: stored as unknown as Record<string, unknown> });
    return stored;
  }

  remove(path: string, name: string, namespace?: string) {
    const objects = this.objects(path);
    const key = `${namespace ?? ''}/${name}`;
    const last = objects.get(key);
    if (!last) return;
    objects.delete(key);
    const gone = { ...last, metadata: { ...last.metadata, resourceVersion: String(++this.rv) } };
    this.publish(path, { type: 'DELETED', object: gone as unknown as Record<string, unknown> });
  }

  /** Forgets history: watches from an older resourceVersion now get 410 Gone. */
  compact() {
    this.oldest = this.rv;
    this.history.length = 0;
  }

  /** Cuts every open watch connection, as a restarting server or a proxy would. */
  dropWatches() {
    for (const w of [...this.watchers])
      w.end({ kind: 'network-error', error: new Error('connection reset') });
  }

  bookmark(path: string) {
    for (const w of this.watchers) {
      if (w.path === path)
        w.onLine({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv) } } });
    }
  }

  get openWatches() {
    return this.watchers.size;
  }

  async list(path: string) {
    this.listCalls++;
    if (this.missing.has(path)) return { status: 404, body: { kind: 'Status', code: 404 } };
    // Built-in list items come without apiVersion/kind, as from a real server.
    const items = [...this.objects(path).values()].map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    return { status: 200, body: { items, metadata: { resourceVersion: String(this.rv) } } };
  }

  watch(path: string, query: Record<string, string>, onLine: (l: WatchLine) => void, signal: AbortSignal) {
    this.watchCalls.push({ path, ...query });
    return new Promise<WatchEnd>((resolve) => {
      const from = Number(query.resourceVersion);
      if (from < this.oldest) {
        if (this.goneAsHttp) return resolve({ kind: 'http-error', status: 410, body: 'Gone' });
        onLine({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
        return resolve({ kind: 'closed' });
      }
      const w: Watcher = {
        path,
        onLine,
        end: (e) => {
          this.watchers.delete(w);
          resolve(e);
        },
      };
      this.watchers.add(w);
      for (const h of this.history) if (h.path === path && h.rv > from) onLine(h.line);
      signal.addEventListener('abort', () => w.end({ kind: 'aborted' }), { once: true });
    });
  }

  private objects(path: string) {
    let m = this.store.get(path);
    if (!m) {
      m = new Map();
      this.store.set(path, m);
    }
    return m;
  }

  private publish(path: string, line: WatchLine) {
    this.history.push({ path, rv: this.rv, line });
    for (const w of this.watchers) if (w.path === path) w.onLine(line);
  }
}
