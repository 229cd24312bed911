// Registers a Subnet with the allocator and the NB on demand, and lists the placement facts pods
// need. Below every reconciler (Vip, pod, Subnet, SwitchLBRule, sweep), so they import it, never each other.

import { besideView } from '../domain/beside-kube-ovn.ts';
import { isDomainError, Reason } from '../domain/errors.ts';
import { placementsOf } from '../domain/ownership.ts';
import type { SubnetPlacement } from '../domain/pod-network.ts';
import { parseSubnet } from '../domain/subnet-status.ts';
import type { SubnetResource } from '../domain/types.ts';
import type { SubnetInfo } from '../ipam/index.ts';
import type { ReconcileDeps } from './deps.ts';

export type SubnetReadiness =
  | { status: 'ready'; info: SubnetInfo }
  /** The Subnet does not exist or is invalid: nothing to retry until it changes. */
  | { status: 'missing'; failure: { reason: string; message: string } }
  | { status: 'retry'; failure: { reason: string; message: string } };

/**
 * The allocator's view of a subnet, registering it from its Subnet object first if needed
 * (idempotent: both the range and the logical switch). Only a registration the Subnet reconciler
 * made counts: one the manual API made (say while Redis was empty) is replaced from the Subnet
 * object before any Vip or pod takes an address from it.
 */
export async function ensureSubnetRegistered(deps: ReconcileDeps, name: string): Promise<SubnetReadiness> {
  const known = await deps.allocator.getSubnet(name);
  if (known?.managedBy === 'kubernetes') return { status: 'ready', info: known };
  const cr = await deps.kube.getSubnet(name);
  if (!cr) {
    return {
      status: 'missing',
      failure: { reason: Reason.SubnetNotFound, message: `Subnet ${name} does not exist; create it first` },
    };
  }
  // Never registered again while its deletion removes what registering creates.
  if (cr.metadata.deletionTimestamp) return beingDeleted(name);
  return register(deps, cr);
}

const beingDeleted = (name: string): SubnetReadiness => ({
  status: 'missing',
  failure: { reason: Reason.SubnetNotReady, message: `Subnet ${name} is being deleted; use another subnet` },
});

export async function register(deps: ReconcileDeps, cr: SubnetResource): Promise<SubnetReadiness> {
  const parsed = parseSubnet(cr);
  if (!parsed.ok) {
    const message = parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return {
      status: 'missing',
      failure: {
        reason: Reason.SubnetNotReady,
        message: `Subnet ${cr.metadata.name} is invalid: ${message}`,
      },
    };
  }
  const s = parsed.subnet;
  // The switch first: a reservation must never exist for a subnet OVN does not have.
  await deps.nb.ensureLogicalSwitch({
    name: s.name,
    cidrBlock: s.cidrBlock,
    gateway: s.gateway,
    excludeIps: s.excludeIps,
  });
  // Beside kube-ovn-controller our allocator sees only the Vip range; the rest is kube-ovn's.
  let excludeIps = s.excludeIps;
  if (deps.besideKubeOvn) {
    const view = besideView({ ...s, annotations: cr.metadata.annotations });
    if (!view.ok)
      return { status: 'missing', failure: { reason: Reason.SubnetNotReady, message: view.message } };
    excludeIps = view.allocatorExcludeIps;
  }
  try {
    // Marked managed-by-Kubernetes in the same script: from then on the manual API can read it
    // and reserve in it, never change or delete it.
    const info = await deps.allocator.registerSubnet(
      { name: s.name, cidrBlock: s.cidrBlock, gateway: s.gateway, excludeIps },
      { managedBy: 'kubernetes' },
    );
    return { status: 'ready', info };
  } catch (err) {
    if (!isDomainError(err)) throw err;
    return { status: 'missing', failure: { reason: err.reason, message: err.message } };
  }
}

/** The Subnet facts pod NIC placement needs, for every Subnet. */
export async function subnetPlacements(deps: Pick<ReconcileDeps, 'kube'>): Promise<SubnetPlacement[]> {
  return placementsOf(await deps.kube.listSubnets());
}
