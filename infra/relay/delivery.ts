// At-least-once delivery with per-key order. Each object key has its own FIFO; a key sends its next
// event only after the previous one is done (or given up). Sends of all keys share one concurrency
// limit, and a key waiting out a backoff holds no slot, so one failing key never blocks the others.
// A handler that reports the resourceVersions it wrote (`produced`) gets their watch events (its own
// writes echoing back) dropped instead of sent: they would only be reconciled again to no effect.
import { setMaxListeners } from 'node:events';
import type { Action } from '../../shared/events/types.ts';
import { type BackoffPolicy, backoffDelay, DELIVERY_BACKOFF, type Delay, realDelay } from './backoff.ts';
import type { ChangeEvent } from './cache.ts';
import { type Logger, silentLogger } from './logger.ts';

export type SendResult =
  /** `produced`: resourceVersions of the event's object the handler wrote itself (echoes to drop). */
  | { outcome: 'done'; produced?: string[] }
  /** 429, 503 (other 5xx too) or a network error: worth another try. */
  | { outcome: 'retry'; detail: string; retryAfterMs?: number }
  /** Any other 4xx: the receiver says this event can never succeed. */
  | { outcome: 'drop'; detail: string };

export type Send = (event: ChangeEvent, signal: AbortSignal) => Promise<SendResult>;

export interface DeliveryOptions {
  send: Send;
  /** Sends in flight at once, over all keys. */
  concurrency?: number;
  /** Tries per event, the first included; then the event is given up and logged. */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  /** Upper bound for a receiver's Retry-After. */
  maxRetryAfterMs?: number;
  delay?: Delay;
  random?: () => number;
  logger?: Logger;
  /**
   * Keys whose produced resourceVersions are remembered until their echo arrives (an echo may
   * arrive after the answer that named it). Oldest forgotten first. Default 10,000.
   */
  maxRememberedEchoKeys?: number;
}

export interface DeliveryStats {
  enqueued: number;
  delivered: number;
  retries: number;
  /** Refused by the receiver with a non-retryable 4xx. */
  dropped: number;
  /** Given up after maxAttempts. */
  exhausted: number;
  /** Pending events replaced by a newer state of the same object. */
  collapsed: number;
  /** Events not sent because they were the handler's own writes (`produced`) echoing back. */
  echoes: number;
  pending: number;
  inFlight: number;
  activeKeys: number;
}

export interface CloseResult {
  /** True when every queued event was settled before the deadline. */
  drained: boolean;
  /** Events still queued (or in flight) when the deadline passed. */
  abandoned: number;
}

// Handlers are level-triggered, so a newer state of the same object replaces an older pending one;
// an object first announced as added stays an add.
const mergedAction = (older: Action, newer: Action): Action => (older === 'add' ? 'add' : newer);

/** Puts `ev` behind `queue`'s pending events, collapsing where it loses nothing. Returns how many collapsed. */
export function enqueueCollapsing(queue: ChangeEvent[], ev: ChangeEvent): number {
  let collapsed = 0;
  if (ev.action === 'delete') {
    // A delete supersedes pending adds/updates after the last delete, but never another delete.
    while (queue.length > 0 && queue[queue.length - 1]!.action !== 'delete') {
      queue.pop();
      collapsed++;
    }
    queue.push(ev);
    return collapsed;
  }
  const last = queue[queue.length - 1];
  if (last && last.action !== 'delete') {
    queue[queue.length - 1] = { ...ev, action: mergedAction(last.action, ev.action) };
    return 1;
  }
  queue.push(ev);
  return 0;
}

const rvOf = (ev: ChangeEvent) => ev.object.metadata.resourceVersion;

/**
 * Removes from `queue` the adds and updates whose resourceVersion is in `produced` (exact matches:
 * resourceVersions are opaque). Deletes stay: a delete is never an echo to drop. Returns how many.
 */
export function dropEchoes(queue: ChangeEvent[], produced: ReadonlySet<string>): number {
  let kept = 0;
  for (const ev of queue) {
    const rv = rvOf(ev);
    if (ev.action !== 'delete' && rv !== undefined && produced.has(rv)) continue;
    queue[kept++] = ev;
  }
  const dropped = queue.length - kept;
  queue.length = kept;
  return dropped;
}

export class Delivery {
  private readonly queues = new Map<string, ChangeEvent[]>();
  private readonly running = new Set<string>();
  private readonly slotWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];
  private inFlight = 0;
  private closing = false;
  private readonly counts = {
    enqueued: 0,
    delivered: 0,
    retries: 0,
    dropped: 0,
    exhausted: 0,
    collapsed: 0,
    echoes: 0,
  };
  /** key -> produced resourceVersions whose watch events have not arrived yet. */
  private readonly expectedEchoes = new Map<string, Set<string>>();
  private readonly maxEchoKeys: number;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly maxRetryAfterMs: number;
  private readonly delay: Delay;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: DeliveryOptions) {
    this.concurrency = opts.concurrency ?? 16;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.backoff = opts.backoff ?? DELIVERY_BACKOFF;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.delay = opts.delay ?? realDelay;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? silentLogger;
    this.maxEchoKeys = opts.maxRememberedEchoKeys ?? 10_000;
    // Every key waiting out a backoff listens on this signal until its wait ends: many listeners
    // are expected, not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  enqueue(ev: ChangeEvent): void {
    if (this.closing) {
      this.log.warn({ key: ev.key, action: ev.action }, 'relay is shutting down; event not queued');
      return;
    }
    this.counts.enqueued++;
    if (this.isExpectedEcho(ev)) {
      this.counts.echoes++;
      return;
    }
    let queue = this.queues.get(ev.key);
    if (!queue) {
      queue = [];
      this.queues.set(ev.key, queue);
    }
    this.counts.collapsed += enqueueCollapsing(queue, ev);
    if (!this.running.has(ev.key)) void this.runKey(ev.key);
  }

  stats(): DeliveryStats {
    let pending = 0;
    for (const q of this.queues.values()) pending += q.length;
    return { ...this.counts, pending, inFlight: this.inFlight, activeKeys: this.running.size };
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking events, lets queued ones finish until `deadlineMs`, then aborts the rest. */
  async close(deadlineMs: number): Promise<CloseResult> {
    this.closing = true;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), deadlineMs);
    await Promise.race([
      this.idle(),
      new Promise<void>((r) => deadline.signal.addEventListener('abort', () => r())),
    ]);
    clearTimeout(timer);
    const abandoned = this.stats().pending + this.running.size;
    if (this.running.size === 0) return { drained: true, abandoned: 0 };
    this.abort.abort();
    // Wake loops parked on a slot so they see the abort and exit.
    for (const wake of this.slotWaiters.splice(0)) wake();
    await this.idle();
    return { drained: false, abandoned };
  }

  private isExpectedEcho(ev: ChangeEvent): boolean {
    const expected = this.expectedEchoes.get(ev.key);
    const rv = rvOf(ev);
    if (!expected || ev.action === 'delete' || rv === undefined || !expected.delete(rv)) return false;
    if (expected.size === 0) this.expectedEchoes.delete(ev.key);
    return true;
  }

  /** Drops `produced` echoes already queued for `key`, and remembers the rest for when they come. */
  private onProduced(key: string, produced: readonly string[]): void {
    const rvs = new Set(produced);
    const queue = this.queues.get(key);
    if (queue) {
      for (const ev of queue) {
        const rv = rvOf(ev);
        if (ev.action !== 'delete' && rv !== undefined) rvs.delete(rv);
      }
      this.counts.echoes += dropEchoes(queue, new Set(produced));
    }
    if (rvs.size === 0) return;
    this.expectedEchoes.delete(key); // re-insert: the Map's order is the forgetting order
    this.expectedEchoes.set(key, rvs);
    while (this.expectedEchoes.size > this.maxEchoKeys) {
      this.expectedEchoes.delete(this.expectedEchoes.keys().next().value!);
    }
  }

  private async runKey(key: string): Promise<void> {
    this.running.add(key);
    try {
      for (;;) {
        const queue = this.queues.get(key);
        const next = queue?.shift();
        if (!next || this.abort.signal.aborted) break;
        await this.deliverOne(key, next);
      }
    } finally {
      this.queues.delete(key);
      this.running.delete(key);
      if (this.running.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
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

  private async deliverOne(key: string, first: ChangeEvent): Promise<void> {
    let event = first;
    for (let attempt = 0; ; attempt++) {
      await this.acquireSlot();
      if (this.abort.signal.aborted) {
        this.releaseSlot();
        return;
      }
      let result: SendResult;
      try {
        result = await this.opts.send(event, this.abort.signal);
      } catch (err) {
        result = { outcome: 'retry', detail: (err as Error).message ?? String(err) };
      } finally {
        this.releaseSlot();
      }
      if (result.outcome === 'done') {
        this.counts.delivered++;
        if (result.produced?.length) this.onProduced(key, result.produced);
        return;
      }
      if (result.outcome === 'drop') {
        this.counts.dropped++;
        this.log.warn(
          { key, action: event.action, detail: result.detail },
          'event refused by the function; dropped',
        );
        return;
      }
      if (attempt + 1 >= this.maxAttempts || this.abort.signal.aborted) {
        this.counts.exhausted++;
        this.log.error(
          { key, action: event.action, attempts: attempt + 1, detail: result.detail },
          'event not delivered after the last attempt; the next resync re-sends its state',
        );
        return;
      }
      this.counts.retries++;
      const backoff = backoffDelay(attempt, this.backoff, this.random);
      const wait = Math.max(backoff, Math.min(result.retryAfterMs ?? 0, this.maxRetryAfterMs));
      this.log.debug({ key, attempt: attempt + 1, waitMs: wait, detail: result.detail }, 'retrying event');
      await this.delay(wait, this.abort.signal);
      // While waiting, a newer state of the same object may have arrived: send that instead.
      const queue = this.queues.get(key);
      const newer = queue?.[0];
      if (event.action !== 'delete' && newer && newer.action !== 'delete') {
        queue.shift();
        event = { ...newer, action: mergedAction(event.action, newer.action) };
        this.counts.collapsed++;
      }
    }
  }
}
