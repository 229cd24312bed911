// What a pod's network namespace should look like, from the annotations the handlers wrote
// (kube-ovn's: allocated, ip_address, mac_address, cidr, gateway), for the primary NIC and for
// each Multus attachment on an OVN provider. Pure: no I/O here.
import { createHash } from 'node:crypto';
import { MULTUS_NETWORKS_ANNOTATION, portName } from '../../shared/domain/annotations.ts';
import { type NicAnnotations, readPodAnnotations } from '../../shared/domain/pod-annotations.ts';
import { attachmentProvider, parseNetworksAnnotation } from '../../shared/domain/pod-network.ts';
import type { Pod } from '../../shared/domain/types.ts';

export interface PodNic {
  /** `<pod>.<namespace>`: the logical switch port, and the veth's `iface-id`. */
  port: string;
  netns: string;
  /** The host end of the veth, on the integration bridge (at most 15 characters). */
  hostIf: string;
  mac: string;
  /** `address/prefix` per family, e.g. `10.16.0.5/16`. */
  addresses: string[];
  /** Default gateway per family. */
  gateways: string[];
  /** `gateway/prefix` per family: the router port that answers for the gateway. */
  gatewayNetworks: string[];
  logicalSwitch: string;
  /** Changes when anything above changes: a different value means rewire. */
  fingerprint: string;
  /** The pod's OVN attachments, each its own interface in the same namespace. */
  secondaries: SecondaryNic[];
}

/** One Multus attachment on an OVN provider (`<net>.<ns>.ovn`): a second veth into br-int. */
export interface SecondaryNic {
  /** The interface in the pod: the one asked for in the networks annotation, else `net<N>`. */
  ifName: string;
  provider: string;
  /** `<pod>.<namespace>.<provider>`: the attachment's logical switch port and `iface-id`. */
  port: string;
  hostIf: string;
  mac: string;
  /** `address/prefix` per family; no route but the subnet's own (the default route stays on eth0). */
  addresses: string[];
  logicalSwitch: string;
  /** A different value means: take this interface down and build it again. */
  fingerprint: string;
}

export const netnsName = (instance: string, port: string) => `vp-${instance}-${port}`;

/** `vh` + instance + a hash of the port: unique per port, within IFNAMSIZ. */
export function hostIfName(instance: string, port: string): string {
  const h = createHash('sha1').update(port).digest('hex');
  return `vh${instance}${h}`.slice(0, 15);
}

const prefixOf = (cidr: string) => cidr.split('/')[1];

/** Addresses with their subnet prefix, and gateways, per family, from one NIC's annotations. */
function nicAddressing(
  a: NicAnnotations,
): { addresses: string[]; gateways: string[]; gatewayNetworks: string[] } | undefined {
  if (!a.allocated || !a.mac || !a.cidr || (!a.v4 && !a.v6)) return undefined;
  const cidrs = a.cidr.split(',').map((c) => c.trim());
  const v4cidr = cidrs.find((c) => !c.includes(':'));
  const v6cidr = cidrs.find((c) => c.includes(':'));
  const gws = (a.gateway ?? '').split(',').map((g) => g.trim());
  const addresses: string[] = [];
  const gateways: string[] = [];
  const gatewayNetworks: string[] = [];
  const family = (ip: string, cidr: string, isV6: boolean) => {
    addresses.push(`${ip}/${prefixOf(cidr)}`);
    const gw = gws.find((g) => g && g.includes(':') === isV6);
    if (gw) {
      gateways.push(gw);
      gatewayNetworks.push(`${gw}/${prefixOf(cidr)}`);
    }
  };
  if (a.v4 && v4cidr) family(a.v4, v4cidr, false);
  if (a.v6 && v6cidr) family(a.v6, v6cidr, true);
  if (addresses.length === 0) return undefined;
  return { addresses, gateways, gatewayNetworks };
}

/** The NIC to build for a pod, or undefined while it has no address (or is being deleted). */
export function podNic(pod: Pod, instance: string): PodNic | undefined {
  const { name, namespace = 'default', deletionTimestamp, uid = '' } = pod.metadata;
  if (deletionTimestamp) return undefined;
  const a = readPodAnnotations(pod);
  const addressing = nicAddressing(a);
  if (!addressing || !a.mac) return undefined;
  const { addresses, gateways, gatewayNetworks } = addressing;
  const port = portName(name, namespace);
  return {
    port,
    netns: netnsName(instance, port),
    hostIf: hostIfName(instance, port),
    mac: a.mac,
    addresses,
    gateways,
    gatewayNetworks,
    logicalSwitch: a.logicalSwitch ?? '',
    fingerprint: [uid, a.mac, ...addresses, ...gateways].join(' '),
    secondaries: secondaryNics(pod, instance),
  };
}

/**
 * The pod's attachments that have an OVN address, in the networks annotation's order. Multus
 * names an attachment's interface `net<position>` (eth0 being position 0) unless the annotation
 * asks for a name, so an attachment of another CNI still takes its position. An attachment not
 * (or no longer) listed in the annotation is not wired, whatever annotations it left behind; an
 * unreadable annotation wires none (the handlers refuse such a pod). A name already taken is
 * skipped rather than clobbering eth0 or another attachment.
 */
export function secondaryNics(pod: Pod, instance: string): SecondaryNic[] {
  const { name, namespace = 'default' } = pod.metadata;
  const listed = parseNetworksAnnotation(pod.metadata.annotations?.[MULTUS_NETWORKS_ANNOTATION], namespace);
  if (!listed.ok) return [];
  const taken = new Set(['lo', 'eth0']);
  const out: SecondaryNic[] = [];
  for (const [i, attachment] of listed.value.entries()) {
    const ifName = attachment.interface ?? `net${i + 1}`;
    const provider = attachmentProvider(attachment);
    if (taken.has(ifName)) continue;
    const a = readPodAnnotations(pod, provider);
    const addressing = nicAddressing(a);
    if (!addressing || !a.mac) continue;
    taken.add(ifName);
    const port = portName(name, namespace, provider);
    const logicalSwitch = a.logicalSwitch ?? '';
    out.push({
      ifName,
      provider,
      port,
      hostIf: hostIfName(instance, port),
      mac: a.mac,
      addresses: addressing.addresses,
      logicalSwitch,
      fingerprint: [ifName, a.mac, ...addressing.addresses, logicalSwitch].join(' '),
    });
  }
  return out;
}

/** What to remove and what to build to go from the namespaces made to the NICs wanted. */
export function planNamespaces(
  desired: ReadonlyMap<string, PodNic>,
  made: ReadonlyMap<string, PodNic>,
): { remove: PodNic[]; create: PodNic[] } {
  const remove: PodNic[] = [];
  const create: PodNic[] = [];
  for (const [port, nic] of made) {
    const want = desired.get(port);
    if (!want || want.fingerprint !== nic.fingerprint) remove.push(nic);
  }
  for (const [port, nic] of desired) {
    const have = made.get(port);
    if (!have || have.fingerprint !== nic.fingerprint) create.push(nic);
  }
  return { remove, create };
}

/** The attachment interfaces to take out and to add in a namespace that stays. */
export function planSecondaries(
  desired: readonly SecondaryNic[],
  made: readonly SecondaryNic[],
): { remove: SecondaryNic[]; create: SecondaryNic[] } {
  const want = new Map(desired.map((n) => [n.port, n]));
  const have = new Map(made.map((n) => [n.port, n]));
  const changed = (a: SecondaryNic, b: SecondaryNic | undefined) => !b || a.fingerprint !== b.fingerprint;
  const remove = made.filter((n) => changed(n, want.get(n.port)));
  // An interface name freed by a removal may be reused by a creation: removals run first.
  const create = desired.filter((n) => changed(n, have.get(n.port)));
  return { remove, create };
}
