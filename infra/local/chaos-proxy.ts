// A small HTTP proxy for fault tests: it forwards every request to one target and, by a seeded
// random draw, delays some and sends some twice (the copy later, so it can land after newer
// events of the same object). Both are bounded in count and time. Loopback only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChaosProxyOptions {
  /** Base URL requests are forwarded to, e.g. `http://127.0.0.1:8080`. */
  target: string;
  /** Share of requests held back before forwarding (0..1). */
  delayRate?: number;
  /** Share of requests sent a second time after the first copy (0..1). */
  duplicateRate?: number;
  /** Upper bound of one delay, and of the gap before a duplicate (ms). */
  maxDelayMs?: number;
  /** Stop delaying and duplicating after this many of each (the proxy keeps forwarding). */
  maxFaults?: number;
  /** Seed of the random draws, so a failing run can be replayed. */
  seed?: number;
}

export interface ChaosProxyStats {
  forwarded: number;
  delayed: number;
  duplicated: number;
  /** Duplicates whose answer was not 2xx (the handler refused or asked for a retry). */
  duplicateNot2xx: number;
  errors: number;
}

export interface ChaosProxy {
  readonly url: string;
  readonly port: number;
  stats(): ChaosProxyStats;
  /** Turns faults on or off (forwarding always continues). */
  setFaults(on: boolean): void;
  stop(): Promise<void>;
}

/** mulberry32: a tiny seeded generator; reproducible draws matter more than quality here. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startChaosProxy(opts: ChaosProxyOptions): Promise<ChaosProxy> {
  const target = opts.target.replace(/\/$/, '');
  const delayRate = opts.delayRate ?? 0.1;
  const duplicateRate = opts.duplicateRate ?? 0.1;
  const maxDelayMs = opts.maxDelayMs ?? 1_000;
  const maxFaults = opts.maxFaults ?? 500;
  const random = seededRandom(opts.seed ?? 1);
  const stats: ChaosProxyStats = { forwarded: 0, delayed: 0, duplicated: 0, duplicateNot2xx: 0, errors: 0 };
  let faults = true;
  const pending = new Set<Promise<unknown>>();

  const forward = async (req: IncomingMessage, body: Buffer): Promise<Response> => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k)) continue;
      headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    return fetch(`${target}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers,
      ...(body.length > 0 ? { body } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    if (faults && stats.delayed < maxFaults && random() < delayRate) {
      stats.delayed++;
      await sleep(random() * maxDelayMs);
    }
    if (faults && stats.duplicated < maxFaults && random() < duplicateRate) {
      stats.duplicated++;
      // The copy goes later and on its own; the sender only ever sees the first answer.
      const gap = random() * maxDelayMs;
      const copy = sleep(gap)
        .then(() => forward(req, body))
        .then(async (r) => {
          await r.arrayBuffer();
          if (!r.ok) stats.duplicateNot2xx++;
        })
        .catch(() => {
          stats.errors++;
        });
      pending.add(copy);
      void copy.finally(() => pending.delete(copy));
    }
    try {
      const r = await forward(req, body);
      stats.forwarded++;
      const out = Buffer.from(await r.arrayBuffer());
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (!HOP_BY_HOP.has(k)) headers[k] = v;
      });
      res.writeHead(r.status, headers).end(out);
    } catch (err) {
      // The target is down (e.g. a replica just killed): answer as a gateway would, so the
      // sender retries.
      stats.errors++;
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`chaos proxy: ${(err as Error).message}`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      stats.errors++;
      if (!res.headersSent) res.writeHead(502).end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => ({ ...stats }),
    setFaults(on) {
      faults = on;
    },
    async stop() {
      await Promise.allSettled([...pending]);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
