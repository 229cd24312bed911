// Who holds what, and when it is gone: the one place that names owners and a Vip's ports, and
// the one judgement of whether a reservation or an NB port still has a live owner. The audit
// (shared/audit) applies every verdict; the sweep (shared/reconcile/sweep.ts) applies only "gone"
// ones, so the two can never disagree about what a live owner is.
//
// Owner keys. Two sides share the allocator: the Kubernetes side (the reconcilers: `vip/<name>`,
// `pod/<port>`, and `ip/<name>` for what a kube-ovn IP object of an absent StatefulSet pod, VM or
// node holds, `hc/<subnet>` for the source address of a subnet's load balancer health checks) and
// the manual reservation API. Manual owners are stored under their own namespace,
// `manual/<name>`, so the manual API's writes can only ever name keys under `manual/`: whatever
// owner kind the Kubernetes side adds later is out of its reach by construction, not by a list
// someone has to remember to extend. The list below is only for answering politely (409
// ManagedByKubernetes instead of "you hold nothing") and for telling the audit which objects to
// look up.
import { SUBNET_LABEL } from './annotations.ts';
import { type PodNic, podNics, type SubnetPlacement } from './pod-network.ts';
import type { Pod, SubnetResource, Vip } from './types.ts';
import { parseVipSpec, vipUsage } from './vip-spec.ts';

/** Every owner kind the Kubernetes side uses; build keys with `kubernetesOwner` only. */
export const KUBERNETES_OWNER_KINDS = ['vip', 'pod', 'ip', 'hc'] as const;
export type KubernetesOwnerKind = (typeof KUBERNETES_OWNER_KINDS)[number];

const MANUAL_PREFIX = 'manual/';

export type OwnerSide = 'manual' | 'kubernetes';

/** The allocator key of a Kubernetes-side owner, e.g. `vip/a`. */
export const kubernetesOwner = (kind: KubernetesOwnerKind, name: string) => `${kind}/${name}`;

/** Owner keys in the allocator: a Vip and a pod port can never share one. */
export const vipOwner = (vip: string) => kubernetesOwner('vip', vip);
export const podOwner = (port: string) => kubernetesOwner('pod', port);
export const ipOwner = (ip: string) => kubernetesOwner('ip', ip);
export const healthCheckOwner = (subnet: string) => kubernetesOwner('hc', subnet);

/** The allocator key of a manual owner: the API's name inside the manual namespace. */
export const manualOwner = (apiName: string) => `${MANUAL_PREFIX}${apiName}`;

/** Any stored owner outside the manual namespace belongs to the Kubernetes side. */
export const ownerSide = (stored: string): OwnerSide =>
  stored.startsWith(MANUAL_PREFIX) ? 'manual' : 'kubernetes';

/** The name the manual API shows for a stored owner (manual ones without their namespace). */
export const apiOwnerName = (stored: string) =>
  ownerSide(stored) === 'manual' ? stored.slice(MANUAL_PREFIX.length) : stored;

/** Whether an API name is written the way a Kubernetes-side owner is (`vip/…`, `pod/…`). */
export const namesKubernetesOwner = (apiName: string) =>
  KUBERNETES_OWNER_KINDS.some((k) => apiName.startsWith(`${k}/`));

/**
 * The stored owner an API name refers to when reading: Kubernetes-side names as they are (read
 * access is open to every owner), anything else in the manual namespace.
 */
export const storedOwnerOf = (apiName: string) =>
  namesKubernetesOwner(apiName) ? apiName : manualOwner(apiName);

/** A stored owner key read back: its kind and the name after the kind's prefix. */
export type ParsedOwner =
  | { kind: KubernetesOwnerKind | 'manual'; name: string }
  /** A Kubernetes-side key of no kind this version knows: never judged. */
  | { kind: 'unknown'; name: string };

export function parseOwner(stored: string): ParsedOwner {
  if (ownerSide(stored) === 'manual') return { kind: 'manual', name: apiOwnerName(stored) };
  for (const kind of KUBERNETES_OWNER_KINDS)
    if (stored.startsWith(`${kind}/`)) return { kind, name: stored.slice(kind.length + 1) };
  return { kind: 'unknown', name: stored };
}

// ---- A Vip's ports

/**
 * Suffix of the IPv6 virtual port of a dual-stack Vip. OVN 23.03's `virtual-ip` holds one address
 * (with two, ovn-northd installs no bind_vport flow at all), so a dual-stack Vip needs one virtual
 * port per family. The IPv4 port keeps the Vip's own name (as for a single-stack Vip, and as the
 * seed shows); the IPv6 one is `<vip>_v6`. `_` is not allowed in Kubernetes names, so this name can
 * never collide with another Vip's port or a pod's `<pod>.<namespace>` port.
 */
export const V6_PORT_SUFFIX = '_v6';

/** The IPv6 port of a dual-stack Vip. */
export const v6PortName = (vipName: string) => `${vipName}${V6_PORT_SUFFIX}`;

/** Every port name a Vip can own: `<vip>` and `<vip>_v6`. */
export const vipPortNames = (vipName: string): string[] => [vipName, v6PortName(vipName)];

/** The Vip a virtual port belongs to, by name alone: `<vip>` for both `<vip>` and `<vip>_v6`. */
export const vipOfPort = (port: string) =>
  port.endsWith(V6_PORT_SUFFIX) ? port.slice(0, -V6_PORT_SUFFIX.length) : port;

// ---- Live owners: what the API server has, as the judgement needs it

/** The Subnet facts pod NIC placement needs. */
export function placementsOf(subnets: readonly SubnetResource[]): SubnetPlacement[] {
  return subnets.map((s) => ({
    name: s.metadata.name,
    namespaces: s.spec.namespaces ?? [],
    default: s.spec.default === true,
    ...(s.spec.provider ? { provider: s.spec.provider } : {}),
  }));
}

export interface LiveNic {
  pod: Pod;
  nic: PodNic;
}

/** Every port name the existing pods have (allocated or not), with its pod and NIC. */
export function livePodPorts(
  pods: readonly Pod[],
  placements: readonly SubnetPlacement[],
  keepVmIp: boolean,
): Map<string, LiveNic> {
  const out = new Map<string, LiveNic>();
  for (const pod of pods) {
    const nics = podNics(pod, placements, { keepVmIp });
    if (!nics.ok) continue;
    for (const nic of nics.value) out.set(nic.portName, { pod, nic });
  }
  return out;
}

/** One view of the owners that exist: what every verdict below is judged against. */
export interface LiveOwners {
  vips: ReadonlyMap<string, Vip>;
  /** Port name -> the existing pod NIC that has it. */
  podPorts: ReadonlyMap<string, LiveNic>;
}

export function liveOwners(
  vips: readonly Vip[],
  pods: readonly Pod[],
  placements: readonly SubnetPlacement[],
  keepVmIp: boolean,
): LiveOwners {
  return {
    vips: new Map(vips.map((v) => [v.metadata.name, v])),
    podPorts: livePodPorts(pods, placements, keepVmIp),
  };
}

/** The subnet a Vip is in: the label the handler wrote, else its spec. */
export const vipSubnet = (v: Pick<Vip, 'metadata' | 'spec'>) =>
  v.metadata.labels?.[SUBNET_LABEL] || v.spec.subnet || '';

// ---- The judgement

/**
 * - `owned`: a live owner holds it rightly.
 * - `not-judged`: not an object of the API server (manual, kube-ovn IP holds, health checks, keys
 *   of unknown kinds), or a port only its owner's reconciler can judge: left alone.
 * - `gone`: its owner does not exist. The only verdict the sweep acts on.
 * - `misplaced`: its owner exists but is elsewhere (another subnet, no such NIC).
 * - `unwanted`: its Vip exists and does not want it (only when the wanted ports are known).
 */
export type Judgement =
  | { verdict: 'owned'; owner: ParsedOwner }
  | { verdict: 'not-judged' }
  | { verdict: 'gone' | 'misplaced' | 'unwanted'; owner: ParsedOwner; why: string };

/** Whether the reservation `owner` holds in `subnet` has a live owner. */
export function judgeReservation(subnet: string, owner: string, live: LiveOwners): Judgement {
  const parsed = parseOwner(owner);
  if (parsed.kind === 'vip') {
    const vip = live.vips.get(parsed.name);
    if (!vip) return { verdict: 'gone', owner: parsed, why: `Vip ${parsed.name} does not exist` };
    // A Vip being deleted keeps its reservation until its finalizer runs.
    if (vip.metadata.deletionTimestamp) return { verdict: 'owned', owner: parsed };
    const where = vipSubnet(vip);
    return where === subnet
      ? { verdict: 'owned', owner: parsed }
      : { verdict: 'misplaced', owner: parsed, why: `Vip ${parsed.name} belongs to subnet ${where}` };
  }
  if (parsed.kind === 'pod') {
    const nic = live.podPorts.get(parsed.name);
    if (!nic) return { verdict: 'gone', owner: parsed, why: `no pod has port ${parsed.name}` };
    return nic.nic.subnet === subnet
      ? { verdict: 'owned', owner: parsed }
      : { verdict: 'misplaced', owner: parsed, why: `port ${parsed.name} is on subnet ${nic.nic.subnet}` };
  }
  return { verdict: 'not-judged' };
}

/** What the judgement needs of a logical switch port of ours (`vendor=kube-ovn`). */
export interface PortFacts {
  name: string;
  /** OVN's port type: `virtual` for a Vip's, `''` for a pod's. */
  type: string;
  /** `<namespace>/<pod>` from external_ids, on a pod's port. */
  pod?: string | undefined;
}

/**
 * Whether an NB port of ours has a live owner. `wantedVirtual`: the virtual ports the Ready Vips
 * want; without it an existing Vip's port is never judged beyond its Vip existing.
 */
export function judgePort(port: PortFacts, live: LiveOwners, wantedVirtual?: ReadonlySet<string>): Judgement {
  if (port.type === 'virtual') {
    const owner: ParsedOwner = { kind: 'vip', name: vipOfPort(port.name) };
    // `<vip>_v6` of a gone Vip, or a Vip whose own name ends so (older single-name ports)
    const vip = live.vips.get(owner.name) ?? live.vips.get(port.name);
    if (!vip)
      return { verdict: 'gone', owner, why: `virtual port of Vip ${owner.name}, which does not exist` };
    if (!wantedVirtual || vip.metadata.deletionTimestamp || wantedVirtual.has(port.name))
      return { verdict: 'owned', owner };
    const parsed = parseVipSpec(vip.spec);
    if (parsed.ok && vipUsage(parsed.spec) !== 'aap')
      return {
        verdict: 'unwanted',
        owner,
        why: `Vip ${vip.metadata.name} is not an allowed-address-pairs Vip`,
      };
    // An AAP Vip not (yet) Ready: its reconciler owns the port; only a Ready Vip says which it wants.
    if (!vip.status?.ready) return { verdict: 'owned', owner };
    return { verdict: 'unwanted', owner, why: `Vip ${vip.metadata.name} does not want port ${port.name}` };
  }
  if (port.type === '' && port.pod !== undefined) {
    const owner: ParsedOwner = { kind: 'pod', name: port.name };
    if (live.podPorts.has(port.name)) return { verdict: 'owned', owner };
    return { verdict: 'gone', owner, why: `pod port of ${port.pod}, which has no such NIC (pod gone)` };
  }
  return { verdict: 'not-judged' };
}
