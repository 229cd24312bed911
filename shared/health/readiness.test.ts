// The readiness verdict: every check must answer, each within its bound, and the answer names
// each check's result.
import { describe, expect, it } from 'vitest';
import { runChecks } from './readiness.ts';

describe('runChecks', () => {
  it('is ready only when every check answers, and says why not', async () => {
    const ok = { name: 'redis', check: async () => 'PONG' };
    const down = { name: 'nb', check: async () => Promise.reject(new Error('connection refused')) };
    expect(await runChecks([ok])).toEqual({ ready: true, checks: { redis: 'ok' } });
    expect(await runChecks([ok, down])).toEqual({
      ready: false,
      checks: { redis: 'ok', nb: 'connection refused' },
    });
    expect(await runChecks([])).toEqual({ ready: true, checks: {} });
  });

  it('bounds a check that never answers, and aborts it', async () => {
    let aborted = false;
    const stuck = {
      name: 'apiserver',
      check: (signal: AbortSignal) =>
        new Promise<void>(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
    };
    const start = Date.now();
    const r = await runChecks([stuck], 100);
    expect(Date.now() - start).toBeLessThan(1_000);
    expect(r).toEqual({ ready: false, checks: { apiserver: 'no answer within 100 ms' } });
    expect(aborted).toBe(true);
  });
});
