// Whether each sink answers, for the delivery's recovery: a sink that did not answer at all is
// probed (e.g. GET /healthz) every `probeIntervalMs` until it does, and when it answers again (a
// probe, or any delivery to it succeeding) its waiting keys are woken at once.
import type { Delay } from './backoff.ts';
import type { Logger } from './logger.ts';

export interface SinkState {
  unreachable: boolean;
  /** A try failed since the last success: the next success means it recovered. */
  failing: boolean;
  probing: boolean;
}

export interface SinkHealthOptions {
  /** Asks whether an unreachable sink answers again. Absent: no probing, only a delivery recovers it. */
  probe?: (sink: string) => Promise<boolean>;
  probeIntervalMs: number;
  minRetryGapMs: number;
  delay: Delay;
  /** Ends every probe loop (shutdown). */
  signal: AbortSignal;
  log: Logger;
  /**
   * Cuts short the waits of `sink`'s waiting keys that are not parked, to `gapMs` after each one's
   * last try. Returns how many it woke.
   */
  wakeKeys: (sink: string, gapMs: number) => number;
}

export class SinkHealth {
  private readonly sinks = new Map<string, SinkState>();

  constructor(private readonly opts: SinkHealthOptions) {}

  state(sink: string): SinkState {
    let s = this.sinks.get(sink);
    if (!s) {
      s = { unreachable: false, failing: false, probing: false };
      this.sinks.set(sink, s);
    }
    return s;
  }

  /** Sinks that did not answer at all at their last try (being probed). */
  unreachableCount(): number {
    let unreachableSinks = 0;
    for (const s of this.sinks.values()) if (s.unreachable) unreachableSinks++;
    return unreachableSinks;
  }

  /** The sink answers again: its waiting keys go now (parked ones keep their slow pace). */
  recovered(sink: string, how: string): void {
    const s = this.state(sink);
    const wasUnreachable = s.unreachable;
    s.unreachable = false;
    s.failing = false;
    // A probe that answered proved the sink up: its keys need not wait out the whole retry gap (a
    // replica that restarted gets what waited for it within a probe interval of answering).
    const gap =
      how === 'probe'
        ? Math.min(this.opts.minRetryGapMs, this.opts.probeIntervalMs)
        : this.opts.minRetryGapMs;
    const woken = this.opts.wakeKeys(sink, gap);
    if (woken > 0 || wasUnreachable) {
      this.opts.log.info({ sink, how, keys: woken }, 'sink answers again; sending its pending keys now');
    }
  }

  markUnreachable(sink: string): void {
    const s = this.state(sink);
    s.failing = true;
    if (!s.unreachable) this.opts.log.warn({ sink }, 'sink unreachable; its keys stay pending, probing it');
    s.unreachable = true;
    if (!s.probing && this.opts.probe) void this.probeLoop(sink, s);
  }

  private async probeLoop(sink: string, s: SinkState): Promise<void> {
    s.probing = true;
    try {
      while (s.unreachable && !this.opts.signal.aborted) {
        await this.opts.delay(this.opts.probeIntervalMs, this.opts.signal);
        if (!s.unreachable || this.opts.signal.aborted) break;
        const up = await this.opts.probe!(sink).catch(() => false);
        if (up && s.unreachable) this.recovered(sink, 'probe');
      }
    } finally {
      s.probing = false;
    }
  }
}
