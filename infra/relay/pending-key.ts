// One pending object's retry state and policy: how long it waits after a try that was not
// delivered (backoff for an outage, honouring Retry-After; backoff, then parking, for a handler
// that keeps failing), and how that wait is cut short (a recovery, a new state, shutdown).
import { type BackoffPolicy, backoffDelay, type Delay } from './backoff.ts';
import type { ChangeEvent } from './cache.ts';
import type { SendResult } from './send-result.ts';

/** One object's undelivered events and its retry state. */
export interface KeyState {
  key: string;
  sink: string;
  queue: ChangeEvent[];
  /** When its oldest undelivered event arrived. */
  since: number;
  /** Failed tries in a row (any kind): drives the backoff. */
  attempts: number;
  /** HTTP 500 answers in a row: drives parking. */
  failures: number;
  parked: boolean;
  lastTryAt: number;
  /**
   * The newest version of the object that its queue stands for: the last state queued, or a later
   * one that was not queued because it repeats it (status-only, echo). Settled when the queue empties.
   */
  newestRv?: string;
  /** The end of its current wait, and how to cut it short (set while waiting). */
  waitUntil?: number;
  interrupt?: () => void;
}

export interface RetryPolicy {
  /** HTTP 500 answers in a row before the key is parked. */
  maxAttempts: number;
  /** The wait of a parked key between tries. */
  parkMs: number;
  backoff: BackoffPolicy;
  /** Upper bound for a receiver's Retry-After. */
  maxRetryAfterMs: number;
  random: () => number;
}

/**
 * The wait before `st`'s next try after one that was not delivered (its `attempts` and `failures`
 * already count that try), and whether the key is (still) to be parked: a handler failing
 * `maxAttempts` times in a row is tried only every `parkMs`; an outage is never parked.
 */
export function retryWait(
  st: Pick<KeyState, 'attempts' | 'failures'>,
  result: Extract<SendResult, { outcome: 'retry' | 'failed' }>,
  policy: RetryPolicy,
): { waitMs: number; park: boolean } {
  if (result.outcome === 'failed') {
    if (st.failures >= policy.maxAttempts) return { waitMs: policy.parkMs, park: true };
    return { waitMs: backoffDelay(st.attempts - 1, policy.backoff, policy.random), park: false };
  }
  const backoff = backoffDelay(st.attempts - 1, policy.backoff, policy.random);
  return {
    waitMs: Math.max(backoff, Math.min(result.retryAfterMs ?? 0, policy.maxRetryAfterMs)),
    park: false,
  };
}

/** Ends `st`'s wait early: now, or `gapMs` after its last try, whichever is later. */
export function wakeSoon(st: KeyState, gapMs: number): void {
  if (st.waitUntil === undefined) return;
  st.waitUntil = Math.min(st.waitUntil, st.lastTryAt + gapMs);
  st.interrupt?.();
}

/** Waits `ms`, or less when woken (a recovery, a new state of a parked key, shutdown). */
export async function waitKey(
  st: KeyState,
  ms: number,
  clock: { delay: Delay; now: () => number; signal: AbortSignal },
): Promise<void> {
  st.waitUntil = clock.now() + ms;
  try {
    let remaining = ms;
    while (remaining > 0 && !clock.signal.aborted) {
      const cut = new AbortController();
      let woken = false;
      st.interrupt = () => {
        woken = true;
        cut.abort();
      };
      const onAbort = () => cut.abort();
      clock.signal.addEventListener('abort', onAbort, { once: true });
      await clock.delay(remaining, cut.signal);
      clock.signal.removeEventListener('abort', onAbort);
      st.interrupt = undefined;
      if (!woken) break; // the delay ran out (a test's delay need not move the clock)
      remaining = st.waitUntil - clock.now();
    }
  } finally {
    st.waitUntil = undefined;
  }
}
