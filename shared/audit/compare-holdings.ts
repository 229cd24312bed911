// What each Ready Vip and each allocated pod NIC should hold, against what Redis and NB hold for
// it: its reservation (missing, or other addresses than it shows) and its port(s) (missing, stale,
// wrong parents). The addresses they show are claimed, for the duplicate check.
import { type VirtualParent, virtualParents } from '../domain/aap.ts';
import { ownerSide, podOwner, vipOwner } from '../domain/ownership.ts';
import { readPodAnnotations } from '../domain/pod-annotations.ts';
import { podVipName } from '../domain/vip-binding.ts';
import { type AssignedVip, parseVipSpec, vipUsage } from '../domain/vip-spec.ts';
import { assignedFromVip } from '../domain/vip-status.ts';
import { desiredVirtualPorts, type VirtualPortRow } from '../domain/virtual-port.ts';
import type { Reservation } from '../ipam/index.ts';
import { type LogicalSwitchPort, parentsOf, VIRTUAL_IP } from '../ovn/nb/index.ts';
import { addrText, podRef, sameSet, upper } from './drift-text.ts';
import type { Claim, Snapshot } from './snapshot.ts';
import { type Drift, DriftKind } from './types.ts';

/** Vips: reservation, status, virtual ports. Returns the virtual ports the Ready Vips want too. */
export function compareVips(s: Snapshot, claim: Claim): { drifts: Drift[]; wantedVirtualPorts: Set<string> } {
  const { state, placements, keepVmIp, portsByName, reservation, takenBy, podsNaming } = s;
  const drifts: Drift[] = [];
  const wantedVirtualPorts = new Set<string>();
  for (const vip of state.vips) {
    const name = vip.metadata.name;
    const deleting = !!vip.metadata.deletionTimestamp;
    const assigned = vip.status?.ready ? assignedFromVip(vip) : undefined;
    if (!assigned || deleting) continue;
    const subnet = assigned.subnet;
    claim(subnet, assigned.v4ip, `Vip/${name}`);
    claim(subnet, assigned.v6ip, `Vip/${name}`);
    const res = reservation(subnet, vipOwner(name));
    if (!res) {
      drifts.push({
        kind: DriftKind.MissingReservation,
        object: `Vip/${name}`,
        detail: `status shows ${addrText({ v4: assigned.v4ip, v6: assigned.v6ip, mac: assigned.mac })} but subnet ${subnet} holds nothing for ${vipOwner(name)}`,
        repair: `re-run the Vip reconciler (reserves the status addresses again)`,
        action: { type: 'reconcile', kind: 'Vip', name },
      });
    } else if (!sameAddresses(assigned, res)) {
      const shown = addrText({ v4: assigned.v4ip, v6: assigned.v6ip, mac: assigned.mac });
      const other = takenBy(subnet, vipOwner(name), [assigned.v4ip, assigned.v6ip, assigned.mac]);
      drifts.push({
        kind: DriftKind.StatusMismatch,
        object: `Vip/${name}`,
        detail: `status shows ${shown}, reservation holds ${addrText(res)}${other ? ` (${other} holds the status address)` : ''}`,
        // The allocator's record is the truth and a status is only a report of it: an edited
        // status must never move the reservation (that made status a back door to any address).
        repair: `rewrite the Vip status from the reservation (${addrText(res)}), then re-run the Vip reconciler`,
        action: { type: 'rewrite-vip-status', name, subnet },
      });
    }
    const parsed = parseVipSpec(vip.spec);
    if (!parsed.ok || vipUsage(parsed.spec) !== 'aap') continue;
    const parents = virtualParents(
      { name, subnet, namespace: parsed.spec.namespace!, selector: parsed.spec.selector },
      podsNaming(parsed.spec.namespace!, name),
      placements,
      { keepVmIp },
    );
    for (const row of desiredRowsOf(name, assigned, parsed.spec.namespace!, parents)) {
      wantedVirtualPorts.add(row.name);
      drifts.push(...compareVirtualPort(name, row, portsByName.get(row.name)));
    }
  }
  return { drifts, wantedVirtualPorts };
}

/** Pods: reservation and port of each allocated NIC. */
export function comparePods(s: Snapshot, claim: Claim): Drift[] {
  const { portsByName, reservation, takenBy } = s;
  const live = s.owners.podPorts;
  const drifts: Drift[] = [];
  for (const { pod, nic } of live.values()) {
    const ann = readPodAnnotations(pod, nic.provider);
    if (!ann.allocated) continue;
    const ref = podRef(pod);
    const boundVip = nic.primary ? podVipName(pod) : undefined;
    if (!boundVip) {
      claim(nic.subnet, ann.v4, `Pod/${ref}`);
      claim(nic.subnet, ann.v6, `Pod/${ref}`);
      const owner = podOwner(nic.portName);
      const res = reservation(nic.subnet, owner);
      const restore = {
        type: 'restore-pod-reservation' as const,
        subnet: nic.subnet,
        owner,
        ...(ann.v4 ? { v4: ann.v4 } : {}),
        ...(ann.v6 ? { v6: ann.v6 } : {}),
        ...(ann.mac ? { mac: ann.mac } : {}),
        namespace: pod.metadata.namespace ?? 'default',
        pod: pod.metadata.name,
      };
      if (!res) {
        drifts.push({
          kind: DriftKind.MissingReservation,
          object: `Pod/${ref}`,
          detail: `port ${nic.portName} is annotated ${addrText(ann)} but subnet ${nic.subnet} holds nothing for ${owner}`,
          repair: `reserve the annotated addresses for ${owner}, then re-run the pod reconciler`,
          action: restore,
        });
      } else if (!sameAddresses({ v4ip: ann.v4, v6ip: ann.v6, mac: upper(ann.mac) }, res)) {
        const other = takenBy(nic.subnet, owner, [ann.v4, ann.v6, ann.mac]);
        drifts.push({
          kind: DriftKind.StatusMismatch,
          object: `Pod/${ref}`,
          detail: `port ${nic.portName} is annotated ${addrText(ann)}, reservation holds ${addrText(res)}${other ? ` (${other} holds the annotated address)` : ''}`,
          // a manual holder is moved off first (manual-on-kubernetes-address), so restore then
          repair:
            other && ownerSide(other) === 'kubernetes'
              ? `none automatic: two owners want one address; delete or re-create one of them`
              : `replace the reservation with the annotated addresses, then re-run the pod reconciler`,
          action: other && ownerSide(other) === 'kubernetes' ? { type: 'manual' } : restore,
        });
      }
    }
    const port = portsByName.get(nic.portName);
    const reconcilePod = {
      type: 'reconcile' as const,
      kind: 'Pod' as const,
      name: pod.metadata.name,
      namespace: pod.metadata.namespace ?? 'default',
    };
    if (!port) {
      drifts.push({
        kind: DriftKind.MissingPort,
        object: `Pod/${ref}`,
        detail: `allocated NIC has no logical switch port ${nic.portName} on ${nic.subnet}`,
        repair: 're-run the pod reconciler (creates the port)',
        action: reconcilePod,
      });
      continue;
    }
    const want = [ann.mac, ann.v4, ann.v6].filter((x): x is string => !!x).map((x) => x.toLowerCase());
    const have = (port.addresses[0] ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((x) => x.toLowerCase());
    const wrongSwitch = port.externalIds.ls !== undefined && port.externalIds.ls !== nic.subnet;
    if (wrongSwitch || !sameSet(want, have)) {
      drifts.push({
        kind: DriftKind.StalePort,
        object: `Port/${nic.portName}`,
        detail: wrongSwitch
          ? `port sits on ${port.externalIds.ls}, the pod's NIC is on ${nic.subnet}`
          : `port addresses "${have.join(' ')}", pod annotated "${want.join(' ')}"`,
        repair: `re-run the reconciler of pod ${ref} (rewrites the port)`,
        action: reconcilePod,
      });
    }
  }
  return drifts;
}

function sameAddresses(
  a:
    | Pick<AssignedVip, 'v4ip' | 'v6ip' | 'mac'>
    | { v4ip?: string | undefined; v6ip?: string | undefined; mac?: string | undefined },
  r: Reservation,
): boolean {
  return (
    (a.v4ip ?? undefined) === (r.v4 ?? undefined) &&
    (a.v6ip ?? undefined) === (r.v6 ?? undefined) &&
    (!a.mac || a.mac.toUpperCase() === r.mac.toUpperCase())
  );
}

function desiredRowsOf(
  name: string,
  assigned: AssignedVip,
  namespace: string,
  parents: readonly VirtualParent[],
): VirtualPortRow[] {
  return desiredVirtualPorts(
    {
      name,
      subnet: assigned.subnet,
      type: '',
      namespace,
      ...(assigned.v4ip ? { v4: assigned.v4ip } : {}),
      ...(assigned.v6ip ? { v6: assigned.v6ip } : {}),
    },
    parents.map((p) => p.portName),
  );
}

function compareVirtualPort(vip: string, row: VirtualPortRow, port: LogicalSwitchPort | undefined): Drift[] {
  const action = { type: 'reconcile' as const, kind: 'Vip' as const, name: vip };
  if (!port) {
    return [
      {
        kind: DriftKind.MissingPort,
        object: `Vip/${vip}`,
        detail: `AAP Vip has no virtual port ${row.name} (virtual-ip ${row.virtualIp}) on ${row.switchName}`,
        repair: 're-run the Vip reconciler (creates the virtual port)',
        action,
      },
    ];
  }
  const out: Drift[] = [];
  if (port.type !== 'virtual' || port.options[VIRTUAL_IP] !== row.virtualIp) {
    out.push({
      kind: DriftKind.StalePort,
      object: `Port/${row.name}`,
      detail: `type "${port.type}" virtual-ip ${port.options[VIRTUAL_IP] ?? '(none)'}, want virtual ${row.virtualIp}`,
      repair: `re-run the reconciler of Vip ${vip} (rewrites the port)`,
      action,
    });
  }
  const have = [...parentsOf(port)].sort();
  if (have.join(',') !== row.parents.join(',')) {
    out.push({
      kind: DriftKind.WrongParents,
      object: `Port/${row.name}`,
      detail: `virtual-parents [${have.join(',')}], the selected pods give [${row.parents.join(',')}]`,
      repair: `re-run the reconciler of Vip ${vip} (sets the parents)`,
      action,
    });
  }
  return out;
}
