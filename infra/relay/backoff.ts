// Exponential backoff with jitter, and an abortable delay that tests replace to avoid sleeping.
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const WATCH_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 30_000 };
// Capped at 30 s: an outage is never given up on, and the end of one is noticed by probes and
// successes (which send the waiting keys at once), not by each key's next step.
export const DELIVERY_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 30_000 };

/**
 * Delay before retry number `attempt` (0-based): base·2^attempt capped at max, then "equal
 * jitter" (a random point in its upper half) so retries of many keys spread out but never collapse
 * to zero.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Waits `ms`, or less when `signal` aborts (then it resolves; callers check the signal). */
export type Delay = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realDelay: Delay = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
