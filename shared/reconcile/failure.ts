// What kind of failure escaped a reconciler, decided from the error alone (pure, no I/O):
// - `transient`: the world was briefly unavailable (a connection, a timeout, a 429/5xx, an OVSDB
//   server that is not the leader, a Redis that lost its connection). Running the event again later
//   is the whole remedy, and every write is idempotent, so the sender retries.
// - `domain`: the object itself cannot be reconciled as it is (a DomainError). Retrying changes
//   nothing until the object changes, so it is a final verdict plus a condition on the object.
// - `internal`: anything else (a TypeError, an unexpected answer): a bug or a misconfiguration.
//   Retried a bounded number of times, then reported (see createDispatch).
import { setCondition } from '../domain/conditions.ts';
import { isDomainError, Reason } from '../domain/errors.ts';
import type { Condition } from '../domain/types.ts';
import { KubeApiError } from '../kube/errors.ts';
import { OvsdbError, WaitFailed } from '../ovsdb/errors.ts';

export type FailureClass =
  | { class: 'transient'; reason: string }
  | { class: 'domain'; reason: string; message: string }
  | { class: 'internal'; reason: 'InternalError'; message: string };

/** errno-style codes of a connection that failed or dropped (node:net, undici, DNS). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTCONN',
  'ESOCKETTIMEDOUT',
]);

/** Error names that mean "no answer in time" or "the connection went away". */
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'AbortError',
  // ioredis: the command waited through every reconnect attempt, or no cluster node answered.
  'MaxRetriesPerRequestError',
  'ClusterAllFailedError',
  // the allocator: a subnet's record changed under every registration attempt.
  'ConcurrentChangeError',
]);

/** Redis server replies that mean "not now" (loading, failover, resharding, a busy script). */
const REDIS_TRANSIENT_REPLY = /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|BUSY|NOREPLICAS)\b/;
/** ioredis's messages for a connection that is closed or cannot take commands. */
const REDIS_CONNECTION_MESSAGE =
  /^(Connection is closed|Stream isn't writeable|Connection in subscriber mode|None of startup nodes is available|Failed to refresh slots cache)/;

/** A domain reason that says "try again", not "this object is wrong". */
const TRANSIENT_DOMAIN_REASONS = new Set<string>([Reason.SubnetNotReady]);

function transientReason(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (err instanceof OvsdbError) {
    // WaitFailed: someone changed the rows first; a fresh pass decides again.
    return err.retryable || err instanceof WaitFailed || err.name === 'ClientClosed'
      ? 'OvsdbUnavailable'
      : undefined;
  }
  if (err instanceof KubeApiError) {
    // 409 after the reconciler's own re-reads, 404 of an object that went away meanwhile, 408/429/5xx.
    const c = err.code;
    return c === 408 || c === 409 || c === 404 || c === 429 || c >= 500 ? 'KubernetesUnavailable' : undefined;
  }
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || e.code.startsWith('UND_ERR_'))) {
    return 'ConnectionFailed';
  }
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return 'Timeout';
  if (typeof e.message === 'string') {
    if (REDIS_CONNECTION_MESSAGE.test(e.message)) return 'RedisUnavailable';
    if (e.name === 'ReplyError' && REDIS_TRANSIENT_REPLY.test(e.message)) return 'RedisUnavailable';
  }
  // fetch wraps the socket error: TypeError('fetch failed', { cause }); AggregateError for both families.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const r = transientReason(inner, depth + 1);
      if (r) return r;
    }
  }
  return transientReason(e.cause, depth + 1);
}

export function classifyFailure(err: unknown): FailureClass {
  if (isDomainError(err)) {
    return TRANSIENT_DOMAIN_REASONS.has(err.reason)
      ? { class: 'transient', reason: err.reason }
      : { class: 'domain', reason: err.reason, message: err.message };
  }
  const transient = transientReason(err);
  if (transient) return { class: 'transient', reason: transient };
  return { class: 'internal', reason: 'InternalError', message: shortMessage(err) };
}

/** One line, at most 200 characters: a condition message is read by people in `kubectl get`. */
export function shortMessage(err: unknown): string {
  const name = err instanceof Error ? err.name : typeof err;
  const text = err instanceof Error ? err.message : String(err);
  const line = `${name}: ${text}`.split('\n')[0]!;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** The kinds whose status carries a Ready condition that a failure can be reported on. */
export const KINDS_WITH_CONDITIONS = ['Vip', 'Subnet', 'SwitchLBRule'] as const;
export type KindWithConditions = (typeof KINDS_WITH_CONDITIONS)[number];
export const hasConditions = (kind: string): kind is KindWithConditions =>
  (KINDS_WITH_CONDITIONS as readonly string[]).includes(kind);

/**
 * The status patch that reports `failure` as Ready=False on an object whose status is `status`:
 * other conditions stay, and a Vip's `ready` column follows.
 */
export function failedStatusPatch(
  kind: KindWithConditions,
  status: { conditions?: Condition[] } | undefined,
  failure: { reason: string; message: string },
  now: string,
  generation?: number,
): Record<string, unknown> {
  const conditions = setCondition(
    status?.conditions,
    {
      type: 'Ready',
      status: 'False',
      reason: failure.reason,
      message: failure.message,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    },
    now,
  );
  return kind === 'Vip' ? { ready: false, conditions } : { conditions };
}
