// Pure state changes of the relay's view of one resource type: list results and watch events go in,
// the events to deliver come out. No I/O, so every rule here is tested without a server.
import { objectKey } from '../../shared/events/subject.ts';
import type { Action } from '../../shared/events/types.ts';

import type { KubeObject } from '../../shared/kube/index.ts';

export type { KubeObject };

export interface ChangeEvent {
  action: Action;
  key: string;
  object: KubeObject;
  /**
   * The resourceVersion of the state before this one, when the relay knew it (set only with a
   * settled-version record: an echo dropped for it is settled only if that state was).
   */
  previousRv?: string;
  /**
   * Send as a Reference-mode event (`{apiVersion, kind, name, namespace}` only): a delete of an
   * object whose last state this relay never saw (settled by an earlier relay, gone since).
   */
  reference?: boolean;
}

export type ObjectCache = Map<string, KubeObject>;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export const keyOf = (kind: string, obj: KubeObject) =>
  objectKey({ kind, name: obj.metadata.name, namespace: obj.metadata.namespace });

/** Fills in apiVersion and kind, which list items of built-in types leave out. */
export const withTypeMeta = (obj: KubeObject, apiVersion: string, kind: string): KubeObject =>
  obj.apiVersion && obj.kind
    ? obj
    : { ...obj, apiVersion: obj.apiVersion ?? apiVersion, kind: obj.kind ?? kind };

/**
 * Applies one watch event. An ADDED/MODIFIED whose resourceVersion the cache already holds is a
 * repeat (a re-watch from an older version) and yields nothing. A DELETED always yields a delete,
 * even for an object never seen: a lost delete would leak an address, a repeated one is harmless.
 */
export function applyWatchEvent(
  cache: ObjectCache,
  kind: string,
  type: WatchEventType,
  obj: KubeObject,
  opts: { claimedStatus?: readonly string[] } = {},
): ChangeEvent[] {
  const key = keyOf(kind, obj);
  const known = cache.get(key);
  if (type === 'DELETED') {
    cache.delete(key);
    return [{ action: 'delete', key, object: obj }];
  }
  if (
    known &&
    known.metadata.resourceVersion === obj.metadata.resourceVersion &&
    obj.metadata.resourceVersion
  ) {
    return [];
  }
  cache.set(key, obj);
  // Status is the handlers' own output: an update that changed only status (our status writes
  // echoing back) tells a handler nothing. Skipping it halves the events per reservation; the
  // next real change or resync still carries the latest state, status included.
  // Except an edit of a claim (`claimedStatus`, a Vip's addresses): see changedClaim.
  if (known && !changedBeyondStatus(known, obj) && !changedClaim(known, obj, opts.claimedStatus ?? []))
    return [];
  return [{ action: known ? 'update' : 'add', key, object: obj }];
}

/**
 * Whether a status field that shows a decision, and was already set, now differs. The handlers
 * set such a field once (a Vip's address is immutable once assigned) and never change it, so a
 * status-only update that does is someone else's edit, which the handler must see to overwrite.
 * First writes (empty to set), the bulk of status updates, stay filtered.
 */
export function changedClaim(a: KubeObject, b: KubeObject, fields: readonly string[]): boolean {
  const was = (a as { status?: Record<string, unknown> }).status ?? {};
  const now = (b as { status?: Record<string, unknown> }).status ?? {};
  return fields.some((f) => {
    const before = was[f];
    return before !== undefined && before !== '' && before !== now[f];
  });
}

/** Whether anything but status (and the bookkeeping that moves with every write) differs. */
export function changedBeyondStatus(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { status: _s, ...rest } = o as KubeObject & { status?: unknown };
    const {
      resourceVersion: _rv,
      managedFields: _mf,
      ...meta
    } = o.metadata as KubeObject['metadata'] & {
      managedFields?: unknown;
    };
    return JSON.stringify({ ...rest, metadata: meta });
  };
  return strip(a) !== strip(b);
}

/**
 * Replaces the cache with a fresh list. Every listed object is emitted, changed or not, because a
 * relist (start, 410 Gone, resync timer) re-delivers current state so handlers heal what they
 * missed. An object in the cache but not in the list was deleted while the watch was away: it
 * yields a delete carrying its last known state.
 */
export function applyList(cache: ObjectCache, kind: string, items: readonly KubeObject[]): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  const seen = new Set<string>();
  for (const obj of items) {
    const key = keyOf(kind, obj);
    seen.add(key);
    events.push({ action: cache.has(key) ? 'update' : 'add', key, object: obj });
  }
  for (const [key, last] of cache) {
    if (!seen.has(key)) events.push({ action: 'delete', key, object: last });
  }
  cache.clear();
  for (const obj of items) cache.set(keyOf(kind, obj), obj);
  return events;
}
