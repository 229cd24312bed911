// 8 concurrent clients x 5,000 allocations in one /16, with micro-batching on (the default): no
// address or MAC handed out twice, the audit is clean and the counts are exact.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';
import { uniqueName } from './helpers.ts';

const CLIENTS = 8;
const PER_CLIENT = 5000;

let clients: Redis[] = [];
beforeAll(() => {
  clients = Array.from({ length: CLIENTS }, () => new Redis(inject('redisUrl')));
});
afterAll(() => {
  for (const c of clients) c.disconnect();
});

describe('concurrent allocation', () => {
  it(`${CLIENTS} clients x ${PER_CLIENT} allocations in one /16: 0 duplicates, clean audit`, {
    timeout: 120_000,
  }, async () => {
    const sizes: number[] = [];
    const allocators: Allocator[] = clients.map((c) =>
      createRedisAllocator(c, { onBatch: (n) => sizes.push(n) }),
    );
    const subnet = uniqueName('conc');
    await allocators[0]?.registerSubnet({
      name: subnet,
      cidrBlock: '10.30.0.0/16',
      excludeIps: ['10.30.1.0..10.30.1.255'],
    });
    const results = await Promise.all(
      allocators.map(async (ipam, c) => {
        const got: { v4: string; mac: string }[] = [];
        // 16 requests in flight per client, like a busy handler
        const owners = Array.from({ length: PER_CLIENT }, (_, i) => `pod/p${c}-${i}.ns`);
        const lanes = Array.from({ length: 16 }, async (_, lane) => {
          for (let i = lane; i < owners.length; i += 16) {
            const r = await ipam.allocate({ subnet, owner: owners[i] as string });
            got.push({ v4: r.v4 ?? '', mac: r.mac });
          }
        });
        await Promise.all(lanes);
        return got;
      }),
    );
    const all = results.flat();
    expect(Math.max(...sizes)).toBeGreaterThan(1); // batches did form
    expect(all).toHaveLength(CLIENTS * PER_CLIENT);
    expect(new Set(all.map((r) => r.v4)).size).toBe(CLIENTS * PER_CLIENT);
    expect(new Set(all.map((r) => r.mac)).size).toBe(CLIENTS * PER_CLIENT);
    expect(all.some((r) => r.v4.startsWith('10.30.1.'))).toBe(false);
    const ipam = allocators[0] as Allocator;
    expect(await ipam.audit(subnet)).toEqual([]);
    const c = await ipam.counts(subnet);
    expect(c.v4UsingIPs).toBe(CLIENTS * PER_CLIENT);
    expect(c.v4AvailableIPs).toBe(65534 - 257 - CLIENTS * PER_CLIENT);
    // lowest free: exactly .2 .. and on, skipping the excluded /24
    expect(c.v4UsingIPRange).toBe('10.30.0.2-10.30.0.255,10.30.2.0-10.30.157.65');
    await ipam.deleteSubnet(subnet, { force: true });
  });
});
