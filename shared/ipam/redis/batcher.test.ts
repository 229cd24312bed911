import { describe, expect, it } from 'vitest';
import { Batcher, callSizes } from './batcher.ts';

describe('callSizes', () => {
  it('one call below splitAt, at most maxBatch each', () => {
    expect(callSizes(0, 64, 32)).toEqual([]);
    expect(callSizes(1, 64, 32)).toEqual([1]);
    expect(callSizes(31, 64, 32)).toEqual([31]);
    expect(callSizes(50, 64)).toEqual([50]); // no splitAt: only maxBatch splits
    expect(callSizes(130, 64)).toEqual([44, 43, 43]);
  });

  it('two equal calls from splitAt on, more when maxBatch needs them', () => {
    expect(callSizes(32, 64, 32)).toEqual([16, 16]);
    expect(callSizes(50, 64, 32)).toEqual([25, 25]);
    expect(callSizes(51, 64, 32)).toEqual([26, 25]);
    expect(callSizes(200, 64, 32)).toEqual([50, 50, 50, 50]);
    expect(callSizes(5, 1, 32)).toEqual([1, 1, 1, 1, 1]);
  });

  it('every request goes in exactly one call, none larger than maxBatch', () => {
    for (let n = 0; n <= 300; n++) {
      for (const [max, split] of [
        [64, 32],
        [17, 8],
        [500, 2],
      ] as const) {
        const sizes = callSizes(n, max, split);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
        for (const s of sizes) expect(s).toBeGreaterThan(0);
        for (const s of sizes) expect(s).toBeLessThanOrEqual(max);
        if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('Batcher', () => {
  /** A batcher whose send records each call (key, requests, what had been sent before it) and
   *  answers each request with its own value doubled, once the test releases it. */
  const recording = (opts: { maxBatch: number; splitAt?: number }) => {
    const calls: { key: string; reqs: number[]; sentBefore: number }[] = [];
    const release: (() => void)[] = [];
    const batcher = new Batcher<number, number>({
      ...opts,
      send: (key, reqs) => {
        calls.push({ key, reqs: [...reqs], sentBefore: calls.length });
        return new Promise((resolve) => release.push(() => resolve(reqs.map((r) => r * 2))));
      },
    });
    return { batcher, calls, release };
  };

  it('a tick of 50 with splitAt 32 goes as two calls of 25, in order, the second a turn later', async () => {
    const { batcher, calls, release } = recording({ maxBatch: 64, splitAt: 32 });
    const results = Promise.all(Array.from({ length: 50 }, (_, i) => batcher.submit('s', i)));
    await new Promise((r) => setImmediate(r));
    // the first call is out, the second not yet: Redis starts on one before the other arrives
    expect(calls.map((c) => c.reqs.length)).toEqual([25]);
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.reqs)).toEqual([
      Array.from({ length: 25 }, (_, i) => i),
      Array.from({ length: 25 }, (_, i) => i + 25),
    ]);
    for (const r of release) r();
    expect(await results).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it('without splitAt the same tick is one call; keys never share a call', async () => {
    const { batcher, calls, release } = recording({ maxBatch: 64 });
    const a = Promise.all(Array.from({ length: 50 }, (_, i) => batcher.submit('a', i)));
    const b = batcher.submit('b', 7);
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => [c.key, c.reqs.length])).toEqual([
      ['a', 50],
      ['b', 1],
    ]);
    for (const r of release) r();
    expect(await a).toHaveLength(50);
    expect(await b).toBe(14);
  });

  it('a failed call rejects only its own requests', async () => {
    let n = 0;
    const batcher = new Batcher<number, number>({
      maxBatch: 64,
      splitAt: 4,
      send: async (_key, reqs) => {
        if (n++ === 0) throw new Error('connection lost');
        return reqs.map((r) => r + 1);
      },
    });
    const got = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => batcher.submit('k', i)));
    expect(got.map((g) => g.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect(got.slice(2).map((g) => (g.status === 'fulfilled' ? g.value : null))).toEqual([3, 4]);
  });
});
