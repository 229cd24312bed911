// What a create stamps on an object and what an update keeps, carries over and bumps, as
// kube-apiserver does: the pure part of the store's writes (store.ts), apart from its bookkeeping
// (versions, history, indexes).
import { randomUUID } from 'node:crypto';
import { invalid } from './errors.ts';
import { jsonEqual } from './json.ts';
import type { ResourceInfo } from './resources.ts';
import type { KubeObject } from './selectors.ts';

/** Kubernetes' timestamp format: seconds, UTC. */
export const timestamp = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/** What a create sets whatever the caller sent: type, uid, creation time, generation 1, no deletion. */
export function stampCreated(info: ResourceInfo, obj: KubeObject, now: Date): void {
  obj.apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
  obj.kind = info.kind;
  // A custom resource's status is written only through /status, as kube-apiserver does.
  if (info.hasStatus && info.requireResourceVersion) delete obj.status;
  const meta = obj.metadata;
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp(now);
  meta.generation = 1;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
}

/** Equal but for the resourceVersion: a write that would store this changes nothing (no new version). */
export function sameIgnoringVersion(a: KubeObject, b: KubeObject): boolean {
  return (
    jsonEqual(a, b, (k) => k === 'metadata') &&
    jsonEqual(a.metadata, b.metadata, (k) => k === 'resourceVersion')
  );
}

const notSpec = (k: string) => k === 'metadata' || k === 'status' || k === 'apiVersion' || k === 'kind';

/** Whether the parts `metadata.generation` tracks (everything but metadata and status) are equal. */
export const sameSpec = (a: KubeObject, b: KubeObject) => jsonEqual(a, b, notSpec);

/**
 * The object an update of `current` by `input` stores, before its new resourceVersion (it carries
 * the current one): through /status only `.status` changes; otherwise name, uid, creation time and
 * namespace stay, the status stays where the resource has a status subresource, a deletion in
 * progress stays and admits no new finalizer (422), and the generation goes up when the spec
 * changed. `input` may be used for the result (the caller gives a copy); `current` is not changed.
 */
export function replacement(
  info: ResourceInfo,
  current: KubeObject,
  input: KubeObject,
  subresource?: 'status',
): KubeObject {
  const name = current.metadata.name ?? '';
  let next: KubeObject;
  if (subresource === 'status') {
    // Shares the unchanged parts with the current object: neither is ever changed in place.
    next = { ...current, metadata: { ...current.metadata } };
    if (input.status === undefined) delete next.status;
    else next.status = input.status;
  } else {
    next = input;
    if (info.hasStatus) {
      if (current.status === undefined) delete next.status;
      else next.status = current.status;
    }
    const m = next.metadata;
    const c = current.metadata;
    m.name = c.name;
    m.uid = c.uid;
    m.creationTimestamp = c.creationTimestamp;
    m.generation = c.generation;
    if (info.namespaced) m.namespace = c.namespace;
    else delete m.namespace;
    if (c.deletionTimestamp) {
      m.deletionTimestamp = c.deletionTimestamp;
      m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
      const added = (m.finalizers ?? []).filter((f) => !(c.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(info.group, info.kind, name, [
          {
            field: 'metadata.finalizers',
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          },
        ]);
      }
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    if (m.finalizers?.length === 0) delete m.finalizers;
    if (!sameSpec(next, current)) m.generation = (c.generation ?? 1) + 1;
  }
  next.apiVersion = current.apiVersion;
  next.kind = current.kind;
  next.metadata.resourceVersion = current.metadata.resourceVersion;
  return next;
}
