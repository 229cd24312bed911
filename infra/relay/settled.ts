// The settled-version record: per object key, the resourceVersion of the newest state the functions
// have handled (a 2xx or a final 4xx verdict), or that the relay did not need to deliver because it
// only repeats a handled one (a status-only change, an echo of the handlers' own write). A new relay
// that reads it (settled-store.ts) re-delivers on its first list only what changed while no relay
// watched, instead of every object. Pure: no I/O, every rule here is tested without servers.
//
// A key whose delivery is pending, in flight, failing or parked is not settled at its new version:
// the record keeps the older version (or none), which differs from what the API server lists, so the
// next relay delivers it. A delivered delete removes the key.
import { applyList, type ChangeEvent, type KubeObject, keyOf, type ObjectCache } from './cache.ts';

export class SettledVersions {
  private readonly versions = new Map<string, string>();
  /** key -> the version to write, or null to remove it: what the store has not been told yet. */
  private changes = new Map<string, string | null>();

  get size(): number {
    return this.versions.size;
  }

  get(key: string): string | undefined {
    return this.versions.get(key);
  }

  /** What an earlier relay recorded (read from the store): known, not a change to write back. */
  load(key: string, rv: string): void {
    if (rv) this.versions.set(key, rv);
  }

  /** Whether the functions already handled the object's state `rv` (resourceVersions are opaque: exact match). */
  isSettled(key: string, rv: string | undefined): boolean {
    return rv !== undefined && rv !== '' && this.versions.get(key) === rv;
  }

  /** The functions answered the state `rv` finally (or everything after it only repeats it). */
  settle(key: string, rv: string | undefined): void {
    if (!rv || this.versions.get(key) === rv) return;
    this.versions.set(key, rv);
    this.changes.set(key, rv);
  }

  /** A delete was delivered: nothing of the object is left to remember. */
  forget(key: string): void {
    if (!this.versions.delete(key)) return;
    this.changes.set(key, null);
  }

  /**
   * The relay did not deliver state `rv` because it repeats the one before it (`previousRv`): a
   * status-only change, an echo. It is settled exactly when the state it repeats was.
   */
  skippedAfter(key: string, rv: string | undefined, previousRv: string | undefined): void {
    if (previousRv !== undefined && this.isSettled(key, previousRv)) this.settle(key, rv);
  }

  /** The recorded keys of one kind (`Kind:` prefix). */
  keysOfKind(kind: string): string[] {
    const prefix = `${kind}:`;
    const out: string[] = [];
    for (const key of this.versions.keys()) if (key.startsWith(prefix)) out.push(key);
    return out;
  }

  /** The changes since the last call (for the store), and forgets them. */
  takeChanges(): Map<string, string | null> {
    const taken = this.changes;
    this.changes = new Map();
    return taken;
  }

  /** Puts back changes the store failed to take, unless a newer change of the key came since. */
  restoreChanges(failed: ReadonlyMap<string, string | null>): void {
    for (const [key, rv] of failed) if (!this.changes.has(key)) this.changes.set(key, rv);
  }

  get pendingChanges(): number {
    return this.changes.size;
  }
}

/** `Kind:namespace/name` or `Kind:name` back to its parts (kinds hold no `:`, namespaces no `/`). */
export function parseObjectKey(key: string): { kind: string; namespace?: string; name: string } {
  const colon = key.indexOf(':');
  const kind = key.slice(0, colon);
  const rest = key.slice(colon + 1);
  const slash = rest.indexOf('/');
  return slash < 0
    ? { kind, name: rest }
    : { kind, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
}

/** The smallest object a Reference-mode event needs: what a delete of an object never seen carries. */
export function referenceObject(key: string, apiVersion: string): KubeObject {
  const { kind, namespace, name } = parseObjectKey(key);
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } } as KubeObject;
}

export interface RelistResult {
  events: ChangeEvent[];
  listed: number;
  /** Listed objects not delivered: their version is the settled one. */
  skipped: number;
  /** Deletes emitted: objects gone since the last list (cache) or since an earlier relay settled them. */
  deletes: number;
}

/**
 * A list with a settled-version record. `skipSettled` (the first list of a relay, a 410 relist)
 * leaves out objects whose listed version is settled; they still enter the cache, so later watch
 * events are compared with them. The resync timer's lists pass false: they deliver everything, the
 * safety net that repairs drift. A settled key that is neither listed nor cached was deleted while
 * no relay watched: it gets a Reference-mode delete (no last state is known).
 */
export function relistWithSettled(
  cache: ObjectCache,
  kind: string,
  apiVersion: string,
  items: readonly KubeObject[],
  settled: SettledVersions,
  skipSettled: boolean,
): RelistResult {
  const listedKeys = new Set<string>();
  for (const obj of items) listedKeys.add(keyOf(kind, obj));
  const unseen = settled.keysOfKind(kind).filter((key) => !listedKeys.has(key) && !cache.has(key));
  const all = applyList(cache, kind, items);
  const events = skipSettled
    ? all.filter(
        (ev) => ev.action === 'delete' || !settled.isSettled(ev.key, ev.object.metadata.resourceVersion),
      )
    : all;
  for (const key of unseen) {
    events.push({ action: 'delete', key, object: referenceObject(key, apiVersion), reference: true });
  }
  const deletes = events.reduce((n, ev) => n + (ev.action === 'delete' ? 1 : 0), 0);
  return { events, listed: items.length, skipped: all.length - (events.length - unseen.length), deletes };
}
