// The relay's leader election loop on a simulated clock against an in-memory Lease store that
// enforces resourceVersion guards as the API server does (the real server: test/e2e/leader.test.ts).
import { describe, expect, it } from 'vitest';
import { type Clock, LeaderElector, LeaseConflictError, type LeasePort } from '../../infra/relay/leader.ts';
import type { LeaseSpec, LeaseState } from '../../shared/domain/leader-lease.ts';

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** A clock whose time moves only in advance(); sleepers wake in time order. */
class FakeClock implements Clock {
  t = 1_700_000_000_000;
  private timers: { at: number; wake: () => void }[] = [];
  now = () => this.t;
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      };
      const timer = {
        at: this.t + Math.max(0, ms),
        wake: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.timers.push(timer);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  /** Moves time forward by `ms` in steps of at most `step`, calling `check` after each. */
  async advance(ms: number, check: () => void = () => {}, step = 100): Promise<void> {
    const end = this.t + ms;
    while (this.t < end) {
      const target = Math.min(end, this.t + step);
      for (;;) {
        await settle();
        this.timers.sort((a, b) => a.at - b.at);
        const next = this.timers[0];
        if (!next || next.at > target) break;
        this.timers.shift();
        this.t = next.at;
        next.wake();
      }
      this.t = target;
      await settle();
      check();
    }
  }
}
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

/** One Lease, as the API server keeps it: every write bumps resourceVersion, stale writes are 409. */
class LeaseStore {
  lease: LeaseState | undefined;
  private rv = 100;
  writes: { by: string; spec: LeaseSpec }[] = [];
  /** A view of the store for one candidate; `cut` makes its calls fail (or hang) like a partition. */
  port(who: string): LeasePort & { cut: 'no' | 'fail' | 'hang' } {
    const gate = <T>(view: { cut: string }, f: () => T): Promise<T> => {
      if (view.cut === 'hang') return new Promise(() => {});
      if (view.cut === 'fail') return Promise.reject(new Error('connect ECONNREFUSED'));
      return Promise.resolve().then(f);
    };
    const view = {
      cut: 'no' as 'no' | 'fail' | 'hang',
      get: () => gate(view, () => (this.lease ? structuredClone(this.lease) : undefined)),
      create: (spec: LeaseSpec) =>
        gate(view, () => {
          if (this.lease) throw new LeaseConflictError('leases "relay" already exists');
          return this.write(who, spec);
        }),
      update: (resourceVersion: string, spec: LeaseSpec) =>
        gate(view, () => {
          if (!this.lease || this.lease.resourceVersion !== resourceVersion)
            throw new LeaseConflictError('the object has been modified');
          return this.write(who, spec);
        }),
    };
    return view;
  }
  private write(by: string, spec: LeaseSpec): LeaseState {
    this.lease = { resourceVersion: String(++this.rv), spec: structuredClone(spec) };
    this.writes.push({ by, spec: structuredClone(spec) });
    return structuredClone(this.lease);
  }
}

function candidate(name: string, store: LeaseStore, clock: FakeClock, log: string[], random = () => 0.5) {
  const port = store.port(name);
  const elector = new LeaderElector({
    ...TIMING,
    identity: name,
    port,
    clock,
    random,
    onStartedLeading: () => {
      log.push(`${clock.now()} ${name} started`);
    },
    onStoppedLeading: (why) => {
      log.push(`${clock.now()} ${name} stopped ${why}`);
    },
  });
  return { name, elector, port };
}

const leaders = (cs: { elector: LeaderElector }[]) => cs.filter((c) => c.elector.isLeader()).length;

describe('LeaderElector', () => {
  it('elects exactly one of three candidates that start together, and it keeps the lease by renewing', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const log: string[] = [];
    const cs = ['a', 'b', 'c'].map((n, i) => candidate(n, store, clock, log, () => i / 3));
    for (const c of cs) c.elector.start();
    let maxLeaders = 0;
    await clock.advance(120_000, () => {
      maxLeaders = Math.max(maxLeaders, leaders(cs));
    });
    expect(maxLeaders).toBe(1);
    expect(leaders(cs)).toBe(1);
    const leader = cs.find((c) => c.elector.isLeader())!;
    // The losers of the first race lost on the resourceVersion guard: one create only.
    expect(
      store.writes.filter((w) => w.spec.leaseTransitions === 0 && w.spec.renewTime === w.spec.acquireTime),
    ).toHaveLength(1);
    expect(store.lease!.spec).toMatchObject({
      holderIdentity: leader.name,
      leaseTransitions: 0,
      leaseDurationSeconds: 15,
    });
    // Renewed every retry period, by the leader alone, with its acquireTime kept.
    expect(new Set(store.writes.map((w) => w.by))).toEqual(new Set([leader.name]));
    expect(store.writes.length).toBeGreaterThanOrEqual(120_000 / 2_000 - 1);
    expect(new Set(store.writes.map((w) => w.spec.acquireTime)).size).toBe(1);
    expect(log).toHaveLength(1);
    for (const c of cs) await c.elector.stop();
  });

  it('a leader that cannot reach the API server steps down at its renew deadline, before anyone takes over', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate('a', store, clock, log);
    a.elector.start();
    await clock.advance(1_000);
    expect(a.elector.isLeader()).toBe(true);
    const b = candidate('b', store, clock, log);
    b.elector.start();
    await clock.advance(10_000);
    expect(b.elector.status()).toMatchObject({ role: 'candidate', leader: 'a' });

    // A partition: a's calls hang. It must stop leading before b may start.
    a.port.cut = 'hang';
    const cutAt = clock.now();
    let both = 0;
    await clock.advance(30_000, () => {
      if (a.elector.isLeader() && b.elector.isLeader()) both++;
    });
    expect(both).toBe(0);
    expect(b.elector.isLeader()).toBe(true);
    const stoppedA = Number(log.find((l) => l.endsWith('a stopped lost'))!.split(' ')[0]);
    const startedB = Number(log.find((l) => l.endsWith('b started'))!.split(' ')[0]);
    expect(stoppedA).toBeLessThan(startedB);
    // a's last renewal was at most one retry period before the cut.
    expect(stoppedA - cutAt).toBeLessThanOrEqual(TIMING.renewDeadlineMs);
    // b waited the lease duration from when it last saw a renew, plus at most one poll.
    expect(startedB - cutAt).toBeLessThanOrEqual(TIMING.leaseDurationMs + TIMING.retryPeriodMs * 2.2);
    expect(store.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    const takeover = store.writes.find((w) => w.by === 'b')!.spec;
    expect(takeover.acquireTime).toBe(takeover.renewTime);
    expect(store.lease!.spec.acquireTime).toBe(takeover.acquireTime);

    // Back from the partition, a sees b's lease and stays a follower.
    a.port.cut = 'no';
    await clock.advance(20_000, () => expect(leaders([a, b])).toBe(1));
    expect(a.elector.status()).toMatchObject({ role: 'candidate', leader: 'b' });
    for (const c of [a, b]) await c.elector.stop();
  });

  it('a crashed leader (no more calls, no release) is replaced within the lease duration plus one poll', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate('a', store, clock, log);
    const b = candidate('b', store, clock, log, () => 1);
    a.elector.start();
    await clock.advance(500);
    b.elector.start();
    await clock.advance(7_000);
    // kill -9: the process makes no more calls and never runs onStoppedLeading.
    a.port.cut = 'fail';
    const lastRenew = Date.parse(store.lease!.spec.renewTime!);
    const killedAt = clock.now();
    await clock.advance(25_000);
    const startedB = Number(log.find((l) => l.endsWith('b started'))!.split(' ')[0]);
    expect(startedB - lastRenew).toBeGreaterThanOrEqual(TIMING.leaseDurationMs);
    expect(startedB - killedAt).toBeLessThanOrEqual(TIMING.leaseDurationMs + TIMING.retryPeriodMs * 2.2);
    await b.elector.stop();
  });

  it('a leader stopping cleanly drains first, then releases the lease, so a follower takes over within a poll', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate('a', store, clock, log);
    const b = candidate('b', store, clock, log, () => 0);
    a.elector.start();
    await clock.advance(500);
    b.elector.start();
    await clock.advance(5_000);
    const stoppedAt = clock.now();
    await a.elector.stop();
    expect(log.at(-1)).toBe(`${stoppedAt} a stopped shutdown`);
    expect(store.lease!.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await clock.advance(TIMING.retryPeriodMs + 100);
    expect(b.elector.isLeader()).toBe(true);
    expect(store.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
  });

  it('a leader that sees another holder in the lease steps down at once', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate('a', store, clock, log);
    a.elector.start();
    await clock.advance(1_000);
    // Someone (an operator, a misconfigured twin) writes another holder.
    store.lease = { resourceVersion: '999', spec: { ...store.lease!.spec, holderIdentity: 'z' } };
    await clock.advance(TIMING.retryPeriodMs + 100);
    expect(a.elector.status()).toMatchObject({ role: 'candidate', leader: 'z' });
    expect(log.at(-1)).toMatch(/a stopped lost$/);
    await a.elector.stop();
  });

  it('refuses timings that would let two leaders overlap', () => {
    const store = new LeaseStore();
    expect(
      () =>
        new LeaderElector({
          identity: 'a',
          port: store.port('a'),
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
          retryPeriodMs: 2_000,
          onStartedLeading() {},
          onStoppedLeading() {},
        }),
    ).toThrow(/lease duration/);
  });
});
