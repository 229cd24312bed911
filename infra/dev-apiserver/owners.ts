// Dependents by the uid their ownerReferences name, kept as objects are written, so deleting an
// owner finds its dependents at once; reading every object of every resource made each delete
// O(all objects), and emptying a namespace quadratic. Pure.
import type { KubeObject } from './selectors.ts';

export class OwnerIndex<T> {
  private readonly byOwner = new Map<string, Map<string, T>>();

  /** Records that dependent `id` (`ref` is what of() hands back) changed from `before` to `after`. */
  update(id: string, ref: T, before?: KubeObject, after?: KubeObject): void {
    const was = before?.metadata.ownerReferences;
    const now = after?.metadata.ownerReferences;
    if (!was?.length && !now?.length) return;
    for (const r of was ?? []) {
      if (now?.some((x) => x.uid === r.uid)) continue;
      const deps = this.byOwner.get(r.uid);
      deps?.delete(id);
      if (deps?.size === 0) this.byOwner.delete(r.uid);
    }
    for (const r of now ?? []) {
      const deps = this.byOwner.get(r.uid) ?? new Map<string, T>();
      if (deps.size === 0) this.byOwner.set(r.uid, deps);
      deps.set(id, ref);
    }
  }

  /** The dependents naming `uid` now: a copy, so the caller may delete them as it goes. */
  of(uid: string): T[] {
    return [...(this.byOwner.get(uid)?.values() ?? [])];
  }
}
