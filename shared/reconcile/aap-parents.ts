// A pod event's share of the AAP Vips it concerns: that one pod's membership in each Vip's
// parents, decided from the pod alone and applied to the Vip's virtual port(s) as a change, then
// the Vip's parent columns written from the resulting list and the cached pod ports. No list of
// the namespace's pods (the cost that grew with every pod of the namespace). Whatever this cannot
// decide goes to the full reconcile (reconcileVip), which also repairs any drift on a Vip's own
// events and on a resync.

import { type AapVip, parentColumns, parentFromPort, podParentChange } from '../domain/aap.ts';
import type { Pod, Vip } from '../domain/types.ts';
import { parseVipSpec, vipUsage } from '../domain/vip-spec.ts';
import { assignedFromVip, hasFinalizer, isAapSettled } from '../domain/vip-status.ts';
import { desiredVirtualPorts } from '../domain/virtual-port.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import type { ReconcileDeps } from './deps.ts';
import { noteParentsChanged } from './events.ts';
import { singleFlightOf } from './single-flight.ts';
import { subnetPlacements } from './subnet-registration.ts';
import type { EventState } from './vip.ts';

/** Passes that wrote, at most, before the change is left to a resync (as syncVirtualPorts). */
const MAX_PASSES = 5;

/**
 * Brings `vipName`'s parents in line with one pod (`pod`, undefined when gone; `ports`, every port
 * it has or had). Returns false when it could not decide, having written nothing the full
 * reconcile would not: the Vip is not a settled AAP Vip, its virtual port is missing or differs,
 * the port cache is not loaded, a parent port is not in the cache, or its status moved under us.
 *
 * Why concurrent events converge: the list is changed, never rewritten (each writer's add or
 * remove is applied to the list as it is, under a guard), and a pass that wrote reads the pod
 * again and decides again, so a writer that decided from an older copy of the pod corrects itself.
 * The status write is guarded by the resourceVersion of the Vip read before the list was changed:
 * a status written meanwhile by another writer (which saw a newer list) makes this one give way.
 */
export async function changeParentsOfPod(
  deps: ReconcileDeps,
  vipName: string,
  ref: { namespace: string; name: string },
  ports: readonly string[],
  pod: Pod | undefined,
  event?: EventState,
): Promise<boolean> {
  let vip = await deps.kube.getVip(vipName);
  if (!vip) return true; // gone: its own deletion cleans its ports (onlyIfExists, as before)
  // Never reconciled (not claimed): its own event's reconcile claims it after this read and lists
  // the pods after its claim, so it sees this pod as it is now. Nothing to do here.
  if (!hasFinalizer(vip) && !vip.metadata.deletionTimestamp) return true;
  if (!isAapSettled(vip)) {
    // Its reconcile is under way in this process (the Vip and its parent pod created together):
    // once it is done, the Vip is settled and this pod's change is one mutate, not a second list.
    const flights = singleFlightOf(deps.nb);
    if (!flights.busy(vipName)) {
      deps.log?.debug(
        { vip: vipName, pod: `${ref.namespace}/${ref.name}` },
        'parents: Vip not settled, full reconcile',
      );
      return false;
    }
    await flights.idle(vipName);
    vip = await deps.kube.getVip(vipName);
    if (!vip) return true;
  }
  const handled = await changeParents(deps, vip, ref, ports, pod);
  if (handled !== true) {
    deps.log?.debug(
      { vip: vipName, pod: `${ref.namespace}/${ref.name}`, why: handled },
      'parents: full reconcile',
    );
    return false;
  }
  // Read after the pod's own write, and changed here only in its parent columns: the first pass of
  // the pod's port security refresh may decide from it (refreshPortSecurity).
  if (event) event.vips = [...(event.vips ?? []), vip];
  return true;
}

async function changeParents(
  deps: ReconcileDeps,
  vip: Vip,
  ref: { namespace: string; name: string },
  ports: readonly string[],
  pod: Pod | undefined,
): Promise<true | string> {
  const vipName = vip.metadata.name;
  const target = aapTarget(vip);
  if (!target) return 'not a settled AAP Vip';
  const placements = await subnetPlacements(deps);
  const opts = { keepVmIp: deps.keepVmIp ?? true };
  let current = pod;
  let first: string[] | undefined;
  // `confirm`: a second round whose lists are checked on the server when nothing needs writing.
  for (let confirm = false; ; confirm = true) {
    let result: { name: string; before: string[]; after: string[] }[] | undefined;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const change = podParentChange(target.aap, ports, current, placements, opts);
      result = await deps.nb.changeVirtualParents(target.ports, change, { confirm });
      if (!result) return 'virtual port missing, other, or no port cache';
      first ??= result[0]!.before;
      if (result.every((r) => r.before.join() === r.after.join())) break;
      // Wrote: decide again from the pod as it is after that write.
      current = await deps.kube.getPod(ref.namespace, ref.name);
    }
    const parents = result![0]!.after;
    // The ports of a dual-stack Vip disagree: drift the full reconcile repairs.
    if (result!.some((r) => r.after.join() !== parents.join())) return 'ports disagree';
    const views = await deps.nb.podPortViews(parents);
    if (!views) return 'a parent port is not in the cache';
    const shown = parents.map((p) => parentFromPort(p, views.get(p)!));
    if (shown.some((p) => p === undefined)) return 'a parent is not a pod port';
    const columns = parentColumns(shown.filter((p) => p !== undefined));
    const wrote = first!.join() !== parents.join();
    // (A round that wrote never goes round again, so this is noted once.)
    if (wrote) noteParentsChanged(deps, vip, first!, parents);
    const s = vip.status!;
    if (
      (s.pv4ip ?? '') === columns.pv4ip &&
      (s.pv6ip ?? '') === columns.pv6ip &&
      (s.pmac ?? '') === columns.pmac &&
      (s.parents ?? '') === columns.parents
    )
      return true;
    // A list read from a cache that may lag, and nothing written that proves it current: the
    // status changes only once a round has checked it on the server (or written it).
    if (!wrote && !confirm) continue;
    try {
      await deps.kube.patchStatus('Vip', vipName, columns, {
        ...(vip.metadata.resourceVersion ? { resourceVersion: vip.metadata.resourceVersion } : {}),
      });
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return 'status write lost its guard';
      throw err;
    }
    return true;
  }
}

/** The Vip's parent rule and its virtual ports, when it is an AAP Vip reconciled for its spec. */
function aapTarget(vip: Vip): { aap: AapVip; ports: { name: string; virtualIp: string }[] } | undefined {
  if (!isAapSettled(vip)) return undefined;
  const parsed = parseVipSpec(vip.spec);
  if (!parsed.ok || vipUsage(parsed.spec) !== 'aap') return undefined;
  const spec = parsed.spec;
  const assigned = assignedFromVip(vip);
  if (!assigned || assigned.subnet !== spec.subnet) return undefined;
  const rows = desiredVirtualPorts(
    {
      name: vip.metadata.name,
      subnet: spec.subnet,
      type: spec.type,
      ...(spec.namespace ? { namespace: spec.namespace } : {}),
      ...(assigned.v4ip ? { v4: assigned.v4ip } : {}),
      ...(assigned.v6ip ? { v6: assigned.v6ip } : {}),
    },
    [],
  );
  if (rows.length === 0) return undefined;
  return {
    aap: {
      name: vip.metadata.name,
      subnet: spec.subnet,
      namespace: spec.namespace!,
      selector: spec.selector,
    },
    ports: rows.map((r) => ({ name: r.name, virtualIp: r.virtualIp })),
  };
}
