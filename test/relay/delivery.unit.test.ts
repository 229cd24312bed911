import { describe, expect, it } from 'vitest';
import type { Delay } from '../../infra/relay/backoff.ts';
import type { ChangeEvent, KubeObject } from '../../infra/relay/cache.ts';
import { Delivery } from '../../infra/relay/delivery.ts';
import { dropEchoes, enqueueCollapsing } from '../../infra/relay/object-queue.ts';
import type { SendResult } from '../../infra/relay/send-result.ts';

const obj = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, resourceVersion: rv },
});
const ev = (action: ChangeEvent['action'], name: string, rv: string): ChangeEvent => ({
  action,
  key: `Pod:${name}`,
  object: obj(name, rv),
});
const rvOf = (e: ChangeEvent) => e.object.metadata.resourceVersion;

/** A delay that does not sleep but records what it was asked for. */
function fakeDelay() {
  const waits: number[] = [];
  const delay: Delay = (ms) => {
    waits.push(ms);
    return new Promise((r) => setImmediate(r));
  };
  return { waits, delay };
}

describe('collapsing a backlog', () => {
  it('keeps the newest state, keeps add as add, never loses or merges deletes', () => {
    const q: ChangeEvent[] = [];
    enqueueCollapsing(q, ev('add', 'a', '1'));
    enqueueCollapsing(q, ev('update', 'a', '2'));
    expect(q.map((e) => [e.action, rvOf(e)])).toEqual([['add', '2']]);
    enqueueCollapsing(q, ev('delete', 'a', '3'));
    enqueueCollapsing(q, ev('add', 'a', '4'));
    enqueueCollapsing(q, ev('delete', 'a', '5'));
    enqueueCollapsing(q, ev('update', 'a', '6'));
    enqueueCollapsing(q, ev('update', 'a', '7'));
    expect(q.map((e) => [e.action, rvOf(e)])).toEqual([
      ['delete', '3'],
      ['delete', '5'],
      ['update', '7'],
    ]);
  });
});

describe('delivery', () => {
  it('sends the events of one key in order, one at a time', async () => {
    const sent: string[] = [];
    let concurrentForKey = 0;
    let maxConcurrentForKey = 0;
    const d = new Delivery({
      send: async (e) => {
        concurrentForKey++;
        maxConcurrentForKey = Math.max(maxConcurrentForKey, concurrentForKey);
        await new Promise((r) => setTimeout(r, 2));
        sent.push(`${e.action}:${rvOf(e)}`);
        concurrentForKey--;
        return { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'a', '1'));
    d.enqueue(ev('delete', 'a', '2'));
    d.enqueue(ev('add', 'a', '3'));
    d.enqueue(ev('update', 'a', '4'));
    await d.idle();
    // The first is in flight at once; the rest queue behind it (the add+update collapse into one add).
    expect(sent).toEqual(['add:1', 'delete:2', 'add:4']);
    expect(maxConcurrentForKey).toBe(1);
    expect(d.stats()).toMatchObject({ delivered: 3, collapsed: 1, pending: 0, inFlight: 0 });
  });

  it('retries 503 with growing jittered backoff, capped, until it succeeds, while other keys go through', async () => {
    const { waits, delay } = fakeDelay();
    const attemptsByKey = new Map<string, number>();
    const delivered: string[] = [];
    const d = new Delivery({
      delay,
      // A clock that stands still: a wait cut short by another key's success restarts whole.
      now: () => 0,
      random: () => 1,
      concurrency: 2,
      backoff: { baseMs: 100, maxMs: 1000 },
      send: async (e) => {
        const n = (attemptsByKey.get(e.key) ?? 0) + 1;
        attemptsByKey.set(e.key, n);
        // An outage far longer than the old budget of 8 tries.
        if (e.key === 'Pod:bad' && n <= 40) return { outcome: 'retry', detail: 'HTTP 503' };
        delivered.push(e.key);
        return { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'bad', '1'));
    for (let i = 0; i < 20; i++) d.enqueue(ev('add', `ok-${i}`, '1'));
    await d.idle();
    expect(delivered).toHaveLength(21);
    expect(attemptsByKey.get('Pod:bad')).toBe(41);
    // Doubling from the base, then capped (a success of another key may cut a wait short and
    // start the rest of it again, so a step can appear twice).
    expect([...new Set(waits)]).toEqual([100, 200, 400, 800, 1000]);
    expect(d.stats()).toMatchObject({ delivered: 21, exhausted: 0, dropped: 0, retries: 40, pendingKeys: 0 });
  });

  it('other keys finish while a failing key is still retrying', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const delay: Delay = () => gate; // the failing key waits until the test says so
    let badAttempts = 0;
    const d = new Delivery({
      concurrency: 1,
      delay,
      send: async (e) => {
        if (e.key === 'Pod:bad') {
          badAttempts++;
          return badAttempts < 2 ? { outcome: 'retry', detail: 'HTTP 503' } : { outcome: 'done' };
        }
        return { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'bad', '1'));
    d.enqueue(ev('add', 'good', '1'));
    d.enqueue(ev('add', 'good2', '1'));
    await new Promise((r) => setTimeout(r, 20));
    expect(d.stats()).toMatchObject({ delivered: 2, activeKeys: 1 });
    release();
    await d.idle();
    expect(d.stats()).toMatchObject({ delivered: 3 });
  });

  it('honours Retry-After (capped), drops a 4xx refusal, treats a thrown error as retryable', async () => {
    const { waits, delay } = fakeDelay();
    const answers: Record<string, SendResult[]> = {
      'Pod:slow': [{ outcome: 'retry', detail: '429', retryAfterMs: 5000 }, { outcome: 'done' }],
      'Pod:capped': [{ outcome: 'retry', detail: '429', retryAfterMs: 999_999 }, { outcome: 'done' }],
      'Pod:refused': [{ outcome: 'drop', detail: 'HTTP 422', reason: 'InvalidSpec' }],
    };
    let thrown = 0;
    const d = new Delivery({
      delay,
      random: () => 0,
      maxRetryAfterMs: 20_000,
      send: async (e) => {
        if (e.key === 'Pod:net') {
          thrown++;
          if (thrown === 1) throw new Error('ECONNREFUSED');
          return { outcome: 'done' };
        }
        return answers[e.key]!.shift()!;
      },
    });
    d.enqueue(ev('add', 'slow', '1'));
    await d.idle();
    d.enqueue(ev('add', 'capped', '1'));
    await d.idle();
    d.enqueue(ev('add', 'refused', '1'));
    d.enqueue(ev('add', 'net', '1'));
    await d.idle();
    expect(waits).toEqual([5000, 20_000, 50]);
    expect(d.stats()).toMatchObject({ delivered: 3, dropped: 1, retries: 3, drops: { InvalidSpec: 1 } });
  });

  it('a newer state that arrives during a retry replaces the one being retried; a delete does not', async () => {
    const sent: string[] = [];
    let fail = true;
    let d: Delivery;
    const delay: Delay = async () => {
      // A newer state arrives while the first is waiting to be retried.
      if (fail) d.enqueue(ev('update', 'a', '2'));
      fail = false;
    };
    d = new Delivery({
      delay,
      send: async (e) => {
        sent.push(`${e.action}:${rvOf(e)}`);
        return fail ? { outcome: 'retry', detail: '503' } : { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'a', '1'));
    await d.idle();
    expect(sent).toEqual(['add:1', 'add:2']);
  });

  it('respects the global concurrency limit', async () => {
    let now = 0;
    let peak = 0;
    const d = new Delivery({
      concurrency: 3,
      send: async () => {
        now++;
        peak = Math.max(peak, now);
        await new Promise((r) => setTimeout(r, 3));
        now--;
        return { outcome: 'done' };
      },
    });
    for (let i = 0; i < 30; i++) d.enqueue(ev('add', `k${i}`, '1'));
    await d.idle();
    expect(peak).toBe(3);
    expect(d.stats().delivered).toBe(30);
  });

  it('close waits for in-flight sends within the deadline, then aborts the rest', async () => {
    const d = new Delivery({
      send: async () => {
        await new Promise((r) => setTimeout(r, 30));
        return { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'a', '1'));
    d.enqueue(ev('add', 'b', '1'));
    expect(await d.close(2000)).toEqual({ drained: true, abandoned: 0, pendingKeys: 0 });
    expect(d.stats().delivered).toBe(2);
    d.enqueue(ev('add', 'late', '1'));
    expect(d.stats().enqueued).toBe(2);

    const stuck = new Delivery({
      send: (_e, signal) =>
        new Promise<SendResult>((resolve) =>
          signal.addEventListener('abort', () => resolve({ outcome: 'retry', detail: 'aborted' })),
        ),
    });
    stuck.enqueue(ev('add', 'x', '1'));
    stuck.enqueue(ev('update', 'x', '2'));
    const t0 = Date.now();
    const res = await stuck.close(50);
    expect(res.drained).toBe(false);
    expect(res.abandoned).toBeGreaterThan(0);
    expect(res.pendingKeys).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('echo dropping (produced resourceVersions)', () => {
  it('dropEchoes removes exact matches only, and never a delete', () => {
    const q = [ev('delete', 'a', '5'), ev('update', 'a', '6')];
    expect(dropEchoes(q, new Set(['06', '5']))).toBe(0);
    expect(q).toHaveLength(2);
    expect(dropEchoes(q, new Set(['6']))).toBe(1);
    expect(q.map(rvOf)).toEqual(['5']);
  });

  it('a pending echo of the write a handler reported is not sent; other states are', async () => {
    const sent: string[] = [];
    let d: Delivery;
    d = new Delivery({
      send: async (e) => {
        sent.push(`${e.key}@${rvOf(e)}`);
        if (e.key === 'Pod:a' && rvOf(e) === '1') {
          d.enqueue(ev('update', 'a', '2')); // the handler's own write, watched while it answers
          d.enqueue(ev('update', 'b', '2')); // another object with the same resourceVersion text
          return { outcome: 'done', produced: ['2'] };
        }
        return { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'a', '1'));
    await d.idle();
    expect(sent).toEqual(['Pod:a@1', 'Pod:b@2']);
    expect(d.stats()).toMatchObject({ delivered: 2, echoes: 1, pending: 0 });
    // A later, foreign change of the same object still goes out.
    d.enqueue(ev('update', 'a', '3'));
    await d.idle();
    expect(sent.at(-1)).toBe('Pod:a@3');
  });

  it('an echo that arrives after the answer is dropped too, once; deletes are never dropped', async () => {
    const sent: string[] = [];
    const d = new Delivery({
      send: async (e) => {
        sent.push(`${e.action}@${rvOf(e)}`);
        return rvOf(e) === '1' ? { outcome: 'done', produced: ['2', '3'] } : { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'a', '1'));
    await d.idle();
    d.enqueue(ev('update', 'a', '2'));
    d.enqueue(ev('delete', 'a', '3'));
    await d.idle();
    d.enqueue(ev('add', 'a', '2')); // the same text again is no longer expected
    await d.idle();
    expect(sent).toEqual(['add@1', 'delete@3', 'add@2']);
    expect(d.stats().echoes).toBe(1);
  });

  it('remembers expected echoes for a bounded number of keys', async () => {
    const d = new Delivery({
      maxRememberedEchoKeys: 2,
      send: async (e) => ({ outcome: 'done', produced: [`${rvOf(e)}-echo`] }),
    });
    for (const k of ['a', 'b', 'c']) d.enqueue(ev('add', k, '1'));
    await d.idle();
    for (const k of ['a', 'b', 'c']) d.enqueue(ev('update', k, '1-echo'));
    await d.idle();
    // 'a' was forgotten first, so its echo went out (and produced one more expected echo).
    expect(d.stats()).toMatchObject({ echoes: 2, delivered: 4 });
  });
});

it('many keys waiting out a backoff on the real delay raise no listener-leak warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    let attempts = 0;
    const d = new Delivery({
      backoff: { baseMs: 20, maxMs: 20 },
      send: async () => (++attempts <= 30 ? { outcome: 'retry', detail: '503' } : { outcome: 'done' }),
    });
    for (let i = 0; i < 30; i++) d.enqueue(ev('add', `w${i}`, '1'));
    await d.idle();
    await new Promise((r) => setImmediate(r));
    expect(d.stats()).toMatchObject({ delivered: 30, retries: 30 });
    expect(warnings).toEqual([]);
  } finally {
    process.off('warning', onWarning);
  }
});
