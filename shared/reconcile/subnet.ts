// Reconciles one Subnet: its range in the allocator, its logical switch, and exact status counts.
// Vips and pods call `ensureSubnetRegistered` (subnet-registration.ts) inline, so they never wait on event order.

import { isDomainError, Reason } from '../domain/errors.ts';
import {
  inUseMessage,
  isInUse,
  SUBNET_FINALIZER,
  type SubnetUsage,
  usageOf,
} from '../domain/subnet-lifecycle.ts';
import { computeSubnetStatus, parseSubnet, subnetStatusEquals } from '../domain/subnet-status.ts';
import type { Condition, SubnetResource } from '../domain/types.ts';
import type { Outcome } from '../events/outcome.ts';
import type { SubnetInfo } from '../ipam/index.ts';
import { allReservations } from '../ipam/list-all.ts';
import { adoptIpObjects } from './adopt.ts';
import type { ReconcileDeps } from './deps.ts';
import { noteSubnetRefused } from './events.ts';
import { register, type SubnetReadiness } from './subnet-registration.ts';
import { sweepOrphans } from './sweep.ts';
import { reconcileVip } from './vip.ts';

export async function reconcileSubnet(deps: ReconcileDeps, name: string): Promise<Outcome> {
  const cr = await deps.kube.getSubnet(name);
  if (!cr) {
    // Gone without our finalizer (created before Subnets had one, or it was removed by hand):
    // what nothing uses any more is removed all the same.
    await removeIfUnused(deps, name);
    return { status: 'done' };
  }
  if (cr.metadata.deletionTimestamp) return finishDeletion(deps, cr);
  // Claimed before anything exists for it, so its deletion always comes through here.
  if (!(cr.metadata.finalizers ?? []).includes(SUBNET_FINALIZER))
    await deps.kube.addFinalizer('Subnet', name, SUBNET_FINALIZER);
  // The spec in force before this event: kept in OVN when the allocator refuses the change.
  const before = await deps.allocator.getSubnet(name);
  const held = before ? await heldNewGateway(deps, cr, before) : undefined;
  const readiness: SubnetReadiness = held ? { status: 'missing', failure: held } : await register(deps, cr);
  if (readiness.status !== 'ready' && before) {
    // A change refused (e.g. a new gateway someone holds): the old spec stays in force
    // everywhere, counts included; only the condition reports the refusal. `register` writes the
    // switch before the allocator refuses, so the switch is put back (a race the check missed).
    if (!held)
      await deps.nb.ensureLogicalSwitch({
        name,
        cidrBlock: before.cidrBlock,
        gateway: before.gateway,
        excludeIps: [...before.excludeIps],
      });
    await sweepOrphans(deps, name);
    await writeSubnetStatus(deps, cr, { status: 'ready', info: before }, readiness.failure);
    return { status: 'done' };
  }
  // Before the counts: what kube-ovn's IP objects keep for absent owners is held (a cluster taken
  // over from kube-ovn), and what a gone pod or Vip still holds is released.
  if (readiness.status === 'ready') {
    await adoptIpObjects(deps, name);
    await sweepOrphans(deps, name);
  }
  await writeSubnetStatus(deps, cr, readiness);
  // A new or changed Subnet (created, widened, fewer exclusions) may be what a Vip waits on.
  if (readiness.status === 'ready')
    await requeueWaitingVips(deps, name, new Set([...WAITING_ON_SUBNET, ...WAITING_ON_RELEASE]));
  return { status: 'done' };
}

/**
 * A new gateway that an owner holds, found before anything is written (OVN's switch included).
 * Scans the reservations, only when the gateway changes; the allocator's own check inside
 * `registerSubnet` still decides a race with an allocation.
 */
async function heldNewGateway(
  deps: ReconcileDeps,
  cr: SubnetResource,
  before: SubnetInfo,
): Promise<{ reason: string; message: string } | undefined> {
  const parsed = parseSubnet(cr);
  if (!parsed.ok || parsed.subnet.cidrBlock !== before.cidrBlock) return undefined;
  const was = new Set(before.gateway.split(','));
  const added = new Set(parsed.subnet.gateway.split(',').filter((g) => g && !was.has(g)));
  if (added.size === 0) return undefined;
  let cursor: string | undefined;
  do {
    const page = await deps.allocator.list(cr.metadata.name, { limit: 1000, ...(cursor ? { cursor } : {}) });
    const holder = page.items.find((r) => (r.v4 && added.has(r.v4)) || (r.v6 && added.has(r.v6)));
    if (holder) {
      return {
        reason: Reason.AddressConflict,
        message: `the new gateway of subnet ${cr.metadata.name} is held by ${holder.owner}; release it or pick another gateway`,
      };
    }
    cursor = page.nextCursor;
  } while (cursor);
  return undefined;
}

/**
 * A deleted Subnet (its finalizer holds it): while Vips, pods or other reservations still use it,
 * only the condition says so (`SubnetInUse`, naming how many); once none do, its allocator state,
 * its logical switch with the SwitchLBRule load balancers on it, then the finalizer go. Each
 * release in the subnet comes back here through `refreshSubnetStatus`.
 */
async function finishDeletion(deps: ReconcileDeps, cr: SubnetResource): Promise<Outcome> {
  const name = cr.metadata.name;
  const info = await deps.allocator.getSubnet(name);
  let usage = usageOf([]);
  try {
    if (info) await sweepOrphans(deps, name);
    if (info) usage = await usageIn(deps, name);
  } catch (err) {
    // Another run (a replica, the status refresh) removed its allocator state meanwhile.
    if (!(isDomainError(err) && err.reason === Reason.SubnetNotFound)) throw err;
  }
  if (isInUse(usage) || !(await removeIfUnused(deps, name))) {
    const now = isInUse(usage) ? usage : await usageIn(deps, name);
    const failure = { reason: Reason.SubnetInUse, message: inUseMessage(name, now) };
    await writeSubnetStatus(
      deps,
      cr,
      info ? { status: 'ready', info } : { status: 'missing', failure },
      failure,
    );
    return { status: 'done' };
  }
  await deps.kube.removeFinalizer('Subnet', name, SUBNET_FINALIZER);
  deps.log?.info(
    { subnet: name },
    'subnet deleted: allocator state, logical switch and its load balancers removed',
  );
  return { status: 'done' };
}

/**
 * Removes the subnet's allocator state (refused atomically while any reservation exists), then
 * its logical switch and the SwitchLBRule load balancers on it. False when still in use.
 */
async function removeIfUnused(deps: ReconcileDeps, name: string): Promise<boolean> {
  try {
    await deps.allocator.deleteSubnet(name, { managedBy: 'kubernetes' });
  } catch (err) {
    if (isDomainError(err) && err.reason === Reason.SubnetInUse) return false;
    throw err;
  }
  const lbs = await deps.nb.deleteLogicalSwitch(name);
  if (lbs.length > 0) deps.log?.info({ subnet: name, loadBalancers: lbs }, 'deleted with the subnet');
  return true;
}

async function usageIn(deps: ReconcileDeps, subnet: string): Promise<SubnetUsage> {
  return usageOf((await allReservations(deps.allocator, subnet)).map((r) => r.owner));
}

/** Brings `status` counts up to date from the allocator; cheap when nothing changed. */
export async function refreshSubnetStatus(deps: ReconcileDeps, name: string): Promise<void> {
  const cr = await deps.kube.getSubnet(name);
  if (!cr) return;
  // A release in a subnet waiting to be deleted may have been its last user.
  if (cr.metadata.deletionTimestamp) {
    await finishDeletion(deps, cr);
    return;
  }
  const info = await deps.allocator.getSubnet(name);
  if (!info) return;
  // A refused change keeps showing its reason (the next Subnet event decides again).
  const conditions = (cr.status?.conditions ?? []) as Condition[];
  const refused = conditions.find(
    (c) => c.type === 'Ready' && c.status === 'False' && c.observedGeneration === cr.metadata.generation,
  );
  await writeSubnetStatus(
    deps,
    cr,
    { status: 'ready', info },
    refused ? { reason: refused.reason, message: refused.message } : undefined,
  );
}

async function writeSubnetStatus(
  deps: ReconcileDeps,
  cr: SubnetResource,
  readiness: SubnetReadiness,
  /** Shown with the counts of a ready subnet (a refused change, a deletion waiting). */
  failure?: { reason: string; message: string },
) {
  // Beside kube-ovn-controller the Subnet's status is kube-ovn's (its counts cover pods too).
  if (deps.besideKubeOvn) return;
  const counts = readiness.status === 'ready' ? await deps.allocator.counts(cr.metadata.name) : undefined;
  const shown = failure ?? (readiness.status !== 'ready' ? readiness.failure : undefined);
  if (shown) noteSubnetRefused(deps, cr, shown);
  const status = computeSubnetStatus({
    ...(counts ? { counts } : {}),
    ...(shown ? { failure: shown } : {}),
    previous: { conditions: (cr.status?.conditions as never) ?? [] },
    ...(cr.metadata.generation !== undefined ? { generation: cr.metadata.generation } : {}),
    now: (deps.now?.() ?? new Date()).toISOString(),
  });
  if (!subnetStatusEquals(cr.status, status)) await deps.kube.patchStatus('Subnet', cr.metadata.name, status);
}

/** Vips refused because the Subnet was missing or not ready: another pass once it is. */
const WAITING_ON_SUBNET: ReadonlySet<string> = new Set([Reason.SubnetNotFound, Reason.SubnetNotReady]);
/** Vips refused for want of an address or MAC someone else held: another pass once one is freed. */
const WAITING_ON_RELEASE: ReadonlySet<string> = new Set([
  Reason.AddressConflict,
  Reason.MACConflict,
  Reason.SubnetFull,
]);

/**
 * Gives the Vips of `subnet` whose Ready=False reason is one of `reasons` another pass now, so a
 * blocked Vip recovers within moments of what it waits on, not at the next resync. One list of
 * the Vips, only when something they may wait on happened.
 */
export async function requeueWaitingVips(
  deps: ReconcileDeps,
  subnet: string,
  reasons: ReadonlySet<string>,
): Promise<number> {
  const vips = await deps.kube.listVips();
  let requeued = 0;
  for (const vip of vips) {
    if (vip.spec.subnet !== subnet || vip.status?.ready || vip.metadata.deletionTimestamp) continue;
    const ready = vip.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'False' || !reasons.has(ready.reason)) continue;
    requeued++;
    await reconcileVip(deps, vip.metadata.name);
  }
  return requeued;
}

/**
 * Coalesces "a reservation changed in subnet X" into one status write per subnet per `delayMs`,
 * and, when something was released there, one pass over the Vips waiting for an address,
 * so a burst of 1,000 Vips costs a handful of Subnet writes, not 1,000 conflicting ones. This is
 * only a write-saver: the counts live in Redis, and a lost pending write is redone by the
 * Subnet's next event or resync.
 */
export function createSubnetStatusRefresher(deps: ReconcileDeps, delayMs = 250) {
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  /** Subnets where something was released since their pending run was scheduled. */
  const released = new Set<string>();
  const running = new Set<Promise<void>>();
  const run = (subnet: string) => {
    pending.delete(subnet);
    const freed = released.delete(subnet);
    const p = refreshSubnetStatus(deps, subnet)
      .then(async () => {
        if (freed) await requeueWaitingVips(deps, subnet, WAITING_ON_RELEASE);
      })
      .catch((err) => deps.log?.warn({ subnet, err: String(err) }, 'subnet status refresh failed'))
      .finally(() => running.delete(p));
    running.add(p);
  };
  return {
    changed(subnet: string, change?: 'released') {
      if (change === 'released') released.add(subnet);
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
