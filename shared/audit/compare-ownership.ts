// Who owns what is held, judged by shared/domain/ownership.ts (the judgement the sweep applies
// too): reservations whose owner is gone or elsewhere, NB ports no live object owns, a manual
// owner on an address a Kubernetes object shows, and Vip bindings no pod, StatefulSet or VM claims.
import { IP_RESERVED_LABEL } from '../domain/annotations.ts';
import {
  judgePort,
  judgeReservation,
  type LiveNic,
  livePodPorts,
  ownerSide,
  placementsOf,
  podOwner,
  vipOfPort,
  vipSubnet,
} from '../domain/ownership.ts';
import { readPodAnnotations } from '../domain/pod-annotations.ts';
import { keepOrphanBinding, podVipName, portOwnerHint } from '../domain/vip-binding.ts';
import { VENDOR } from '../ovn/nb/index.ts';
import { addrText, podRef } from './drift-text.ts';
import type { Snapshot } from './snapshot.ts';
import { type Drift, DriftKind, type ObservedState } from './types.ts';

export function orphanBindingPorts(state: Pick<ObservedState, 'vips' | 'pods' | 'subnets' | 'keepVmIp'>) {
  const live = livePodPorts(state.pods, placementsOf(state.subnets), state.keepVmIp ?? true);
  return state.vips
    .map((v) => v.metadata.labels?.[IP_RESERVED_LABEL] ?? '')
    .filter((p) => p !== '' && !live.has(p));
}

/** Reservations whose owner the API server no longer has, or has in another subnet. */
export function compareLeaks(s: Snapshot): Drift[] {
  const { state, owners } = s;
  const drifts: Drift[] = [];
  for (const [subnet, list] of Object.entries(state.reservations)) {
    for (const res of list) {
      const judged = judgeReservation(subnet, res.owner, owners);
      if (judged.verdict !== 'gone' && judged.verdict !== 'misplaced') continue;
      const why = judged.why;
      drifts.push({
        kind: DriftKind.LeakedReservation,
        object: `Reservation/${subnet}/${res.owner}`,
        detail: `${addrText(res)} held, but ${why}`,
        repair: `release ${res.owner} in ${subnet}`,
        action: { type: 'release', subnet, owner: res.owner },
      });
    }
  }
  return drifts;
}

/** NB ports nothing in the API server owns (`wantedVirtualPorts`: what the Ready Vips want). */
export function compareOrphanPorts(s: Snapshot, wantedVirtualPorts: ReadonlySet<string>): Drift[] {
  const { state, owners } = s;
  const vipsByName = owners.vips;
  const drifts: Drift[] = [];
  for (const port of state.ports) {
    if (port.externalIds.vendor !== VENDOR) continue;
    const judged = judgePort(
      { name: port.name, type: port.type, pod: port.externalIds.pod },
      owners,
      wantedVirtualPorts,
    );
    if (judged.verdict === 'owned' || judged.verdict === 'not-judged') continue;
    const why = judged.why;
    drifts.push({
      kind: DriftKind.OrphanPort,
      object: `Port/${port.name}`,
      detail: why,
      repair: `delete logical switch port ${port.name}`,
      action: {
        type: 'delete-port',
        name: port.name,
        ...(port.type === 'virtual' && !vipsByName.has(vipOfPort(port.name))
          ? { vip: vipOfPort(port.name) }
          : {}),
      },
    });
  }
  return drifts;
}

export function compareBindings(
  state: ObservedState,
  live: ReadonlyMap<string, LiveNic>,
  keepVmIp: boolean,
): Drift[] {
  const out: Drift[] = [];
  for (const vip of state.vips) {
    const port = vip.metadata.labels?.[IP_RESERVED_LABEL] ?? '';
    if (port === '' || live.has(port)) continue;
    const hint = portOwnerHint(port);
    const statefulSet = hint?.statefulSet
      ? state.workloads?.statefulSets.find(
          (s) =>
            s.metadata.name === hint.statefulSet!.name &&
            (s.metadata.namespace ?? hint.namespace) === hint.namespace,
        )
      : undefined;
    const vm = hint
      ? state.workloads?.vms.find(
          (m) =>
            m.metadata.name === hint.vmName && (m.metadata.namespace ?? hint.namespace) === hint.namespace,
        )
      : undefined;
    const owners = { ...(statefulSet ? { statefulSet } : {}), ...(vm ? { vm } : {}) };
    if (keepOrphanBinding(port, owners, { keepVmIp })) continue;
    out.push({
      kind: DriftKind.StaleBinding,
      object: `Vip/${vip.metadata.name}`,
      detail: `held for port ${port}: no pod has it and no StatefulSet or VM will bring it back`,
      repair: `clear the ip_reserved label (the Vip keeps its address)`,
      action: { type: 'release-binding', port },
    });
  }
  return out;
}

/**
 * Addresses the Kubernetes side shows (a Vip's fixed spec addresses or Ready status, an allocated
 * pod's annotations) that a manual owner holds: the manual owner is moved to a free address and
 * the object then takes its own. Manual owners may reserve in a Kubernetes subnet, but an address
 * a Kubernetes object shows is that object's.
 */
export function compareOwnership(
  state: ObservedState,
  live: ReadonlyMap<string, LiveNic>,
  holderOf: ReadonlyMap<string, string>,
): Drift[] {
  const out: Drift[] = [];
  const seen = new Set<string>();
  const check = (
    subnet: string,
    address: string | undefined,
    who: string,
    after: Extract<Drift['action'], { type: 'move-reservation' }>['after'],
  ) => {
    if (!address) return;
    const holder = holderOf.get(`${subnet}|${address.toUpperCase()}`);
    if (!holder || ownerSide(holder) !== 'manual' || seen.has(`${subnet}|${holder}|${address}`)) return;
    seen.add(`${subnet}|${holder}|${address}`);
    out.push({
      kind: DriftKind.ManualOnKubernetesAddress,
      object: `Reservation/${subnet}/${holder}`,
      detail: `manual owner holds ${address}, which ${who} shows`,
      repair: `move ${holder} to a free address (one atomic step), then ${who} takes ${address}`,
      action: { type: 'move-reservation', subnet, owner: holder, address, ...(after ? { after } : {}) },
    });
  };
  for (const vip of state.vips) {
    if (vip.metadata.deletionTimestamp) continue;
    const name = vip.metadata.name;
    const subnet = vipSubnet(vip);
    const after = { type: 'reconcile' as const, kind: 'Vip' as const, name };
    check(subnet, vip.spec.v4ip, `Vip ${name}'s spec`, after);
    check(subnet, vip.spec.v6ip, `Vip ${name}'s spec`, after);
    if (vip.status?.ready) {
      check(subnet, vip.status.v4ip, `Vip ${name}'s status`, after);
      check(subnet, vip.status.v6ip, `Vip ${name}'s status`, after);
    }
  }
  for (const { pod, nic } of live.values()) {
    const ann = readPodAnnotations(pod, nic.provider);
    if (!ann.allocated || (nic.primary && podVipName(pod))) continue;
    const after = {
      type: 'restore-pod-reservation' as const,
      subnet: nic.subnet,
      owner: podOwner(nic.portName),
      ...(ann.v4 ? { v4: ann.v4 } : {}),
      ...(ann.v6 ? { v6: ann.v6 } : {}),
      ...(ann.mac ? { mac: ann.mac } : {}),
      namespace: pod.metadata.namespace ?? 'default',
      pod: pod.metadata.name,
    };
    check(nic.subnet, ann.v4, `pod ${podRef(pod)}'s annotation`, after);
    check(nic.subnet, ann.v6, `pod ${podRef(pod)}'s annotation`, after);
  }
  return out;
}
