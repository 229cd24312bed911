// The Vip's side in OVN NB beyond its reservation: the virtual ports of an AAP Vip and their
// parents (the pods that name it, from the AAP index), and the port security of those parents'
// own ports, which must list the Vip's addresses (SPEC §4). Used by the Vip's reconcile and by
// pod events (a pod that starts or stops naming a Vip).

import { podAaps, type VirtualParent, virtualParents } from '../domain/aap.ts';
import { parentVipAddresses, portSecurity } from '../domain/port-security.ts';
import type { Pod, Vip } from '../domain/types.ts';
import { type VipSpec, vipUsage } from '../domain/vip-spec.ts';
import { desiredVirtualPorts, virtualPortNames } from '../domain/virtual-port.ts';
import type { Reservation } from '../ipam/index.ts';
import { indexedCandidates } from './aap-index.ts';
import type { ReconcileDeps } from './deps.ts';
import { noteParentsChanged } from './events.ts';
import { subnetPlacements } from './subnet-registration.ts';

/**
 * Makes the Vip's virtual ports (AAP) match its parents; removes them for other uses. `touched`:
 * the parents before and after of every port that changed (their port security may change).
 */
export async function syncVirtualPorts(
  deps: ReconcileDeps,
  name: string,
  spec: VipSpec,
  reservation: Reservation,
  vip?: Vip,
): Promise<{ parents: VirtualParent[]; touched: string[] }> {
  // Parents come from pods, which other replicas' reconciles read at other moments. A pass that
  // wrote is therefore followed by another that reads the pods again after that write: a writer
  // that raced ahead with an older pod list is corrected by its own next pass. Only a pass that
  // changes nothing, or only inserts, ends (bounded; a resync covers the rest).
  const touched: string[] = [];
  let parents: VirtualParent[] = [];
  for (let pass = 0; pass < 5; pass++) {
    parents = vipUsage(spec) === 'aap' ? await currentParents(deps, name, spec) : [];
    const rows = desiredVirtualPorts(
      {
        name,
        subnet: spec.subnet,
        type: spec.type,
        ...(spec.namespace ? { namespace: spec.namespace } : {}),
        ...(reservation.v4 ? { v4: reservation.v4 } : {}),
        ...(reservation.v6 ? { v6: reservation.v6 } : {}),
      },
      parents.map((p) => p.portName),
    );
    let changed = false;
    // An insert overwrote nobody: a writer before it would have made the row exist (any reconcile
    // of this Vip writes its ports), and a writer after it re-lists by this same rule.
    let onlyInserted = true;
    for (const row of rows) {
      const change = await deps.nb.ensureVirtualPort(row);
      if (change.changed) {
        changed = true;
        if (!change.created) onlyInserted = false;
        touched.push(...change.previousParents, ...row.parents);
        if (vip && !change.created && change.previousParents.join() !== row.parents.join())
          noteParentsChanged(deps, vip, change.previousParents, row.parents);
      }
    }
    if (vipUsage(spec) === 'aap') {
      const wanted = new Set(rows.map((r) => r.name));
      for (const port of virtualPortNames(name))
        if (!wanted.has(port)) touched.push(...(await deps.nb.deletePort(port)));
    }
    if (!changed || onlyInserted || vipUsage(spec) !== 'aap') break;
  }
  return { parents, touched };
}

async function currentParents(deps: ReconcileDeps, name: string, spec: VipSpec): Promise<VirtualParent[]> {
  // The pods that name this Vip, by name from the AAP index (called after the claim, as its
  // completeness needs: aap-index.ts); a LIST while the index is not known complete.
  const pods =
    (await indexedCandidates(deps, spec.namespace!, name)) ??
    // The selector is an AND of equalities: the API server can filter by it as a label selector.
    (await deps.kube.listPods({
      namespace: spec.namespace!,
      ...(spec.selector.length > 0
        ? { labelSelector: spec.selector.map((r) => `${r.key}=${r.value}`).join(',') }
        : {}),
    }));
  // No candidate, no parent: the Subnets (where each pod's NICs are) are not needed.
  if (pods.length === 0) return [];
  const placements = await subnetPlacements(deps);
  return virtualParents(
    { name, subnet: spec.subnet, namespace: spec.namespace!, selector: spec.selector },
    pods,
    placements,
    { keepVmIp: deps.keepVmIp ?? true },
  );
}

/**
 * Objects the caller holds as its event last wrote or read them, so at least as new as the change
 * a port security refresh is for.
 */
export interface KnownObjects {
  pods?: readonly Pod[];
  vips?: readonly Vip[];
}

/**
 * Brings a pod port's port_security to what the API server says now: its own addresses plus
 * those of the AAP Vips it is a virtual parent of. Reads the pod and its Vips inside the
 * writer's callback, after the writer read the port (see NorthboundWriter.refreshPortSecurity).
 *
 * `known` saves those reads in the first pass only. That is safe because of the writer's rule that
 * a pass which wrote (or lost its guard) is followed by one that reads the API afresh after it:
 * a view older than a concurrent change can only cause a write, and that write is always
 * corrected by the fresh pass after it; a first pass that writes nothing changes nothing. What
 * `known` must hold is the change this refresh is for (the caller's own writes), which it does,
 * being what the caller wrote or read after them.
 */
export async function refreshPortSecurity(
  deps: ReconcileDeps,
  port: string,
  known: KnownObjects = {},
): Promise<void> {
  let first = true;
  await deps.nb.refreshPortSecurity(port, async ({ own, pod: ref }) => {
    const seed = first ? known : {};
    first = false;
    const [namespace, podName] = (ref ?? '').split('/');
    if (!own || !namespace || !podName) return undefined; // not a pod port
    const pod =
      seed.pods?.find(
        (p) => p.metadata.name === podName && (p.metadata.namespace ?? 'default') === namespace,
      ) ?? (await deps.kube.getPod(namespace, podName));
    // Gone: its reconcile deletes the port.
    if (!pod) return undefined;
    const asked = podAaps(pod);
    if (asked.length === 0) return portSecurity(own, []);
    const [vips, subnets] = await Promise.all([
      Promise.all(asked.map((n) => seed.vips?.find((v) => v.metadata.name === n) ?? deps.kube.getVip(n))),
      subnetPlacements(deps),
    ]);
    const found = vips.filter((v): v is Vip => v !== undefined);
    return portSecurity(
      own,
      parentVipAddresses(pod, port, found, subnets, { keepVmIp: deps.keepVmIp ?? true }),
    );
  });
}

/** Refreshes each port (see refreshPortSecurity) and adds it to `refreshed`. */
export async function refreshPortSecurityOf(
  deps: ReconcileDeps,
  ports: Iterable<string>,
  known: KnownObjects = {},
  refreshed?: Set<string>,
): Promise<void> {
  for (const port of [...new Set(ports)].sort()) {
    await refreshPortSecurity(deps, port, known);
    refreshed?.add(port);
  }
}
