// A TCP proxy that adds a fixed round-trip time to every connection through it, the way a network
// between a function pod and Redis, OVN NB or the API server would: each chunk is held back rtt/2
// in each direction, in order. It makes the scaling demo latency-bound, as replicas in a cluster
// are, instead of CPU-bound on one small machine. Loopback only; bytes pass untouched (TLS too).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface LatencyProxyOptions {
  /** Where connections go, on loopback. */
  targetPort: number;
  targetHost?: string;
  /** The added round trip in ms (half each way); 0 forwards at once. */
  rttMs: number;
  /** Connections open at once at most (default 4096): a bound, not a tuning knob. */
  maxConnections?: number;
}

export interface LatencyProxy {
  readonly port: number;
  readonly host: string;
  /** `host:port` */
  readonly address: string;
  stats(): { connections: number; open: number; bytes: number };
  stop(): Promise<void>;
}

const MAX_RTT_MS = 1_000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

const HIGH_WATER = 1 << 20;

/** Delays every chunk from `from` to `to` by `delayMs`, keeping order; a close follows the last chunk. */
function pipeDelayed(from: Socket, to: Socket, delayMs: number, count: (n: number) => void): void {
  // Timers of equal delay fire in the order they were set, so chunks stay in order. Chunks are not
  // serialised behind each other: pipelined requests (Redis, OVSDB) all arrive rtt/2 later.
  const later = (fn: () => void) => (delayMs > 0 ? setTimeout(fn, delayMs) : setImmediate(fn));
  let held = 0;
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    held += chunk.length;
    // Bounded: past 1 MiB in transit the sender waits, as a full TCP window would make it.
    if (held > HIGH_WATER) from.pause();
    later(() => {
      held -= chunk.length;
      if (to.destroyed) return;
      const flushed = to.write(chunk);
      if (held <= HIGH_WATER && from.isPaused()) {
        if (flushed) from.resume();
        else to.once('drain', () => from.resume());
      }
    });
  });
  from.on('end', () => later(() => to.end()));
}

export async function startLatencyProxy(opts: LatencyProxyOptions): Promise<LatencyProxy> {
  const targetHost = opts.targetHost ?? '127.0.0.1';
  if (!LOOPBACK.has(targetHost)) throw new Error(`latency proxy: loopback targets only, not ${targetHost}`);
  if (!(opts.rttMs >= 0 && opts.rttMs <= MAX_RTT_MS))
    throw new Error(`latency proxy: rtt must be within 0..${MAX_RTT_MS} ms, not ${opts.rttMs}`);
  const oneWay = opts.rttMs / 2;
  const sockets = new Set<Socket>();
  const counts = { connections: 0, bytes: 0 };
  const count = (n: number) => {
    counts.bytes += n;
  };
  const server: Server = createServer((client) => {
    counts.connections++;
    const upstream = createConnection({ host: targetHost, port: opts.targetPort });
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    // Either side failing ends both, as a network path would.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    pipeDelayed(client, upstream, oneWay, count);
    pipeDelayed(upstream, client, oneWay, count);
  });
  server.maxConnections = opts.maxConnections ?? 4096;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    host: '127.0.0.1',
    address: `127.0.0.1:${port}`,
    stats: () => ({ ...counts, open: sockets.size }),
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
