// At-least-once delivery with per-key order, that never gives up on an object. Each object key has
// its own FIFO in a pending set; a key sends its next event only after the previous one settled.
// Handlers are level-triggered, so a newer state replaces an older pending one, and the set holds
// one entry per object however many events arrive during an outage. An outage (network error, 429,
// 5xx but 500) is retried with capped, jittered backoff until it ends; an unreachable sink is
// probed, and when it answers (or any of its deliveries succeeds) its waiting keys go at once. A key
// the function keeps failing on (500) is reported as a dead letter after `maxAttempts` tries and
// parked: retried every `parkMs`. Only a final verdict (another 4xx) ends a key undelivered.
// Sends of all keys share one concurrency limit, and a waiting key holds no slot, so one failing
// key never blocks the others.
// A handler that reports the resourceVersions it wrote (`produced`) gets their watch events (its own
// writes echoing back) dropped instead of sent: they would only be reconciled again to no effect.
// This file is the pending set and the loop that sends each key; the rules it applies live beside
// it: object-queue.ts (a key's queue and how it collapses), pending-key.ts (a key's wait, and the
// retry and park policy), sink-health.ts (probing an unreachable sink, waking its keys),
// echo-memory.ts (echoes to drop) and settled-hooks.ts (what it tells the settled-version record).
import { setMaxListeners } from 'node:events';
import { type BackoffPolicy, DELIVERY_BACKOFF, type Delay, realDelay } from './backoff.ts';
import type { ChangeEvent } from './cache.ts';
import { EchoMemory } from './echo-memory.ts';
import { type Logger, silentLogger } from './logger.ts';
import { enqueueCollapsing, requeueCollapsing, rvOf } from './object-queue.ts';
import { type KeyState, type RetryPolicy, retryWait, waitKey, wakeSoon } from './pending-key.ts';
import type { Send, SendResult } from './send-result.ts';
import type { SettledVersions } from './settled.ts';
import { recordFinalAnswer, recordSkipped } from './settled-hooks.ts';
import { SinkHealth } from './sink-health.ts';

export interface DeliveryOptions {
  send: Send;
  /** Sends in flight at once, over all keys. */
  concurrency?: number;
  /**
   * Tries of a key that fails (HTTP 500, not an outage) before it is reported as a dead letter
   * and parked: retried only every `parkMs` from then on. Outages never count: they are retried
   * until they end. Default 5.
   */
  maxAttempts?: number;
  /** The wait of a parked key between tries (default 5 minutes). */
  parkMs?: number;
  backoff?: BackoffPolicy;
  /** Upper bound for a receiver's Retry-After. */
  maxRetryAfterMs?: number;
  /**
   * The sink a key goes to (keys of one sink recover together). Default: one sink for all keys.
   */
  sinkOf?: (key: string) => string;
  /**
   * Asks whether an unreachable sink answers again (e.g. GET /healthz). While a sink is
   * unreachable it is probed every `probeIntervalMs`; when it answers, its waiting keys are sent at once.
   */
  probe?: (sink: string) => Promise<boolean>;
  probeIntervalMs?: number;
  /** A key recovered early (a probe, a success of its sink) is still not tried more often than this. */
  minRetryGapMs?: number;
  /** While anything is pending, a log line with the pending keys every so often (default 30 s; 0 = off). */
  reportIntervalMs?: number;
  delay?: Delay;
  /** Milliseconds clock (the pending age, the retry gap). */
  now?: () => number;
  random?: () => number;
  logger?: Logger;
  /** Told of each delivered event: ms from its arrival (the oldest state it stands for) to the answer. */
  onDelivered?: (ms: number) => void;
  /**
   * Keys whose produced resourceVersions are remembered until their echo arrives (an echo may
   * arrive after the answer that named it). Oldest forgotten first. Default 10,000.
   */
  maxRememberedEchoKeys?: number;
  /**
   * The settled-version record to keep (settled.ts): a key is settled at its newest version once
   * its queue is empty after a final answer. Absent: nothing is recorded.
   */
  settled?: SettledVersions;
}

export interface DeliveryStats {
  enqueued: number;
  delivered: number;
  retries: number;
  /** Refused by the receiver with a final 4xx verdict (the sum of `drops` but shutdown). */
  dropped: number;
  /** Events that ended without being delivered, by reason (a 4xx answer's reason, `shutdown`). */
  drops: Record<string, number>;
  /** Keys reported as dead letters (failing, parked) since the start. */
  deadLetters: number;
  /** Always 0: no event is given up after a number of tries any more (kept for readers of the old stats). */
  exhausted: number;
  /** Pending events replaced by a newer state of the same object. */
  collapsed: number;
  /** Events not sent because they were the handler's own writes (`produced`) echoing back. */
  echoes: number;
  /** Events waiting, in flight included. */
  pending: number;
  /** Objects with an event not yet delivered (the pending set; bounded by distinct objects). */
  pendingKeys: number;
  /** Age of the oldest undelivered event, in ms (0 when nothing is pending). */
  oldestPendingMs: number;
  /** Pending keys parked after failing `maxAttempts` times. */
  parkedKeys: number;
  /** Sinks that did not answer at all at their last try (being probed). */
  unreachableSinks: number;
  inFlight: number;
  activeKeys: number;
}

export interface CloseResult {
  /** True when every queued event was settled before the deadline. */
  drained: boolean;
  /** Events still queued (or in flight) when the deadline passed. */
  abandoned: number;
  /** Objects that still had an undelivered event. */
  pendingKeys: number;
}

export class Delivery {
  /** The pending set: one entry per object with an undelivered event, in flight included. */
  private readonly keys = new Map<string, KeyState>();
  private readonly sinks: SinkHealth;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];
  private inFlight = 0;
  private closing = false;
  private reporter: ReturnType<typeof setInterval> | undefined;
  private readonly counts = {
    enqueued: 0,
    delivered: 0,
    retries: 0,
    dropped: 0,
    deadLetters: 0,
    collapsed: 0,
    echoes: 0,
  };
  private readonly drops: Record<string, number> = {};
  private readonly echoes: EchoMemory;
  private readonly concurrency: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly minRetryGapMs: number;
  private readonly reportIntervalMs: number;
  private readonly delay: Delay;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: DeliveryOptions) {
    this.concurrency = opts.concurrency ?? 16;
    this.retryPolicy = {
      maxAttempts: opts.maxAttempts ?? 5,
      parkMs: opts.parkMs ?? 5 * 60_000,
      backoff: opts.backoff ?? DELIVERY_BACKOFF,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
      random: opts.random ?? Math.random,
    };
    this.minRetryGapMs = opts.minRetryGapMs ?? 1_000;
    this.reportIntervalMs = opts.reportIntervalMs ?? 30_000;
    this.delay = opts.delay ?? realDelay;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
    this.echoes = new EchoMemory(opts.maxRememberedEchoKeys ?? 10_000);
    // Every key waiting out a backoff listens on this signal until its wait ends: many listeners
    // are expected, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.sinks = new SinkHealth({
      probe: opts.probe,
      // A GET /healthz four times a second, only while a sink is down: a restarted replica gets its
      // waiting events within a quarter second of answering.
      probeIntervalMs: opts.probeIntervalMs ?? 250,
      minRetryGapMs: this.minRetryGapMs,
      delay: this.delay,
      signal: this.abort.signal,
      log: this.log,
      wakeKeys: (sink, gap) => {
        let woken = 0;
        for (const st of this.keys.values()) {
          if (st.sink !== sink || st.parked || st.waitUntil === undefined) continue;
          wakeSoon(st, gap);
          woken++;
        }
        return woken;
      },
    });
  }

  enqueue(ev: ChangeEvent): void {
    if (this.closing) {
      this.countDrop('shutdown');
      this.log.warn({ key: ev.key, action: ev.action }, 'relay is shutting down; event not queued');
      return;
    }
    this.counts.enqueued++;
    if (this.echoes.isExpectedEcho(ev)) {
      this.counts.echoes++;
      this.skipped(ev.key, rvOf(ev), ev.previousRv);
      return;
    }
    let st = this.keys.get(ev.key);
    if (!st) {
      st = {
        key: ev.key,
        sink: this.opts.sinkOf?.(ev.key) ?? '',
        queue: [],
        since: this.now(),
        attempts: 0,
        failures: 0,
        parked: false,
        lastTryAt: 0,
      };
      this.keys.set(ev.key, st);
      this.counts.collapsed += enqueueCollapsing(st.queue, ev);
      st.newestRv = ev.action === 'delete' ? undefined : rvOf(ev);
      void this.runKey(st);
      this.startReporting();
      return;
    }
    this.counts.collapsed += enqueueCollapsing(st.queue, ev);
    st.newestRv = ev.action === 'delete' ? undefined : rvOf(ev);
    if (st.parked) {
      // A new state of a failing object may be what fixes it: try it soon, counting afresh.
      st.parked = false;
      st.failures = 0;
      st.attempts = 0;
      wakeSoon(st, this.minRetryGapMs);
    }
  }

  /**
   * A state of `key` that is not delivered because it repeats the one before it (`previousRv`): a
   * status-only change filtered by the watch, an echo. With the key pending, its queue now stands
   * for this version too; without, it is settled if the state it repeats was.
   */
  skipped(key: string, rv: string | undefined, previousRv: string | undefined): void {
    recordSkipped(this.opts.settled, this.keys.get(key), { key, rv, previousRv });
  }

  stats(): DeliveryStats {
    let pending = 0;
    let parkedKeys = 0;
    let oldest = Infinity;
    for (const st of this.keys.values()) {
      pending += st.queue.length;
      if (st.parked) parkedKeys++;
      if (st.since < oldest) oldest = st.since;
    }
    const unreachableSinks = this.sinks.unreachableCount();
    return {
      ...this.counts,
      exhausted: 0,
      drops: { ...this.drops },
      // In flight: taken off its queue while it is sent, still pending.
      pending: pending + this.inFlight,
      pendingKeys: this.keys.size,
      oldestPendingMs: Number.isFinite(oldest) ? Math.max(0, this.now() - oldest) : 0,
      parkedKeys,
      unreachableSinks,
      inFlight: this.inFlight,
      activeKeys: this.keys.size,
    };
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.keys.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking events, gives every waiting key one more try now, lets them finish until
   * `deadlineMs`, then aborts the rest (their state is listed again by the next relay).
   */
  async close(deadlineMs: number): Promise<CloseResult> {
    this.closing = true;
    for (const st of this.keys.values()) if (!st.parked) wakeSoon(st, 0);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), deadlineMs);
    await Promise.race([
      this.idle(),
      new Promise<void>((r) => deadline.signal.addEventListener('abort', () => r())),
    ]);
    clearTimeout(timer);
    if (this.keys.size === 0) return { drained: true, abandoned: 0, pendingKeys: 0 };
    const { pending, pendingKeys } = this.stats();
    this.abort.abort();
    // Wake loops parked on a slot so they see the abort and exit.
    for (const wake of this.slotWaiters.splice(0)) wake();
    await this.idle();
    return { drained: false, abandoned: pending, pendingKeys };
  }

  private countDrop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  /**
   * A log line while anything is pending: how many keys, how old the oldest, which are parked.
   * A plain timer (unref'd), not the injected delay: it must never hold a process open.
   */
  private startReporting(): void {
    if (this.reporter || this.reportIntervalMs <= 0) return;
    this.reporter = setInterval(() => {
      if (this.keys.size === 0) return this.stopReporting();
      const { pendingKeys, oldestPendingMs, parkedKeys, unreachableSinks, drops } = this.stats();
      const parked = [...this.keys.values()].filter((k) => k.parked).map((k) => k.key);
      this.log.warn(
        {
          pendingKeys,
          oldestPendingMs,
          parkedKeys,
          unreachableSinks,
          drops,
          ...(parked.length ? { parked: parked.slice(0, 10) } : {}),
        },
        'events pending',
      );
    }, this.reportIntervalMs);
    this.reporter.unref();
  }

  private stopReporting(): void {
    if (this.reporter) clearInterval(this.reporter);
    this.reporter = undefined;
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.concurrency && !this.abort.signal.aborted) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.inFlight++;
  }

  private releaseSlot(): void {
    this.inFlight--;
    this.slotWaiters.shift()?.();
  }

  private async runKey(st: KeyState): Promise<void> {
    try {
      for (;;) {
        const event = st.queue.shift();
        if (!event || this.abort.signal.aborted) {
          if (event) st.queue.unshift(event);
          break;
        }
        await this.acquireSlot();
        if (this.abort.signal.aborted) {
          this.releaseSlot();
          st.queue.unshift(event);
          break;
        }
        st.lastTryAt = this.now();
        let result: SendResult;
        try {
          result = await this.opts.send(event, this.abort.signal);
        } catch (err) {
          result = { outcome: 'retry', detail: (err as Error).message ?? String(err) };
        } finally {
          this.releaseSlot();
        }
        await this.settle(st, event, result);
      }
    } finally {
      // Removed only when nothing is left: on abort the rest is abandoned with the process.
      if (st.queue.length === 0 || this.abort.signal.aborted) this.keys.delete(st.key);
      if (this.keys.size === 0) {
        this.stopReporting();
        for (const wake of this.idleWaiters.splice(0)) wake();
      }
    }
  }

  private async settle(st: KeyState, event: ChangeEvent, result: SendResult): Promise<void> {
    if (result.outcome === 'done') this.opts.onDelivered?.(Math.max(0, this.now() - st.since));
    if (result.outcome === 'done' || result.outcome === 'drop') {
      if (st.parked) this.log.info({ key: st.key, attempts: st.attempts + 1 }, 'parked key settled');
      st.attempts = 0;
      st.failures = 0;
      st.parked = false;
      // What is left arrived while this one was out.
      st.since = this.now();
    }
    if (result.outcome === 'done') {
      this.counts.delivered++;
      if (result.produced?.length)
        this.counts.echoes += this.echoes.onProduced(st.key, st.queue, result.produced);
      recordFinalAnswer(this.opts.settled, st, event);
      const s = this.sinks.state(st.sink);
      if (s.failing || s.unreachable) this.sinks.recovered(st.sink, 'delivery');
      return;
    }
    if (result.outcome === 'drop') {
      this.counts.dropped++;
      this.countDrop(result.reason ?? 'refused');
      // A verdict on the object settles it; a request too large says nothing about the object.
      if (result.reason !== 'PayloadTooLarge') recordFinalAnswer(this.opts.settled, st, event);
      this.log.warn(
        { key: st.key, action: event.action, detail: result.detail },
        'event refused by the function; dropped',
      );
      return;
    }
    // Not delivered: back at the head of its queue, where a newer state pending behind it wins.
    this.counts.collapsed += requeueCollapsing(st.queue, event);
    st.attempts++;
    this.counts.retries++;
    if (result.outcome === 'failed') {
      st.failures++;
      this.sinks.state(st.sink).failing = true;
    } else {
      st.failures = 0;
      if (result.unreachable) this.sinks.markUnreachable(st.sink);
      else this.sinks.state(st.sink).failing = true;
    }
    const { waitMs: wait, park } = retryWait(st, result, this.retryPolicy);
    if (park && !st.parked) {
      st.parked = true;
      this.counts.deadLetters++;
      const obj = event.object;
      this.log.error(
        {
          key: st.key,
          kind: obj.kind,
          ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
          name: obj.metadata.name,
          resourceVersion: rvOf(event),
          action: event.action,
          attempts: st.failures,
          detail: result.detail,
          retryEveryMs: this.retryPolicy.parkMs,
        },
        'dead letter: the function keeps failing on this object; parked, retried slowly',
      );
    }
    this.log.debug(
      { key: st.key, attempt: st.attempts, waitMs: wait, detail: result.detail },
      'event not delivered; will retry',
    );
    await waitKey(st, wait, { delay: this.delay, now: this.now, signal: this.abort.signal });
  }
}
