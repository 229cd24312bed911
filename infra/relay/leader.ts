// Leader election of relay replicas over a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection runs it: a candidate tries every retry period (jittered) until the lease is free
// or expired and its guarded write wins; the leader renews every retry period and steps down when
// it could not renew for the renew deadline (or sees another holder). Only the leader lists,
// watches and delivers (main.ts starts and stops the relay from the callbacks). The decisions are
// shared/domain/leader-lease.ts; this is the loop around them, with an injectable clock and Lease
// port so it is tested without servers, and the port over the API server.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  DEFAULT_TIMING,
  decideLease,
  type ElectionTiming,
  JITTER_FACTOR,
  type LeaseSpec,
  type LeaseState,
  type Observed,
  observe,
  releasedSpec,
  timingProblem,
} from '../../shared/domain/leader-lease.ts';
import { KubeApiError, KubeNotFoundError } from '../../shared/kube/errors.ts';
import { createKubeTransport } from '../../shared/kube/transport.ts';
import { type Logger, silentLogger } from './logger.ts';

/** Someone else wrote the lease first (409: a stale resourceVersion, or it exists already). */
export class LeaseConflictError extends Error {
  override name = 'LeaseConflictError';
}

export interface LeasePort {
  /** The lease, or undefined when it does not exist. */
  get(): Promise<LeaseState | undefined>;
  /** Creates it; LeaseConflictError when it exists. */
  create(spec: LeaseSpec): Promise<LeaseState>;
  /** Replaces its spec if its resourceVersion is still `resourceVersion`; LeaseConflictError if not. */
  update(resourceVersion: string, spec: LeaseSpec): Promise<LeaseState>;
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export type Role = 'candidate' | 'leader' | 'stopped';

export interface ElectorOptions extends Partial<ElectionTiming> {
  port: LeasePort;
  /** This replica's name in `holderIdentity` (the pod name; unique among candidates). */
  identity: string;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  /** Called once this replica holds the lease; it may now list, watch and deliver. */
  onStartedLeading(): void | Promise<void>;
  /** Called when it no longer does (`lost`: renewal failed or another holder; `shutdown`: stop()). */
  onStoppedLeading(reason: 'lost' | 'shutdown'): void | Promise<void>;
}

export interface ElectorStatus {
  role: Role;
  identity: string;
  /** The holder as last read ('' = free; undefined before the first read). */
  leader?: string;
  /** Times this replica became the leader. */
  terms: number;
}

type Attempt =
  | { kind: 'held' }
  | { kind: 'waiting'; holder: string; expiresAt: number }
  | { kind: 'failed'; error: unknown };

export class LeaderElector {
  private readonly timing: ElectionTiming;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private role: Role = 'candidate';
  private leader: string | undefined;
  private observed: Observed = { at: 0 };
  private lastRenewStart = 0;
  private terms = 0;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly o: ElectorOptions) {
    this.timing = {
      leaseDurationMs: o.leaseDurationMs ?? DEFAULT_TIMING.leaseDurationMs,
      renewDeadlineMs: o.renewDeadlineMs ?? DEFAULT_TIMING.renewDeadlineMs,
      retryPeriodMs: o.retryPeriodMs ?? DEFAULT_TIMING.retryPeriodMs,
    };
    const problem = timingProblem(this.timing);
    if (problem) throw new Error(`leader election: ${problem}`);
    if (!o.identity) throw new Error('leader election: an identity is needed');
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.log = o.logger ?? silentLogger;
  }

  status(): ElectorStatus {
    return { role: this.role, identity: this.o.identity, leader: this.leader, terms: this.terms };
  }

  isLeader(): boolean {
    return this.role === 'leader';
  }

  /** Starts the loop (once); it runs until stop(). */
  start(): void {
    this.loop ??= this.run().catch((err) => {
      this.log.error({ err }, 'leader election loop failed');
    });
  }

  /**
   * Ends the loop. A leader calls onStoppedLeading('shutdown') first (the relay drains), then gives
   * the lease up so a follower takes over without waiting for it to expire.
   */
  async stop(): Promise<void> {
    if (this.role === 'stopped') return;
    const wasLeader = this.role === 'leader';
    this.role = 'stopped';
    this.abort.abort();
    await this.loop;
    if (!wasLeader) return;
    await this.o.onStoppedLeading('shutdown');
    try {
      const lease = await this.o.port.get();
      if (lease && lease.spec.holderIdentity === this.o.identity) {
        await this.o.port.update(lease.resourceVersion, releasedSpec(lease.spec, this.clock.now()));
        this.log.info({ identity: this.o.identity }, 'lease released');
      }
    } catch (err) {
      // It expires by itself within its duration.
      this.log.warn({ err }, 'could not release the lease');
    }
  }

  private async run(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.timing;
    while (!this.abort.signal.aborted) {
      const start = this.clock.now();
      if (this.role === 'leader') {
        const left = this.lastRenewStart + renewDeadlineMs - start;
        const result = left > 0 ? await this.bounded(this.tryAcquireOrRenew(), left) : undefined;
        if (this.abort.signal.aborted) return;
        if (result?.kind === 'held') {
          this.lastRenewStart = start;
        } else if (result?.kind === 'waiting') {
          await this.stepDown(`the lease is held by ${result.holder}`);
          continue;
        } else if (this.clock.now() - this.lastRenewStart >= renewDeadlineMs) {
          await this.stepDown(
            `no renewal for ${renewDeadlineMs} ms`,
            result?.kind === 'failed' ? result.error : undefined,
          );
          continue;
        }
        // Try again after a retry period, but never sleep past the renew deadline.
        const until = Math.min(start + retryPeriodMs, this.lastRenewStart + renewDeadlineMs);
        await this.clock.sleep(until - this.clock.now(), this.abort.signal);
      } else {
        // A call that hangs must not keep a candidate from trying again.
        const result = (await this.bounded(this.tryAcquireOrRenew(), renewDeadlineMs)) ?? {
          kind: 'failed',
          error: new Error(`no answer from the API server within ${renewDeadlineMs} ms`),
        };
        if (this.abort.signal.aborted) return;
        if (result.kind === 'held') {
          this.role = 'leader';
          this.lastRenewStart = start;
          this.terms++;
          this.log.info({ identity: this.o.identity, term: this.terms }, 'became the leader');
          await this.o.onStartedLeading();
          await this.clock.sleep(start + retryPeriodMs - this.clock.now(), this.abort.signal);
          continue;
        }
        if (result.kind === 'failed' && !(result.error instanceof LeaseConflictError))
          this.log.warn({ err: result.error }, 'could not read or write the lease');
        let wait = retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
        // No need to sleep long past the moment the holder's lease runs out.
        if (result.kind === 'waiting')
          wait = Math.min(wait, Math.max(0, result.expiresAt - this.clock.now()) + 1);
        await this.clock.sleep(wait, this.abort.signal);
      }
    }
  }

  private async stepDown(why: string, err?: unknown): Promise<void> {
    this.role = 'candidate';
    this.log.warn({ identity: this.o.identity, why, ...(err ? { err } : {}) }, 'stopped leading');
    await this.o.onStoppedLeading('lost');
  }

  /** The attempt's result, or undefined when it took longer than `ms` (it is then disregarded). */
  private async bounded(attempt: Promise<Attempt>, ms: number): Promise<Attempt | undefined> {
    const timer = new AbortController();
    const onStop = () => timer.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    try {
      return await Promise.race([attempt, this.clock.sleep(ms, timer.signal).then(() => undefined)]);
    } finally {
      timer.abort();
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  /** One read and at most one guarded write, as client-go's tryAcquireOrRenew. */
  private async tryAcquireOrRenew(): Promise<Attempt> {
    try {
      const lease = await this.o.port.get();
      const now = this.clock.now();
      this.observed = observe(this.observed, lease, now);
      this.leader = lease?.spec.holderIdentity ?? undefined;
      const decision = decideLease(lease, this.observed, {
        identity: this.o.identity,
        now,
        leaseDurationMs: this.timing.leaseDurationMs,
      });
      if (decision.action === 'wait')
        return { kind: 'waiting', holder: decision.holder, expiresAt: decision.expiresAt };
      const written =
        decision.action === 'create'
          ? await this.o.port.create(decision.spec)
          : await this.o.port.update(decision.resourceVersion, decision.spec);
      // Our own write is a change we observed now.
      this.observed = observe(this.observed, written, now);
      this.leader = this.o.identity;
      return { kind: 'held' };
    } catch (error) {
      // A LeaseConflictError is a lost race (another candidate's write won; the next read shows it).
      return { kind: 'failed', error };
    }
  }
}

/** The Lease `namespace/name` on the API server of `kc`, through the handlers' JSON transport. */
export function kubeLeasePort(
  kc: KubeConfig,
  namespace: string,
  name: string,
): LeasePort & { close(): void } {
  // Each call well inside the renew deadline; a hung call is abandoned by the elector anyway.
  const transport = createKubeTransport(kc, { requestTimeoutMs: 5_000, maxSockets: 2 });
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  type Lease = { metadata: { resourceVersion: string }; spec?: LeaseSpec };
  const state = (l: Lease): LeaseState => ({
    resourceVersion: l.metadata.resourceVersion,
    spec: l.spec ?? {},
  });
  const conflicts = (err: unknown) => {
    if (err instanceof KubeApiError && err.code === 409) return new LeaseConflictError(err.message);
    return err;
  };
  return {
    async get() {
      try {
        return state(await transport.request<Lease>('GET', { path }));
      } catch (err) {
        if (err instanceof KubeNotFoundError) return undefined;
        throw err;
      }
    },
    async create(spec) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec,
      };
      try {
        return state(await transport.request<Lease>('POST', { path: collection, body }));
      } catch (err) {
        throw conflicts(err);
      }
    },
    async update(resourceVersion, spec) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, resourceVersion },
        spec,
      };
      try {
        return state(await transport.request<Lease>('PUT', { path, body }));
      } catch (err) {
        throw conflicts(err);
      }
    },
    close: () => transport.close(),
  };
}
