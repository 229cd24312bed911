import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMING,
  decideLease,
  type LeaseState,
  microTime,
  observe,
  releasedSpec,
  timingProblem,
} from './leader-lease.ts';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const opts = (identity: string, now: number) => ({ identity, now, leaseDurationMs: 15_000 });
const held = (holder: string, rv = '7', extra: Partial<LeaseState['spec']> = {}): LeaseState => ({
  resourceVersion: rv,
  spec: {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: microTime(T0 - 60_000),
    renewTime: microTime(T0 - 1_000),
    leaseTransitions: 3,
    ...extra,
  },
});

describe('microTime', () => {
  it('writes RFC 3339 in UTC with six fractional digits, as Kubernetes MicroTime', () => {
    expect(microTime(T0)).toBe('2026-01-02T03:04:05.678000Z');
  });
});

describe('decideLease (client-go tryAcquireOrRenew)', () => {
  it('creates a missing lease holding it, with no transitions yet', () => {
    expect(decideLease(undefined, { at: T0 }, opts('a', T0))).toEqual({
      action: 'create',
      spec: {
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: microTime(T0),
        renewTime: microTime(T0),
        leaseTransitions: 0,
      },
    });
  });

  it('waits while another holder renewed within its duration, by the time we saw it change', () => {
    const lease = held('b');
    const seen = observe({ at: 0 }, lease, T0);
    expect(decideLease(lease, seen, opts('a', T0 + 14_999))).toEqual({
      action: 'wait',
      holder: 'b',
      expiresAt: T0 + 15_000,
    });
  });

  it("judges expiry by the holder's own duration, not ours", () => {
    const lease = held('b', '7', { leaseDurationSeconds: 40 });
    const seen = observe({ at: 0 }, lease, T0);
    expect(decideLease(lease, seen, opts('a', T0 + 20_000))).toMatchObject({
      action: 'wait',
      expiresAt: T0 + 40_000,
    });
  });

  it('takes an expired lease over: new term, one more transition, guarded by its resourceVersion', () => {
    const lease = held('b');
    const seen = observe({ at: 0 }, lease, T0);
    expect(decideLease(lease, seen, opts('a', T0 + 15_000))).toEqual({
      action: 'update',
      resourceVersion: '7',
      renew: false,
      spec: {
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: microTime(T0 + 15_000),
        renewTime: microTime(T0 + 15_000),
        leaseTransitions: 4,
      },
    });
  });

  it('takes a released lease (empty holder) at once', () => {
    const lease = held('', '9', { leaseDurationSeconds: 1 });
    expect(decideLease(lease, observe({ at: 0 }, lease, T0), opts('a', T0))).toMatchObject({
      action: 'update',
      resourceVersion: '9',
      spec: { holderIdentity: 'a', leaseTransitions: 4 },
    });
  });

  it('renews its own lease keeping acquireTime and transitions, whatever the time', () => {
    const lease = held('a');
    const seen = observe({ at: 0 }, lease, T0 - 100_000);
    expect(decideLease(lease, seen, opts('a', T0))).toEqual({
      action: 'update',
      resourceVersion: '7',
      renew: true,
      spec: { ...lease.spec, renewTime: microTime(T0) },
    });
  });
});

describe('observe', () => {
  it('keeps the first time a record was seen; a changed record (a renewal) restarts the clock', () => {
    const a = held('b');
    const first = observe({ at: 0 }, a, T0);
    expect(first.at).toBe(T0);
    expect(observe(first, a, T0 + 5_000)).toBe(first);
    const renewed = { ...a, spec: { ...a.spec, renewTime: microTime(T0 + 4_000) } };
    expect(observe(first, renewed, T0 + 5_000).at).toBe(T0 + 5_000);
  });
});

describe('releasedSpec and timing', () => {
  it('gives the lease up with an empty holder and 1 s, as ReleaseOnCancel', () => {
    expect(releasedSpec(held('a').spec, T0)).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      renewTime: microTime(T0),
      leaseTransitions: 3,
    });
  });

  it('refuses timings where a stalled leader could still act after another took the lease', () => {
    expect(timingProblem(DEFAULT_TIMING)).toBeUndefined();
    expect(timingProblem({ leaseDurationMs: 10_000, renewDeadlineMs: 9_000, retryPeriodMs: 2_000 })).toMatch(
      /lease duration/,
    );
    expect(timingProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toMatch(
      /renew deadline/,
    );
    expect(timingProblem({ leaseDurationMs: 15_500, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toMatch(
      /whole seconds/,
    );
  });
});
