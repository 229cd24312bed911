import { describe, expect, it } from 'vitest';
import { coalescedRead } from './coalesced-read.ts';

/** A read whose requests the test answers by hand: each request sees the state when it is sent. */
function source() {
  let state = 0;
  const requests: { sawState: number; answer: () => void; fail: (e: Error) => void }[] = [];
  const read = () =>
    new Promise<number>((resolve, reject) => {
      const sawState = state;
      requests.push({ sawState, answer: () => resolve(sawState), fail: reject });
    });
  return {
    read,
    requests,
    change: () => {
      state++;
    },
  };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('coalescedRead', () => {
  it('sends a lone call at once', async () => {
    const s = source();
    const get = coalescedRead(s.read);
    const a = get();
    expect(s.requests).toHaveLength(1);
    s.requests[0]!.answer();
    expect(await a).toBe(0);
  });

  it('calls made while a request is out share the next one, sent when it ends', async () => {
    const s = source();
    const get = coalescedRead(s.read);
    const first = get();
    const later = Array.from({ length: 50 }, () => get());
    expect(s.requests).toHaveLength(1);
    s.requests[0]!.answer();
    await first;
    await settle();
    expect(s.requests).toHaveLength(2);
    s.requests[1]!.answer();
    expect(await Promise.all(later)).toEqual(Array(50).fill(0));
    expect(s.requests).toHaveLength(2);
  });

  it('never answers a call from a request sent before it: a change made before the call is seen', async () => {
    const s = source();
    const get = coalescedRead(s.read);
    const before = get(); // out, sees state 0
    s.change(); // the change the next caller's event is about
    const after = get();
    s.requests[0]!.answer();
    expect(await before).toBe(0);
    await settle();
    s.requests[1]!.answer();
    expect(await after).toBe(1);
  });

  it('a failed request fails its callers only; the next call sends a new one', async () => {
    const s = source();
    const get = coalescedRead(s.read);
    const a = get();
    const b = get();
    s.requests[0]!.fail(new Error('down'));
    await expect(a).rejects.toThrow('down');
    await settle();
    s.requests[1]!.fail(new Error('still down'));
    await expect(b).rejects.toThrow('still down');
    await settle();
    const c = get();
    expect(s.requests).toHaveLength(3);
    s.requests[2]!.answer();
    expect(await c).toBe(0);
  });
});
