// The relay's two calls to the API server, over node:http(s) with the KubeConfig's credentials
// (token, client certificate, CA). Plain requests rather than the client's Watch, so the relay owns
// resourceVersion, bookmarks, 410 handling and how a dropped stream is told from a closed one.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface WatchLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export type WatchEnd =
  | { kind: 'closed' }
  | { kind: 'aborted' }
  | { kind: 'http-error'; status: number; body: string }
  | { kind: 'network-error'; error: Error };

export interface ListResponse {
  status: number;
  body: unknown;
}

export interface KubeTransport {
  /** The API server URL, the events' `source`. */
  readonly server: string;
  list(path: string, signal: AbortSignal): Promise<ListResponse>;
  /** Streams watch events until the server closes, the connection drops, or `signal` aborts. */
  watch(
    path: string,
    query: Record<string, string>,
    onLine: (line: WatchLine) => void,
    signal: AbortSignal,
  ): Promise<WatchEnd>;
}

const LIST_TIMEOUT_MS = 60_000;

export function kubeTransport(kc: KubeConfig): KubeTransport {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const isHttps = server.startsWith('https:');

  async function request(path: string, signal: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(server + path);
    const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await kc.applyToHTTPSOptions(opts);
    if (!isHttps) delete opts.agent;
    opts.headers = { ...(opts.headers ?? {}), accept: 'application/json' };
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, { ...opts, signal }, resolve);
      req.on('error', reject);
      req.end();
    });
  }

  const readAll = (res: http.IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });

  return {
    server,
    async list(path, signal) {
      // A list that hangs must not stall the loop forever.
      const res = await request(path, AbortSignal.any([signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]));
      const text = await readAll(res);
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): the status says enough.
      }
      return { status: res.statusCode ?? 0, body };
    },

    async watch(path, query, onLine, signal) {
      const qs = new URLSearchParams({ ...query, watch: 'true' }).toString();
      let res: http.IncomingMessage;
      try {
        res = await request(`${path}?${qs}`, signal);
      } catch (err) {
        return signal.aborted ? { kind: 'aborted' } : { kind: 'network-error', error: err as Error };
      }
      if (res.statusCode !== 200) {
        return { kind: 'http-error', status: res.statusCode ?? 0, body: await readAll(res).catch(() => '') };
      }
      return new Promise<WatchEnd>((resolve) => {
        let buffered = '';
        let settled = false;
        const finish = (end: WatchEnd) => {
          if (settled) return;
          settled = true;
          res.destroy();
          resolve(signal.aborted ? { kind: 'aborted' } : end);
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          // Lines are cut by index and the remainder kept once per chunk: a chunk of many events
          // is not copied again for each line.
          let start = 0;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = buffered.slice(start, nl).trim();
            start = nl + 1;
            if (line) {
              try {
                onLine(JSON.parse(line) as WatchLine);
              } catch (err) {
                finish({
                  kind: 'network-error',
                  error: new Error(`bad watch line: ${(err as Error).message}`),
                });
                return;
              }
            }
            nl = buffered.indexOf('\n', start);
          }
          buffered = buffered.slice(start);
        });
        res.on('end', () => finish({ kind: 'closed' }));
        res.on('aborted', () =>
          finish({ kind: 'network-error', error: new Error('watch connection aborted') }),
        );
        res.on('error', (error) => finish({ kind: 'network-error', error }));
        res.on('close', () =>
          finish(
            res.complete
              ? { kind: 'closed' }
              : { kind: 'network-error', error: new Error('watch connection dropped') },
          ),
        );
        signal.addEventListener('abort', () => finish({ kind: 'aborted' }), { once: true });
      });
    },
  };
}
