// The relay's pending set (issue 18): an outage of any length delays an object's change, it never
// drops it; memory is bounded by the objects, not the events; a sink that answers again gets its
// keys at once; a key the function keeps failing on is parked and reported, never blocking others.
// A fake clock drives every wait, so none of this sleeps.
import { describe, expect, it } from 'vitest';
import type { Delay } from '../../infra/relay/backoff.ts';
import type { ChangeEvent } from '../../infra/relay/cache.ts';
import { Delivery } from '../../infra/relay/delivery.ts';
import type { SendResult } from '../../infra/relay/send-result.ts';

const ev = (action: ChangeEvent['action'], name: string, rv: string): ChangeEvent => ({
  action,
  key: `Vip:${name}`,
  object: { apiVersion: 'kubeovn.io/v1', kind: 'Vip', metadata: { name, resourceVersion: rv } },
});

/** Virtual time: delays resolve only when `advance` moves the clock past them. */
function fakeClock() {
  let now = 0;
  const timers: { at: number; fire: () => void }[] = [];
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  const delay: Delay = (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = {
        at: now + ms,
        fire: () => {
          signal?.removeEventListener('abort', t.fire);
          const i = timers.indexOf(t);
          if (i >= 0) timers.splice(i, 1);
          resolve();
        },
      };
      timers.push(t);
      signal?.addEventListener('abort', t.fire, { once: true });
    });
  return {
    delay,
    now: () => now,
    settle,
    /** Moves the clock by `ms`, firing each timer due on the way, in order. */
    async advance(ms: number) {
      const end = now + ms;
      await settle();
      for (;;) {
        const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        now = Math.max(now, next.at);
        next.fire();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}

function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const unreachable: SendResult = { outcome: 'retry', detail: 'network: ECONNREFUSED', unreachable: true };

describe('the pending set', () => {
  it('10,000 updates to 100 objects during an outage stay 100 keys, and each object is sent its latest state when the sink is back', async () => {
    const clock = fakeClock();
    let up = false;
    const sent: ChangeEvent[] = [];
    let tries = 0;
    const d = new Delivery({
      delay: clock.delay,
      now: clock.now,
      concurrency: 16,
      probe: async () => up,
      send: async (e) => {
        tries++;
        if (!up) return unreachable;
        sent.push(e);
        return { outcome: 'done' };
      },
    });
    for (let i = 0; i < 10_000; i++) {
      d.enqueue(ev(i < 100 ? 'add' : 'update', `v${i % 100}`, String(i + 1)));
      if (i % 1000 === 999) await clock.advance(6_000); // an outage of a minute, updates all along
    }
    const during = d.stats();
    expect(during.pendingKeys).toBe(100);
    // One state per object (the one in flight included): memory follows objects, not events.
    expect(during.pending).toBeLessThanOrEqual(100);
    expect(during.oldestPendingMs).toBe(60_000);
    expect(during).toMatchObject({ delivered: 0, dropped: 0, exhausted: 0, unreachableSinks: 1 });
    // Backoff, not a busy loop: far fewer tries than events over the minute.
    expect(tries).toBeLessThan(100 * 12);

    up = true;
    await clock.advance(1_000); // one probe interval
    await d.idle();
    expect(sent).toHaveLength(100);
    for (const e of sent) {
      const n = Number(e.object.metadata.name.slice(1));
      expect(e.object.metadata.resourceVersion).toBe(String(9_900 + n + 1));
      expect(e.action).toBe('add'); // first announced as added, it stays an add
    }
    expect(d.stats()).toMatchObject({ pendingKeys: 0, oldestPendingMs: 0, unreachableSinks: 0 });
  });

  it('an outage far longer than the old retry budget loses nothing; a probe answering flushes every waiting key within a second', async () => {
    const clock = fakeClock();
    let up = false;
    const deliveredAt = new Map<string, number>();
    const d = new Delivery({
      delay: clock.delay,
      now: clock.now,
      probe: async () => up,
      probeIntervalMs: 1_000,
      send: async (e) => {
        if (!up) return unreachable;
        deliveredAt.set(e.key, clock.now());
        return { outcome: 'done' };
      },
    });
    for (let i = 0; i < 200; i++) d.enqueue(ev('add', `v${i}`, '1'));
    await clock.advance(10 * 60_000); // ten minutes: every key is at its 30 s cap by now
    expect(d.stats()).toMatchObject({ pendingKeys: 200, delivered: 0, drops: {} });
    up = true;
    const back = clock.now();
    await clock.advance(1_000);
    await d.idle();
    expect(deliveredAt.size).toBe(200);
    expect(Math.max(...deliveredAt.values()) - back).toBeLessThanOrEqual(1_000);
  });

  it('a replica restarting: once its probe answers, the keys waiting for it go within a probe interval, not a retry gap', async () => {
    const clock = fakeClock();
    let up = false;
    const deliveredAt = new Map<string, number>();
    const d = new Delivery({
      delay: clock.delay,
      now: clock.now,
      probe: async () => up,
      probeIntervalMs: 250,
      minRetryGapMs: 1_000,
      send: async (e) => {
        if (!up) return unreachable;
        deliveredAt.set(e.key, clock.now());
        return { outcome: 'done' };
      },
    });
    for (let i = 0; i < 20; i++) d.enqueue(ev('add', `v${i}`, '1'));
    await clock.advance(700); // tried and refused while the replica starts
    up = true;
    const back = clock.now();
    await clock.advance(500);
    await d.idle();
    expect(deliveredAt.size).toBe(20);
    // The next probe (<= 250 ms) proves it up; each key then waits at most a probe interval more.
    expect(Math.max(...deliveredAt.values()) - back).toBeLessThanOrEqual(500);
  });

  it('a success of one key sends the others waiting on the same sink at once (a 503 outage ends)', async () => {
    const clock = fakeClock();
    let redisUp = false;
    const deliveredAt = new Map<string, number>();
    const d = new Delivery({
      delay: clock.delay,
      now: clock.now,
      send: async (e) => {
        if (!redisUp) return { outcome: 'retry', detail: 'HTTP 503 RedisUnavailable' };
        deliveredAt.set(e.key, clock.now());
        return { outcome: 'done' };
      },
    });
    for (let i = 0; i < 20; i++) d.enqueue(ev('add', `v${i}`, '1'));
    await clock.advance(5 * 60_000);
    redisUp = true;
    const back = clock.now();
    d.enqueue(ev('add', 'fresh', '1')); // the first success after the outage
    await clock.advance(1_000);
    await d.idle();
    expect(deliveredAt.size).toBe(21);
    expect(Math.max(...deliveredAt.values()) - back).toBeLessThanOrEqual(1_000);
  });

  it('keys of another sink are not woken by a success: each sink recovers on its own', async () => {
    const clock = fakeClock();
    const tries = new Map<string, number>();
    const d = new Delivery({
      delay: clock.delay,
      now: clock.now,
      backoff: { baseMs: 10_000, maxMs: 10_000 },
      sinkOf: (key) => (key.endsWith('-a') ? 'a' : 'b'),
      send: async (e) => {
        tries.set(e.key, (tries.get(e.key) ?? 0) + 1);
        return e.key.endsWith('-a') ? { outcome: 'done' } : { outcome: 'retry', detail: 'HTTP 503' };
      },
    });
    d.enqueue(ev('add', 'x-b', '1'));
    for (let i = 0; i < 50; i++) {
      d.enqueue(ev('update', 'y-a', String(i)));
      await clock.advance(100);
    }
    // 5 s of successes on sink a: the key of sink b kept to its 10 s backoff (one try).
    expect(tries.get('Vip:x-b')).toBe(1);
    expect(d.stats().pendingKeys).toBe(1);
    await d.close(0);
  });

  it('a key the function keeps failing on is reported once and parked at the longest wait; others flow; a new state retries it', async () => {
    const clock = fakeClock();
    const { lines, logger } = recorder();
    let fixed = false;
    const tries = new Map<string, number>();
    const d = new Delivery({
      delay: clock.delay,
      now: clock.now,
      logger,
      maxAttempts: 5,
      parkMs: 5 * 60_000,
      send: async (e) => {
        tries.set(e.key, (tries.get(e.key) ?? 0) + 1);
        if (e.key === 'Vip:poison' && !fixed) return { outcome: 'failed', detail: 'HTTP 500 InternalError' };
        return { outcome: 'done' };
      },
    });
    d.enqueue(ev('add', 'poison', '7'));
    await clock.advance(60_000);
    expect(tries.get('Vip:poison')).toBe(5);
    const dead = lines.filter((l) => l.level === 'error');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.msg).toMatch(/^dead letter/);
    expect(dead[0]!.obj).toMatchObject({
      key: 'Vip:poison',
      kind: 'Vip',
      name: 'poison',
      resourceVersion: '7',
      attempts: 5,
      detail: 'HTTP 500 InternalError',
    });
    expect(d.stats()).toMatchObject({ parkedKeys: 1, deadLetters: 1, pendingKeys: 1 });

    // Others are not held up by it.
    for (let i = 0; i < 10; i++) d.enqueue(ev('add', `ok${i}`, '1'));
    await clock.advance(10);
    expect(d.stats().delivered).toBe(10);

    // Parked: one try per parkMs, reported once.
    await clock.advance(10 * 60_000);
    expect(tries.get('Vip:poison')).toBe(7);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);

    // A newer state may be the fix: it is tried soon, not at the end of the park.
    fixed = true;
    d.enqueue(ev('update', 'poison', '8'));
    await clock.advance(1_000);
    await d.idle();
    expect(tries.get('Vip:poison')).toBe(8);
    expect(d.stats()).toMatchObject({ parkedKeys: 0, pendingKeys: 0, delivered: 11 });
  });

  it('a final verdict ends the key and is counted by its reason', async () => {
    const clock = fakeClock();
    const d = new Delivery({
      delay: clock.delay,
      now: clock.now,
      send: async (e) =>
        e.key === 'Vip:odd'
          ? { outcome: 'drop', detail: 'HTTP 422 UnsupportedKind', reason: 'UnsupportedKind' }
          : { outcome: 'drop', detail: 'HTTP 400', reason: 'HTTP 400' },
    });
    d.enqueue(ev('add', 'odd', '1'));
    d.enqueue(ev('add', 'odd2', '1'));
    await d.idle();
    expect(d.stats()).toMatchObject({
      dropped: 2,
      drops: { UnsupportedKind: 1, 'HTTP 400': 1 },
      pendingKeys: 0,
    });
  });

  it('logs the pending keys while anything is pending, and stops when nothing is', async () => {
    const { lines, logger } = recorder();
    let up = false;
    const d = new Delivery({
      logger,
      reportIntervalMs: 20,
      backoff: { baseMs: 5, maxMs: 10 },
      send: async () => (up ? { outcome: 'done' } : { outcome: 'retry', detail: 'HTTP 503' }),
    });
    for (let i = 0; i < 3; i++) d.enqueue(ev('add', `v${i}`, '1'));
    const t0 = Date.now();
    while (!lines.some((l) => l.msg === 'events pending') && Date.now() - t0 < 5_000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const line = lines.find((l) => l.msg === 'events pending')!;
    expect(line.obj).toMatchObject({ pendingKeys: 3, parkedKeys: 0 });
    expect(line.obj.oldestPendingMs).toBeGreaterThanOrEqual(15);
    up = true;
    await d.idle();
    const count = lines.filter((l) => l.msg === 'events pending').length;
    await new Promise((r) => setTimeout(r, 80));
    expect(lines.filter((l) => l.msg === 'events pending').length).toBe(count);
  });

  it('shutting down during an outage gives each key one last try and says how many keys were pending', async () => {
    let tries = 0;
    const d = new Delivery({
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      send: async () => {
        tries++;
        return unreachable;
      },
    });
    for (let i = 0; i < 4; i++) d.enqueue(ev('add', `v${i}`, '1'));
    while (tries < 4) await new Promise((r) => setTimeout(r, 5));
    const result = await d.close(100);
    expect(result).toMatchObject({ drained: false, pendingKeys: 4 });
    expect(tries).toBe(8);
    d.enqueue(ev('add', 'late', '1'));
    expect(d.stats().drops).toEqual({ shutdown: 1 });
  });
});
