// Taking a cluster over from kube-ovn: which of kube-ovn's IP objects (kubeovn.io/v1 IP) still
// hold an address nothing else here shows. Pods show theirs in their annotations and Vips in their
// status, and their own reconciles keep those. What only an IP object records is what kube-ovn keeps
// for an owner that is not running: a StatefulSet pod or a VM between two lives, and a node's
// address. kube-ovn rebuilds its allocator from exactly these at start (its InitIPAM).
import { canonicalV4, canonicalV6 } from './ip.ts';
import type { KubeOvnIp } from './types.ts';

export interface IpObjectHold {
  /** The IP object's name (kube-ovn's port name: `<pod>.<namespace>[.<provider>]`, `node-<name>`). */
  name: string;
  v4?: string;
  v6?: string;
  mac?: string;
}

/** kube-ovn's podType values whose addresses outlive the pod. */
const KEPT_KINDS = new Set(['StatefulSet', 'VirtualMachine']);

/**
 * The holds to adopt in `subnet`: IP objects of that subnet, not being deleted, of a StatefulSet,
 * a VM or a node (no namespace), whose port no live pod has (a live pod's reconcile holds it from
 * its annotations, under its own owner). Invalid addresses are left out. Sorted by name.
 */
export function ipObjectHolds(
  subnet: string,
  ips: readonly KubeOvnIp[],
  livePorts: ReadonlySet<string>,
): IpObjectHold[] {
  const out: IpObjectHold[] = [];
  for (const ip of ips) {
    const s = ip.spec ?? {};
    if (ip.metadata.deletionTimestamp || s.subnet !== subnet) continue;
    if (s.namespace && !KEPT_KINDS.has(s.podType ?? '')) continue;
    if (livePorts.has(ip.metadata.name)) continue;
    const listed = (s.ipAddress ?? '').split(',').map((a) => a.trim());
    const v4 = canonicalV4(s.v4IpAddress ?? '') ?? listed.map((a) => canonicalV4(a)).find(Boolean);
    const v6 = canonicalV6(s.v6IpAddress ?? '') ?? listed.map((a) => canonicalV6(a)).find(Boolean);
    if (!v4 && !v6) continue;
    out.push({
      name: ip.metadata.name,
      ...(v4 ? { v4 } : {}),
      ...(v6 ? { v6 } : {}),
      ...(s.macAddress ? { mac: s.macAddress } : {}),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
