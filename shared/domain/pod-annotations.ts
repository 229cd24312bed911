// The kube-ovn annotations a pod's NIC carries once it has an address, and the reader that
// lets a level-triggered handler compare what is there with what should be.
import { nicAnnotation, PRIMARY_PROVIDER } from './annotations.ts';
import { canonicalV4, canonicalV6 } from './ip.ts';
import type { Pod } from './types.ts';

/** What the allocator gave a NIC, plus the Subnet facts the annotations repeat. */
export interface NicReservation {
  subnet: string;
  v4?: string;
  v6?: string;
  mac: string;
  /** The Subnet's `spec.cidrBlock` as written (dual stack: `v4cidr,v6cidr`). */
  cidrBlock: string;
  /** The Subnet's gateway(s), comma-separated like `spec.gateway`. */
  gateway: string;
}

/** `v4,v6`, `v4` or `v6`: kube-ovn's `ip_address` form. */
export function joinAddresses(v4: string | undefined, v6: string | undefined): string {
  return [v4, v6].filter((a): a is string => !!a).join(',');
}

/** The logical switch port `addresses` entry: `"<mac> <v4> <v6>"` (families that exist only). */
export function lspAddresses(mac: string, v4?: string, v6?: string): string {
  return [mac, v4, v6].filter((a): a is string => !!a).join(' ');
}

/** The annotations to set for one NIC; attachments use their `<provider>.kubernetes.io/` prefix. */
export function desiredNicAnnotations(provider: string, r: NicReservation): Record<string, string> {
  return {
    [nicAnnotation(provider, 'allocated')]: 'true',
    [nicAnnotation(provider, 'ipAddress')]: joinAddresses(r.v4, r.v6),
    [nicAnnotation(provider, 'macAddress')]: r.mac,
    [nicAnnotation(provider, 'cidr')]: r.cidrBlock,
    [nicAnnotation(provider, 'gateway')]: r.gateway,
    [nicAnnotation(provider, 'logicalSwitch')]: r.subnet,
  };
}

/** What a pod's annotations say about one NIC. */
export interface NicAnnotations {
  allocated: boolean;
  /** Raw `ip_address` value. */
  ipAddress?: string;
  v4?: string;
  v6?: string;
  mac?: string;
  cidr?: string;
  gateway?: string;
  logicalSwitch?: string;
}

/** Reads a NIC's annotations (primary by default). Addresses are split by family and canonicalised. */
export function readPodAnnotations(pod: Pod, provider: string = PRIMARY_PROVIDER): NicAnnotations {
  const a = pod.metadata.annotations ?? {};
  const get = (k: Parameters<typeof nicAnnotation>[1]) => {
    const v = a[nicAnnotation(provider, k)];
    return v === undefined || v === '' ? undefined : v;
  };
  const out: NicAnnotations = { allocated: get('allocated') === 'true' };
  const ip = get('ipAddress');
  if (ip !== undefined) {
    out.ipAddress = ip;
    for (const part of ip.split(',')) {
      // kube-ovn sometimes writes a CIDR-suffixed form; only the address matters here.
      const addr = part.trim().split('/')[0] ?? '';
      const v4 = canonicalV4(addr);
      const v6 = v4 === undefined ? canonicalV6(addr) : undefined;
      if (v4 !== undefined && out.v4 === undefined) out.v4 = v4;
      if (v6 !== undefined && out.v6 === undefined) out.v6 = v6;
    }
  }
  const mac = get('macAddress');
  if (mac !== undefined) out.mac = mac;
  const cidr = get('cidr');
  if (cidr !== undefined) out.cidr = cidr;
  const gw = get('gateway');
  if (gw !== undefined) out.gateway = gw;
  const ls = get('logicalSwitch');
  if (ls !== undefined) out.logicalSwitch = ls;
  return out;
}

/**
 * The merge-patch body (`metadata.annotations` part) that turns `current` into a superset of
 * `desired`, or undefined when nothing differs: lets handlers skip no-op writes.
 */
export function annotationsPatch(
  current: Readonly<Record<string, string>> | undefined,
  desired: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  const patch: Record<string, string> = {};
  for (const [k, v] of Object.entries(desired)) if (current?.[k] !== v) patch[k] = v;
  return Object.keys(patch).length > 0 ? patch : undefined;
}
