// The autoscaler's decision, pure: from the backlog (events the relay holds undelivered, in flight
// included) to a replica count, the way Knative's autoscaler and KEDA read a queue: desired =
// ceil(backlog / target per replica), within bounds. Scaling up is quick (a cooldown between
// steps, at most `maxScaleUpRate` times the replicas per step); scaling down waits for a quiet
// period and then goes to the highest count wanted during it, so a brief lull does not drop
// replicas that the next burst needs (HPA's scale-down stabilisation window).

export interface AutoscalePolicy {
  minReplicas: number;
  maxReplicas: number;
  /** Backlog one replica is meant to hold (Knative's target concurrency). */
  targetPerReplica: number;
  /** Least time between two scale-ups. */
  upCooldownMs: number;
  /** How long fewer replicas must have been enough before any are removed. */
  downDelayMs: number;
  /** One scale-up step multiplies the replicas by at most this (default 2). */
  maxScaleUpRate?: number;
}

export interface AutoscaleState {
  replicas: number;
  /** When the count last changed (ms). */
  lastChangeAt: number;
  /** Since when fewer replicas have been enough, and the most wanted since then. */
  quiet?: { since: number; maxDesired: number };
}

export interface AutoscaleDecision {
  replicas: number;
  state: AutoscaleState;
  /** Why, in a few words (the demo's log). */
  why: string;
}

/** A policy that cannot work, said in a sentence; undefined when it is fine. */
export function autoscalePolicyProblem(p: AutoscalePolicy): string | undefined {
  if (!Number.isInteger(p.minReplicas) || p.minReplicas < 1)
    return 'minReplicas must be an integer of at least 1';
  if (!Number.isInteger(p.maxReplicas) || p.maxReplicas < p.minReplicas)
    return 'maxReplicas must be an integer of at least minReplicas';
  if (!(p.targetPerReplica > 0)) return 'targetPerReplica must be above 0';
  if (!(p.upCooldownMs >= 0) || !(p.downDelayMs >= 0)) return 'cooldown and delay must not be negative';
  if (p.maxScaleUpRate !== undefined && !(p.maxScaleUpRate > 1)) return 'maxScaleUpRate must be above 1';
  return undefined;
}

/** Replicas the backlog asks for, within the bounds. */
export function desiredReplicas(backlog: number, p: AutoscalePolicy): number {
  const want = Math.ceil(Math.max(0, backlog) / p.targetPerReplica);
  return Math.min(p.maxReplicas, Math.max(p.minReplicas, want));
}

export function decideScale(
  state: AutoscaleState,
  backlog: number,
  now: number,
  p: AutoscalePolicy,
): AutoscaleDecision {
  const desired = desiredReplicas(backlog, p);
  // Bounds changed under a running count: back inside them at once.
  const current = Math.min(p.maxReplicas, Math.max(p.minReplicas, state.replicas));
  if (current !== state.replicas)
    return { replicas: current, state: { replicas: current, lastChangeAt: now }, why: 'back within bounds' };

  if (desired > current) {
    if (now - state.lastChangeAt < p.upCooldownMs)
      return {
        replicas: current,
        state: { ...state, quiet: undefined },
        why: `wants ${desired}; cooling down`,
      };
    const cap = Math.max(current + 1, Math.floor(current * (p.maxScaleUpRate ?? 2)));
    const next = Math.min(desired, cap);
    return {
      replicas: next,
      state: { replicas: next, lastChangeAt: now },
      why: `backlog ${backlog} wants ${desired}; up to ${next}`,
    };
  }

  if (desired < current) {
    const quiet = state.quiet
      ? { since: state.quiet.since, maxDesired: Math.max(state.quiet.maxDesired, desired) }
      : { since: now, maxDesired: desired };
    const quietFor = now - quiet.since;
    if (quietFor < p.downDelayMs || now - state.lastChangeAt < p.downDelayMs)
      return {
        replicas: current,
        state: { ...state, quiet },
        why: `wants ${desired}; quiet for ${quietFor} ms`,
      };
    const next = quiet.maxDesired;
    return {
      replicas: next,
      state: { replicas: next, lastChangeAt: now },
      why: `quiet for ${Math.round(quietFor / 100) / 10} s; down to ${next}`,
    };
  }

  return { replicas: current, state: { replicas: current, lastChangeAt: state.lastChangeAt }, why: 'steady' };
}
