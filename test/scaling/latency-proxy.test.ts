// The latency proxy of the scaling demo: it adds the round trip it is asked for, passes bytes
// untouched and in order, and closes both sides cleanly.
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type LatencyProxy, startLatencyProxy } from '../../infra/local/latency-proxy.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo server on loopback that reports when the peer closed. */
async function echoServer(): Promise<{ port: number; closed: Promise<void> }> {
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => {
    closedResolve = r;
  });
  const server: Server = createServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
    s.on('close', () => closedResolve());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as { port: number }).port, closed };
}

async function proxyTo(port: number, rttMs: number): Promise<LatencyProxy> {
  const p = await startLatencyProxy({ targetPort: port, rttMs });
  cleanups.push(() => p.stop());
  return p;
}

const connect = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });

/** Sends `data`, resolves with `length` bytes echoed back and the time it took. */
function roundTrip(s: Socket, data: Buffer): Promise<{ back: Buffer; ms: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const start = performance.now();
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= data.length) {
        s.off('data', onData);
        resolve({ back: Buffer.concat(chunks), ms: performance.now() - start });
      }
    };
    s.on('data', onData);
    s.write(data);
  });
}

describe('latency proxy', () => {
  it('adds the round trip it is given to each exchange, and not more than one per exchange', async () => {
    const echo = await echoServer();
    const direct = await connect(echo.port);
    const proxied = await connect((await proxyTo(echo.port, 40)).port);
    cleanups.push(async () => {
      direct.destroy();
      proxied.destroy();
    });
    const msg = Buffer.from('ping');
    const base = await roundTrip(direct, msg);
    const slow = [];
    for (let i = 0; i < 3; i++) slow.push((await roundTrip(proxied, msg)).ms);
    for (const ms of slow) {
      expect(ms).toBeGreaterThanOrEqual(38); // timers may fire a hair early
      expect(ms).toBeLessThan(40 + base.ms + 400); // loose upper bound: a shared, loaded machine
    }
  });

  it('does not serialise pipelined chunks: many writes in one RTT come back after about one RTT', async () => {
    const echo = await echoServer();
    const s = await connect((await proxyTo(echo.port, 60)).port);
    cleanups.push(async () => {
      s.destroy();
    });
    const total = 20 * 1024;
    const got = new Promise<number>((resolve) => {
      let n = 0;
      const start = performance.now();
      s.on('data', (d) => {
        n += d.length;
        if (n >= total) resolve(performance.now() - start);
      });
    });
    for (let i = 0; i < 20; i++) s.write(randomBytes(1024));
    // Serialised, twenty chunks would take at least 20 x 30 ms on the way out alone.
    expect(await got).toBeLessThan(20 * 30);
  });

  it('passes bytes intact and in order, both ways', async () => {
    const echo = await echoServer();
    const s = await connect((await proxyTo(echo.port, 4)).port);
    cleanups.push(async () => {
      s.destroy();
    });
    const data = randomBytes(3 * 1024 * 1024); // larger than one chunk and than the bound in transit
    const { back } = await roundTrip(s, data);
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
  });

  it('closes cleanly: a client end reaches the server, which closes back', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port, 10);
    const s = await connect(proxy.port);
    const clientClosed = new Promise<boolean>((r) => s.on('close', (hadError) => r(hadError)));
    await roundTrip(s, Buffer.from('x'));
    s.end();
    await echo.closed;
    expect(await clientClosed).toBe(false);
    await expect.poll(() => proxy.stats().open).toBe(0);
    expect(proxy.stats().connections).toBe(1);
  });

  it('refuses a target off loopback and an unbounded delay', async () => {
    await expect(startLatencyProxy({ targetHost: '10.0.0.1', targetPort: 80, rttMs: 5 })).rejects.toThrow(
      /loopback/,
    );
    await expect(startLatencyProxy({ targetPort: 80, rttMs: 60_000 })).rejects.toThrow(/rtt/);
  });
});
