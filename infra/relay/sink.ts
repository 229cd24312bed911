// Sends changes to the function replica each key routes to, as signed CloudEvents, and classes
// each event's answer by the retry contract: 2xx done; 429 and 5xx retry; any other 4xx never
// succeeds. Per sink URL: one keep-alive agent, at most `maxInFlight` requests outstanding, and a
// queue for events that arrive while all are busy; the next request takes up to `maxBatch` of them
// (CloudEvents batch mode). So an idle relay sends one event per request, with no added latency,
// and a busy one sends batches that grow with the load, without timers.
// node:http rather than fetch: undici's streams cost more CPU per request than the rest of a send.
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  type EncodedEvent,
  type HttpEncoding,
  referenceEvent,
  refOf,
  resourceEvent,
  structuredJson,
  toBatch,
  toBinary,
  toStructured,
} from '../../shared/events/encode.ts';
import { signBodySync } from '../../shared/events/signature.ts';
import { parseRetryAfter } from './backoff.ts';
import type { ChangeEvent } from './cache.ts';
import { pickSink } from './routing.ts';
import type { Send, SendResult } from './send-result.ts';

export const DEFAULT_MAX_BATCH = 64;
export const DEFAULT_MAX_IN_FLIGHT = 4;
const IDLE_SOCKET_MS = 4_000;

export interface HttpSinkOptions {
  urls: readonly string[];
  /** The API server URL, the events' `source`. */
  source: string;
  /** RELAY_SECRET: signs each body (HMAC-SHA256). */
  secret?: string;
  /** EVENTS_TOKEN: sent as a bearer token. */
  token?: string;
  /** kind -> REST plural for the subject; the shared defaults cover the watched kinds. */
  plurals?: ReadonlyMap<string, string>;
  /** Of a request carrying one event; several go as a batch of structured events. */
  encoding?: HttpEncoding;
  timeoutMs?: number;
  /** Events per request at most; 1 turns batching off. Default 64. */
  maxBatch?: number;
  /** Requests outstanding per sink URL at most. Default 4; with `maxBatch` 1, no limit of its own. */
  maxInFlight?: number;
  /** Called with the URL each event went to (stats, tests). */
  onRouted?: (url: string, event: ChangeEvent) => void;
}

export interface SinkStats {
  requests: number;
  events: number;
  /** Events waiting for a free request slot. */
  queued: number;
  largestBatch: number;
  /** Sink URLs with a connection pool: the current ones, and removed ones still finishing requests. */
  targets: number;
}

/**
 * A `Send` that also reports its requests, closes its keep-alive connections, says which URL a
 * key goes to, and probes a URL (GET /healthz on its origin; any answer below 500 is an answer).
 */
export type HttpSink = Send & {
  stats(): SinkStats;
  close(): void;
  route(key: string): string;
  /** Replaces the sink URLs (a replica added or removed). */
  setUrls(urls: readonly string[]): void;
  urls(): string[];
  probe(url: string): Promise<boolean>;
};

const PROBE_TIMEOUT_MS = 2_000;

/**
 * One event's verdict from its HTTP status (alone, or its entry in a batch answer). 500 is the
 * function saying its handler failed (not an outage): retried, then parked by Delivery. `reason`:
 * the answer's stable reason, when it gave one.
 */
export function classifyStatus(
  status: number,
  retryAfterMs: number | undefined,
  detail: string,
  reason?: string,
): SendResult {
  if (status >= 200 && status < 300) return { outcome: 'done' };
  if (status === 500) return { outcome: 'failed', detail: `HTTP ${status} ${detail}` };
  if (status === 429 || status >= 500) {
    return retryAfterMs === undefined
      ? { outcome: 'retry', detail: `HTTP ${status} ${detail}` }
      : { outcome: 'retry', detail: `HTTP ${status} ${detail}`, retryAfterMs };
  }
  return { outcome: 'drop', detail: `HTTP ${status} ${detail}`, reason: reason || `HTTP ${status}` };
}

export function classifyResponse(
  status: number,
  retryAfter: string | null,
  detail: string,
  reason?: string,
): SendResult {
  return classifyStatus(status, parseRetryAfter(retryAfter), detail, reason);
}

/** The `reason` of a JSON error answer (`{reason, message}`), if it is one. */
function reasonOf(text: string): string | undefined {
  if (!text.startsWith('{') || !text.includes('"reason"')) return undefined;
  try {
    const r = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof r === 'string' && r.length <= 100 ? r : undefined;
  } catch {
    return undefined;
  }
}

interface Waiting {
  event: ChangeEvent;
  signal: AbortSignal;
  resolve: (result: SendResult) => void;
}

interface Target {
  /** The URL as configured (the map's key). */
  key: string;
  url: URL;
  agent: HttpAgent;
  request: typeof httpRequest;
  queue: Waiting[];
  inFlight: number;
}

interface BatchEntry {
  id?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
  retryAfterMs?: unknown;
  produced?: unknown;
}

const stringsOf = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? v : undefined;

function withProduced(result: SendResult, produced: unknown): SendResult {
  const rvs = result.outcome === 'done' ? stringsOf(produced) : undefined;
  return rvs ? { outcome: 'done', produced: rvs } : result;
}

/** The verdict of a request that carried one event. */
export function singleResult(status: number, retryAfter: string | null, text: string): SendResult {
  const result = classifyResponse(
    status,
    retryAfter,
    text.slice(0, 300),
    status >= 400 && status < 500 ? reasonOf(text) : undefined,
  );
  if (result.outcome !== 'done' || !text.includes('"produced"')) return result;
  try {
    return withProduced(result, (JSON.parse(text) as { produced?: unknown }).produced);
  } catch {
    return result;
  }
}

/** Each event's verdict from a batch answer; `ids` in the order the events were sent. */
export function batchResults(
  status: number,
  retryAfter: string | null,
  text: string,
  ids: string[],
): SendResult[] {
  if (status < 200 || status >= 300) {
    const whole = classifyResponse(
      status,
      retryAfter,
      text.slice(0, 300),
      status >= 400 && status < 500 ? reasonOf(text) : undefined,
    );
    return ids.map(() => whole);
  }
  let entries: BatchEntry[] | undefined;
  try {
    const parsed = JSON.parse(text) as { results?: unknown };
    if (Array.isArray(parsed.results)) entries = parsed.results as BatchEntry[];
  } catch {}
  if (!entries) {
    const missing: SendResult = {
      outcome: 'retry',
      detail: `HTTP ${status}: a batch answer without results`,
    };
    return ids.map(() => missing);
  }
  const byId = new Map<unknown, BatchEntry>();
  for (const e of entries) if (e && typeof e === 'object') byId.set(e.id, e);
  return ids.map((id, i): SendResult => {
    const entry = entries[i]?.id === id ? entries[i] : byId.get(id);
    if (!entry || typeof entry.status !== 'number') {
      return { outcome: 'retry', detail: `no result for event ${id} in the batch answer` };
    }
    const detail = [entry.reason, entry.message].filter((x) => typeof x === 'string').join(': ');
    const retryAfterMs = typeof entry.retryAfterMs === 'number' ? entry.retryAfterMs : undefined;
    const reason = typeof entry.reason === 'string' ? entry.reason : undefined;
    return withProduced(classifyStatus(entry.status, retryAfterMs, detail, reason), entry.produced);
  });
}

export function createHttpSink(opts: HttpSinkOptions): HttpSink {
  if (opts.urls.length === 0) throw new Error('at least one sink URL is needed');
  const maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_MAX_BATCH);
  // Without batching, the only limit is the caller's (Delivery's concurrency), as before batching.
  const maxInFlight = Math.max(1, opts.maxInFlight ?? (maxBatch === 1 ? Infinity : DEFAULT_MAX_IN_FLIGHT));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const counts = { requests: 0, events: 0, largestBatch: 0 };
  const targets = new Map<string, Target>();
  // The URLs keys are spread over now; setUrls changes them (replicas come and go).
  let urls: readonly string[] = [...opts.urls];
  const addTarget = (u: string) => {
    const url = new URL(u);
    const https = url.protocol === 'https:';
    const agentOpts = {
      keepAlive: true,
      // An idle socket is closed by us before a Node server's 5 s keep-alive timeout closes it
      // under a request we would be writing to it.
      timeout: IDLE_SOCKET_MS,
      ...(Number.isFinite(maxInFlight) ? { maxSockets: maxInFlight } : {}),
    };
    targets.set(u, {
      key: u,
      url,
      agent: https ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts),
      request: https ? httpsRequest : httpRequest,
      queue: [],
      inFlight: 0,
    });
  };
  for (const u of urls) addTarget(u);

  const encodeOne = (event: ChangeEvent, id?: string) => {
    const plural = opts.plurals?.get(event.object.kind ?? '');
    const encodeOpts = {
      action: event.action,
      source: opts.source,
      ...(plural ? { plural } : {}),
      ...(id ? { id } : {}),
    };
    // A delete of an object whose last state this relay never saw: its name is all there is.
    return event.reference
      ? referenceEvent(refOf(event.object), encodeOpts)
      : resourceEvent(event.object, encodeOpts);
  };

  // One abort listener per caller signal (Delivery passes one for all sends), not one per request:
  // dozens of listeners on one signal would trip Node's leak warning.
  const requestsBySignal = new WeakMap<AbortSignal, Set<ClientRequest>>();
  const watchAbort = (signal: AbortSignal, req: ClientRequest) => {
    let reqs = requestsBySignal.get(signal);
    if (!reqs) {
      const set = new Set<ClientRequest>();
      reqs = set;
      requestsBySignal.set(signal, set);
      signal.addEventListener('abort', () => {
        for (const r of set) r.destroy(new Error('aborted'));
      });
    }
    reqs.add(req);
  };

  function post(target: Target, msg: EncodedEvent, signals: Set<AbortSignal>) {
    const headers: Record<string, string | number> = {
      ...msg.headers,
      'content-length': Buffer.byteLength(msg.body),
    };
    if (opts.secret) Object.assign(headers, signBodySync(opts.secret, msg.body));
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    return new Promise<{ status: number; retryAfter: string | null; text: string }>((resolve, reject) => {
      const req = target.request(target.url, { method: 'POST', agent: target.agent, headers });
      const fail = (err: Error) => req.destroy(err);
      const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      for (const s of signals) watchAbort(s, req);
      const settle = () => {
        clearTimeout(timer);
        for (const s of signals) requestsBySignal.get(s)?.delete(req);
      };
      req.on('error', (err) => {
        settle();
        reject(err);
      });
      req.on('response', (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          settle();
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: retryAfter ?? null, text });
        });
        res.on('error', (err) => {
          settle();
          reject(err);
        });
        res.on('close', () => {
          if (res.complete) return;
          settle();
          reject(new Error('the connection closed before the answer was complete'));
        });
      });
      req.end(msg.body);
    });
  }

  async function deliver(target: Target, batch: Waiting[]): Promise<void> {
    const signals = new Set(batch.map((w) => w.signal));
    counts.requests++;
    counts.events += batch.length;
    counts.largestBatch = Math.max(counts.largestBatch, batch.length);
    let results: SendResult[];
    try {
      if (batch.length === 1) {
        const one = encodeOne(batch[0]!.event);
        const msg = opts.encoding === 'structured' ? toStructured(one) : toBinary(one);
        const res = await post(target, msg, signals);
        results = [singleResult(res.status, res.retryAfter, res.text)];
      } else {
        const ids = batch.map(() => crypto.randomUUID());
        const msg = toBatch(batch.map((w, i) => structuredJson(encodeOne(w.event, ids[i]))));
        const res = await post(target, msg, signals);
        results = batchResults(res.status, res.retryAfter, res.text, ids);
      }
    } catch (err) {
      const failed: SendResult = {
        outcome: 'retry',
        detail: `network: ${(err as Error).message}`,
        unreachable: true,
      };
      results = batch.map(() => failed);
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
  }

  function pump(target: Target) {
    while (target.inFlight < maxInFlight && target.queue.length > 0) {
      const batch: Waiting[] = [];
      while (batch.length < maxBatch && target.queue.length > 0) {
        const w = target.queue.shift()!;
        if (w.signal.aborted) w.resolve({ outcome: 'retry', detail: 'aborted' });
        else batch.push(w);
      }
      if (batch.length === 0) continue;
      target.inFlight++;
      void deliver(target, batch).finally(() => {
        target.inFlight--;
        pump(target);
        retireIfIdle(target);
      });
    }
  }

  const route = (key: string) => (urls.length === 1 ? urls[0]! : pickSink(key, urls));

  /**
   * New sink URLs: keys route over them from now on (rendezvous hashing moves only the keys of a
   * URL that left or the share a new one takes). Requests already sent finish where they went;
   * events still waiting for a removed URL's request slot go to their new URL.
   */
  /** A URL no longer in the list goes once its last request is answered (pod IPs churn: no growth). */
  function retireIfIdle(t: Target) {
    if (urls.includes(t.key) || t.inFlight > 0 || t.queue.length > 0) return;
    t.agent.destroy();
    targets.delete(t.key);
  }

  const setUrls = (next: readonly string[]) => {
    if (next.length === 0) throw new Error('at least one sink URL is needed');
    for (const u of next) if (!targets.has(u)) addTarget(u);
    urls = [...next];
    for (const [u, t] of targets) {
      if (urls.includes(u) || t.queue.length === 0) continue;
      const moved = t.queue.splice(0);
      for (const w of moved) {
        const to = targets.get(route(w.event.key))!;
        to.queue.push(w);
        pump(to);
      }
    }
    for (const t of [...targets.values()]) retireIfIdle(t);
  };

  /** Whether the URL's server answers at all: its /healthz, on a connection of its own. */
  const probe = (u: string) =>
    new Promise<boolean>((resolve) => {
      const target = targets.get(u);
      if (!target) return resolve(false);
      const req = target.request(new URL('/healthz', target.url), {
        method: 'GET',
        agent: false,
        timeout: PROBE_TIMEOUT_MS,
      });
      req.on('timeout', () => req.destroy(new Error('probe timed out')));
      req.on('error', () => resolve(false));
      req.on('response', (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      });
      req.end();
    });

  const send: Send = (event, signal) => {
    const url = route(event.key);
    const target = targets.get(url)!;
    opts.onRouted?.(url, event);
    return new Promise<SendResult>((resolve) => {
      target.queue.push({ event, signal, resolve });
      pump(target);
    });
  };

  return Object.assign(send, {
    route,
    setUrls,
    urls: () => [...urls],
    probe,
    stats(): SinkStats {
      let queued = 0;
      for (const t of targets.values()) queued += t.queue.length;
      return { ...counts, queued, targets: targets.size };
    },
    close() {
      for (const t of targets.values()) t.agent.destroy();
    },
  });
}
