// The handlers' own writes echoing back. A handler that answers `done` may name the resourceVersions
// it wrote (`produced`); their watch events would only be reconciled again to no effect, so those
// already queued are dropped, and the rest are remembered until they arrive (an echo may come after
// the answer that named it). Bounded: the oldest keys are forgotten first.
import type { ChangeEvent } from './cache.ts';
import { dropEchoes, rvOf } from './object-queue.ts';

export class EchoMemory {
  /** key -> produced resourceVersions whose watch events have not arrived yet. */
  private readonly expectedEchoes = new Map<string, Set<string>>();

  constructor(private readonly maxEchoKeys: number) {}

  /** Whether `ev` is a remembered echo; it is forgotten then (each comes once). */
  isExpectedEcho(ev: ChangeEvent): boolean {
    const expected = this.expectedEchoes.get(ev.key);
    const rv = rvOf(ev);
    if (!expected || ev.action === 'delete' || rv === undefined || !expected.delete(rv)) return false;
    if (expected.size === 0) this.expectedEchoes.delete(ev.key);
    return true;
  }

  /**
   * Drops `produced` echoes already in `key`'s `queue`, and remembers the rest for when they come.
   * Returns how many it dropped.
   */
  onProduced(key: string, queue: ChangeEvent[], produced: readonly string[]): number {
    const rvs = new Set(produced);
    for (const ev of queue) {
      const rv = rvOf(ev);
      if (ev.action !== 'delete' && rv !== undefined) rvs.delete(rv);
    }
    const dropped = dropEchoes(queue, new Set(produced));
    if (rvs.size === 0) return dropped;
    this.expectedEchoes.delete(key); // re-insert: the Map's order is the forgetting order
    this.expectedEchoes.set(key, rvs);
    while (this.expectedEchoes.size > this.maxEchoKeys) {
      this.expectedEchoes.delete(this.expectedEchoes.keys().next().value!);
    }
    return dropped;
  }
}
