// What a pod's network namespace should look like, from the annotations the handlers wrote
// (kube-ovn's: allocated, ip_address, mac_address, cidr, gateway). Pure: no I/O here.
import { createHash } from 'node:crypto';
import { readPodAnnotations } from '../../shared/domain/pod-annotations.ts';
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
}

export const netnsName = (instance: string, port: string) => `vp-${instance}-${port}`;

/** `vh` + instance + a hash of the port: unique per port, within IFNAMSIZ. */
export function hostIfName(instance: string, port: string): string {
  const h = createHash('sha1').update(port).digest('hex');
  return `vh${instance}${h}`.slice(0, 15);
}

const prefixOf = (cidr: string) => cidr.split('/')[1];

/** The NIC to build for a pod, or undefined while it has no address (or is being deleted). */
export function podNic(pod: Pod, instance: string): PodNic | undefined {
  const { name, namespace = 'default', deletionTimestamp, uid = '' } = pod.metadata;
  if (deletionTimestamp) return undefined;
  const a = readPodAnnotations(pod);
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
  const port = `${name}.${namespace}`;
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
  };
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
