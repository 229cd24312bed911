// What the README's durability paragraph promises, measured: with AOF on, every write Redis
// acknowledged before a kill -9 is there after the restart. Run for `appendfsync always` (what the
// chaos test uses) and for `everysec` (the default), with writers busy at the moment of the kill.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServer, redisCli, sleep, startRedis } from '../../infra/local/services.ts';

let server: RedisServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function killDuringWrites(fsync: 'always' | 'everysec') {
  server = await startRedis({ appendonly: true });
  await redisCli(server.port, 'CONFIG', 'SET', 'appendfsync', fsync);
  const clients = Array.from({ length: 8 }, () => {
    const c = new Redis(server!.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {}); // the kill is the point
    return c;
  });
  const acked: string[] = [];
  let stop = false;
  const writers = clients.map(async (c, w) => {
    for (let i = 0; !stop; i++) {
      const key = `k:${w}:${i}`;
      try {
        // A Lua script, as the allocator's writes are.
        await c.eval("redis.call('SET', KEYS[1], '1'); return 1", 1, key);
        acked.push(key);
      } catch {
        return;
      }
    }
  });
  await sleep(1_500);
  server = await server.restart({ signal: 'SIGKILL' });
  stop = true;
  await Promise.all(writers);
  for (const c of clients) c.disconnect();
  const check = new Redis(server.url);
  const present = await Promise.all(acked.map((k) => check.exists(k)));
  check.disconnect();
  return { acked: acked.length, lost: present.filter((n) => n === 0).length };
}

describe('Redis AOF across kill -9', () => {
  it('keeps every acknowledged write with appendfsync always', async () => {
    const r = await killDuringWrites('always');
    console.log(`appendfsync always: ${r.acked} acknowledged, ${r.lost} lost`);
    expect(r.acked).toBeGreaterThan(100);
    expect(r.lost).toBe(0);
  });

  it('keeps every acknowledged write with appendfsync everysec when only the process dies', async () => {
    const r = await killDuringWrites('everysec');
    console.log(`appendfsync everysec: ${r.acked} acknowledged, ${r.lost} lost`);
    expect(r.acked).toBeGreaterThan(100);
    expect(r.lost).toBe(0);
  });
});
