import { describe, expect, it } from 'vitest';
import { Batcher, nextCallSize } from './batcher.ts';

const turn = () => new Promise((r) => setImmediate(r));

describe('nextCallSize', () => {
  it('with nothing out, half of a queue of splitAt or more; else the queue, up to maxBatch', () => {
    expect(nextCallSize(50, 0, 64, 32)).toBe(25);
    expect(nextCallSize(51, 0, 64, 32)).toBe(26);
    expect(nextCallSize(31, 0, 64, 32)).toBe(31);
    expect(nextCallSize(200, 0, 64, 32)).toBe(64);
    expect(nextCallSize(50, 1, 64, 32)).toBe(50); // another call is out: no reason to hold any back
    expect(nextCallSize(50, 0, 64)).toBe(50); // no splitAt
    expect(nextCallSize(5, 0, 1, 32)).toBe(1);
  });
});

describe('Batcher', () => {
  /** A batcher whose send records each call and answers each request with its value doubled once
   *  the test releases that call; `resolved` records requests as their callers get the answer. */
  const recording = (opts: { maxBatch: number; splitAt?: number }) => {
    const calls: { key: string; reqs: number[]; resolvedBefore: number }[] = [];
    const release: (() => void)[] = [];
    const resolved: number[] = [];
    const batcher = new Batcher<number, number>({
      ...opts,
      send: (key, reqs) => {
        calls.push({ key, reqs: [...reqs], resolvedBefore: resolved.length });
        return new Promise((resolve) => release.push(() => resolve(reqs.map((r) => r * 2))));
      },
    });
    const submit = (key: string, n: number, from = 0) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          batcher.submit(key, from + i).then((v) => {
            resolved.push(from + i);
            return v;
          }),
        ),
      );
    return { batcher, calls, release, resolved, submit };
  };

  it('a tick of 50 with nothing out: 25 now, the other 25 when that call answers, before its callers hear', async () => {
    const { calls, release, submit } = recording({ maxBatch: 64, splitAt: 32 });
    const results = submit('s', 50);
    await turn();
    await turn();
    // written together to an idle Redis, two calls would be run and answered together
    expect(calls.map((c) => c.reqs.length)).toEqual([25]);
    release[0]?.();
    await turn();
    expect(calls.map((c) => c.reqs)).toEqual([
      Array.from({ length: 25 }, (_, i) => i),
      Array.from({ length: 25 }, (_, i) => i + 25),
    ]);
    expect(calls[1]?.resolvedBefore).toBe(0); // sent before the first call's callers got their answers
    release[1]?.();
    expect(await results).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it('with one call out, the next tick goes at once; with two out, it waits for one to answer', async () => {
    const { calls, release, submit } = recording({ maxBatch: 64, splitAt: 32 });
    const a = submit('s', 10);
    await turn();
    const b = submit('s', 10, 10);
    await turn();
    expect(calls.map((c) => c.reqs.length)).toEqual([10, 10]);
    const c = submit('s', 10, 20);
    await turn();
    await turn();
    expect(calls).toHaveLength(2); // the window is full
    release[0]?.();
    await turn();
    expect(calls.map((x) => x.reqs[0])).toEqual([0, 10, 20]);
    release[1]?.();
    release[2]?.();
    expect((await Promise.all([a, b, c])).flat()).toEqual(Array.from({ length: 30 }, (_, i) => i * 2));
  });

  it('a burst with no requests coming back keeps two calls out, up to maxBatch each', async () => {
    const { calls, release, submit } = recording({ maxBatch: 64, splitAt: 32 });
    const all = submit('s', 200);
    await turn();
    expect(calls.map((c) => c.reqs.length)).toEqual([64]);
    release[0]?.();
    await turn();
    await turn();
    expect(calls.map((c) => c.reqs.length)).toEqual([64, 64, 64]);
    release[1]?.();
    await turn();
    expect(calls.map((c) => c.reqs.length)).toEqual([64, 64, 64, 8]);
    release[2]?.();
    release[3]?.();
    expect(await all).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
  });

  it('without splitAt a tick is one call; keys never share a call and have their own window', async () => {
    const { calls, release, submit } = recording({ maxBatch: 64 });
    const a = submit('a', 50);
    const b = submit('b', 1, 7);
    await turn();
    expect(calls.map((c) => [c.key, c.reqs.length])).toEqual([
      ['a', 50],
      ['b', 1],
    ]);
    for (const r of release) r();
    expect(await a).toHaveLength(50);
    expect(await b).toEqual([14]);
  });

  it('a failed call rejects only its own requests, and the next call still goes', async () => {
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
