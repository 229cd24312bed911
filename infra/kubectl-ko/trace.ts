// `kubectl ko trace <namespace/pod> <target ip> [target mac] {icmp|tcp|udp} [port]`, with kube-ovn's
// semantics: a packet from the pod's port (its MAC and address, TTL 64) to the target, sent to the
// target MAC or else to the subnet's gateway (the `ovn-cluster-<subnet>` router port), traced by
// ovn-trace through the logical flows of the southbound database.
import type { OvnLocation } from './locate.ts';

export interface TraceArgs {
  namespace: string;
  pod: string;
  target: string;
  mac: string | undefined;
  protocol: 'icmp' | 'tcp' | 'udp';
  port: number | undefined;
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

export function parseTraceArgs(args: string[]): TraceArgs {
  const [who, target, ...rest] = args;
  const usage =
    'usage: kubectl ko trace <namespace/pod> <target ip> [target mac] {icmp|tcp|udp} [target port]';
  if (!who || !target) throw new Error(usage);
  const [namespace, pod] = who.includes('/') ? who.split('/', 2) : ['default', who];
  const mac = rest[0] && MAC.test(rest[0]) ? rest.shift() : undefined;
  const protocol = rest.shift();
  if (protocol !== 'icmp' && protocol !== 'tcp' && protocol !== 'udp') throw new Error(usage);
  const port = rest[0] === undefined ? undefined : Number(rest[0]);
  if (protocol !== 'icmp' && (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535))
    throw new Error(`${protocol} needs a target port (1-65535)\n${usage}`);
  return { namespace: namespace!, pod: pod!, target, mac, protocol, port };
}

/** The ovn-trace microflow kube-ovn's plugin builds. */
export function microflow(o: {
  port: string;
  srcMac: string;
  srcIp: string;
  dstMac: string;
  dstIp: string;
  protocol: 'icmp' | 'tcp' | 'udp';
  dstPort?: number | undefined;
}): string {
  const v6 = o.dstIp.includes(':');
  const ip = v6 ? 'ip6' : 'ip4';
  const parts = [
    `inport == "${o.port}"`,
    'ip.ttl == 64',
    `eth.src == ${o.srcMac}`,
    `${ip}.src == ${o.srcIp}`,
    `eth.dst == ${o.dstMac}`,
    `${ip}.dst == ${o.dstIp}`,
  ];
  if (o.protocol === 'icmp') parts.push(v6 ? 'icmp6.type == 128' : 'icmp4.type == 8');
  else parts.push(`${o.protocol}.src == 10000`, `${o.protocol}.dst == ${o.dstPort}`);
  return parts.join(' && ');
}

interface Io {
  capture(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  run(cmd: string, args: string[]): Promise<number>;
  kubectl: string;
  leaderPod(db: 'nb' | 'sb'): Promise<string>;
}

export async function traceFlow(loc: OvnLocation, args: string[], io: Io): Promise<number> {
  const t = parseTraceArgs(args);
  if (loc.kind === 'local' && !loc.sb)
    throw new Error(
      `trace needs the southbound database, and the local stack has none: the dataplane (node agent) is off; it runs when the stack runs as root (${loc.source})`,
    );
  // The same tool, here with --db or in the ovn-central pod.
  const tool = async (db: 'nb' | 'sb', cmd: string, a: string[], capture: boolean) => {
    const argv =
      loc.kind === 'local'
        ? [cmd, [`--db=${db === 'nb' ? loc.nb : loc.sb}`, ...a]]
        : [
            io.kubectl,
            ['exec', await io.leaderPod(db), '-n', 'kube-system', '-c', 'ovn-central', '--', cmd, ...a],
          ];
    return capture
      ? io.capture(argv[0] as string, argv[1] as string[])
      : io.run(argv[0] as string, argv[1] as string[]);
  };
  const got = await io.capture(io.kubectl, ['get', 'pod', '-n', t.namespace, t.pod, '-o', 'json']);
  if (got.code !== 0) throw new Error(got.stderr.trim() || `pod ${t.namespace}/${t.pod} not found`);
  const ann = ((JSON.parse(got.stdout) as { metadata?: { annotations?: Record<string, string> } }).metadata
    ?.annotations ?? {}) as Record<string, string>;
  const ls = ann['ovn.kubernetes.io/logical_switch'];
  const srcMac = ann['ovn.kubernetes.io/mac_address'];
  const v6 = t.target.includes(':');
  const srcIp = (ann['ovn.kubernetes.io/ip_address'] ?? '').split(',').find((a) => a.includes(':') === v6);
  if (!ls || !srcMac || !srcIp)
    throw new Error(
      `pod ${t.namespace}/${t.pod} has no ${v6 ? 'IPv6' : 'IPv4'} address yet (no ovn.kubernetes.io annotations)`,
    );
  let dstMac = t.mac;
  if (!dstMac) {
    const r = (await tool(
      'nb',
      'ovn-nbctl',
      [
        '--data=bare',
        '--no-heading',
        '--columns=mac',
        'find',
        'logical_router_port',
        `name=ovn-cluster-${ls}`,
      ],
      true,
    )) as { code: number; stdout: string; stderr: string };
    dstMac = r.stdout.trim();
    if (r.code !== 0 || !dstMac)
      throw new Error(
        `no gateway router port ovn-cluster-${ls} to send to; give the target MAC ${r.stderr.trim()}`,
      );
  }
  const flow = microflow({
    port: `${t.pod}.${t.namespace}`,
    srcMac,
    srcIp,
    dstMac,
    dstIp: t.target,
    protocol: t.protocol,
    dstPort: t.port,
  });
  return (await tool(
    'sb',
    'ovn-trace',
    [...(t.protocol === 'icmp' ? [] : ['--ct=new']), ls, flow],
    false,
  )) as number;
}
