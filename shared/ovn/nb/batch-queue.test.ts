import { expect, it } from 'vitest';
import { BatchQueue, upTo } from './batch-queue.ts';

interface Req {
  n: number;
  resolve: (v: number) => void;
  reject: (err: unknown) => void;
}

function queue(settle: (batch: Req[]) => Promise<void>, max = 10) {
  const batches: number[][] = [];
  const q = new BatchQueue<Req>(upTo(max), async (batch) => {
    batches.push(batch.map((r) => r.n));
    await settle(batch);
  });
  const ask = (n: number) => new Promise<number>((resolve, reject) => q.add({ n, resolve, reject }));
  return { batches, ask };
}

it('sends a lone request at once and the ones made while it is out together, in chunks', async () => {
  const { batches, ask } = queue(async (batch) => {
    await new Promise((r) => setTimeout(r, 5));
    for (const r of batch) r.resolve(r.n * 2);
  }, 3);
  const answers = await Promise.all([1, 2, 3, 4, 5, 6].map(ask));
  expect(answers).toEqual([2, 4, 6, 8, 10, 12]);
  expect(batches).toEqual([[1], [2, 3, 4], [5, 6]]);
});

it('rejects every request of a batch whose settle threw, and goes on with the next', async () => {
  let first = true;
  const { ask } = queue(async (batch) => {
    if (first) {
      first = false;
      throw new Error('boom');
    }
    for (const r of batch) r.resolve(r.n);
  });
  const a = ask(1);
  const b = ask(2);
  await expect(a).rejects.toThrow('boom');
  await expect(b).resolves.toBe(2);
});
