// A redis-server that cannot bind its port ends at once; the helper must say so at once (not after
// its 10 s wait) so that a caller with no fixed port can try another (tests run in parallel).
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startRedis } from '../../infra/local/services.ts';

const held: Server[] = [];
const sockets: Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
});

/** A port held by a server that accepts and never answers (as another program's might). */
async function holdPort(): Promise<number> {
  const port = await freePort();
  const srv = createServer((socket) => sockets.push(socket));
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  held.push(srv);
  return port;
}

describe('startRedis on a taken port', () => {
  it('fails within moments with the server log, not after its whole wait', async () => {
    const port = await holdPort();
    const began = performance.now();
    await expect(startRedis({ port })).rejects.toThrow(/ended at start/);
    expect(performance.now() - began).toBeLessThan(8_000);
  });
});
