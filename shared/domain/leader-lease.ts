// Leader election over a coordination.k8s.io/v1 Lease, decided the way client-go's leaderelection
// decides it (tryAcquireOrRenew): take the lease when it is free or has not changed for its
// duration, renew it while holding it, and let the API server's resourceVersion guard pick one
// winner when two candidates write at once. Pure: the caller reads the lease, passes its local
// clock, and performs the write this returns.

/** The Lease's `spec`, as client-go's LeaderElectionRecord maps onto it. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime (RFC 3339 with 6 fractional digits). */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseState {
  resourceVersion: string;
  spec: LeaseSpec;
}

/**
 * When this candidate last saw the lease's record change, by its own clock. Expiry is judged from
 * this, not from `renewTime`: the holder's clock may disagree with ours (client-go does the same).
 */
export interface Observed {
  /** The record as last seen (JSON of the spec), or undefined before the first read. */
  record?: string;
  at: number;
}

export type LeaseDecision =
  /** No lease yet: create it holding it. */
  | { action: 'create'; spec: LeaseSpec }
  /** Write `spec` guarded by `resourceVersion` (acquire, or renew when `renew`). */
  | { action: 'update'; spec: LeaseSpec; resourceVersion: string; renew: boolean }
  /** Another holder's lease is live; it expires (by our clock) at `expiresAt` unless renewed. */
  | { action: 'wait'; holder: string; expiresAt: number };

export interface ElectionTiming {
  /** How long a holder's lease stays valid without a renewal (client-go default 15 s). */
  leaseDurationMs: number;
  /** A leader that could not renew for this long steps down (default 10 s); < leaseDurationMs. */
  renewDeadlineMs: number;
  /** Time between tries (default 2 s); jittered up to 1.2x for candidates. */
  retryPeriodMs: number;
}

export const DEFAULT_TIMING: ElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};
/** client-go's JitterFactor for the acquire loop. */
export const JITTER_FACTOR = 1.2;

/**
 * A leader that stopped renewing must have stepped down before anyone else may take the lease:
 * it notices at most one retry period (+ jitter) after its renew deadline, and others wait the
 * whole lease duration after they last saw it renewed.
 */
export function timingProblem(t: ElectionTiming): string | undefined {
  if (!(t.retryPeriodMs > 0)) return 'the retry period must be positive';
  if (!(t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs))
    return `the renew deadline (${t.renewDeadlineMs} ms) must be longer than ${JITTER_FACTOR} x the retry period (${t.retryPeriodMs} ms)`;
  if (!(t.leaseDurationMs > t.renewDeadlineMs + t.retryPeriodMs))
    return `the lease duration (${t.leaseDurationMs} ms) must be longer than the renew deadline plus one retry period (${t.renewDeadlineMs + t.retryPeriodMs} ms)`;
  if (t.leaseDurationMs % 1000 !== 0) return 'the lease duration is written in whole seconds';
  return undefined;
}

/** Kubernetes MicroTime: RFC 3339 in UTC with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The observation after reading `lease` at `now`: its time moves only when the record changed. */
export function observe(prev: Observed, lease: LeaseState | undefined, now: number): Observed {
  const record = lease ? JSON.stringify(lease.spec) : undefined;
  return record === prev.record && prev.record !== undefined ? prev : { record, at: now };
}

/** What to do after reading `lease` (undefined: it does not exist). */
export function decideLease(
  lease: LeaseState | undefined,
  observed: Observed,
  o: { identity: string; now: number; leaseDurationMs: number },
): LeaseDecision {
  const durationSeconds = Math.round(o.leaseDurationMs / 1000);
  const time = microTime(o.now);
  if (!lease) {
    return {
      action: 'create',
      spec: {
        holderIdentity: o.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: time,
        renewTime: time,
        leaseTransitions: 0,
      },
    };
  }
  const old = lease.spec;
  const holder = old.holderIdentity ?? '';
  const mine = holder === o.identity;
  if (holder !== '' && !mine) {
    // The holder's own duration counts, as written in the lease (it may differ from ours).
    const heldMs = (old.leaseDurationSeconds ?? durationSeconds) * 1000;
    const expiresAt = observed.at + heldMs;
    if (expiresAt > o.now) return { action: 'wait', holder, expiresAt };
  }
  const transitions = old.leaseTransitions ?? 0;
  return {
    action: 'update',
    resourceVersion: lease.resourceVersion,
    renew: mine,
    spec: {
      holderIdentity: o.identity,
      leaseDurationSeconds: durationSeconds,
      // A renewal keeps when it was acquired; a takeover (or a free lease) is a new term.
      acquireTime: mine && old.acquireTime ? old.acquireTime : time,
      renewTime: time,
      leaseTransitions: mine ? transitions : transitions + 1,
    },
  };
}

/** The spec that gives the lease up on a clean shutdown, so a follower takes over at once. */
export function releasedSpec(old: LeaseSpec, now: number): LeaseSpec {
  return {
    ...old,
    holderIdentity: '',
    // client-go's ReleaseOnCancel writes 1 s: others see a free lease anyway.
    leaseDurationSeconds: 1,
    renewTime: microTime(now),
  };
}
