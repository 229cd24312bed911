// What a watcher sees of one change of the store: the change as it happened, or, for a watch
// with a namespace or a selector, ADDED when an object comes into what it selects and DELETED when
// one leaves it, as kube-apiserver's watch does. Pure.
import type { KubeObject, Matcher } from './selectors.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** `object` is the stored object: a listener must not change it. */
export interface WatchEvent {
  type: EventType;
  object: KubeObject;
}

/** One change as the store's history keeps it. */
export interface HistoryEntry {
  rv: number;
  type: EventType;
  object: KubeObject;
  /** state before the change; selectors compare both to turn a change of match into ADDED/DELETED */
  prev?: KubeObject;
}

/** What a watch selects: a namespace (all when undefined) and a label/field matcher. */
export interface WatchFilter {
  namespace?: string;
  matcher: Matcher;
}

function matches(o: KubeObject | undefined, f: WatchFilter): boolean {
  return (
    o !== undefined && (f.namespace === undefined || o.metadata.namespace === f.namespace) && f.matcher(o)
  );
}

/** The event a watch with this filter gets for the change, if any. */
export function filterEvent(entry: HistoryEntry, f: WatchFilter): WatchEvent | undefined {
  const now = entry.type !== 'DELETED' && matches(entry.object, f);
  const before = entry.type === 'ADDED' ? false : matches(entry.prev, f);
  if (entry.type === 'DELETED') return before ? { type: 'DELETED', object: entry.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: entry.object };
  if (now) return { type: 'ADDED', object: entry.object };
  if (before) return { type: 'DELETED', object: entry.object };
  return undefined;
}
