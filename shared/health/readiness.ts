// Readiness: can this process do its work now? Each long-running process lists the dependencies
// it uses (Redis, the NB leader, the API server, the SB) as checks; /readyz runs them all, each
// bounded, so a dependency that went away turns the answer false within one probe and a returning
// one turns it true at the next. Liveness (/livez) checks nothing: a process that answers HTTP
// works, and restarting it would not bring a dependency back.

import { KubeApiError } from '../kube/errors.ts';
import type { KubeTransport } from '../kube/transport.ts';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency answers; rejects (or outlasts the timeout) when it does not. */
  check(signal: AbortSignal): Promise<unknown>;
}

export interface Readiness {
  readonly ready: boolean;
  /** Per check: 'ok' or why not. */
  readonly checks: Record<string, string>;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export async function runChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs = DEFAULT_CHECK_TIMEOUT_MS,
): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, string]> => {
      const abort = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort.abort();
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        await Promise.race([c.check(abort.signal), timeout]);
        return [c.name, 'ok'];
      } catch (err) {
        return [c.name, (err as Error).message || String(err)];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const out = Object.fromEntries(results);
  return { ready: results.every(([, r]) => r === 'ok'), checks: out };
}

/** Redis answers PING (standalone or Cluster client). */
export const redisCheck = (redis: { ping(): Promise<unknown> }): ReadinessCheck => ({
  name: 'redis',
  check: () => redis.ping(),
});

/**
 * The OVSDB leader answers an echo: a leader-only client has a usable connection only to the
 * leader, so an answer proves the leader is reachable.
 */
export const ovsdbCheck = (
  name: string,
  client: { echo(timeoutMs?: number): Promise<void> },
): ReadinessCheck => ({
  name,
  check: () => client.echo(DEFAULT_CHECK_TIMEOUT_MS),
});

/** The API server answers (any HTTP answer below 500: a 403 on /version still proves it serves). */
export const apiServerCheck = (kube: { transport: KubeTransport }): ReadinessCheck => ({
  name: 'apiserver',
  check: () =>
    kube.transport.request('GET', { path: '/version' }).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.code > 0 && err.code < 500)) throw err;
    }),
});
