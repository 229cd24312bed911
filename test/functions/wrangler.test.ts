// The Worker entry under `wrangler dev` (workerd, nodejs_compat) reaching the run's real Redis over
// TCP: register a subnet, reserve concurrently, and read the result back from Node. Bounded: the
// whole process group wrangler starts (node + workerd) is stopped by its id at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, sleep, waitFor } from '../../infra/local/services.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';

const root = resolve(import.meta.dirname, '../..');
let child: ChildProcess | undefined;

async function stopGroup(pid: number) {
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {}
  for (let i = 0; i < 50 && alive(); i++) await sleep(100);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}
afterAll(async () => {
  if (child?.pid) await stopGroup(child.pid);
});

describe('reservation API on wrangler dev (workerd)', () => {
  it('reserves addresses in the real Redis from inside workerd', { timeout: 60_000 }, async () => {
    const port = await freePort();
    let out = '';
    child = spawn(
      resolve(root, 'node_modules/.bin/wrangler'),
      [
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--var',
        `REDIS_URL:${inject('redisUrl')}`,
        '--var',
        'API_TOKEN:wt',
      ],
      {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: node + workerd are stopped together, by our pid
      },
    );
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    await waitFor('wrangler dev ready', async () => out.includes('Ready on'), {
      timeoutMs: 40_000,
      intervalMs: 200,
    }).catch((e) => {
      throw new Error(`${e}\n${out}`);
    });
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: 'Bearer wt', 'content-type': 'application/json' };
    const subnet = `wrangler-${process.pid}-${Date.now().toString(36)}`;
    const reg = await fetch(`${base}/v1/subnets`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: subnet, cidrBlock: '10.64.0.0/24' }),
    });
    expect(reg.status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(`${base}/v1/subnets/${subnet}/reservations`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ owner: `lb/w${i}` }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { v4ip: string } })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((r) => r.body.v4ip)).size).toBe(10);
    expect((await fetch(`${base}/v1/subnets/${subnet}/reservations`)).status).toBe(401);
    const redis = new Redis(inject('redisUrl'));
    try {
      const ipam = createRedisAllocator(redis);
      expect((await ipam.counts(subnet)).v4UsingIPRange).toBe('10.64.0.2-10.64.0.11');
      expect(await ipam.audit(subnet)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
