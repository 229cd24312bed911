// Minimal typed views of the Kubernetes objects the handlers pass to the domain decisions. Only
// the fields a decision reads are declared; everything else on the real object is ignored.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  /** RFC 3339 time; set once deletion has been requested. */
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** Vip.spec as stored (unvalidated); `parseVipSpec` turns it into a `VipSpec`. */
export interface VipSpecInput {
  subnet?: string;
  type?: string;
  namespace?: string;
  v4ip?: string;
  v6ip?: string;
  macAddress?: string;
  selector?: string[];
}

export interface VipStatus {
  ready?: boolean;
  v4ip?: string;
  v6ip?: string;
  mac?: string;
  pv4ip?: string;
  pv6ip?: string;
  pmac?: string;
  /** The AAP parents' pod names, comma-joined (not in kube-ovn's status; shown by -o wide). */
  parents?: string;
  holder?: string;
  type?: string;
  selector?: string[];
  conditions?: Condition[];
}

export interface Vip {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: VipSpecInput;
  status?: VipStatus;
}

export interface SubnetSpecInput {
  cidrBlock?: string;
  gateway?: string;
  excludeIps?: string[];
  protocol?: string;
  namespaces?: string[];
  default?: boolean;
  /** kube-ovn's provider of an attachment subnet, e.g. `net1.default.ovn`; absent = `ovn`. */
  provider?: string;
}

export interface SubnetResource {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: SubnetSpecInput;
  status?: Record<string, unknown>;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[] };
}

export interface SlrPort {
  name?: string;
  port: number;
  targetPort?: number;
  protocol?: string;
}

export interface SwitchLBRule {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    vip?: string;
    namespace?: string;
    selector?: string[];
    ports?: SlrPort[];
    sessionAffinity?: string;
    /** Static back-end addresses (kube-ovn master), used instead of the selector. */
    endpoints?: string[];
  };
}

export interface StatefulSet {
  metadata: ObjectMeta;
  spec?: { replicas?: number };
}

/** A KubeVirt VirtualMachine; only its existence and deletion state matter here. */
export interface VirtualMachine {
  metadata: ObjectMeta;
}

/**
 * kube-ovn's own record of an address it gave out (kubeovn.io/v1 IP), read only when taking a
 * cluster over from kube-ovn: its field names, as kube-ovn writes them.
 */
export interface KubeOvnIp {
  metadata: ObjectMeta;
  spec: {
    podName?: string;
    namespace?: string;
    subnet?: string;
    nodeName?: string;
    ipAddress?: string;
    v4IpAddress?: string;
    v6IpAddress?: string;
    macAddress?: string;
    podType?: string;
  };
}
