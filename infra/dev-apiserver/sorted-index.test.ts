import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Slot, SortedIndex } from './sorted-index.ts';

const keys = (idx: SortedIndex<number>, after?: string, before?: string) => {
  const out: string[] = [];
  idx.forEach(after, before, (s) => out.push(s.key) > 0);
  return out;
};

describe('SortedIndex', () => {
  it('keeps keys in byte order through adds and deletes, across chunk splits, as a sorted array would', () => {
    const key = fc.integer({ min: 0, max: 3000 }).map((n) => `ns-${n % 7}/obj-${n}`);
    // Three adds to a delete, so the index grows past a chunk (512) and splits.
    const op = fc.tuple(
      fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
      key,
    );
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1500, maxLength: 3000 }),
        fc.option(key),
        fc.option(key),
        (ops, after, before) => {
          const idx = new SortedIndex<number>();
          const model = new Set<string>();
          for (const [add, k] of ops) {
            if (add) expect(idx.add({ key: k, value: 0 })).toBe(!model.has(k));
            else expect(idx.delete(k)).toBe(model.has(k));
            if (add) model.add(k);
            else model.delete(k);
          }
          const sorted = [...model].sort();
          expect(idx.size).toBe(sorted.length);
          expect(keys(idx)).toEqual(sorted);
          const a = after ?? undefined;
          const b = before ?? undefined;
          expect(keys(idx, a, b)).toEqual(
            sorted.filter((k) => (a === undefined || k > a) && (b === undefined || k < b)),
          );
          if (a !== undefined) expect(idx.rank(a)).toBe(sorted.filter((k) => k < a).length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stops where the visitor says, and hands out the slot whose value the store replaces', () => {
    const idx = new SortedIndex<string>();
    const slots: Slot<string>[] = ['b', 'a', 'c', 'd'].map((k) => ({ key: k, value: `v${k}` }));
    for (const s of slots) idx.add(s);
    (slots[2] as Slot<string>).value = 'changed';
    const seen: string[] = [];
    idx.forEach('a', undefined, (s) => seen.push(s.value) < 2);
    expect(seen).toEqual(['vb', 'changed']);
    expect(idx.rank('zz')).toBe(4);
    expect(idx.rank('')).toBe(0);
  });
});
