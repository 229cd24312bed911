// Annotation, label and finalizer names, spelled as kube-ovn spells them (pkg/util/const.go), so a
// cluster moving between kube-ovn and this system reads the same metadata.

/** The provider of a pod's primary NIC; attachment providers look like `<net>.<ns>.ovn`. */
export const PRIMARY_PROVIDER = 'ovn';

/** `ovn.kubernetes.io/aaps`: comma list of Vip names a pod wants to be a virtual parent of. */
export const AAPS_ANNOTATION = 'ovn.kubernetes.io/aaps';
/** `ovn.kubernetes.io/vip`: the Vip a pod takes its fixed address from (SPEC §3.3). */
export const POD_VIP_ANNOTATION = 'ovn.kubernetes.io/vip';
/** Multus' list of extra networks. */
export const MULTUS_NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

/**
 * Why a pod could not get its address (e.g. the Vip it asks for is held by another pod), so the
 * refusal is visible with `kubectl describe pod`; removed once the pod is allocated. Not a
 * kube-ovn name: kube-ovn only emits an Event, which the relay's consumers may not see.
 */
export const ALLOCATION_ERROR_ANNOTATION = 'ovn.kubernetes.io/allocation_error';

export const SUBNET_LABEL = 'ovn.kubernetes.io/subnet';
export const IP_RESERVED_LABEL = 'ovn.kubernetes.io/ip_reserved';
export const KUBEVIRT_VM_LABEL = 'vm.kubevirt.io/name';
export const FINALIZER = 'kubeovn.io/kube-ovn-controller';

/** The per-NIC annotation names: `<provider>.kubernetes.io/<suffix>`. */
export const NIC_ANNOTATION_SUFFIXES = {
  allocated: 'allocated',
  ipAddress: 'ip_address',
  macAddress: 'mac_address',
  cidr: 'cidr',
  gateway: 'gateway',
  logicalSwitch: 'logical_switch',
} as const;

/** `<provider>.kubernetes.io`, the prefix of a NIC's annotations. */
export function annotationPrefix(provider: string): string {
  return `${provider}.kubernetes.io`;
}

export function nicAnnotation(provider: string, suffix: keyof typeof NIC_ANNOTATION_SUFFIXES): string {
  return `${annotationPrefix(provider)}/${NIC_ANNOTATION_SUFFIXES[suffix]}`;
}

/** A port name: `<pod>.<namespace>` for the primary NIC, `<pod>.<namespace>.<provider>` otherwise. */
export function portName(pod: string, namespace: string, provider: string = PRIMARY_PROVIDER): string {
  return provider === PRIMARY_PROVIDER ? `${pod}.${namespace}` : `${pod}.${namespace}.${provider}`;
}
