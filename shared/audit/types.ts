// What the audit reads (one snapshot of the API server, Redis and OVN NB) and what it reports.
// Drift carries both a sentence for people (`repair`) and an action for `repair()`.
import type { Pod, StatefulSet, SubnetResource, SwitchLBRule, Vip, VirtualMachine } from '../domain/types.ts';
import type { Reservation, SubnetInfo, Violation } from '../ipam/index.ts';
import type { LoadBalancer, LogicalSwitchPort } from '../ovn/nb/index.ts';

export interface ObservedState {
  vips: readonly Vip[];
  pods: readonly Pod[];
  subnets: readonly SubnetResource[];
  rules: readonly SwitchLBRule[];
  /** Every reservation, by subnet name (subnets the allocator knows). */
  reservations: Readonly<Record<string, readonly Reservation[]>>;
  ports: readonly LogicalSwitchPort[];
  loadBalancers: readonly LoadBalancer[];
  /** allocator.audit(subnet) per subnet; empty lists when healthy. */
  allocatorViolations: Readonly<Record<string, readonly Violation[]>>;
  /** Logical switch names found for the Subnets; when absent, switches are not checked. */
  switches?: readonly string[];
  /** Every registration the allocator holds (Subnet object or not); when absent, not checked. */
  registrations?: Readonly<Record<string, SubnetInfo>>;
  /** Every logical switch in NB that carries `vendor=kube-ovn`; when absent, orphans are not checked. */
  ownSwitches?: readonly string[];
  /** StatefulSets and VMs that may keep a Vip binding of a gone pod (only those looked up). */
  workloads?: { statefulSets: readonly StatefulSet[]; vms: readonly VirtualMachine[] };
  /** kube-ovn's keep-vm-ip (default true). */
  keepVmIp?: boolean;
  /**
   * The AAP parent index, when it is marked complete (only then do the Vip reconciles trust it):
   * the (pod, Vip) pairs of pods naming a Vip that it does not hold. Absent: not checked.
   */
  aapIndex?: { missing: readonly { namespace: string; name: string; vip: string }[] };
}

export const DriftKind = {
  DuplicateAddress: 'duplicate-address',
  LeakedReservation: 'leaked-reservation',
  MissingReservation: 'missing-reservation',
  StatusMismatch: 'status-mismatch',
  OrphanPort: 'orphan-port',
  MissingPort: 'missing-port',
  StalePort: 'stale-port',
  WrongParents: 'wrong-parents',
  OrphanLoadBalancer: 'orphan-lb',
  MissingLoadBalancer: 'missing-lb',
  StaleLoadBalancer: 'stale-lb',
  StaleBinding: 'stale-binding',
  MissingSwitch: 'missing-switch',
  AllocatorInvariant: 'allocator-invariant',
  /** A reservation on a Subnet's gateway (the allocator was told another gateway at some point). */
  GatewayReserved: 'gateway-reserved',
  /** A manual owner holds an address a Vip's spec or status, or a pod's annotation, shows. */
  ManualOnKubernetesAddress: 'manual-on-kubernetes-address',
  /** The allocator's registration of a Subnet differs from the Subnet object, or is not marked
   *  managed-by-Kubernetes. */
  StaleRegistration: 'stale-registration',
  /** A switch (vendor kube-ovn) whose Subnet object is gone. */
  OrphanSwitch: 'orphan-switch',
  /** A Kubernetes-managed allocator registration whose Subnet object is gone. */
  OrphanSubnetState: 'orphan-subnet-state',
  /** A Subnet's status counts differ from the reservations the allocator holds in it (manual
   *  owners included). */
  StaleSubnetCounts: 'stale-subnet-counts',
  /** A pod names an AAP Vip, but the AAP parent index (marked complete) does not hold it. */
  AapIndexMissing: 'aap-index-missing',
} as const;
export type DriftKind = (typeof DriftKind)[keyof typeof DriftKind];

export type ReconcileKind = 'Vip' | 'Pod' | 'SwitchLBRule' | 'Subnet';

/** What `repair()` does about one drift; always in the direction of the API server. */
export type RepairAction =
  /** Free a reservation whose owner the API server does not have. */
  | { type: 'release'; subnet: string; owner: string }
  /** `vip`: the gone Vip of a virtual port; if it exists again by repair time, the port is left to it. */
  | { type: 'delete-port'; name: string; vip?: string }
  /** `rule`: the SwitchLBRule named in the row's external_ids. */
  | { type: 'delete-lb'; name: string; rule: string }
  /** Re-run the owning object's reconciler. */
  | { type: 'reconcile'; kind: ReconcileKind; name: string; namespace?: string }
  /**
   * Put back the reservation a pod's annotations record (its running address), replacing a
   * different one, then reconcile the pod. The pod reconciler alone would pick a fresh address.
   */
  | {
      type: 'restore-pod-reservation';
      subnet: string;
      owner: string;
      v4?: string;
      v6?: string;
      mac?: string;
      namespace: string;
      pod: string;
    }
  /**
   * Move an owner off `address` to free addresses of the same families in one atomic allocator
   * step (the owner is never without an address), then run `after` (the object the address
   * belongs to takes it, or the moved Vip's status is rewritten).
   */
  | {
      type: 'move-reservation';
      subnet: string;
      owner: string;
      address: string;
      after?: Extract<RepairAction, { type: 'reconcile' | 'rewrite-vip-status' | 'restore-pod-reservation' }>;
    }
  /** Write a Vip's status addresses from its reservation (the allocator's record is the truth,
   *  never an edited status), then re-run the Vip reconciler. */
  | { type: 'rewrite-vip-status'; name: string; subnet: string }
  /** Delete a logical switch whose Subnet object is gone (re-checked first). */
  | { type: 'delete-switch'; name: string }
  /** Delete a Kubernetes-managed allocator registration whose Subnet is gone (re-checked; refused
   *  while it still holds reservations). */
  | { type: 'delete-subnet-state'; subnet: string }
  /** Clear a Vip's ip_reserved label held for a port no pod, StatefulSet or VM claims. */
  | { type: 'release-binding'; port: string }
  /** Nothing safe to automate (a broken allocator invariant). */
  | { type: 'manual' };

export interface Drift {
  kind: DriftKind;
  /** `Vip/a`, `Pod/ns/name`, `Reservation/<subnet>/<owner>`, `Port/x`, `LoadBalancer/x`, `Subnet/x`. */
  object: string;
  detail: string;
  /** A plain description of what repair does. */
  repair: string;
  action: RepairAction;
}

export interface AuditCounts {
  vips: number;
  pods: number;
  reservations: number;
  ports: number;
  loadBalancers: number;
}

export interface AuditResult {
  drifts: Drift[];
  counts: AuditCounts;
}
