// What the reconcilers need from the outside world, from their point of view. Implementations
// live in shared/ipam (Redis), shared/ovn (OVSDB) and shared/kube (Kubernetes API); infra/wiring
// builds them. Keeping these narrow lets each reconciler be read as a plain sequence of decisions.

import type { NamingPod, ParentChange } from '../domain/aap.ts';
import type { LoadBalancerRow } from '../domain/switch-lb.ts';
import type {
  KubeOvnIp,
  Pod,
  StatefulSet,
  SubnetResource,
  SwitchLBRule,
  Vip,
  VirtualMachine,
} from '../domain/types.ts';
import type { VirtualPortRow } from '../domain/virtual-port.ts';
import type { Allocator } from '../ipam/index.ts';
import type { LogicalSwitchSpec, PodPortInput as PodPortSpec } from '../ovn/nb/index.ts';

/** The shapes the OVN model already defines are reused as they are. */
export type { LogicalSwitchSpec, PodPortInput as PodPortSpec } from '../ovn/nb/index.ts';

export interface NorthboundPort {
  ensureLogicalSwitch(spec: LogicalSwitchSpec): Promise<void>;
  /**
   * Deletes the switch and its ports, with the SwitchLBRule load balancers attached to it;
   * returns those load balancers' names. Idempotent.
   */
  deleteLogicalSwitch(name: string): Promise<string[]>;
  ensurePodPort(spec: PodPortSpec): Promise<void>;
  /** Returns the port's parents before the write and whether anything changed. */
  ensureVirtualPort(row: VirtualPortRow): Promise<VirtualPortChange>;
  /** Idempotent: no error when the port is absent. Returns the parents it listed (virtual ports). */
  deletePort(name: string): Promise<string[]>;
  /**
   * Sets a pod port's port_security to `compute(current)` ("<mac> <ips> <vips>"), safe against
   * concurrent refreshers (see NorthboundWriter.refreshPortSecurity): `compute` must read the
   * state it derives the value from (the API server) itself, after being called, except in the
   * first pass, which may decide from objects the caller wrote or read after the change it
   * refreshes for (a stale first view can only cause a write, and a pass that wrote is followed by
   * one that reads afresh). Undefined from `compute` leaves the port alone; an absent port is not
   * an error.
   */
  refreshPortSecurity(
    port: string,
    compute: (current: PodPortView) => Promise<string | undefined>,
  ): Promise<void>;
  /** The logical switch ports whose external_ids hold every given pair. */
  findPorts(externalIds: Record<string, string>): Promise<FoundPort[]>;
  /** Names of virtual ports that list `parentPort` in their virtual-parents. */
  virtualPortsWithParent(parentPort: string): Promise<string[]>;
  /**
   * One pod's change to the parents of a Vip's virtual port(s), applied to each list as it is now
   * (guarded and retried: concurrent changes all land). Returns each port's parents before and
   * after, or undefined with nothing written when the port cache is not loaded yet, or a port is
   * missing or is not the virtual port of `virtualIp` (the caller reconciles the whole Vip).
   * `confirm`: when nothing needs writing, check on the server that the lists returned are current
   * (they may come from a cache that lags).
   */
  changeVirtualParents(
    ports: readonly { name: string; virtualIp: string }[],
    change: ParentChange,
    opts?: { confirm?: boolean },
  ): Promise<{ name: string; before: string[]; after: string[] }[] | undefined>;
  /**
   * The named pod ports as the port cache holds them, for a Vip's parent columns; undefined when
   * the cache is not loaded or one of them is not there.
   */
  podPortViews(names: readonly string[]): Promise<Map<string, PodPortView> | undefined>;
  /**
   * The subnet gateway answers ARP for `compute()` (the subnet's switch_lb_vip IPv4 addresses):
   * `options:arp_proxy` on the switch's router-type port(s). `compute` must read the API itself;
   * it is called again after a write (see NorthboundWriter.refreshArpProxy). No router port: no-op.
   */
  refreshArpProxy(switchName: string, compute: () => Promise<string[]>): Promise<void>;
  ensureLoadBalancer(row: LoadBalancerRow): Promise<void>;
  /** Idempotent; detaches from switches first. */
  deleteLoadBalancer(name: string): Promise<void>;
  /** Names of load balancers whose external_ids hold every given pair. */
  findLoadBalancers(externalIds: Record<string, string>): Promise<string[]>;
}

/** A port as lookups return it: enough to tell whose it is (shared/domain/ownership.ts). */
export interface FoundPort {
  name: string;
  /** The switch (external_ids `ls`), when the port carries it. */
  switchName?: string;
  /** OVN's port type: `virtual` for a Vip's, `''` for a pod's. */
  type: string;
  /** `<namespace>/<pod>` (external_ids `pod`), on a pod's port. */
  pod?: string;
}

export interface VirtualPortChange {
  previousParents: string[];
  /** Created, or its address or parents changed. */
  changed: boolean;
  /** This write inserted the port (it did not exist). */
  created: boolean;
}

/** A pod port as the port-security refresh sees it. */
export interface PodPortView {
  /** Its own MAC and addresses (its `addresses` column); absent when that is not "<mac> <ips>". */
  own?: { mac: string; ips: string[] };
  /** `<namespace>/<pod>` from external_ids. */
  pod?: string;
}

export type ClusterKind = 'Vip' | 'Subnet' | 'SwitchLBRule';

export interface KubePort {
  getVip(name: string): Promise<Vip | undefined>;
  listVips(opts?: { labelSelector?: string }): Promise<Vip[]>;
  getSubnet(name: string): Promise<SubnetResource | undefined>;
  listSubnets(): Promise<SubnetResource[]>;
  getSwitchLBRule(name: string): Promise<SwitchLBRule | undefined>;
  listSwitchLBRules(): Promise<SwitchLBRule[]>;
  /** kube-ovn's IP objects (taking a cluster over from kube-ovn); optional: [] when absent. */
  listIPs?(): Promise<KubeOvnIp[]>;
  getPod(namespace: string, name: string): Promise<Pod | undefined>;
  listPods(opts: { namespace?: string; labelSelector?: string }): Promise<Pod[]>;
  getStatefulSet(namespace: string, name: string): Promise<StatefulSet | undefined>;
  getVirtualMachine(namespace: string, name: string): Promise<VirtualMachine | undefined>;
  /**
   * Merge-patches the status subresource and returns the object written. With `resourceVersion`
   * the write is refused with a conflict (`isConflict` of shared/kube/errors.ts) when the object
   * has changed since that version.
   */
  patchStatus(
    kind: ClusterKind,
    name: string,
    status: object,
    opts?: { resourceVersion?: string },
  ): Promise<{ metadata: { resourceVersion?: string } }>;
  /**
   * Merge-patches labels/annotations (null deletes a key) and returns the object written. With
   * `resourceVersion` the write is refused with a conflict when the object changed since.
   */
  patchMetadata(
    kind: ClusterKind | 'Pod',
    ref: { name: string; namespace?: string },
    patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
    opts?: { resourceVersion?: string },
  ): Promise<{ metadata: { resourceVersion?: string } }>;
  /**
   * Moves a Vip's `ip_reserved` label from `expected` ('' = free) to `next`, atomically: false
   * when the label no longer holds `expected` (another pod won the race).
   */
  claimVip(name: string, expected: string, next: string): Promise<boolean>;
  /**
   * Sets the labels and adds the finalizer in one write guarded by `current`'s resourceVersion.
   * Returns the object written, or undefined when both were there (no write). A stale `current`
   * is a conflict (`isConflict`): read again and decide again.
   */
  ensureClaimed(
    kind: ClusterKind,
    current: Vip,
    want: { labels: Record<string, string>; finalizer: string },
  ): Promise<{ metadata: { resourceVersion?: string } } | undefined>;
  /** Adds the finalizer unless present (no-op then). */
  addFinalizer(kind: ClusterKind, name: string, finalizer: string): Promise<void>;
  /** Removes the finalizer if present (no-op otherwise); NotFound is not an error. */
  removeFinalizer(kind: ClusterKind, name: string, finalizer: string): Promise<void>;
}

/**
 * The AAP parent index (Redis; shared/reconcile/aap-index.ts): per (namespace, Vip) the pods that
 * name the Vip in their aaps annotation, each with a token, and a marker that it is complete.
 */
export interface AapIndexPort {
  /** The marker and the members of the set of (namespace, vip) (pod name -> token), in one read. */
  read(namespace: string, vip: string): Promise<{ complete: boolean; members: Map<string, string> }>;
  /** Records each pod in the set of every Vip it names (a new token unless that pod, same uid, is there). */
  add(pods: readonly NamingPod[]): Promise<void>;
  /** Removes each member whose token is still the one given; returns how many went. */
  forget(
    namespace: string,
    vip: string,
    members: readonly { name: string; token: string }[],
  ): Promise<number>;
  /** A pod deleted: removes it from the sets of `vips` where its token carries its uid. */
  forgetPod(pod: NamingPod): Promise<void>;
  isComplete(): Promise<boolean>;
  markComplete(): Promise<void>;
  /** Of the (pod, Vip) pairs, those the index does not hold (the audit). */
  missing(pods: readonly NamingPod[]): Promise<{ namespace: string; name: string; vip: string }[]>;
}

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The object an Event is about, as events.k8s.io/v1 `regarding` names it. */
export interface EventObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface RecordedEvent {
  regarding: EventObjectRef;
  type: 'Normal' | 'Warning';
  /** CamelCase, stable (kube-ovn's wording: `AcquireAddressFailed`, ...). */
  reason: string;
  /** What was done or tried: `Allocate`, `Release`, `Validate`, `Bind`. */
  action: string;
  /** For people; at most 1 kB is kept. */
  note: string;
}

/** Kubernetes Events. `record` never throws and never waits: an Event is a hint, not state. */
export interface EventRecorder {
  record(event: RecordedEvent): void;
}

export interface ReconcileDeps {
  allocator: Allocator;
  nb: NorthboundPort;
  kube: KubePort;
  /**
   * Called after a reservation changed in a subnet, so its status counts follow (coalesced).
   * `released`: an address or MAC came free, so Vips refused for want of one get another pass.
   */
  subnetChanged?: (subnet: string, change?: 'released') => void;
  now?: () => Date;
  log?: Logger;
  /** Events on the objects handled (absent: none recorded). */
  events?: EventRecorder;
  /** kube-ovn's keep-vm-ip (default on). */
  keepVmIp?: boolean;
  /**
   * kube-ovn-controller runs beside this system: pods are its, Vips come from each Subnet's
   * declared range (shared/domain/beside-kube-ovn.ts).
   */
  besideKubeOvn?: boolean;
  /** The AAP parent index; absent: every AAP Vip reconcile lists its namespace's pods. */
  aapIndex?: AapIndexPort;
}
