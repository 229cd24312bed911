import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, decideRestart } from '../../infra/local/restart-policy.ts';

describe('restart policy of the local stack', () => {
  const policy = { firstDelayMs: 0, maxDelayMs: 2_000, maxRestarts: 4, windowMs: 60_000 };

  it('restarts at once the first time, then backs off, doubling up to the cap', () => {
    expect(decideRestart([], 100_000, policy)).toEqual({ restart: true, delayMs: 0, attempt: 1 });
    expect(decideRestart([99_000], 100_000, policy)).toEqual({ restart: true, delayMs: 250, attempt: 2 });
    expect(decideRestart([98_000, 99_000], 100_000, policy)).toEqual({
      restart: true,
      delayMs: 500,
      attempt: 3,
    });
    expect(decideRestart([97_000, 98_000, 99_000], 100_000, { ...policy, maxDelayMs: 600 })).toMatchObject({
      delayMs: 600,
    });
  });

  it('gives up on a crash loop, and forgets restarts older than the window', () => {
    const four = [90_000, 95_000, 97_000, 99_000];
    const decision = decideRestart(four, 100_000, policy);
    expect(decision).toEqual({ restart: false, why: 'crash loop: 4 restarts in the last 60 s' });
    // A minute later the same history is old news: a fresh first restart.
    expect(decideRestart(four, 160_000, policy)).toEqual({ restart: true, delayMs: 0, attempt: 1 });
  });

  it('has bounded defaults', () => {
    expect(DEFAULT_RESTART_POLICY.maxRestarts).toBeGreaterThan(0);
    const delays = Array.from({ length: DEFAULT_RESTART_POLICY.maxRestarts }, (_, i) =>
      decideRestart(
        Array.from({ length: i }, () => 0),
        1,
      ),
    );
    expect(delays.every((d) => d.restart && d.delayMs <= DEFAULT_RESTART_POLICY.maxDelayMs)).toBe(true);
    expect(decideRestart(Array(DEFAULT_RESTART_POLICY.maxRestarts).fill(0), 1).restart).toBe(false);
  });
});
