// What the audit reads (one snapshot of the API server, Redis and OVN NB) and what it reports.
// Drift carries both a sentence for people (`repair`) and an action for `repair()`.
import type { Pod, StatefulSet, SubnetResource, SwitchLBRule, Vip, VirtualMachine } from '../domain/types.ts';
import type { Reservation, Violation } from '../ipam/index.ts';
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
  /** StatefulSets and VMs that may keep a Vip binding of a gone pod (only those looked up). */
  workloads?: { statefulSets: readonly StatefulSet[]; vms: readonly VirtualMachine[] };
  /** kube-ovn's keep-vm-ip (default true). */
  keepVmIp?: boolean;
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
  /** Re-run the owning object's reconciler; `releaseFirst` drops a reservation it cannot change. */
  | {
      type: 'reconcile';
      kind: ReconcileKind;
      name: string;
      namespace?: string;
      releaseFirst?: { subnet: string; owner: string };
    }
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
