import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, realDelay, WATCH_BACKOFF } from '../../infra/relay/backoff.ts';
import { pickSink } from '../../infra/relay/routing.ts';

describe('routing', () => {
  const urls = ['http://a:1/events', 'http://b:2/events', 'http://c:3/events'];

  it('the same key always picks the same URL, whatever the order of URLs', () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const first = pickSink(key, urls);
        expect(pickSink(key, [...urls].reverse())).toBe(first);
        expect(pickSink(key, urls)).toBe(first);
      }),
    );
  });

  it('spreads keys over all URLs and moves only the removed URL keys when one goes', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `Pod:ns/p-${i}`);
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(pickSink(k, urls), (counts.get(pickSink(k, urls)) ?? 0) + 1);
    for (const u of urls) expect(counts.get(u)).toBeGreaterThan(800);
    const fewer = urls.slice(0, 2);
    for (const k of keys) {
      const before = pickSink(k, urls);
      if (before !== urls[2]) expect(pickSink(k, fewer)).toBe(before);
    }
  });

  it('refuses an empty URL list', () => {
    expect(() => pickSink('k', [])).toThrow(/no sink/);
  });
});

describe('backoff', () => {
  it('doubles from the base, is capped, and jitters within the upper half', () => {
    expect(backoffDelay(0, WATCH_BACKOFF, () => 0)).toBe(100);
    expect(backoffDelay(0, WATCH_BACKOFF, () => 1)).toBe(200);
    expect(backoffDelay(3, WATCH_BACKOFF, () => 1)).toBe(1600);
    expect(backoffDelay(20, WATCH_BACKOFF, () => 1)).toBe(30_000);
    fc.assert(
      fc.property(fc.nat(60), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, WATCH_BACKOFF, () => r);
        expect(d).toBeGreaterThanOrEqual(100);
        expect(d).toBeLessThanOrEqual(30_000);
      }),
    );
  });

  it('parses Retry-After in seconds and as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('the real delay ends early when aborted', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 20);
    await realDelay(10_000, ac.signal);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
