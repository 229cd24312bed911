// The kinds this system reads and writes, with where each lives in the API.

export interface KindInfo {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export const KINDS = {
  Vip: { group: 'kubeovn.io', version: 'v1', plural: 'vips', namespaced: false },
  Subnet: { group: 'kubeovn.io', version: 'v1', plural: 'subnets', namespaced: false },
  SwitchLBRule: { group: 'kubeovn.io', version: 'v1', plural: 'switch-lb-rules', namespaced: false },
  VirtualMachine: { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachines', namespaced: true },
  Pod: { group: '', version: 'v1', plural: 'pods', namespaced: true },
  /** kube-ovn's IP objects: read (never written) when taking a cluster over from kube-ovn. */
  IP: { group: 'kubeovn.io', version: 'v1', plural: 'ips', namespaced: false },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', namespaced: true },
} as const satisfies Record<string, KindInfo>;

export type KindName = keyof typeof KINDS;
/** Kinds served through CustomObjectsApi (custom resources). */
export type CustomKind = 'Vip' | 'Subnet' | 'SwitchLBRule' | 'VirtualMachine';
export type ClusterKind = 'Vip' | 'Subnet' | 'SwitchLBRule';

/** The API path of a kind's collection (for list-watch): `/apis/kubeovn.io/v1/vips`. */
export function collectionPath(kind: KindName, namespace?: string): string {
  const k: KindInfo = KINDS[kind];
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return namespace && k.namespaced ? `${base}/namespaces/${namespace}/${k.plural}` : `${base}/${k.plural}`;
}

/**
 * The API path of one object or its subresource: `/api/v1/namespaces/default/pods/web-0`,
 * `/apis/kubeovn.io/v1/vips/vip1/status`. Namespaced kinds default to the `default` namespace.
 */
export function objectPath(
  kind: KindName,
  ref: { name: string; namespace?: string },
  subresource?: 'status',
): string {
  const k: KindInfo = KINDS[kind];
  const ns = k.namespaced ? encodeURIComponent(ref.namespace ?? 'default') : undefined;
  const path = `${collectionPath(kind, ns)}/${encodeURIComponent(ref.name)}`;
  return subresource ? `${path}/${subresource}` : path;
}
