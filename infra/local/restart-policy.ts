// When the local stack restarts a daemon that died: at once the first time, then with a doubling
// delay, and not at all once it crash-loops (too many restarts in a window), so a broken binary or
// a corrupt data directory does not spin. Pure: the supervisor in stack.ts keeps the history.

export interface RestartPolicy {
  /** Delay before the first restart of a window (ms). */
  readonly firstDelayMs: number;
  /** The delay doubles per restart in the window, up to this (ms). */
  readonly maxDelayMs: number;
  /** Give up after this many restarts within `windowMs`. */
  readonly maxRestarts: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  firstDelayMs: 0,
  maxDelayMs: 8_000,
  maxRestarts: 5,
  windowMs: 60_000,
};

export type RestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly attempt: number }
  | { readonly restart: false; readonly why: string };

/** `history`: the times (ms) of this daemon's earlier restarts; `now`: the time it died. */
export function decideRestart(
  history: readonly number[],
  now: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): RestartDecision {
  const recent = history.filter((t) => now - t < policy.windowMs).length;
  if (recent >= policy.maxRestarts) {
    return {
      restart: false,
      why: `crash loop: ${recent} restarts in the last ${Math.round(policy.windowMs / 1000)} s`,
    };
  }
  const delayMs =
    recent === 0
      ? policy.firstDelayMs
      : Math.min(policy.maxDelayMs, Math.max(250, policy.firstDelayMs) * 2 ** (recent - 1));
  return { restart: true, delayMs, attempt: recent + 1 };
}
