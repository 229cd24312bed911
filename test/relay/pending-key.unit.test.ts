// The retry and park policy of a pending key, on its own (delivery.unit.test.ts and
// pending.unit.test.ts cover it through the Delivery).
import { describe, expect, it } from 'vitest';
import { type RetryPolicy, retryWait } from '../../infra/relay/pending-key.ts';

const policy: RetryPolicy = {
  maxAttempts: 3,
  parkMs: 300_000,
  backoff: { baseMs: 100, maxMs: 30_000 },
  maxRetryAfterMs: 60_000,
  random: () => 1,
};

describe('retryWait', () => {
  it('backs off a failing handler until it has failed maxAttempts times in a row, then parks it', () => {
    const failed = { outcome: 'failed', detail: '500' } as const;
    expect(retryWait({ attempts: 1, failures: 1 }, failed, policy)).toEqual({ waitMs: 100, park: false });
    expect(retryWait({ attempts: 2, failures: 2 }, failed, policy)).toEqual({ waitMs: 200, park: false });
    expect(retryWait({ attempts: 3, failures: 3 }, failed, policy)).toEqual({ waitMs: 300_000, park: true });
  });

  it('never parks an outage, however long, and counts its tries for the backoff only', () => {
    const outage = { outcome: 'retry', detail: '503' } as const;
    expect(retryWait({ attempts: 20, failures: 0 }, outage, policy)).toEqual({ waitMs: 30_000, park: false });
  });

  it("waits a receiver's Retry-After when it is longer than the backoff, capped at maxRetryAfterMs", () => {
    const busy = (retryAfterMs: number) => ({ outcome: 'retry', detail: '429', retryAfterMs }) as const;
    expect(retryWait({ attempts: 1, failures: 0 }, busy(5_000), policy).waitMs).toBe(5_000);
    expect(retryWait({ attempts: 1, failures: 0 }, busy(50), policy).waitMs).toBe(100);
    expect(retryWait({ attempts: 1, failures: 0 }, busy(600_000), policy).waitMs).toBe(60_000);
  });
});
