// One page of a list as the objects were at an older resourceVersion, as etcd serves every page of
// a list at the revision of its first: the current objects in key order (sorted-index.ts), with
// those changed since put back to their state then from the watch history. Pure.
import type { KubeObject, Matcher } from './selectors.ts';
import type { Slot, SortedIndex } from './sorted-index.ts';

export interface PageOptions {
  namespace?: string;
  matcher?: Matcher;
  /** the resourceVersion the page shows the objects at: from the resource's floor to now */
  at: number;
  /** the key (`namespace/name`) the page starts after */
  after?: string;
  /** at most this many items; 0: all */
  limit: number;
  /** count the objects after the page (remainingItemCount) */
  count?: boolean;
}

export interface Page {
  items: KubeObject[];
  /** the key of the page's last item, when more objects follow it */
  last?: string;
  remaining?: number;
}

/** A recorded change: the object after it, and before it (none for ADDED). */
export interface Change {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  prev?: KubeObject;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
/** Keys of one namespace are `ns/...`: they sort from `ns/` up to `ns0` ('0' follows '/'). */
const rangeOf = (ns: string | undefined) => (ns === undefined ? {} : { lo: `${ns}/`, hi: `${ns}0` });

/** The current objects of a namespace (all without one) after key `after`, in etcd's byte order. */
export function slotsIn(
  sorted: SortedIndex<KubeObject>,
  namespace: string | undefined,
  after: string | undefined,
  visit: (slot: Slot<KubeObject>) => boolean,
): void {
  const { lo, hi } = rangeOf(namespace);
  sorted.forEach(lo !== undefined && (after === undefined || after < lo) ? lo : after, hi, visit);
}

/**
 * Reads only the keys it returns, the page's slice of the sorted keys, plus `changes` (every
 * change after `at`, oldest first: the caller checks `at` against its history's floor). With a
 * matcher it reads keys until it has `limit` matches; `last` is set when any object follows,
 * matching or not, as kube-apiserver sets `continue`.
 */
export function readPage(
  sorted: SortedIndex<KubeObject>,
  exists: (key: string) => boolean,
  changes: Iterable<Change>,
  o: PageOptions,
): Page {
  const { lo, hi } = rangeOf(o.namespace);
  const inRange = (k: string) =>
    (lo === undefined || (k > lo && k < (hi as string))) && (o.after === undefined || k > o.after);
  // Each key changed since `at`: its state then (null: it did not exist yet).
  const then = new Map<string, KubeObject | null>();
  for (const e of changes) {
    const k = keyOf(e.object);
    if (!then.has(k)) then.set(k, e.type === 'ADDED' ? null : (e.prev ?? null));
  }
  // Deleted since `at`: no longer among the keys, so merged in from here.
  const gone = [...then]
    .filter(([k, v]) => v !== null && !exists(k) && inRange(k))
    .map(([k]) => k)
    .sort();
  const items: KubeObject[] = [];
  let last: string | undefined;
  let more = false;
  /** false once the page is full and another object follows */
  const take = (key: string, now?: KubeObject): boolean => {
    const obj = then.size > 0 && then.has(key) ? then.get(key) : now;
    if (!obj) return true;
    if (o.limit > 0 && items.length === o.limit) {
      more = true;
      return false;
    }
    if (!o.matcher || o.matcher(obj)) {
      items.push(obj);
      last = key;
    }
    return true;
  };
  let g = 0;
  slotsIn(sorted, o.namespace, o.after, ({ key, value }) => {
    while (g < gone.length && (gone[g] as string) < key) if (!take(gone[g++] as string)) return false;
    return take(key, value);
  });
  while (!more && g < gone.length) take(gone[g++] as string);
  if (!more) return { items };
  const page: Page = { items, last };
  if (o.count && last !== undefined) {
    const from = last;
    const now = hi === undefined ? sorted.size : sorted.rank(hi);
    let remaining = now - sorted.rank(from) - (exists(from) ? 1 : 0);
    for (const [k, v] of then)
      if (k > from && inRange(k)) remaining += (v !== null ? 1 : 0) - (exists(k) ? 1 : 0);
    page.remaining = remaining;
  }
  return page;
}
