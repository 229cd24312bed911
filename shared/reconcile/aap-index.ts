// The AAP parent index: per (namespace, Vip) the pods that name the Vip in `ovn.kubernetes.io/aaps`,
// kept in Redis by pod events and read by the Vip's full reconcile instead of a LIST of the
// namespace's pods (which the API server answers by reading every pod of the namespace). The
// members are only candidates: each is read by name and the parent rule (virtualParents) decides
// exactly as it did from the list, so a stale member costs a GET and is forgotten.
//
// Why the index misses no parent (completeness):
// - A pod handler records the pod under every Vip it names (`recordNamingPod`, as it last wrote
//   it) before it reads any AAP Vip (refreshParentsOf, so changeParentsOfPod's getVip).
// - The Vip's reconcile reads the index only after its claim (the finalizer) is written.
//   So for a pod P naming Vip V, either P's write comes before V's read (V sees P, and reads P after
//   the write, so as P was when it was recorded or later), or V's read comes before P's write,
//   then V's claim comes before P's read of V: P sees V claimed and applies its own membership
//   (aap-parents.ts), or hands over to V's full reconcile, which reads the index after P's write.
// - Members are forgotten only by compare-and-delete on their token (<uid>/<resourceVersion>/
//   <unique>), and only when their pod is gone or another pod (another uid) now holds the name
//   without naming V; a pod recorded under V is never written again (so a relist writes nothing),
//   and so never forgotten by a reader while it exists. A deleted pod goes where its token
//   carries its uid (a pod re-created under that name has another uid and keeps its membership).
// - Pods that named a Vip before this index existed (an upgraded cluster) were never recorded: the
//   index is trusted only once a marker says it is complete (`completeAapIndex`, run from a list of
//   every pod). Until then the reconcile lists as before. Redis losing its data loses the marker with
//   the sets (one hash tag, one slot), back to lists until the next rebuild.
import { type NamingPod, namingPod, staleMembers } from '../domain/aap.ts';
import type { Pod } from '../domain/types.ts';
import type { ReconcileDeps } from './deps.ts';

/** Pod GETs in flight at once for one Vip's members. */
const GET_CONCURRENCY = 8;

/** A pod event, first thing: the pod joins the set of every Vip it names (idempotent). */
export async function recordNamingPod(deps: ReconcileDeps, pod: Pod): Promise<void> {
  const naming = namingPod(pod);
  if (naming && deps.aapIndex) await deps.aapIndex.add([naming]);
}

/** A pod deleted: it leaves the sets its last known state named. */
export async function forgetDeletedPod(deps: ReconcileDeps, lastKnown: Pod | undefined): Promise<void> {
  const naming = lastKnown && namingPod(lastKnown);
  if (naming && deps.aapIndex) await deps.aapIndex.forgetPod(naming);
}

/**
 * The pods that may be parents of `vip` in `namespace`, read by name from the index; undefined when
 * the index is not known complete (the caller lists). Must be called after the Vip's claim.
 */
export async function indexedCandidates(
  deps: ReconcileDeps,
  namespace: string,
  vip: string,
): Promise<Pod[] | undefined> {
  const index = deps.aapIndex;
  if (!index) return undefined;
  const { complete, members } = await index.read(namespace, vip);
  if (!complete) return undefined;
  const names = [...members.keys()];
  const pods = await mapBounded(names, GET_CONCURRENCY, (n) => deps.kube.getPod(namespace, n));
  const read = names.map((name, i) => ({ name, token: members.get(name)!, pod: pods[i] }));
  const stale = staleMembers(vip, read);
  if (stale.length > 0) {
    const gone = await index.forget(namespace, vip, stale);
    deps.log?.debug({ vip, namespace, stale: stale.length, gone }, 'aap index: stale members forgotten');
  }
  return pods.filter((p): p is Pod => p !== undefined);
}

/**
 * Makes the index complete from `pods`, a list of every pod of the cluster whose request began
 * before this call: records each pod that names a Vip, then sets the marker. A pod missing from the
 * list or changed since was created or changed after the list began, so its own event, handled
 * after that change, records it (recordNamingPod runs on every pod event, marker or not). Returns
 * how many pods were recorded (0 when the marker was there already).
 */
export async function completeAapIndex(deps: ReconcileDeps, pods: readonly Pod[]): Promise<number> {
  const index = deps.aapIndex;
  if (!index || (await index.isComplete())) return 0;
  const naming = pods.map(namingPod).filter((p): p is NamingPod => p !== undefined);
  await index.add(naming);
  await index.markComplete();
  deps.log?.info({ pods: naming.length }, 'aap index: complete, Vip reconciles no longer list pods');
  return naming.length;
}

async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
