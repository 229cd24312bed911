// What the reconcilers need from the outside world, from their point of view. Implementations
// live in shared/ipam (Redis), shared/ovn (OVSDB) and shared/kube (Kubernetes API); shared/ports.ts
// wires them. Keeping these narrow lets each reconciler be read as a plain sequence of decisions.

import type { LoadBalancerRow } from '../domain/switch-lb.ts';
import type { Pod, StatefulSet, SubnetResource, SwitchLBRule, Vip, VirtualMachine } from '../domain/types.ts';
import type { VirtualPortRow } from '../domain/virtual-port.ts';
import type { Allocator } from '../ipam/index.ts';
import type { LogicalSwitchSpec, PodPortInput as PodPortSpec } from '../ovn/nb/index.ts';

/** The shapes the OVN model already defines are reused as they are. */
export type { LogicalSwitchSpec, PodPortInput as PodPortSpec } from '../ovn/nb/index.ts';

export interface NorthboundPort {
  ensureLogicalSwitch(spec: LogicalSwitchSpec): Promise<void>;
  deleteLogicalSwitch(name: string): Promise<void>;
  ensurePodPort(spec: PodPortSpec): Promise<void>;
  ensureVirtualPort(row: VirtualPortRow): Promise<void>;
  /** Idempotent: no error when the port is absent. */
  deletePort(name: string): Promise<void>;
  /** Names of the logical switch ports whose external_ids hold every given pair. */
  findPorts(externalIds: Record<string, string>): Promise<{ name: string; switchName?: string }[]>;
  /** Names of virtual ports that list `parentPort` in their virtual-parents. */
  virtualPortsWithParent(parentPort: string): Promise<string[]>;
  ensureLoadBalancer(row: LoadBalancerRow): Promise<void>;
  /** Idempotent; detaches from switches first. */
  deleteLoadBalancer(name: string): Promise<void>;
  /** Names of load balancers whose external_ids hold every given pair. */
  findLoadBalancers(externalIds: Record<string, string>): Promise<string[]>;
}

export type ClusterKind = 'Vip' | 'Subnet' | 'SwitchLBRule';

export interface KubePort {
  getVip(name: string): Promise<Vip | undefined>;
  listVips(opts?: { labelSelector?: string }): Promise<Vip[]>;
  getSubnet(name: string): Promise<SubnetResource | undefined>;
  listSubnets(): Promise<SubnetResource[]>;
  getSwitchLBRule(name: string): Promise<SwitchLBRule | undefined>;
  listSwitchLBRules(): Promise<SwitchLBRule[]>;
  getPod(namespace: string, name: string): Promise<Pod | undefined>;
  listPods(opts: { namespace?: string; labelSelector?: string }): Promise<Pod[]>;
  getStatefulSet(namespace: string, name: string): Promise<StatefulSet | undefined>;
  getVirtualMachine(namespace: string, name: string): Promise<VirtualMachine | undefined>;
  /** Merge-patches the status subresource. */
  patchStatus(kind: ClusterKind, name: string, status: object): Promise<void>;
  /** Merge-patches labels/annotations (null deletes a key). */
  patchMetadata(
    kind: ClusterKind | 'Pod',
    ref: { name: string; namespace?: string },
    patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void>;
  /**
   * Moves a Vip's `ip_reserved` label from `expected` ('' = free) to `next`, atomically: false
   * when the label no longer holds `expected` (another pod won the race).
   */
  claimVip(name: string, expected: string, next: string): Promise<boolean>;
  /**
   * Sets the labels and adds the finalizer in one write guarded by `current`'s resourceVersion
   * (re-read and retried on a conflict); no write when both are already there.
   */
  ensureClaimed(
    kind: ClusterKind,
    current: Vip,
    want: { labels: Record<string, string>; finalizer: string },
  ): Promise<void>;
  /** Adds the finalizer unless present (no-op then). */
  addFinalizer(kind: ClusterKind, name: string, finalizer: string): Promise<void>;
  /** Removes the finalizer if present (no-op otherwise); NotFound is not an error. */
  removeFinalizer(kind: ClusterKind, name: string, finalizer: string): Promise<void>;
}

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ReconcileDeps {
  allocator: Allocator;
  nb: NorthboundPort;
  kube: KubePort;
  /** Called after a reservation changed in a subnet, so its status counts follow (coalesced). */
  subnetChanged?: (subnet: string) => void;
  now?: () => Date;
  log?: Logger;
  /** kube-ovn's keep-vm-ip (default on). */
  keepVmIp?: boolean;
}

/** Owner keys in the allocator: a Vip and a pod port can never share one. */
export const vipOwner = (vip: string) => `vip/${vip}`;
export const podOwner = (port: string) => `pod/${port}`;
