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
  /**
   * Field selector labels beyond metadata.name and metadata.namespace (kube-apiserver refuses any
   * other with 400); a label maps to the stored object's path it compares.
   */
  fieldLabels?: Record<string, string>;
  /**
   * Served from another resource's objects in another shape (events.k8s.io/v1 Events are core v1
   * Events, as in kube-apiserver): objects are stored as `storage` and converted both ways.
   */
  view?: {
    storage: { group: string; resource: string };
    toStorage(obj: KubeObject): KubeObject;
    fromStorage(obj: KubeObject): KubeObject;
  };
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
    fieldLabels: { 'status.phase': 'status.phase' },
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
    fieldLabels: Object.fromEntries(
      [
        'spec.nodeName',
        'spec.restartPolicy',
        'spec.schedulerName',
        'spec.serviceAccountName',
        'spec.hostNetwork',
        'status.phase',
        'status.podIP',
        'status.nominatedNodeName',
      ].map((f) => [f, f]),
    ),
  }),
  builtin({
    group: '',
    version: 'v1',
    resource: 'events',
    kind: 'Event',
    listKind: 'EventList',
    namespaced: true,
    shortNames: ['ev'],
    hasStatus: false,
    fieldLabels: Object.fromEntries(
      [
        'involvedObject.kind',
        'involvedObject.namespace',
        'involvedObject.name',
        'involvedObject.uid',
        'involvedObject.apiVersion',
        'involvedObject.resourceVersion',
        'involvedObject.fieldPath',
        'reason',
        'reportingComponent',
        'source',
        'type',
      ].map((f) => [f, f === 'source' ? 'source.component' : f]),
    ),
  }),
  builtin({
    group: 'events.k8s.io',
    version: 'v1',
    resource: 'events',
    kind: 'Event',
    listKind: 'EventList',
    namespaced: true,
    shortNames: ['ev'],
    hasStatus: false,
    // The labels of the core resource under their events.k8s.io names, compared on stored objects.
    fieldLabels: {
      'regarding.kind': 'involvedObject.kind',
      'regarding.namespace': 'involvedObject.namespace',
      'regarding.name': 'involvedObject.name',
      'regarding.uid': 'involvedObject.uid',
      'regarding.apiVersion': 'involvedObject.apiVersion',
      'regarding.resourceVersion': 'involvedObject.resourceVersion',
      'regarding.fieldPath': 'involvedObject.fieldPath',
      reason: 'reason',
      reportingController: 'reportingComponent',
      type: 'type',
    },
    view: {
      storage: { group: '', resource: 'events' },
      toStorage: (o) => renameFields(o, EVENTS_TO_CORE, 'v1'),
      fromStorage: (o) => renameFields(o, CORE_TO_EVENTS, 'events.k8s.io/v1'),
    },
  }),
  builtin({
    group: 'coordination.k8s.io',
    version: 'v1',
    resource: 'leases',
    kind: 'Lease',
    listKind: 'LeaseList',
    namespaced: true,
    shortNames: [],
    hasStatus: false,
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

/** events.k8s.io/v1 field names of the core v1 Event's fields (the rest are named alike). */
const EVENTS_TO_CORE: Record<string, string> = {
  regarding: 'involvedObject',
  note: 'message',
  reportingController: 'reportingComponent',
  deprecatedSource: 'source',
  deprecatedFirstTimestamp: 'firstTimestamp',
  deprecatedLastTimestamp: 'lastTimestamp',
  deprecatedCount: 'count',
};
const CORE_TO_EVENTS = Object.fromEntries(Object.entries(EVENTS_TO_CORE).map(([a, b]) => [b, a]));

function renameFields(obj: KubeObject, names: Record<string, string>, apiVersion: string): KubeObject {
  const out: KubeObject = { metadata: obj.metadata };
  for (const [k, v] of Object.entries(obj)) if (k !== 'metadata') out[names[k] ?? k] = v;
  out.apiVersion = apiVersion;
  out.kind = 'Event';
  return out;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: unknown };
  additionalPrinterColumns?: PrinterColumn[];
  schema?: { openAPIV3Schema?: unknown };
  selectableFields?: { jsonPath: string }[];
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
    fieldLabels: Object.fromEntries(
      (version.selectableFields ?? []).map((f) => [
        f.jsonPath.replace(/^\./, ''),
        f.jsonPath.replace(/^\./, ''),
      ]),
    ),
  };
}
