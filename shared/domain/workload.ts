// Which workload owns a pod, as far as address keeping is concerned: StatefulSets (stable pod
// names with an ordinal) and KubeVirt VMs (a new launcher pod per boot, named after the VM).
import { KUBEVIRT_VM_LABEL } from './annotations.ts';
import type { Pod } from './types.ts';

export interface StatefulSetMembership {
  statefulSet: string;
  ordinal: number;
}

/**
 * The StatefulSet a pod belongs to and its ordinal, when its controller owner is a StatefulSet
 * and its name is `<statefulset>-<ordinal>`; undefined otherwise.
 */
export function statefulSetOf(pod: Pod): StatefulSetMembership | undefined {
  const owner = pod.metadata.ownerReferences?.find((o) => o.kind === 'StatefulSet');
  if (!owner) return undefined;
  const prefix = `${owner.name}-`;
  const name = pod.metadata.name;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (!/^(0|[1-9]\d{0,8})$/.test(rest)) return undefined;
  return { statefulSet: owner.name, ordinal: Number(rest) };
}

export function isStatefulSetPod(pod: Pod): boolean {
  return statefulSetOf(pod) !== undefined;
}

/**
 * The KubeVirt VM a pod runs, if any: the VirtualMachineInstance owner (its name is the VM's,
 * as kube-ovn relies on), else the `vm.kubevirt.io/name` label.
 */
export function vmNameOf(pod: Pod): string | undefined {
  const owner = pod.metadata.ownerReferences?.find(
    (o) => o.kind === 'VirtualMachineInstance' && (o.apiVersion ?? 'kubevirt.io/').startsWith('kubevirt.io/'),
  );
  if (owner) return owner.name;
  const label = pod.metadata.labels?.[KUBEVIRT_VM_LABEL];
  return label ? label : undefined;
}

export interface PortNamingOptions {
  /** kube-controller's keep-vm-ip (default true): a VM pod's ports are named after the VM. */
  keepVmIp?: boolean;
}

/**
 * The name a pod's ports are built from: the pod's name, or the VM's for a VM pod with keepVmIp,
 * so that the launcher pod of the next boot gets the same port name and address (kube-ovn's getNameByPod).
 */
export function portBaseName(pod: Pod, opts: PortNamingOptions = {}): string {
  if (opts.keepVmIp ?? true) {
    const vm = vmNameOf(pod);
    if (vm) return vm;
  }
  return pod.metadata.name;
}
