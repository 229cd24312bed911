// The objects of one resource in the order etcd returns them (by key, byte order), kept sorted as
// objects come and go, so a list page starts at its continue key in O(log n) and reads only what it
// returns, instead of sorting every object per page. Chunks of at most CHUNK entries: an insert or
// delete moves at most that many, and a chunk splits in two when full. An entry is shared with the
// store's map by key, so replacing an object (slot.value = next) needs no search here. Pure.
const CHUNK = 512;

export interface Slot<T> {
  readonly key: string;
  value: T;
}

/** First index in `a` whose key is not less than `key` (a is sorted). */
function lowerBound<T>(a: readonly Slot<T>[], key: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as Slot<T>).key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedIndex<T> {
  private chunks: Slot<T>[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The chunk a key belongs in: the last whose first key is not greater than it (or the first). */
  private chunkOf(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (((this.chunks[mid] as Slot<T>[])[0] as Slot<T>).key <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Adds a slot; false when its key was there already. */
  add(slot: Slot<T>): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([slot]);
      this.count = 1;
      return true;
    }
    const c = this.chunkOf(slot.key);
    const chunk = this.chunks[c] as Slot<T>[];
    const i = lowerBound(chunk, slot.key);
    if (chunk[i]?.key === slot.key) return false;
    chunk.splice(i, 0, slot);
    this.count++;
    if (chunk.length > CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK >> 1));
    return true;
  }

  /** Removes a key; false when it was not there. */
  delete(key: string): boolean {
    if (this.chunks.length === 0) return false;
    const c = this.chunkOf(key);
    const chunk = this.chunks[c] as Slot<T>[];
    const i = lowerBound(chunk, key);
    if (chunk[i]?.key !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  /** How many keys are less than `key`: O(n / CHUNK), a few hundred additions at 200,000. */
  rank(key: string): number {
    if (this.chunks.length === 0) return 0;
    const c = this.chunkOf(key);
    let n = 0;
    for (let i = 0; i < c; i++) n += (this.chunks[i] as Slot<T>[]).length;
    return n + lowerBound(this.chunks[c] as Slot<T>[], key);
  }

  /**
   * Calls `visit` with the slots whose key is greater than `after` (all without it) and less than
   * `before` (no bound without it), in order, until it returns false. A callback rather than a
   * generator, and the value in the slot rather than a map lookup: a full scan costs a third.
   * `visit` must not add or remove keys (collect them first).
   */
  forEach(after: string | undefined, before: string | undefined, visit: (slot: Slot<T>) => boolean): void {
    if (this.chunks.length === 0) return;
    let c = after === undefined ? 0 : this.chunkOf(after);
    let i = 0;
    if (after !== undefined) {
      const chunk = this.chunks[c] as Slot<T>[];
      i = lowerBound(chunk, after);
      if (chunk[i]?.key === after) i++;
    }
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c] as Slot<T>[];
      for (; i < chunk.length; i++) {
        const slot = chunk[i] as Slot<T>;
        if (before !== undefined && slot.key >= before) return;
        if (!visit(slot)) return;
      }
    }
  }
}
