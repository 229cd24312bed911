// The resource types the relay watches (SPEC §3.3 needs StatefulSet and VirtualMachine owners).
export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /**
   * Status fields that show a decision (a Vip's addresses): an update that changed only status is
   * still forwarded when it changed one of these once set, so the handler sees a hand edit and
   * overwrites it (see cache.ts changedClaim).
   */
  claimedStatus?: readonly string[];
}

export const DEFAULT_RESOURCES: readonly ResourceType[] = [
  { group: 'kubeovn.io', version: 'v1', kind: 'Subnet', plural: 'subnets', namespaced: false },
  {
    group: 'kubeovn.io',
    version: 'v1',
    kind: 'Vip',
    plural: 'vips',
    namespaced: false,
    claimedStatus: ['v4ip', 'v6ip', 'mac'],
  },
  { group: 'kubeovn.io', version: 'v1', kind: 'SwitchLBRule', plural: 'switch-lb-rules', namespaced: false },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
  {
    group: 'kubevirt.io',
    version: 'v1',
    kind: 'VirtualMachine',
    plural: 'virtualmachines',
    namespaced: true,
  },
];

export const apiVersionOf = (r: ResourceType) => (r.group ? `${r.group}/${r.version}` : r.version);

/** The cluster-wide collection path, e.g. `/apis/kubeovn.io/v1/vips` or `/api/v1/pods`. */
export const collectionPath = (r: ResourceType) =>
  `${r.group ? `/apis/${r.group}` : '/api'}/${r.version}/${r.plural}`;

export const resourceName = (r: ResourceType) => (r.group ? `${r.plural}.${r.group}` : r.plural);
