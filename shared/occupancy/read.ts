// The I/O around the occupancy views: which subnets to show (the API server's Subnets the allocator
// knows), every reservation of one (allocator.list paged), and the AAP Vips. Read-only.
import { DomainError, Reason } from '../domain/errors.ts';
import type { Allocator, Reservation } from '../ipam/allocator.ts';
import { allReservations } from '../ipam/list-all.ts';
import type { KubePort } from '../reconcile/deps.ts';
import { type FamilyUsage, familyUsage, rangeOf, type SubnetOccupancy, subnetOccupancy } from './grid.ts';
import { type AapRow, aapRows, isAapVip, parentsFromStatus, vipSubnet } from './vips.ts';

export interface OccupancyPorts {
  readonly allocator: Allocator;
  readonly kube: Pick<KubePort, 'listSubnets' | 'listVips'>;
}

export interface SubnetSummary {
  readonly name: string;
  readonly cidrBlock: string;
  readonly protocol: 'IPv4' | 'IPv6' | 'Dual';
  readonly usage: readonly FamilyUsage[];
}

export function listReservations(allocator: Allocator, subnet: string): Promise<Reservation[]> {
  return allReservations(allocator, subnet);
}

/** Subnets of the API server that the allocator has registered, by name. */
export async function subnetSummaries(ports: OccupancyPorts): Promise<SubnetSummary[]> {
  const names = (await ports.kube.listSubnets()).map((s) => s.metadata.name).sort();
  const out: SubnetSummary[] = [];
  for (const name of names) {
    const info = await ports.allocator.getSubnet(name);
    if (!info) continue; // not registered yet (its event is on the way)
    out.push({
      name,
      cidrBlock: info.cidrBlock,
      protocol: info.protocol,
      usage: familyUsage(rangeOf(info), await ports.allocator.counts(name)),
    });
  }
  return out;
}

/** SubnetNotFound when the allocator does not know the subnet. */
export async function readSubnetOccupancy(allocator: Allocator, name: string): Promise<SubnetOccupancy> {
  const info = await allocator.getSubnet(name);
  if (!info)
    throw new DomainError(Reason.SubnetNotFound, `subnet ${name} is not registered`, { subnet: name });
  const [reservations, counts] = await Promise.all([
    listReservations(allocator, name),
    allocator.counts(name),
  ]);
  return subnetOccupancy(info, reservations, counts);
}

/** AAP Vips; parents are the pods holding the addresses status.pv4ip/pv6ip name. */
export async function readAapRows(ports: OccupancyPorts): Promise<AapRow[]> {
  const vips = (await ports.kube.listVips()).filter(isAapVip);
  const bySubnet = new Map<string, Reservation[]>();
  for (const s of new Set(vips.map(vipSubnet))) {
    if (s && (await ports.allocator.getSubnet(s)))
      bySubnet.set(s, await listReservations(ports.allocator, s));
  }
  return aapRows(vips, (v) => parentsFromStatus(v, bySubnet.get(vipSubnet(v)) ?? []));
}
