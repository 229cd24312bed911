// The object path Knative puts in `subject`: `/api/v1/namespaces/default/pods/busybox` for the core
// group, `/apis/kubeovn.io/v1/vips/vip-aap` for a cluster-scoped object of a named group.
import type { ObjectRef } from './types.ts';

// Plurals of the kinds this system watches; others fall back to the usual lower-case + "s".
const KNOWN_PLURALS: Record<string, string> = {
  Vip: 'vips',
  Subnet: 'subnets',
  SwitchLBRule: 'switch-lb-rules',
  Pod: 'pods',
  StatefulSet: 'statefulsets',
  VirtualMachine: 'virtualmachines',
};

export const pluralOf = (kind: string): string => KNOWN_PLURALS[kind] ?? `${kind.toLowerCase()}s`;

export function objectPath(ref: ObjectRef, plural: string = pluralOf(ref.kind)): string {
  const root = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const ns = ref.namespace ? `/namespaces/${ref.namespace}` : '';
  return `${root}${ns}/${plural}/${ref.name}`;
}

/**
 * `Kind:namespace/name` (`Kind:name` when cluster-scoped): the key events are ordered and routed by.
 * The kind is part of it because a Vip and a Subnet may share a name.
 */
export const objectKey = (ref: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>): string =>
  `${ref.kind}:${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
