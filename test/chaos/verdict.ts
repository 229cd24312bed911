// What "converged" means after the chaos: every live Vip Ready with the address it first got, no
// address twice, no reservation or NB row without a live owner, the audit clean, and the subnet's
// counts equal to what Redis holds. Returns the problems found; [] means converged.
import { auditSystem, type NorthboundReader } from '../../shared/audit/index.ts';
import { podOwner, vipOwner } from '../../shared/domain/ownership.ts';
import type { Allocator } from '../../shared/ipam/index.ts';
import type { Kube } from '../../shared/kube/index.ts';
import type { FirstAddresses } from './workload.ts';

export interface VerdictPorts {
  kube: Kube;
  allocator: Allocator;
  nbReader: NorthboundReader;
  first: FirstAddresses['first'];
}

const SUBNET = 'ovn-default';

export async function convergenceProblems(p: VerdictPorts): Promise<string[]> {
  const problems: string[] = [];
  const [vips, pods, ports, reservations] = await Promise.all([
    p.kube.listVips(),
    p.kube.listPods({}),
    p.nbReader.listPorts(),
    p.allocator.list(SUBNET, { limit: 1000 }),
  ]);

  // Every live Vip is Ready, with the address it first showed.
  for (const v of vips) {
    const name = v.metadata.name;
    if (v.metadata.deletionTimestamp) problems.push(`Vip ${name} is stuck deleting`);
    else if (v.status?.ready !== true || !v.status.v4ip) problems.push(`Vip ${name} is not Ready`);
    const first = p.first.get(v.metadata.uid ?? '');
    if (first && v.status?.v4ip !== first.v4ip)
      problems.push(`Vip ${name} has ${v.status?.v4ip}, first got ${first.v4ip}`);
  }

  // No address held twice, across Vips and pods.
  const holders = new Map<string, string[]>();
  const hold = (ip: string | undefined, who: string) => {
    if (ip) holders.set(ip, [...(holders.get(ip) ?? []), who]);
  };
  for (const v of vips) hold(v.status?.v4ip, `Vip ${v.metadata.name}`);
  for (const pod of pods)
    hold(pod.metadata.annotations?.['ovn.kubernetes.io/ip_address'], `Pod ${pod.metadata.name}`);
  for (const [ip, who] of holders) if (who.length > 1) problems.push(`${ip} held by ${who.join(', ')}`);

  // Redis holds exactly one reservation per live Vip and pod, and none else (no leak).
  const liveOwners = new Set([
    ...vips.map((v) => vipOwner(v.metadata.name)),
    ...pods.map((pod) => podOwner(`${pod.metadata.name}.${pod.metadata.namespace}`)),
  ]);
  const reserved = new Set(reservations.items.map((r) => r.owner));
  for (const owner of reserved) if (!liveOwners.has(owner)) problems.push(`leaked reservation ${owner}`);
  for (const v of vips)
    if (!reserved.has(vipOwner(v.metadata.name)))
      problems.push(`Vip ${v.metadata.name} holds no reservation`);

  // Every NB port belongs to a live Vip or pod (no orphan row).
  const livePortNames = new Set([
    ...vips.map((v) => v.metadata.name),
    ...pods.map((pod) => `${pod.metadata.name}.${pod.metadata.namespace}`),
  ]);
  for (const port of ports) if (!livePortNames.has(port.name)) problems.push(`orphan NB port ${port.name}`);

  // The whole-system audit (API server vs Redis vs NB) and the allocator's own invariants.
  const audit = await auditSystem({ kube: p.kube, allocator: p.allocator, nbReader: p.nbReader });
  for (const d of audit.drifts) problems.push(`audit: ${d.kind} ${d.object}: ${d.detail}`);
  for (const v of await p.allocator.audit(SUBNET)) problems.push(`allocator: ${JSON.stringify(v)}`);

  // The subnet status counts what Redis holds.
  const counts = await p.allocator.counts(SUBNET);
  const status = (await p.kube.getSubnet(SUBNET))?.status;
  if (status?.v4usingIPs !== counts.v4UsingIPs || status?.v4availableIPs !== counts.v4AvailableIPs)
    problems.push(
      `subnet status ${status?.v4usingIPs}/${status?.v4availableIPs} != Redis ${counts.v4UsingIPs}/${counts.v4AvailableIPs}`,
    );
  return problems;
}
