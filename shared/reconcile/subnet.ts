// Reconciles one Subnet: its range in the allocator, its logical switch, and exact status counts.
// Vips and pods call `ensureSubnetRegistered` inline, so they never wait on event order.

import type { SubnetPlacement } from '../domain/pod-network.ts';
import { computeSubnetStatus, parseSubnet, subnetStatusEquals } from '../domain/subnet-status.ts';
import type { SubnetResource } from '../domain/types.ts';
import { isDomainError, Reason } from '../errors.ts';
import type { Outcome } from '../events/outcome.ts';
import type { SubnetInfo } from '../ipam/index.ts';
import type { ReconcileDeps } from './ports.ts';
import { sweepOrphans } from './sweep.ts';
import { reconcileVip } from './vip.ts';

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
  return register(deps, cr);
}

async function register(deps: ReconcileDeps, cr: SubnetResource): Promise<SubnetReadiness> {
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
  try {
    // Marked managed-by-Kubernetes in the same script: from then on the manual API can read it
    // and reserve in it, never change or delete it.
    const info = await deps.allocator.registerSubnet(
      { name: s.name, cidrBlock: s.cidrBlock, gateway: s.gateway, excludeIps: s.excludeIps },
      { managedBy: 'kubernetes' },
    );
    return { status: 'ready', info };
  } catch (err) {
    if (!isDomainError(err)) throw err;
    return { status: 'missing', failure: { reason: err.reason, message: err.message } };
  }
}

/** The Subnet facts pod NIC placement needs, for every Subnet. */
export async function subnetPlacements(deps: ReconcileDeps): Promise<SubnetPlacement[]> {
  const subnets = await deps.kube.listSubnets();
  return subnets.map((s) => ({
    name: s.metadata.name,
    namespaces: s.spec.namespaces ?? [],
    default: s.spec.default === true,
    ...(s.spec.provider ? { provider: s.spec.provider } : {}),
  }));
}

export async function reconcileSubnet(deps: ReconcileDeps, name: string): Promise<Outcome> {
  const cr = await deps.kube.getSubnet(name);
  if (!cr) return { status: 'done' };
  const readiness = await register(deps, cr);
  // Before the counts: what a gone pod or Vip still holds is released first.
  if (readiness.status === 'ready') await sweepOrphans(deps, name);
  await writeSubnetStatus(deps, cr, readiness);
  if (readiness.status === 'ready') await requeueWaitingVips(deps, name);
  return { status: 'done' };
}

/** Brings `status` counts up to date from the allocator; cheap when nothing changed. */
export async function refreshSubnetStatus(deps: ReconcileDeps, name: string): Promise<void> {
  const cr = await deps.kube.getSubnet(name);
  if (!cr) return;
  const info = await deps.allocator.getSubnet(name);
  if (!info) return;
  await writeSubnetStatus(deps, cr, { status: 'ready', info });
}

async function writeSubnetStatus(deps: ReconcileDeps, cr: SubnetResource, readiness: SubnetReadiness) {
  const counts = readiness.status === 'ready' ? await deps.allocator.counts(cr.metadata.name) : undefined;
  const status = computeSubnetStatus({
    ...(counts ? { counts } : {}),
    ...(readiness.status !== 'ready' ? { failure: readiness.failure } : {}),
    previous: { conditions: (cr.status?.conditions as never) ?? [] },
    ...(cr.metadata.generation !== undefined ? { generation: cr.metadata.generation } : {}),
    now: (deps.now?.() ?? new Date()).toISOString(),
  });
  if (!subnetStatusEquals(cr.status, status)) await deps.kube.patchStatus('Subnet', cr.metadata.name, status);
}

/** Vips that failed because this Subnet was missing get another pass now that it exists. */
async function requeueWaitingVips(deps: ReconcileDeps, subnet: string): Promise<void> {
  const vips = await deps.kube.listVips();
  for (const vip of vips) {
    if (vip.spec.subnet !== subnet || vip.status?.ready) continue;
    const reason = vip.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
    if (reason === Reason.SubnetNotFound || reason === Reason.SubnetNotReady)
      await reconcileVip(deps, vip.metadata.name);
  }
}

/**
 * Coalesces "a reservation changed in subnet X" into one status write per subnet per `delayMs`,
 * so a burst of 1,000 Vips costs a handful of Subnet writes, not 1,000 conflicting ones. This is
 * only a write-saver: the counts live in Redis, and a lost pending write is redone by the
 * Subnet's next event or resync.
 */
export function createSubnetStatusRefresher(deps: ReconcileDeps, delayMs = 250) {
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  const running = new Set<Promise<void>>();
  const run = (subnet: string) => {
    pending.delete(subnet);
    const p = refreshSubnetStatus(deps, subnet)
      .catch((err) => deps.log?.warn({ subnet, err: String(err) }, 'subnet status refresh failed'))
      .finally(() => running.delete(p));
    running.add(p);
  };
  return {
    changed(subnet: string) {
      if (pending.has(subnet)) return;
      pending.set(
        subnet,
        setTimeout(() => run(subnet), delayMs),
      );
    },
    /** Runs what is pending now and waits for it (shutdown, tests). */
    async flush() {
      for (const [subnet, timer] of pending) {
        clearTimeout(timer);
        run(subnet);
      }
      await Promise.all(running);
    },
  };
}
