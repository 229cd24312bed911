// What the server knows about each resource: names for discovery, scope, subresources, columns.
// Built-ins are listed here; custom resources come from CustomResourceDefinitions.
import type { KubeObject } from './selectors.ts';

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface ResourceInfo {
  group: string;
  version: string;
  /** plural, as in URLs */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  hasStatus: boolean;
  /** Custom resources refuse an update without metadata.resourceVersion, as kube-apiserver does. */
  requireResourceVersion: boolean;
  /** Columns for the Table form; a built-in may compute its cells itself (table.ts). */
  printerColumns?: PrinterColumn[];
  /** openAPIV3Schema of a custom resource, checked on write (schema.ts). */
  schema?: unknown;
}

export const resourceKey = (r: { group: string; resource: string }) => `${r.group}/${r.resource}`;
export const groupVersion = (r: { group: string; version: string }) =>
  r.group ? `${r.group}/${r.version}` : r.version;

const builtin = (
  r: Omit<ResourceInfo, 'requireResourceVersion' | 'categories' | 'singular'> & { categories?: string[] },
) =>
  ({
    categories: [],
    singular: r.kind.toLowerCase(),
    requireResourceVersion: false,
    ...r,
  }) satisfies ResourceInfo;

export const BUILTIN_RESOURCES: ResourceInfo[] = [
  builtin({
    group: '',
    version: 'v1',
    resource: 'namespaces',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    namespaced: false,
    shortNames: ['ns'],
    hasStatus: true,
  }),
  builtin({
    group: '',
    version: 'v1',
    resource: 'pods',
    kind: 'Pod',
    listKind: 'PodList',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    hasStatus: true,
  }),
  builtin({
    group: 'apps',
    version: 'v1',
    resource: 'statefulsets',
    kind: 'StatefulSet',
    listKind: 'StatefulSetList',
    namespaced: true,
    shortNames: ['sts'],
    categories: ['all'],
    hasStatus: true,
  }),
  builtin({
    group: 'kubevirt.io',
    version: 'v1',
    resource: 'virtualmachines',
    kind: 'VirtualMachine',
    listKind: 'VirtualMachineList',
    namespaced: true,
    shortNames: ['vm', 'vms'],
    categories: ['all'],
    hasStatus: true,
  }),
  builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    resource: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    hasStatus: true,
  }),
];

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: unknown };
  additionalPrinterColumns?: PrinterColumn[];
  schema?: { openAPIV3Schema?: unknown };
}

/** The served version of a CustomResourceDefinition (the storage one) as a resource. */
export function resourceFromCrd(crd: KubeObject): ResourceInfo {
  const spec = crd.spec as {
    group: string;
    scope: 'Cluster' | 'Namespaced';
    names: {
      plural: string;
      singular?: string;
      kind: string;
      listKind?: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: CrdVersion[];
  };
  const version = spec.versions.find((v) => v.storage) ?? spec.versions[0];
  if (!version) throw new Error(`CRD ${crd.metadata.name} has no versions`);
  return {
    group: spec.group,
    version: version.name,
    resource: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    namespaced: spec.scope === 'Namespaced',
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    hasStatus: version.subresources?.status !== undefined,
    requireResourceVersion: true,
    printerColumns: version.additionalPrinterColumns,
    schema: version.schema?.openAPIV3Schema,
  };
}
