// A simulation of kube-ovn-controller's side of address management, written from its code
// (kubeovn/kube-ovn pkg/controller init.go InitIPAM, pod.go acquireAddress / handleAddOrUpdatePod,
// ip.go createOrUpdateIPCR, vip.go handleAddVirtualIP / createOrUpdateVipCR / handleUpdateVirtualIP,
// pkg/ipam subnet.go): an in-memory IPAM per subnet that allocates the lowest free address outside
// the gateway and excludeIps, allows static addresses inside excludeIps and refuses one another key
// holds (ErrConflict); pods annotated `ovn.kubernetes.io/allocated=true` with ip_address and
// mac_address, an `IP` object `<pod>.<ns>` and a logical switch port `<pod>.<ns>` for each; Vips
// whose status has no MAC acquired under the Vip's name and written back with spec.v4ip,
// spec.macAddress, labels and its finalizer by a resourceVersion-guarded update (which, like
// kube-ovn's `Vips().Update`, writes no status where the CRD has a status subresource). It runs
// in the test process, polling instead of watching (kube-ovn's informers), concurrently with the
// system under test. One subnet, IPv4, the default provider: what the test exercises.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { parseRanges, type ValueRange } from '../../shared/domain/beside-kube-ovn.ts';
import { formatIp, parseCidr, parseIp } from '../../shared/domain/ip-codec.ts';
import { loadKubeConfig } from '../../shared/kube/client.ts';
import { KubeApiError } from '../../shared/kube/errors.ts';
import { createKubeTransport } from '../../shared/kube/transport.ts';

const run = promisify(execFile);
export const KUBE_OVN_FINALIZER = 'kubeovn.io/kube-ovn-controller';

// biome-ignore lint/suspicious/noExplicitAny: objects of several kinds, as kube-ovn handles them
type Obj = Record<string, any>;

/** kube-ovn's IPAM for one subnet (pkg/ipam/subnet.go), IPv4 only. */
export class KubeOvnIpam {
  /** address -> holder key (`ns/pod` for pods, the Vip's name for Vips). */
  readonly ipToPod = new Map<string, string>();
  private readonly keyToIp = new Map<string, string>();
  private readonly first: bigint;
  private readonly last: bigint;
  private readonly reserved: ValueRange[];
  private readonly gateway: bigint;

  constructor(cidrBlock: string, gateway: string, excludeIps: string[]) {
    const cidr = parseCidr(cidrBlock);
    if ('error' in cidr) throw new Error(cidr.error);
    this.first = cidr.network + 1n;
    this.last = cidr.network + cidr.size - 2n;
    this.gateway = parseIp(gateway)!.value;
    this.reserved = parseRanges(excludeIps).ranges;
  }

  private isReserved(v: bigint) {
    return v === this.gateway || this.reserved.some((r) => r.first <= v && v <= r.last);
  }

  /** GetRandomAddress: the key's address if it has one, else the lowest free one outside excludeIps. */
  random(key: string): string {
    const held = this.keyToIp.get(key);
    if (held) return held;
    for (let v = this.first; v <= this.last; v++) {
      if (this.isReserved(v)) continue;
      const ip = formatIp({ family: 4, value: v });
      if (this.ipToPod.has(ip)) continue;
      this.hold(key, ip);
      return ip;
    }
    throw new Error('NoAvailableAddress');
  }

  /** GetStaticAddress with checkConflict: excludeIps allowed (poolReserved), another holder refused. */
  static(key: string, ip: string): string {
    const holder = this.ipToPod.get(ip);
    if (holder !== undefined && holder !== key)
      throw new Error(`ErrConflict: ${ip} has been allocated to ${holder}`);
    const v = parseIp(ip)?.value;
    if (v === undefined || v < this.first || v > this.last || v === this.gateway)
      throw new Error('ErrOutOfRange');
    this.hold(key, ip);
    return ip;
  }

  release(key: string): void {
    const ip = this.keyToIp.get(key);
    if (!ip) return;
    this.keyToIp.delete(key);
    if (this.ipToPod.get(ip) === key) this.ipToPod.delete(ip);
  }

  private hold(key: string, ip: string) {
    this.ipToPod.set(ip, key);
    this.keyToIp.set(key, ip);
  }
}

/** util.GenerateMac: 00:00:00 and three random bytes. */
const generateMac = () =>
  `00:00:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

export interface KubeOvnSim {
  readonly ipam: KubeOvnIpam;
  /** Its writes, and the Vip writes the API server refused (409 conflict; 400 admission). */
  stats(): {
    podsAllocated: number;
    vipWrites: number;
    vipConflicts: number;
    vipRefused: number;
    staticRefusals: number;
  };
  /** Addresses its IPAM holds under a Vip's name while the Vip shows another (its grants that lost). */
  leakedVipGrants(vips: { name: string; v4ip?: string }[]): number;
  stop(): Promise<void>;
}

export async function startKubeOvnSim(o: {
  kubeconfig: string;
  nbRemote: string;
  subnet: { name: string; cidrBlock: string; gateway: string; excludeIps: string[] };
  intervalMs?: number;
}): Promise<KubeOvnSim> {
  const kube = createKubeTransport(loadKubeConfig({ kubeconfigPath: o.kubeconfig }), { maxSockets: 8 });
  const ipam = new KubeOvnIpam(o.subnet.cidrBlock, o.subnet.gateway, o.subnet.excludeIps);
  const counts = { podsAllocated: 0, vipWrites: 0, vipConflicts: 0, vipRefused: 0, staticRefusals: 0 };
  const nbctl = (...args: string[]) => run('ovn-nbctl', [`--db=${o.nbRemote}`, '--timeout=10', ...args]);

  // InitIPAM: Vips' status addresses under the Vip's name, allocated pods under ns/name.
  const vips = ((await kube.request<Obj>('GET', { path: '/apis/kubeovn.io/v1/vips' })).items ?? []) as Obj[];
  for (const v of vips) if (v.status?.v4ip) ipam.static(v.metadata.name, v.status.v4ip);
  const pods = ((await kube.request<Obj>('GET', { path: '/api/v1/pods' })).items ?? []) as Obj[];
  for (const p of pods) {
    const a = p.metadata.annotations ?? {};
    if (a['ovn.kubernetes.io/allocated'] === 'true' && a['ovn.kubernetes.io/ip_address'])
      ipam.static(`${p.metadata.namespace}/${p.metadata.name}`, a['ovn.kubernetes.io/ip_address']);
  }

  const done = new Set<string>();
  async function handlePod(pod: Obj): Promise<void> {
    const ns = pod.metadata.namespace as string;
    const name = pod.metadata.name as string;
    const a = pod.metadata.annotations ?? {};
    if (a['ovn.kubernetes.io/allocated'] === 'true' || done.has(`${ns}/${name}`)) return;
    const key = `${ns}/${name}`;
    const port = `${name}.${ns}`;
    const ip = ipam.random(key);
    const mac = generateMac();
    // The logical switch port first (kube-ovn creates it in reconcileAllocateSubnets before it patches).
    await nbctl(
      '--may-exist',
      'lsp-add',
      o.subnet.name,
      port,
      '--',
      'lsp-set-addresses',
      port,
      `${mac} ${ip}`,
      '--',
      'set',
      'logical_switch_port',
      port,
      'external_ids:vendor=kube-ovn',
      `external_ids:pod=${ns}/${name}`,
      `external_ids:ls=${o.subnet.name}`,
    );
    await kube.request('PATCH', {
      path: `/api/v1/namespaces/${ns}/pods/${name}`,
      contentType: 'application/merge-patch+json',
      body: {
        metadata: {
          annotations: {
            'ovn.kubernetes.io/allocated': 'true',
            'ovn.kubernetes.io/ip_address': ip,
            'ovn.kubernetes.io/mac_address': mac,
            'ovn.kubernetes.io/cidr': o.subnet.cidrBlock,
            'ovn.kubernetes.io/gateway': o.subnet.gateway,
            'ovn.kubernetes.io/logical_switch': o.subnet.name,
            'ovn.kubernetes.io/pod_nic_type': 'veth-pair',
          },
        },
      },
    });
    // createOrUpdateIPCR: named after the port, labelled as not reserved, with kube-ovn's finalizer.
    await kube
      .request('POST', {
        path: '/apis/kubeovn.io/v1/ips',
        body: {
          apiVersion: 'kubeovn.io/v1',
          kind: 'IP',
          metadata: {
            name: port,
            labels: {
              'ovn.kubernetes.io/subnet': o.subnet.name,
              'ovn.kubernetes.io/node_name': '',
              [o.subnet.name]: '',
              'ovn.kubernetes.io/ip_reserved': 'false',
            },
            finalizers: [KUBE_OVN_FINALIZER],
          },
          spec: {
            podName: name,
            namespace: ns,
            subnet: o.subnet.name,
            nodeName: '',
            ipAddress: ip,
            v4IpAddress: ip,
            v6IpAddress: '',
            macAddress: mac,
            podType: '',
            attachIps: [],
            attachMacs: [],
            attachSubnets: [],
            containerID: '',
          },
        },
      })
      .catch((err) => {
        if (!(err instanceof KubeApiError && err.code === 409)) throw err;
      });
    done.add(key);
    counts.podsAllocated++;
  }

  async function handleVip(vip: Obj): Promise<void> {
    const name = vip.metadata.name as string;
    const finalizers: string[] = vip.metadata.finalizers ?? [];
    if (vip.metadata.deletionTimestamp) {
      // handleUpdateVirtualIP, deleting: release by the Vip's name, then drop its finalizer.
      ipam.release(name);
      if (!finalizers.includes(KUBE_OVN_FINALIZER)) return;
      await put(vip, {
        ...vip,
        metadata: { ...vip.metadata, finalizers: finalizers.filter((f) => f !== KUBE_OVN_FINALIZER) },
      });
      return;
    }
    if (vip.status?.mac) return; // handleAddVirtualIP: "already ok"
    if (vip.spec?.subnet !== o.subnet.name) return;
    let ip: string;
    try {
      ip = vip.spec.v4ip ? ipam.static(name, vip.spec.v4ip) : ipam.random(name);
    } catch {
      counts.staticRefusals++;
      return; // logged and retried by kube-ovn; nothing written
    }
    const mac = vip.spec.macAddress || generateMac();
    // createOrUpdateVipCR: spec, status, labels and finalizer in one Update.
    await put(vip, {
      ...vip,
      metadata: {
        ...vip.metadata,
        labels: {
          ...(vip.metadata.labels ?? {}),
          'ovn.kubernetes.io/subnet': o.subnet.name,
          'ovn.kubernetes.io/ip_reserved': '',
        },
        finalizers: [...finalizers.filter((f) => f !== KUBE_OVN_FINALIZER), KUBE_OVN_FINALIZER],
      },
      spec: { ...vip.spec, v4ip: ip, macAddress: mac },
      status: { ...(vip.status ?? {}), v4ip: ip, mac },
    });
  }

  async function put(before: Obj, after: Obj): Promise<void> {
    try {
      await kube.request('PUT', { path: `/apis/kubeovn.io/v1/vips/${before.metadata.name}`, body: after });
      counts.vipWrites++;
    } catch (err) {
      // A stale resourceVersion (409), a Vip gone (404) or a write admission refused (400):
      // kube-ovn logs it, requeues the key and reads again.
      if (!(err instanceof KubeApiError)) throw err;
      if (err.code === 409 || err.code === 404) counts.vipConflicts++;
      else counts.vipRefused++;
    }
  }

  let stopping = false;
  const errors: unknown[] = [];
  const loop = (async () => {
    while (!stopping) {
      try {
        const [podList, vipList] = await Promise.all([
          kube.request<Obj>('GET', { path: '/api/v1/pods' }),
          kube.request<Obj>('GET', { path: '/apis/kubeovn.io/v1/vips' }),
        ]);
        // kube-ovn runs its pod and Vip workers side by side.
        await Promise.all([
          (async () => {
            for (const p of podList.items ?? []) await handlePod(p);
          })(),
          (async () => {
            for (const v of vipList.items ?? []) await handleVip(v);
          })(),
        ]);
      } catch (err) {
        errors.push(err);
      }
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 30));
    }
  })();

  return {
    ipam,
    stats: () => ({ ...counts }),
    leakedVipGrants: (vips) =>
      vips.filter((v) => {
        const held = [...ipam.ipToPod].find(([, key]) => key === v.name)?.[0];
        return held !== undefined && held !== v.v4ip;
      }).length,
    async stop() {
      stopping = true;
      await loop;
      kube.close();
      if (errors.length > 0) throw new Error(`the kube-ovn simulation failed: ${String(errors[0])}`);
    },
  };
}

/** kube-ovn's IP CRD (ips.kubeovn.io, cluster-scoped), as much of it as the simulation writes. */
export const IP_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'ips.kubeovn.io' },
  spec: {
    group: 'kubeovn.io',
    scope: 'Cluster',
    names: { kind: 'IP', listKind: 'IPList', plural: 'ips', singular: 'ip', shortNames: ['ip'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};
