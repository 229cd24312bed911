// JSON over HTTP(S) to the API server: a set of kept-alive undici connections per cluster and user (connections.ts), credentials
// and TLS from the KubeConfig, a bound on each call, raw JSON in and out. It replaces client-node's
// generated APIs on the hot path, whose per-call cost (node-fetch, ObjectSerializer, an AbortSignal
// and a fresh agent option set per call) dominated the function replicas' CPU. undici's dispatch
// API (no streams, no header objects, no parsed response headers) costs the client about half the
// CPU of node:https with a keep-alive agent per GET and a fifth to a third less per patch
// (docs/parts/kube.md). A cluster behind a proxy keeps node:https and client-node's proxy agent.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Client } from 'undici';
import { type ConnectionCall, Connections } from './connections.ts';
import { fromResponse } from './errors.ts';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface KubeRequest {
  /** Path with its query string, e.g. `/apis/kubeovn.io/v1/vips?labelSelector=a%3Db`. */
  path: string;
  body?: unknown;
  /** Content type of the body; `application/json` unless set. */
  contentType?: string;
}

export interface KubeTransportOptions {
  /** Bound on each call, from sending to the last byte of the answer (default 30 s). */
  requestTimeoutMs?: number;
  /** Connections per cluster and user (default 64); further calls queue in the pool. */
  maxSockets?: number;
}

export interface KubeTransport {
  /** The parsed JSON answer of a 2xx; a typed KubeApiError otherwise. */
  request<T = unknown>(method: Method, req: KubeRequest): Promise<T>;
  /** Closes kept-alive connections; the next call reconnects. */
  close(): void;
}

/** Header names and values, flat: `[name, value, name, value, ...]` (what undici takes as is). */
type Headers = string[];

/** Where and how to talk to the current cluster as the current user. */
interface Endpoint {
  /** `https://host:port` of the server URL. */
  readonly origin: string;
  /** Path prefix of the server URL (a server behind a path, e.g. `https://h/k8s`). */
  readonly prefix: string;
  /** The connections of a cluster reached directly. */
  pool: Connections | undefined;
  /** A proxied cluster: client-node's proxy agent, used with node:http(s). */
  readonly proxied: ProxiedEndpoint | undefined;
  /** The client certificate the pool was made with (exec plugins may hand out new ones). */
  tlsIdentity: string;
  /** Auth headers when they cannot change (static token or basic auth); else read per call. */
  readonly staticHeaders: Headers | undefined;
}

interface ProxiedEndpoint {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly agent: http.Agent;
}

interface TlsBits {
  headers?: http.OutgoingHttpHeaders;
  auth?: string;
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  pfx?: unknown;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  agent?: http.Agent | boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_SOCKETS = 64;
/**
 * How long an idle connection is kept when the server does not say (a server that sends
 * `Keep-Alive: timeout=N` is believed, less 2 s). undici's own default is 4 s; a kube-apiserver
 * keeps idle connections far longer, and node:https kept them until the server closed them.
 */
const IDLE_KEEP_MS = 30_000;

const identity = (o: TlsBits) => `${String(o.cert ?? '')}\0${String(o.key ?? '')}\0${String(o.pfx ?? '')}`;

function authHeaders(o: TlsBits): Headers {
  const out: Headers = [];
  for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) out.push(k, String(v));
  if (o.auth) out.push('authorization', `Basic ${Buffer.from(o.auth).toString('base64')}`);
  return out;
}

function timeoutError(method: string, path: string, ms: number): Error {
  const err = new Error(`${method} ${path}: no answer within ${ms} ms`);
  err.name = 'TimeoutError';
  return err;
}

/** The call's result from the answer's status and text. */
function settle<T>(method: string, path: string, code: number, text: string): T {
  if (code < 200 || code >= 300) throw fromResponse(code, text);
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${method} ${path}: the answer is not JSON: ${(err as Error).message}`);
  }
}

const utf8 = (chunks: Buffer[]) =>
  chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');

/**
 * `source`: the KubeConfig, or its loader, called at the first call (calls wait for it; a failed
 * load fails each call with its error, and the next call loads again).
 */
export function createKubeTransport(
  source: KubeConfig | (() => Promise<KubeConfig>),
  opts: KubeTransportOptions = {},
): KubeTransport {
  let loaded = typeof source === 'function' ? undefined : source;
  const load = async () => (loaded = await (source as () => Promise<KubeConfig>)());
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxSockets = opts.maxSockets ?? DEFAULT_MAX_SOCKETS;
  const endpoints = new Map<string, Endpoint>();
  const opening = new Map<string, Promise<Endpoint>>();

  function makePool(origin: string, secure: boolean, o: TlsBits): Connections {
    const base: Client.Options = {
      keepAliveTimeout: IDLE_KEEP_MS,
      // The call's own timer bounds it from sending to the last byte; no timers of undici's.
      headersTimeout: 0,
      bodyTimeout: 0,
    };
    if (!secure) return new Connections(origin, maxSockets, base);
    // One TLS context for every connection, built once.
    const secureContext = tls.createSecureContext({
      ca: o.ca as string | Buffer | undefined,
      cert: o.cert as string | Buffer | undefined,
      key: o.key as string | Buffer | undefined,
      pfx: o.pfx as string | Buffer | undefined,
      passphrase: o.passphrase,
    });
    const connect: tls.ConnectionOptions = { secureContext };
    if (o.rejectUnauthorized !== undefined) connect.rejectUnauthorized = o.rejectUnauthorized;
    if (o.servername) connect.servername = o.servername;
    return new Connections(origin, maxSockets, { ...base, connect: connect as Client.Options['connect'] });
  }

  /** The first call to a cluster as a user sets up its endpoint; calls racing it wait for it. */
  function open(kc: KubeConfig, key: string): Promise<Endpoint> {
    let p = opening.get(key);
    if (!p) {
      p = (async () => {
        const cluster = kc.getCurrentCluster();
        if (!cluster) throw new Error('the kubeconfig has no current cluster');
        const user = kc.getCurrentUser();
        const o: TlsBits = {};
        await kc.applyToHTTPSOptions(o as https.RequestOptions);
        const url = new URL(cluster.server);
        const secure = url.protocol === 'https:';
        // A proxied cluster keeps the proxy agent client-node made for it.
        const proxied =
          cluster.proxyUrl && o.agent instanceof http.Agent
            ? {
                secure,
                hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
                port: Number(url.port) || (secure ? 443 : 80),
                agent: o.agent,
              }
            : undefined;
        // Credentials that may change (exec plugin, auth provider, token file) are applied per call.
        const dynamic = Boolean(user?.exec || user?.authProvider);
        const ep: Endpoint = {
          origin: url.origin,
          prefix: url.pathname.replace(/\/+$/, ''),
          pool: proxied ? undefined : makePool(url.origin, secure, o),
          proxied,
          tlsIdentity: identity(o),
          staticHeaders: dynamic ? undefined : authHeaders(o),
        };
        endpoints.set(key, ep);
        return ep;
      })().finally(() => opening.delete(key));
      opening.set(key, p);
    }
    return p;
  }

  /** The current cluster's endpoint and this call's auth headers. */
  async function resolve(): Promise<{ ep: Endpoint; auth: Headers }> {
    const kc = loaded ?? (await load());
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    const key = `${cluster?.name}\0${cluster?.server}\0${user?.name ?? ''}`;
    const ep = endpoints.get(key) ?? (await open(kc, key));
    if (ep.staticHeaders) return { ep, auth: ep.staticHeaders };
    // client-node caches exec and file tokens until they expire.
    const o: TlsBits = {};
    await kc.applyToHTTPSOptions(o as https.RequestOptions);
    if (ep.pool && identity(o) !== ep.tlsIdentity) {
      // A rotated client certificate: new connections with it; the old ones finish their calls
      // and close.
      const old = ep.pool;
      ep.pool = makePool(ep.origin, ep.origin.startsWith('https:'), o);
      ep.tlsIdentity = identity(o);
      old.close();
    }
    return { ep, auth: authHeaders(o) };
  }

  function viaPool<T>(
    pool: Connections,
    ep: Endpoint,
    method: Method,
    path: string,
    headers: Headers,
    payload: string | undefined,
  ): Promise<T> {
    return new Promise<T>((resolveCall, reject) => {
      const call = new Call<T>(pool, method, path, timeoutMs, resolveCall, reject);
      pool.dispatch({ origin: ep.origin, path: ep.prefix + path, method, headers, body: payload }, call);
    });
  }

  function viaAgent<T>(
    px: ProxiedEndpoint,
    ep: Endpoint,
    method: Method,
    path: string,
    headers: Headers,
    payload: string | undefined,
  ): Promise<T> {
    const h: Record<string, string> = {};
    for (let i = 0; i < headers.length; i += 2) h[headers[i] as string] = headers[i + 1] as string;
    if (payload !== undefined) h['content-length'] = String(Buffer.byteLength(payload));
    return new Promise<T>((resolveCall, reject) => {
      const req = (px.secure ? https : http).request(
        { hostname: px.hostname, port: px.port, path: ep.prefix + path, method, headers: h, agent: px.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            try {
              resolveCall(settle<T>(method, path, res.statusCode ?? 0, utf8(chunks)));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      function fail(err: Error) {
        clearTimeout(timer);
        reject(err);
      }
      const timer = setTimeout(() => req.destroy(timeoutError(method, path, timeoutMs)), timeoutMs);
      req.on('error', fail);
      req.end(payload, 'utf8');
    });
  }

  async function request<T>(method: Method, r: KubeRequest): Promise<T> {
    const { ep, auth } = await resolve();
    const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
    const headers = auth.concat('accept', 'application/json');
    if (payload !== undefined) headers.push('content-type', r.contentType ?? 'application/json');
    return ep.pool
      ? viaPool<T>(ep.pool, ep, method, r.path, headers, payload)
      : viaAgent<T>(ep.proxied as ProxiedEndpoint, ep, method, r.path, headers, payload);
  }

  return {
    request,
    close() {
      for (const ep of endpoints.values()) {
        ep.pool?.destroy();
        ep.proxied?.agent.destroy();
      }
      endpoints.clear();
    },
  };
}

/** One call on an undici connection: collects the answer, bounds the call with its timer. */
class Call<T> implements ConnectionCall {
  conn: Client | undefined;
  gone = false;
  private code = 0;
  private readonly chunks: Buffer[] = [];
  /** undici hands out the abort once the call is written. */
  private abort: ((err: Error) => void) | undefined;
  private late: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: Connections,
    private readonly method: Method,
    private readonly path: string,
    timeoutMs: number,
    private readonly resolve: (v: T) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.timer = setTimeout(() => this.timeout(timeoutMs), timeoutMs);
  }

  private timeout(ms: number): void {
    this.late = timeoutError(this.method, this.path, ms);
    this.gone = true;
    this.reject(this.late);
    // A call still waiting for a connection is dropped; one written has its connection closed.
    this.abort?.(this.late);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.late) abort(this.late);
  }

  onHeaders(statusCode: number): boolean {
    this.code = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    clearTimeout(this.timer);
    this.pool.release(this.conn);
    try {
      this.resolve(settle<T>(this.method, this.path, this.code, utf8(this.chunks)));
    } catch (err) {
      this.reject(err);
    }
  }

  onError(err: Error): void {
    clearTimeout(this.timer);
    this.pool.release(this.conn);
    this.reject(err);
  }
}
