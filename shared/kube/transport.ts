// JSON over HTTP(S) to the API server: node:https with one keep-alive agent per cluster and user,
// credentials and TLS from the KubeConfig, a bound on each call, raw JSON in and out. It replaces
// client-node's generated APIs on the hot path, whose per-call cost (node-fetch, ObjectSerializer,
// an AbortSignal and a fresh agent option set per call) dominated the function replicas' CPU.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
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
  /** Connections per cluster and user (default 64); further calls queue in the agent. */
  maxSockets?: number;
}

export interface KubeTransport {
  /** The parsed JSON answer of a 2xx; a typed KubeApiError otherwise. */
  request<T = unknown>(method: Method, req: KubeRequest): Promise<T>;
  /** Closes kept-alive connections; the next call reconnects. */
  close(): void;
}

type Headers = Record<string, string>;

/** Where and how to talk to the current cluster as the current user. */
interface Endpoint {
  readonly secure: boolean;
  readonly proxied: boolean;
  readonly hostname: string;
  readonly port: number;
  /** Path prefix of the server URL (a server behind a path, e.g. `https://h/k8s`). */
  readonly prefix: string;
  agent: http.Agent;
  /** The client certificate the agent was made with (exec plugins may hand out new ones). */
  tlsIdentity: string;
  /** Auth headers when they cannot change (static token or basic auth); else read per call. */
  readonly staticHeaders: Headers | undefined;
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

const identity = (o: TlsBits) => `${String(o.cert ?? '')}\0${String(o.key ?? '')}\0${String(o.pfx ?? '')}`;

function authHeaders(o: TlsBits): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) out[k] = String(v);
  if (o.auth) out.Authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
  return out;
}

export function createKubeTransport(kc: KubeConfig, opts: KubeTransportOptions = {}): KubeTransport {
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxSockets = opts.maxSockets ?? DEFAULT_MAX_SOCKETS;
  const endpoints = new Map<string, Endpoint>();
  const opening = new Map<string, Promise<Endpoint>>();

  function makeAgent(secure: boolean, proxied: boolean, o: TlsBits): http.Agent {
    // A proxied cluster keeps the proxy agent client-node made for it.
    if (proxied && o.agent instanceof http.Agent) return o.agent;
    if (!secure) return new http.Agent({ keepAlive: true, maxSockets });
    // One TLS context for every connection; passing ca/cert/key as agent options instead would
    // stringify them into the agent's pool key on every request.
    const secureContext = tls.createSecureContext({
      ca: o.ca as string | Buffer | undefined,
      cert: o.cert as string | Buffer | undefined,
      key: o.key as string | Buffer | undefined,
      pfx: o.pfx as string | Buffer | undefined,
      passphrase: o.passphrase,
    });
    return new https.Agent({
      keepAlive: true,
      maxSockets,
      secureContext,
      rejectUnauthorized: o.rejectUnauthorized,
      servername: o.servername,
    });
  }

  /** The first call to a cluster as a user sets up its endpoint; calls racing it wait for it. */
  function open(key: string): Promise<Endpoint> {
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
        // Credentials that may change (exec plugin, auth provider, token file) are applied per call.
        const dynamic = Boolean(user?.exec || user?.authProvider);
        const ep: Endpoint = {
          secure,
          proxied: Boolean(cluster.proxyUrl),
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: Number(url.port) || (secure ? 443 : 80),
          prefix: url.pathname.replace(/\/+$/, ''),
          agent: makeAgent(secure, Boolean(cluster.proxyUrl), o),
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
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    const key = `${cluster?.name}\0${cluster?.server}\0${user?.name ?? ''}`;
    const ep = endpoints.get(key) ?? (await open(key));
    if (ep.staticHeaders) return { ep, auth: ep.staticHeaders };
    // client-node caches exec and file tokens until they expire.
    const o: TlsBits = {};
    await kc.applyToHTTPSOptions(o as https.RequestOptions);
    if (identity(o) !== ep.tlsIdentity) {
      // A rotated client certificate: new connections with it; the old ones finish and idle out.
      const old = ep.agent;
      ep.agent = makeAgent(ep.secure, ep.proxied, o);
      ep.tlsIdentity = identity(o);
      setTimeout(() => old.destroy(), timeoutMs).unref();
    }
    return { ep, auth: authHeaders(o) };
  }

  async function request<T>(method: Method, r: KubeRequest): Promise<T> {
    const { ep, auth } = await resolve();
    // A string body goes out in one write with the headers (a Buffer would be a second one).
    const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
    const headers: Headers = { ...auth, Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = r.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise<T>((resolveCall, reject) => {
      const req = (ep.secure ? https : http).request(
        { hostname: ep.hostname, port: ep.port, path: ep.prefix + r.path, method, headers, agent: ep.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            const text =
              chunks.length === 1
                ? (chunks[0] as Buffer).toString('utf8')
                : Buffer.concat(chunks).toString('utf8');
            const code = res.statusCode ?? 0;
            if (code < 200 || code >= 300) return reject(fromResponse(code, text));
            if (text === '') return resolveCall(undefined as T);
            try {
              resolveCall(JSON.parse(text) as T);
            } catch (err) {
              reject(new Error(`${method} ${r.path}: the answer is not JSON: ${(err as Error).message}`));
            }
          });
        },
      );
      function fail(err: Error) {
        clearTimeout(timer);
        reject(err);
      }
      const timer = setTimeout(() => {
        const err = new Error(`${method} ${r.path}: no answer within ${timeoutMs} ms`);
        err.name = 'TimeoutError';
        req.destroy(err);
      }, timeoutMs);
      req.on('error', fail);
      req.end(payload, 'utf8');
    });
  }

  return {
    request,
    close() {
      for (const ep of endpoints.values()) ep.agent.destroy();
      endpoints.clear();
    },
  };
}
