// SPEC §3.3: a pod takes its fixed address from a Vip (`ovn.kubernetes.io/vip`). These decide
// whether a pod may bind, and whether a binding outlives its pod (StatefulSet / KubeVirt VM).
// The address itself never leaves the Vip's reservation; only the `ip_reserved` label moves.

import { IP_RESERVED_LABEL, POD_VIP_ANNOTATION, SUBNET_LABEL } from './annotations.ts';
import { Reason } from './errors.ts';
import type { Pod, StatefulSet, Vip, VirtualMachine } from './types.ts';
import { type PortNamingOptions, statefulSetOf, vmNameOf } from './workload.ts';

/** The Vip a pod asks for, trimmed; undefined when none. */
export function podVipName(pod: Pod | undefined): string | undefined {
  const v = pod?.metadata.annotations?.[POD_VIP_ANNOTATION]?.trim();
  return v ? v : undefined;
}

/** The pod port currently holding a Vip ('' or absent label = free). */
export function vipReservedBy(vip: Pick<Vip, 'metadata'>): string | undefined {
  const v = vip.metadata.labels?.[IP_RESERVED_LABEL];
  return v ? v : undefined;
}

export type BindingDecision =
  /** Give the pod these addresses and label the Vip `ip_reserved=<podPort>` (idempotent). */
  | { action: 'bind'; vip: string; subnet: string; v4?: string; v6?: string; mac?: string }
  /** Not possible yet; retry later (Vip missing, not ready, or being deleted). */
  | { action: 'wait'; reason: Reason; message: string }
  /** Another port holds the Vip. */
  | { action: 'conflict'; reason: typeof Reason.VipInUse; holder: string; message: string }
  /** Can never succeed as asked (wrong kind of Vip, other subnet). */
  | { action: 'refuse'; reason: Reason; message: string };

export interface BindingInput {
  /** The port that would hold the Vip, e.g. `static-ip.default`. */
  podPort: string;
  vipName: string;
  vip: Pick<Vip, 'metadata' | 'spec' | 'status'> | undefined;
  /** The pod's primary subnet, when known: a Vip of another subnet cannot be used. */
  podSubnet?: string;
}

export function decideVipBinding(input: BindingInput): BindingDecision {
  const { podPort, vipName, vip } = input;
  if (!vip) return { action: 'wait', reason: Reason.VipNotFound, message: `Vip ${vipName} does not exist` };
  if (vip.metadata.deletionTimestamp) {
    return { action: 'wait', reason: Reason.VipNotReady, message: `Vip ${vipName} is being deleted` };
  }
  const type = vip.status?.type || vip.spec.type || '';
  if (type !== '' || vip.spec.namespace) {
    const kind = type !== '' ? `type ${type}` : 'an allowed-address-pairs Vip (namespace set)';
    return {
      action: 'refuse',
      reason: Reason.InvalidType,
      message: `Vip ${vipName} is ${kind}; a pod can only take a plain reservation`,
    };
  }
  const s = vip.status;
  if (!s?.ready || !(s.v4ip || s.v6ip)) {
    return { action: 'wait', reason: Reason.VipNotReady, message: `Vip ${vipName} has no address yet` };
  }
  const subnet = vip.metadata.labels?.[SUBNET_LABEL] || vip.spec.subnet || '';
  if (input.podSubnet !== undefined && input.podSubnet !== subnet) {
    return {
      action: 'refuse',
      reason: Reason.AddressOutOfRange,
      message: `Vip ${vipName} is in subnet ${subnet}, but the pod's subnet is ${input.podSubnet}`,
    };
  }
  const holder = vipReservedBy(vip);
  if (holder !== undefined && holder !== podPort) {
    return {
      action: 'conflict',
      reason: Reason.VipInUse,
      holder,
      message: `Vip ${vipName} is already held by ${holder}`,
    };
  }
  const d: BindingDecision = { action: 'bind', vip: vipName, subnet };
  if (s.v4ip) d.v4 = s.v4ip;
  if (s.v6ip) d.v6 = s.v6ip;
  if (s.mac) d.mac = s.mac;
  return d;
}

/**
 * Whether a deleted pod's binding is kept for the pod that replaces it (SPEC §3.3):
 * - StatefulSet pod: the StatefulSet exists, is not being deleted, and the ordinal is below its
 *   replicas (default 1);
 * - KubeVirt VM pod: keepVmIp is on (default) and the VM exists and is not being deleted;
 * - anything else: released.
 * `owner` is what the handler found under the pod's owner name (undefined when it is gone).
 */
export function keepBindingAfterPodDelete(
  pod: Pod,
  owner: StatefulSet | VirtualMachine | undefined,
  opts: PortNamingOptions = {},
): boolean {
  const sts = statefulSetOf(pod);
  if (sts) return statefulSetKeeps(owner as StatefulSet | undefined, sts.statefulSet, sts.ordinal);
  const vm = vmNameOf(pod);
  if (vm && (opts.keepVmIp ?? true))
    return !!owner && owner.metadata.name === vm && !owner.metadata.deletionTimestamp;
  return false;
}

function statefulSetKeeps(sts: StatefulSet | undefined, name: string, ordinal: number): boolean {
  if (!sts || sts.metadata.name !== name || sts.metadata.deletionTimestamp) return false;
  return ordinal < (sts.spec?.replicas ?? 1);
}

/** What a primary port name `<name>.<namespace>` can tell about its owner when the pod is gone. */
export interface PortOwnerHint {
  name: string;
  namespace: string;
  /** `<sts>-<ordinal>` names: the StatefulSet to look up. */
  statefulSet?: { name: string; ordinal: number };
  /** The VM to look up (a VM pod's port is named after the VM). */
  vmName: string;
}

/** Splits a primary port name (namespaces have no dots, so the last dot separates). */
export function portOwnerHint(portName: string): PortOwnerHint | undefined {
  const dot = portName.lastIndexOf('.');
  if (dot <= 0 || dot === portName.length - 1) return undefined;
  const name = portName.slice(0, dot);
  const namespace = portName.slice(dot + 1);
  const hint: PortOwnerHint = { name, namespace, vmName: name };
  const m = /^(.+)-(0|[1-9]\d{0,8})$/.exec(name);
  if (m) hint.statefulSet = { name: m[1]!, ordinal: Number(m[2]) };
  return hint;
}

/**
 * For a binding whose pod no longer exists (a missed delete healed by resync): keep it while a
 * StatefulSet or VM in the port's namespace still claims that name, release it otherwise.
 */
export function keepOrphanBinding(
  portName: string,
  owners: { statefulSet?: StatefulSet; vm?: VirtualMachine },
  opts: PortNamingOptions = {},
): boolean {
  const hint = portOwnerHint(portName);
  if (!hint) return false;
  const inNs = (o: { metadata: { namespace?: string } } | undefined) =>
    !!o && (o.metadata.namespace ?? hint.namespace) === hint.namespace;
  if (
    hint.statefulSet &&
    inNs(owners.statefulSet) &&
    statefulSetKeeps(owners.statefulSet, hint.statefulSet.name, hint.statefulSet.ordinal)
  ) {
    return true;
  }
  const vm = owners.vm;
  return (
    (opts.keepVmIp ?? true) &&
    inNs(vm) &&
    vm!.metadata.name === hint.vmName &&
    !vm!.metadata.deletionTimestamp
  );
}

/**
 * When a StatefulSet changes or goes (`sts` undefined), which of the bound ports it owned must be
 * released: those named `<sts>-<ordinal>` in its namespace with ordinal >= replicas, or all when
 * it is gone or being deleted. The handler passes the ports from Vips' ip_reserved labels.
 */
export function statefulSetReleases(
  stsName: string,
  namespace: string,
  sts: StatefulSet | undefined,
  boundPorts: readonly string[],
): string[] {
  return boundPorts
    .filter((port) => {
      const hint = portOwnerHint(port);
      return hint?.namespace === namespace && hint.statefulSet?.name === stsName;
    })
    .filter((port) => {
      const h = portOwnerHint(port)!;
      return !statefulSetKeeps(sts, stsName, h.statefulSet!.ordinal);
    })
    .sort();
}
