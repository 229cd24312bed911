// Which NICs a pod has and on which Subnet each sits (SPEC §2), decided from the pod's
// annotations and the list of Subnets alone, so the handler needs no extra lookups.

import {
  annotationPrefix,
  MULTUS_NETWORKS_ANNOTATION,
  nicAnnotation,
  PRIMARY_PROVIDER,
  portName,
} from './annotations.ts';
import { Reason } from './errors.ts';
import { isDnsLabel, isDnsSubdomain } from './labels.ts';
import type { Pod } from './types.ts';
import { type PortNamingOptions, portBaseName } from './workload.ts';

/** The Subnet facts NIC placement needs. */
export interface SubnetPlacement {
  name: string;
  namespaces?: string[];
  default?: boolean;
  /** Absent or `ovn` for a primary-network subnet; `<net>.<ns>.ovn` for an attachment subnet. */
  provider?: string;
}

export interface PodNic {
  /** Logical switch port name. */
  portName: string;
  /** `ovn` for the primary NIC, `<net>.<ns>.ovn` for an attachment. */
  provider: string;
  subnet: string;
  /** `<provider>.kubernetes.io`: prefix of this NIC's annotations. */
  annotationPrefix: string;
  primary: boolean;
  /** The interface name Multus was asked for (`name@ifname` or JSON `interface`), if any. */
  interface?: string;
}

/** One entry of `k8s.v1.cni.cncf.io/networks`. */
export interface NetworkAttachment {
  name: string;
  namespace: string;
  interface?: string;
}

export interface NicError {
  reason: Reason;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: NicError };

const bad = (message: string): { ok: false; error: NicError } => ({
  ok: false,
  error: { reason: Reason.InvalidAnnotation, message },
});

/**
 * Parses Multus' networks annotation: either a JSON list of `{name, namespace?, interface?}` or
 * a comma list of `name`, `ns/name`, `name@ifname`, `ns/name@ifname`. The namespace defaults to
 * the pod's. An empty or absent annotation means no attachments.
 */
export function parseNetworksAnnotation(
  value: string | undefined,
  podNamespace: string,
): Parsed<NetworkAttachment[]> {
  const text = (value ?? '').trim();
  if (text === '') return { ok: true, value: [] };
  const out: NetworkAttachment[] = [];
  if (text.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      return bad(`${MULTUS_NETWORKS_ANNOTATION} is not valid JSON`);
    }
    if (!Array.isArray(list)) return bad(`${MULTUS_NETWORKS_ANNOTATION} must be a JSON list`);
    for (const [i, el] of list.entries()) {
      if (typeof el !== 'object' || el === null)
        return bad(`${MULTUS_NETWORKS_ANNOTATION}[${i}] is not an object`);
      const e = el as Record<string, unknown>;
      const name = typeof e.name === 'string' ? e.name : '';
      const namespace = typeof e.namespace === 'string' && e.namespace !== '' ? e.namespace : podNamespace;
      const iface = typeof e.interface === 'string' && e.interface !== '' ? e.interface : undefined;
      const r = checkAttachment(name, namespace, iface, `${MULTUS_NETWORKS_ANNOTATION}[${i}]`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    let rest = item;
    let iface: string | undefined;
    const at = rest.indexOf('@');
    if (at >= 0) {
      iface = rest.slice(at + 1);
      rest = rest.slice(0, at);
      if (iface === '')
        return bad(`${MULTUS_NETWORKS_ANNOTATION} item "${item}" has an empty interface name`);
    }
    let namespace = podNamespace;
    const slash = rest.indexOf('/');
    if (slash >= 0) {
      namespace = rest.slice(0, slash);
      rest = rest.slice(slash + 1);
    }
    const r = checkAttachment(rest, namespace, iface, `${MULTUS_NETWORKS_ANNOTATION} item "${item}"`);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return { ok: true, value: out };
}

function checkAttachment(
  name: string,
  namespace: string,
  iface: string | undefined,
  where: string,
): Parsed<NetworkAttachment> {
  if (!isDnsSubdomain(name)) return bad(`${where}: "${name}" is not a valid network name`);
  if (!isDnsLabel(namespace)) return bad(`${where}: "${namespace}" is not a valid namespace`);
  if (iface !== undefined && (iface.length > 15 || /[\s/]/.test(iface))) {
    return bad(`${where}: "${iface}" is not a valid interface name`);
  }
  return {
    ok: true,
    value: iface === undefined ? { name, namespace } : { name, namespace, interface: iface },
  };
}

/** kube-ovn's provider name of an attachment: `<net>.<ns>.ovn`. */
export function attachmentProvider(a: Pick<NetworkAttachment, 'name' | 'namespace'>): string {
  return `${a.name}.${a.namespace}.${PRIMARY_PROVIDER}`;
}

const isPrimarySubnet = (s: SubnetPlacement) =>
  s.provider === undefined || s.provider === '' || s.provider === PRIMARY_PROVIDER;
const byName = (a: SubnetPlacement, b: SubnetPlacement) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The subnet of the primary NIC, as kube-ovn picks it: the pod's `ovn.kubernetes.io/logical_switch`
 * annotation, else a Subnet listing the pod's namespace (the first by name when several do, so
 * the choice is stable), else the default Subnet.
 */
export function primarySubnet(pod: Pod, subnets: readonly SubnetPlacement[]): Parsed<string> {
  const ann = pod.metadata.annotations?.[nicAnnotation(PRIMARY_PROVIDER, 'logicalSwitch')]?.trim();
  if (ann) return { ok: true, value: ann };
  const ns = pod.metadata.namespace ?? 'default';
  const candidates = subnets.filter(isPrimarySubnet).sort(byName);
  const bound = candidates.find((s) => (s.namespaces ?? []).includes(ns));
  if (bound) return { ok: true, value: bound.name };
  const def = candidates.find((s) => s.default === true);
  if (def) return { ok: true, value: def.name };
  return {
    ok: false,
    error: {
      reason: Reason.SubnetNotFound,
      message: `no Subnet for pod ${ns}/${pod.metadata.name}: none lists namespace ${ns} and none is default`,
    },
  };
}

/**
 * All NICs of a pod, primary first, then attachments in annotation order. An attachment's subnet
 * is `<provider>.kubernetes.io/logical_switch`, else the one Subnet whose provider is the
 * attachment's. Host-network pods have no NICs. The first problem found is returned as an error.
 * Port names use the VM's name instead of the pod's for KubeVirt VM pods (keepVmIp, default on).
 */
export function podNics(
  pod: Pod,
  subnets: readonly SubnetPlacement[],
  opts: PortNamingOptions = {},
): Parsed<PodNic[]> {
  if (pod.spec?.hostNetwork) return { ok: true, value: [] };
  const name = portBaseName(pod, opts);
  const ns = pod.metadata.namespace ?? 'default';
  const primary = primarySubnet(pod, subnets);
  if (!primary.ok) return primary;
  const nics: PodNic[] = [
    {
      portName: portName(name, ns),
      provider: PRIMARY_PROVIDER,
      subnet: primary.value,
      annotationPrefix: annotationPrefix(PRIMARY_PROVIDER),
      primary: true,
    },
  ];
  const attachments = parseNetworksAnnotation(pod.metadata.annotations?.[MULTUS_NETWORKS_ANNOTATION], ns);
  if (!attachments.ok) return attachments;
  const seen = new Set<string>();
  for (const a of attachments.value) {
    const provider = attachmentProvider(a);
    // The same network twice would need two ports with one name: refuse rather than merge.
    if (seen.has(provider))
      return bad(`${MULTUS_NETWORKS_ANNOTATION} lists network ${a.namespace}/${a.name} twice`);
    seen.add(provider);
    const fromAnn = pod.metadata.annotations?.[nicAnnotation(provider, 'logicalSwitch')]?.trim();
    let subnet = fromAnn;
    if (!subnet) {
      const matches = subnets.filter((s) => s.provider === provider);
      if (matches.length !== 1) {
        return {
          ok: false,
          error: {
            reason: Reason.SubnetNotFound,
            message:
              matches.length === 0
                ? `no Subnet for attachment ${a.namespace}/${a.name} of pod ${ns}/${pod.metadata.name}: set ${nicAnnotation(provider, 'logicalSwitch')} or create a Subnet with provider ${provider}`
                : `several Subnets have provider ${provider} (${matches
                    .map((m) => m.name)
                    .sort()
                    .join(
                      ', ',
                    )}); set ${nicAnnotation(provider, 'logicalSwitch')} on pod ${ns}/${pod.metadata.name}`,
          },
        };
      }
      subnet = matches[0]!.name;
    }
    const nic: PodNic = {
      portName: portName(name, ns, provider),
      provider,
      subnet,
      annotationPrefix: annotationPrefix(provider),
      primary: false,
    };
    if (a.interface !== undefined) nic.interface = a.interface;
    nics.push(nic);
  }
  return { ok: true, value: nics };
}

/** The NIC of a pod on a given subnet (the one an AAP or a load balancer uses), if any. */
export function nicOnSubnet(nics: readonly PodNic[], subnet: string): PodNic | undefined {
  return nics.find((n) => n.subnet === subnet);
}
