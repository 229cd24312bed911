// Objects by resource + namespace + name, one global resourceVersion counter (like etcd's revision),
// and a bounded event history per resource so a watch can resume from a resourceVersion, or get
// 410 Gone once that version has fallen out of the window. Pure: no timers, no I/O.
//
// A stored object is never changed in place: a write stores a new object (sharing the subtrees it
// did not change) and the old one stays valid in the history. So reads, events and the server's
// cached serialization (encoding.ts) can hand out the stored object itself; the public get, list,
// create and update still return copies for callers that edit what they get.
import { randomUUID } from 'node:crypto';
import { storedJson } from './encoding.ts';
import {
  ApiError,
  alreadyExists,
  conflict,
  expired,
  invalid,
  MAX_OBJECT_BYTES,
  notFound,
  objectTooLarge,
} from './errors.ts';
import { copyJson } from './json.ts';
import { type Page, type PageOptions, readPage, slotsIn } from './list-page.ts';
import { labelAnnotationCauses, metadataCauses } from './names.ts';
import { replacement, sameIgnoringVersion, stampCreated, timestamp } from './object-rules.ts';
import { OwnerIndex } from './owners.ts';
import { type ResourceInfo, resourceKey } from './resources.ts';
import type { KubeObject, Matcher } from './selectors.ts';
import { type Slot, SortedIndex } from './sorted-index.ts';
import { filterEvent, type HistoryEntry, type WatchEvent, type WatchFilter } from './watch-events.ts';

export type { Page, PageOptions } from './list-page.ts';

export type { EventType, WatchEvent } from './watch-events.ts';

interface Subscriber extends WatchFilter {
  listener: (ev: WatchEvent) => void;
}

interface Bucket {
  info: ResourceInfo;
  /** each object's slot by key; the same slots sorted by key in `sorted` */
  objects: Map<string, Slot<KubeObject>>;
  /** in etcd's order: a list page reads only its own part */
  sorted: SortedIndex<KubeObject>;
  /** the window of changes is history[head..]: dropping the oldest is O(1) */
  history: (HistoryEntry | undefined)[];
  head: number;
  /** every change with rv > floor is in history; a watch from below it gets 410 */
  floor: number;
  subscribers: Set<Subscriber>;
}

export interface StoreOptions {
  /** events kept per resource for watch resume (kube-apiserver's watch cache holds about this many) */
  historyLimit?: number;
  now?: () => Date;
}

export interface ListOptions {
  namespace?: string;
  matcher?: Matcher;
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  /** everything is checked and the answer computed, nothing is stored (dryRun=All) */
  dryRun?: boolean;
}

/** etcd's limit on one write; the object's JSON is a (larger) stand-in for its protobuf size. */
function checkSize(obj: KubeObject): void {
  if (storedJson(obj).length > MAX_OBJECT_BYTES) throw objectTooLarge();
}

const clone = copyJson;
const objKey = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

export class Store {
  private rv = 0;
  private readonly buckets = new Map<string, Bucket>();
  private readonly historyLimit: number;
  private readonly now: () => Date;

  constructor(opts: StoreOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 1000;
    this.now = opts.now ?? (() => new Date());
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  register(info: ResourceInfo): void {
    const key = resourceKey(info);
    const existing = this.buckets.get(key);
    this.served = undefined;
    if (existing) {
      existing.info = info;
      return;
    }
    this.buckets.set(key, {
      info,
      objects: new Map(),
      sorted: new SortedIndex(),
      history: [],
      head: 0,
      floor: this.rv,
      subscribers: new Set(),
    });
  }

  unregister(info: { group: string; resource: string }): void {
    const bucket = this.buckets.get(resourceKey(info));
    if (!bucket) return;
    this.buckets.delete(resourceKey(info));
    this.served = undefined;
    this.byInfo = new WeakMap();
  }

  /** The same array until a resource is registered or unregistered (the server caches by it). */
  resources(): ResourceInfo[] {
    this.served ??= [...this.buckets.values()].map((b) => b.info);
    return this.served;
  }

  private served?: ResourceInfo[];

  find(group: string, resource: string): ResourceInfo | undefined {
    return this.buckets.get(resourceKey({ group, resource }))?.info;
  }

  /** Buckets by the info object callers pass (saves building the key on every call). */
  private byInfo = new WeakMap<object, Bucket>();

  private bucket(info: { group: string; resource: string }): Bucket {
    const known = this.byInfo.get(info);
    if (known) return known;
    const b = this.buckets.get(resourceKey(info));
    if (b) this.byInfo.set(info, b);
    if (!b)
      throw new ApiError(
        404,
        'NotFound',
        `the server could not find the requested resource (${info.resource})`,
      );
    return b;
  }

  get(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    return clone(this.peek(info, namespace, name));
  }

  /** The stored object itself, not a copy: the caller must not change it. */
  peek(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const obj = this.bucket(info).objects.get(objKey(info.namespaced ? namespace : undefined, name))?.value;
    if (!obj) throw notFound(info.group, info.resource, name);
    return obj;
  }

  list(info: ResourceInfo, opts: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const { items, resourceVersion } = this.select(info, opts);
    return { items: items.map(clone), resourceVersion };
  }

  /** As list, but the stored objects themselves: the caller must not change them. */
  select(info: ResourceInfo, opts: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const b = this.bucket(info);
    const items: KubeObject[] = [];
    slotsIn(b.sorted, opts.namespace, undefined, ({ value }) => {
      if (!opts.matcher || opts.matcher(value)) items.push(value);
      return true;
    });
    return { items, resourceVersion: this.resourceVersion };
  }

  /** One page of a list as the objects were at resourceVersion `at` (list-page.ts). */
  page(info: ResourceInfo, o: PageOptions): Page {
    const b = this.bucket(info);
    const changes = o.at < this.rv ? this.historySince(b, o.at) : [];
    return readPage(b.sorted, (k) => b.objects.has(k), changes, o);
  }

  /** The recorded changes after resourceVersion `rv`, oldest first. */
  private *historySince(b: Bucket, rv: number): Generator<HistoryEntry> {
    const h = b.history;
    let lo = b.head;
    let hi = h.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((h[mid] as HistoryEntry).rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < h.length; i++) yield h[i] as HistoryEntry;
  }

  create(info: ResourceInfo, input: KubeObject): KubeObject {
    return clone(this.insert(info, clone(input)));
  }

  /** Creates from an object the store may keep as it is; returns the stored object (do not change it). */
  insert(info: ResourceInfo, obj: KubeObject, opts: { dryRun?: boolean } = {}): KubeObject {
    const b = this.bucket(info);
    obj.metadata = obj.metadata ?? {};
    const meta = obj.metadata;
    if (!meta.name && meta.generateName)
      meta.name = meta.generateName + randomUUID().replace(/-/g, '').slice(0, 5);
    if (!info.namespaced) delete meta.namespace;
    const causes = metadataCauses(info, meta);
    if (causes.length > 0) throw invalid(info.group, info.kind, meta.name ?? '', causes);
    if (!meta.name) throw new Error('unreachable: a name was checked above');
    if (info.namespaced) {
      if (!meta.namespace)
        throw invalid(info.group, info.kind, meta.name, [
          { field: 'metadata.namespace', message: 'Required value' },
        ]);
      const nsInfo = this.find('', 'namespaces');
      if (nsInfo && !this.bucket(nsInfo).objects.has(objKey(undefined, meta.namespace)))
        throw notFound('', 'namespaces', meta.namespace);
    } else delete meta.namespace;
    const key = objKey(meta.namespace, meta.name);
    if (b.objects.has(key)) throw alreadyExists(info.group, info.resource, meta.name);
    stampCreated(info, obj, this.now());
    if (opts.dryRun) {
      delete meta.resourceVersion;
      return obj;
    }
    meta.resourceVersion = String(this.rv + 1);
    checkSize(obj);
    this.rv++;
    this.put(b, key, obj);
    this.record(b, { rv: this.rv, type: 'ADDED', object: obj });
    return obj;
  }

  /**
   * Replaces an object. `metadata.resourceVersion`, when given, must be the current one (409
   * otherwise). With `subresource: 'status'` only `.status` changes; on the main resource `.status`
   * is kept as it was when the resource has a status subresource.
   */
  update(info: ResourceInfo, input: KubeObject, opts: { subresource?: 'status' } = {}): KubeObject {
    return clone(this.replace(info, clone(input), opts));
  }

  /** Updates from an object the store may keep as it is; returns the stored object (do not change it). */
  replace(
    info: ResourceInfo,
    input: KubeObject,
    opts: { subresource?: 'status'; dryRun?: boolean } = {},
  ): KubeObject {
    const b = this.bucket(info);
    const name = input.metadata?.name ?? '';
    const ns = info.namespaced ? input.metadata?.namespace : undefined;
    const key = objKey(ns, name);
    const current = b.objects.get(key)?.value;
    if (!current) throw notFound(info.group, info.resource, name);
    const wantRv = input.metadata?.resourceVersion;
    if (wantRv && wantRv !== current.metadata.resourceVersion) {
      throw conflict(
        info.group,
        info.resource,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    if (!wantRv && info.requireResourceVersion) {
      throw invalid(info.group, info.kind, name, [
        { field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' },
      ]);
    }
    if (opts.subresource !== 'status') {
      const causes = labelAnnotationCauses(input.metadata ?? {});
      if (causes.length > 0) throw invalid(info.group, info.kind, name, causes);
    }
    const next = replacement(info, current, input, opts.subresource);
    // A no-op write changes nothing, not even the resourceVersion (as kube-apiserver).
    if (sameIgnoringVersion(next, current)) return current;
    if (opts.dryRun) return next;
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      return this.remove(b, key, next, current);
    }
    next.metadata.resourceVersion = String(this.rv + 1);
    checkSize(next);
    this.rv++;
    this.put(b, key, next, current);
    this.record(b, { rv: this.rv, type: 'MODIFIED', object: next, prev: current });
    return next;
  }

  /**
   * Deletes at once when no finalizers remain; otherwise sets deletionTimestamp and waits for the
   * finalizers to be removed. Pods go at once too: there is no kubelet, so no grace period.
   * Dependents (ownerReferences naming the deleted uid) are deleted after it unless orphaned.
   */
  delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): { object: KubeObject; deleted: boolean } {
    const b = this.bucket(info);
    const key = objKey(info.namespaced ? namespace : undefined, name);
    const current = b.objects.get(key)?.value;
    if (!current) throw notFound(info.group, info.resource, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw conflict(
        info.group,
        info.resource,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        info.group,
        info.resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    if (opts.dryRun) return { object: clone(current), deleted: !current.metadata.finalizers?.length };
    if (current.metadata.finalizers?.length) {
      if (current.metadata.deletionTimestamp) return { object: clone(current), deleted: false };
      const next = clone(current);
      next.metadata.deletionTimestamp = timestamp(this.now());
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
      next.metadata.resourceVersion = String(++this.rv);
      this.put(b, key, next, current);
      this.record(b, { rv: this.rv, type: 'MODIFIED', object: next, prev: current });
      return { object: clone(next), deleted: false };
    }
    const gone = clone(this.remove(b, key, clone(current), current));
    if (opts.propagationPolicy !== 'Orphan') this.deleteDependents(current);
    return { object: gone, deleted: true };
  }

  /** Every change of the resource after this resourceVersion is still known (a continue token older is 410). */
  floor(info: ResourceInfo): number {
    return this.bucket(info).floor;
  }

  /** Stores an object under its key, keeping the sorted keys and the owner index in step. */
  private put(b: Bucket, key: string, obj: KubeObject, prev?: KubeObject): void {
    const slot = b.objects.get(key);
    if (slot) slot.value = obj;
    else {
      const added = { key, value: obj };
      b.objects.set(key, added);
      b.sorted.add(added);
    }
    this.indexOwners(b, key, prev, obj);
  }

  /** Deleting an owner finds its dependents here, not by reading every object of every resource. */
  private readonly dependents = new OwnerIndex<{ b: Bucket; key: string }>();

  private indexOwners(b: Bucket, key: string, before?: KubeObject, after?: KubeObject): void {
    this.dependents.update(`${resourceKey(b.info)} ${key}`, { b, key }, before, after);
  }

  private remove(b: Bucket, key: string, last: KubeObject, prev: KubeObject): KubeObject {
    b.objects.delete(key);
    b.sorted.delete(key);
    this.indexOwners(b, key, prev);
    last.metadata.resourceVersion = String(++this.rv);
    this.record(b, { rv: this.rv, type: 'DELETED', object: last, prev });
    if (b.info.group === '' && b.info.resource === 'namespaces')
      this.deleteNamespaceContents(last.metadata.name ?? '');
    if (b.info.group === 'apiextensions.k8s.io' && b.info.resource === 'customresourcedefinitions')
      this.onCrdDeleted?.(last);
    return last;
  }

  /** Set by the server to drop a custom resource's objects and discovery entry. */
  onCrdDeleted?: (crd: KubeObject) => void;

  private deleteDependents(owner: KubeObject): void {
    for (const { b, key } of this.dependents.of(owner.metadata.uid ?? '')) {
      const obj = b.objects.get(key)?.value;
      // A resource unregistered since (its CRD deleted) has taken its objects with it.
      if (!obj || this.buckets.get(resourceKey(b.info)) !== b) continue;
      try {
        this.delete(b.info, obj.metadata.namespace, obj.metadata.name ?? '');
      } catch {
        // already gone
      }
    }
  }

  private deleteNamespaceContents(ns: string): void {
    for (const b of [...this.buckets.values()]) {
      if (!b.info.namespaced) continue;
      const names: string[] = [];
      slotsIn(b.sorted, ns, undefined, ({ value }) => names.push(value.metadata.name ?? '') > 0);
      for (const name of names) {
        try {
          this.delete(b.info, ns, name);
        } catch {
          // gone with an owner deleted before it
        }
      }
    }
  }

  private record(b: Bucket, entry: HistoryEntry): void {
    b.history.push(entry);
    if (b.history.length - b.head > this.historyLimit) {
      b.floor = (b.history[b.head] as HistoryEntry).rv;
      b.history[b.head++] = undefined;
      // Drop the freed slots now and then: amortized O(1) a write.
      if (b.head >= 1024 && b.head * 2 >= b.history.length) {
        b.history = b.history.slice(b.head);
        b.head = 0;
      }
    }
    for (const sub of [...b.subscribers]) {
      const ev = filterEvent(entry, sub);
      if (ev) sub.listener(ev);
    }
  }

  /**
   * Starts a watch. From a resourceVersion: replays what happened after it (410 Gone when that is
   * older than the history window). Without one ('' or '0'): an ADDED for every current object first.
   * Returns the function that stops the watch.
   */
  watch(
    info: ResourceInfo,
    opts: { namespace?: string; matcher?: Matcher; resourceVersion?: string },
    listener: (ev: WatchEvent) => void,
  ): () => void {
    const b = this.bucket(info);
    const sub: Subscriber = { namespace: opts.namespace, matcher: opts.matcher ?? (() => true), listener };
    const from = opts.resourceVersion;
    if (from && from !== '0') {
      const n = Number(from);
      if (!Number.isInteger(n) || n < 0)
        throw new ApiError(400, 'BadRequest', `invalid resource version: ${from}`);
      if (n < b.floor) throw expired(n, b.floor + 1);
      for (const entry of this.historySince(b, n)) {
        const ev = filterEvent(entry, sub);
        if (ev) listener(ev);
      }
    } else {
      for (const obj of this.select(info, { namespace: opts.namespace, matcher: sub.matcher }).items) {
        listener({ type: 'ADDED', object: obj });
      }
    }
    b.subscribers.add(sub);
    return () => {
      b.subscribers.delete(sub);
    };
  }

  /**
   * Forgets all history, as an etcd compaction would, and moves the revision on by one so that
   * every resourceVersion a client holds is now too old (410) while a fresh list works again.
   */
  compact(): void {
    this.rv++;
    for (const b of this.buckets.values()) {
      b.history = [];
      b.head = 0;
      b.floor = this.rv;
    }
  }
}
