// Reconciles one Vip (SPEC §3, §4): reservation, AAP virtual ports and parents, status, labels,
// finalizer, ordered deletion. Level-triggered: it reads the Vip as it is now and makes Redis,
// OVN NB and the Vip agree with it, so repeated, reordered or missed events converge.

import { type ParentColumns, parentColumns } from '../domain/aap.ts';
import { IP_RESERVED_LABEL, SUBNET_LABEL } from '../domain/annotations.ts';
import { besideView, besideVipDecision } from '../domain/beside-kube-ovn.ts';
import { isDomainError, Reason, refusalMessage } from '../domain/errors.ts';
import { vipOwner } from '../domain/ownership.ts';
import type { Pod, Vip } from '../domain/types.ts';
import {
  type AssignedVip,
  checkAddressesInSubnet,
  checkImmutable,
  type FieldError,
  parseVipSpec,
  type VipSpec,
  vipUsage,
} from '../domain/vip-spec.ts';
import {
  assignedFromReservation,
  assignedFromVip,
  computeVipStatus,
  FINALIZER,
  hasFinalizer,
  isSettled,
  macAsShown,
  statusEquals,
  statusShowsReservation,
} from '../domain/vip-status.ts';
import { virtualPortNames } from '../domain/virtual-port.ts';
import type { Outcome } from '../events/outcome.ts';
import type { Reservation } from '../ipam/index.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import type { ReconcileDeps } from './deps.ts';
import { noteAllocated, noteRefused, noteReleased } from './events.ts';
import { type Flight, singleFlightOf } from './single-flight.ts';
import { ensureSubnetRegistered } from './subnet-registration.ts';
import { refreshFrontEndArp } from './switch-lb-rule.ts';
import { refreshPortSecurityOf, syncVirtualPorts } from './vip-ports.ts';

type Failure = { reason: string; message: string };

const firstError = (errors: FieldError[]): Failure => ({
  reason: errors[0]!.reason,
  message: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
});

/**
 * What one event already holds, shared by the reconciles it runs: `pods` (and `vips`) as the event
 * last wrote or read them (the first pass of a port security refresh decides from them, see
 * refreshPortSecurity), and `refreshed`, the ports whose port security this event refreshed after
 * those writes (a caller need not refresh them again).
 */
export interface EventState {
  pods: Pod[];
  /** Vips this event read after its own writes (aap-parents.ts), for the same first pass. */
  vips?: Vip[];
  refreshed: Set<string>;
}

/**
 * `lastKnown` is the event's copy of the object, used only when the Vip is already gone.
 * `observed` is the event's copy of a live object: for a Vip not yet claimed it stands in for a
 * GET (see trustedCopy); every write is guarded by the resourceVersion of the copy it was decided
 * from, so a stale copy costs a conflict and a fresh read, never a wrong write.
 * `onlyIfExists` is for callers that derived the name (a pod's parents) and must not clean up
 * resources of a Vip that never existed under that name.
 * A `done` outcome names the resourceVersions this pass wrote (`produced`): states it had fully
 * reconciled, whose watch events a sender may drop as echoes.
 */
export async function reconcileVip(
  deps: ReconcileDeps,
  name: string,
  lastKnown?: Vip,
  opts: { onlyIfExists?: boolean; observed?: Vip; event?: EventState } = {},
): Promise<Outcome> {
  // A repeated event of a settled Vip (the echo of our own status write, a resync) costs one Redis
  // read instead of a reconcile: if the reservation still matches, there is nothing to do.
  if (opts.observed && isSettled(opts.observed) && (await reservationMatches(deps, opts.observed))) {
    return { status: 'done' };
  }
  // One reconcile of a Vip at a time in this process; a queued one made moot returns at once.
  return singleFlightOf(deps.nb).run(name, opts.observed?.metadata.resourceVersion, async (flight) => {
    const pass: Pass = { produced: [], event: opts.event ?? { pods: [], refreshed: new Set() }, flight };
    const read = async () => {
      flight.markFresh();
      const fresh = await deps.kube.getVip(name);
      if (fresh?.metadata.resourceVersion) flight.seen.add(fresh.metadata.resourceVersion);
      return fresh;
    };
    const copy = trustedCopy(opts.observed);
    if (copy?.metadata.resourceVersion) flight.seen.add(copy.metadata.resourceVersion);
    let vip = copy ?? (await read());
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await reconcileFrom(deps, name, vip, lastKnown ?? opts.observed, opts, pass);
        return outcome.status === 'done' && pass.produced.length > 0
          ? { status: 'done', produced: pass.produced }
          : outcome;
      } catch (err) {
        // The copy was stale (conflict) or the object went away under us: decide again from a
        // fresh read. Nothing decided from the stale copy was written to the Vip.
        if (!(isConflict(err) || isNotFound(err)) || attempt >= MAX_PASSES) throw err;
        vip = await read();
      }
    }
  });
}

const MAX_PASSES = 4;

/**
 * The event's copy saves a read only when the first thing this pass does with it is a write
 * guarded by its resourceVersion (claiming a Vip that has no finalizer yet): that write proves the
 * copy current before anything is reserved from it. Any other copy may be old (a redelivered
 * event of a Vip deleted since) and is read afresh.
 */
const trustedCopy = (copy: Vip | undefined) => (copy && !hasFinalizer(copy) ? copy : undefined);

/** The resourceVersions one reconcile wrote, what its event holds, and its single-flight run. */
interface Pass {
  produced: string[];
  event: EventState;
  flight: Flight;
}

async function reconcileFrom(
  deps: ReconcileDeps,
  name: string,
  current: Vip | undefined,
  lastKnown: Vip | undefined,
  opts: { onlyIfExists?: boolean },
  pass: Pass,
): Promise<Outcome> {
  let vip = current;
  if (!vip) {
    if (opts.onlyIfExists) return { status: 'done' };
    await cleanUpVip(deps, name, lastKnown);
    return { status: 'done' };
  }
  if (vip.metadata.deletionTimestamp) {
    if (!hasFinalizer(vip)) return { status: 'done' };
    await cleanUpVip(deps, name, vip);
    await deps.kube.removeFinalizer('Vip', name, FINALIZER);
    return { status: 'done' };
  }

  // What the allocator holds for this Vip, not what its status shows: a status edited by hand is
  // overwritten, never taken as the assignment.
  const { assigned, record } = await recordedAssignment(deps, vip);
  const parsed = parseVipSpec(vip.spec);
  if (!parsed.ok) {
    await writeStatus(deps, pass, vip, {
      spec: undefined,
      assigned,
      failure: firstError(parsed.errors),
    });
    return { status: 'done' };
  }
  const spec = parsed.spec;

  // Claim the object before any resource exists, so a delete always goes through cleanup.
  vip = await ensureClaimed(deps, pass, vip, assigned?.subnet ?? spec.subnet);

  if (deps.besideKubeOvn) {
    const refusal = await besideKubeOvn(deps, vip, spec);
    if (refusal) {
      // Not served here (kube-ovn's part, or an unusable Subnet): our allocator holds nothing for
      // it. Its NB rows are left alone: a Vip in kube-ovn's part has kube-ovn's own port, same name.
      if (record && (await deps.allocator.release(record.subnet, vipOwner(name))))
        deps.subnetChanged?.(record.subnet, 'released');
      await writeStatus(deps, pass, vip, { spec, assigned: undefined, failure: refusal });
      return { status: 'done' };
    }
  }

  if (assigned) {
    const immutable = checkImmutable(assigned, spec);
    if (immutable.length > 0) {
      // The assignment stays exactly as it was; only the condition reports the refusal.
      await writeStatus(deps, pass, vip, { spec, assigned, failure: firstError(immutable) });
      return { status: 'done' };
    }
  }

  const subnet = await ensureSubnetRegistered(deps, spec.subnet);
  if (subnet.status !== 'ready') {
    await writeStatus(deps, pass, vip, { spec, assigned, failure: subnet.failure });
    // A missing Subnet may appear later: its own reconcile re-queues the Vips waiting for it.
    return subnet.status === 'retry'
      ? { status: 'retry', reason: subnet.failure.reason }
      : { status: 'done' };
  }
  const addressErrors = checkAddressesInSubnet(spec, subnet.info);
  if (addressErrors.length > 0) {
    await writeStatus(deps, pass, vip, { spec, assigned, failure: firstError(addressErrors) });
    return { status: 'done' };
  }

  // Held already, and the checks above found the spec agrees with it: nothing to allocate.
  let reservation = record?.subnet === spec.subnet ? record : undefined;
  if (!reservation) {
    try {
      const allocation = await deps.allocator.allocate({
        subnet: spec.subnet,
        owner: vipOwner(name),
        v4: spec.v4ip ?? assigned?.v4ip,
        v6: spec.v6ip ?? assigned?.v6ip,
        mac: spec.macAddress ?? assigned?.mac,
      });
      if (allocation.created) deps.subnetChanged?.(spec.subnet);
      if (allocation.created) noteAllocated(deps, 'Vip', vip, spec.subnet, allocation);
      reservation = allocation;
    } catch (err) {
      if (!isDomainError(err)) throw err;
      await writeStatus(deps, pass, vip, {
        spec,
        assigned,
        failure: { reason: err.reason, message: refusalMessage(err) },
      });
      return { status: 'done' };
    }
  }
  const nowAssigned: AssignedVip = {
    subnet: spec.subnet,
    type: spec.type,
    ...(reservation.v4 ? { v4ip: reservation.v4 } : {}),
    ...(reservation.v6 ? { v6ip: reservation.v6 } : {}),
    mac: macAsShown(reservation.mac, vip.status?.mac),
  };

  const { parents, touched } = await syncVirtualPorts(deps, name, spec, reservation, vip);
  const written = await writeStatus(deps, pass, vip, {
    spec,
    assigned: nowAssigned,
    parents: parentColumns(parents),
  });
  // A front end is reachable from its subnet once the gateway answers ARP for it.
  if (vipUsage(spec) === 'switch_lb_vip') await refreshFrontEndArp(deps, spec.subnet);
  // Port security follows the status just written (the addresses) and the parents: refresh the
  // ports whose allowance may have changed. A newly assigned address counts as a change.
  const addressChanged =
    (vip.status?.v4ip ?? '') !== (nowAssigned.v4ip ?? '') ||
    (vip.status?.v6ip ?? '') !== (nowAssigned.v6ip ?? '');
  await refreshPortSecurityOf(
    deps,
    addressChanged ? [...touched, ...parents.map((p) => p.portName)] : touched,
    { pods: pass.event.pods, vips: [written] },
    pass.event.refreshed,
  );
  return { status: 'done' };
}

/**
 * Finalizer and the subnet label, in one write and only when missing: a steady Vip costs none.
 * Returns the object to go on from. The write is guarded by `vip`'s resourceVersion: on a
 * conflict the whole pass starts again from a fresh read.
 */
async function ensureClaimed(deps: ReconcileDeps, pass: Pass, vip: Vip, subnet: string): Promise<Vip> {
  const labels = vip.metadata.labels ?? {};
  const want: Record<string, string> = { [SUBNET_LABEL]: subnet };
  // ip_reserved is owned by the pod binding; only give it its "free" value when it is absent.
  if (labels[IP_RESERVED_LABEL] === undefined) want[IP_RESERVED_LABEL] = '';
  // The claim is guarded by the copy's version: once it succeeds, that view was current.
  pass.flight.markFresh();
  const written = await deps.kube.ensureClaimed('Vip', vip, { labels: want, finalizer: FINALIZER });
  if (!written) return vip;
  noteWritten(pass, vip, written);
  return written as Vip;
}

function noteWritten(pass: Pass, before: Vip, after: { metadata: { resourceVersion?: string } }): void {
  const rv = after.metadata.resourceVersion;
  if (rv && rv !== before.metadata.resourceVersion) {
    pass.produced.push(rv);
    pass.flight.seen.add(rv);
  }
}

/** Deletion in order (SPEC §4): OVN rows, then the address and MAC. The caller drops the finalizer. */
async function cleanUpVip(deps: ReconcileDeps, name: string, known: Vip | undefined): Promise<void> {
  const formerParents: string[] = [];
  for (const port of virtualPortNames(name)) formerParents.push(...(await deps.nb.deletePort(port)));
  // The Vip is gone or being deleted, so it no longer counts for its former parents.
  await refreshPortSecurityOf(deps, formerParents);
  const subnets = new Set<string>();
  const fromLabel = known?.metadata.labels?.[SUBNET_LABEL];
  if (fromLabel) subnets.add(fromLabel);
  if (known?.spec.subnet) subnets.add(known.spec.subnet);
  if (subnets.size === 0) {
    // Nothing tells where it lived (a reference-mode delete): look in every subnet.
    for (const s of await deps.kube.listSubnets()) subnets.add(s.metadata.name);
  }
  for (const subnet of subnets) {
    // A front end no longer answered for (known type, or unknown: a reference-mode delete).
    const type = known ? known.status?.type || known.spec.type || '' : 'switch_lb_vip';
    if (type === 'switch_lb_vip') await refreshFrontEndArp(deps, subnet);
    try {
      if (await deps.allocator.release(subnet, vipOwner(name))) {
        deps.subnetChanged?.(subnet, 'released');
        if (known) noteReleased(deps, 'Vip', known, subnet);
      }
    } catch (err) {
      if (!(isDomainError(err) && err.reason === Reason.SubnetNotFound)) throw err;
    }
  }
}

async function reservationMatches(deps: ReconcileDeps, vip: Vip): Promise<boolean> {
  const subnet = vip.metadata.labels?.[SUBNET_LABEL];
  if (!subnet) return false;
  return statusShowsReservation(vip, await deps.allocator.get(subnet, vipOwner(vip.metadata.name)));
}

/**
 * The assignment in force: the allocator's record of this Vip in the subnet its label names. The
 * status stands in only when the record is missing (Redis lost it), so the same addresses are
 * reserved again; a Vip never assigned (no label) costs no read.
 */
/** Beside kube-ovn-controller: why this Vip is not served here, or undefined (shared/domain/beside-kube-ovn.ts). */
async function besideKubeOvn(
  deps: ReconcileDeps,
  vip: Vip,
  spec: VipSpec,
): Promise<{ reason: Reason; message: string } | undefined> {
  const subnet = await deps.kube.getSubnet(spec.subnet);
  if (!subnet) return undefined; // the usual SubnetNotFound path reports it
  const view = besideView({
    name: subnet.metadata.name,
    cidrBlock: subnet.spec.cidrBlock ?? '',
    ...(subnet.spec.excludeIps ? { excludeIps: subnet.spec.excludeIps } : {}),
    ...(subnet.metadata.annotations ? { annotations: subnet.metadata.annotations } : {}),
  });
  if (!view.ok) return { reason: Reason.SubnetNotReady, message: view.message };
  const decision = besideVipDecision(
    {
      name: vip.metadata.name,
      ...(spec.v4ip ? { v4ip: spec.v4ip } : {}),
      ...(spec.v6ip ? { v6ip: spec.v6ip } : {}),
    },
    view.vipRange,
  );
  return decision.kind === 'refuse'
    ? { reason: Reason.AddressOwnedByKubeOvn, message: decision.message }
    : undefined;
}

async function recordedAssignment(
  deps: ReconcileDeps,
  vip: Vip,
): Promise<{ assigned: AssignedVip | undefined; record?: Reservation }> {
  const subnet = vip.metadata.labels?.[SUBNET_LABEL];
  if (!subnet) return { assigned: undefined };
  let record: Reservation | undefined;
  try {
    record = await deps.allocator.get(subnet, vipOwner(vip.metadata.name));
  } catch (err) {
    if (!(isDomainError(err) && err.reason === Reason.SubnetNotFound)) throw err;
  }
  if (!record) return { assigned: assignedFromVip(vip) };
  return { assigned: assignedFromReservation(subnet, record, vip.status?.type ?? ''), record };
}

/**
 * Writes the status computed from `vip`, guarded by its resourceVersion (a conflict re-decides).
 * Returns the Vip as it stands after: the object written, or `vip` when nothing changed.
 */
async function writeStatus(
  deps: ReconcileDeps,
  pass: Pass,
  vip: Vip,
  input: {
    spec: VipSpec | undefined;
    assigned: AssignedVip | undefined;
    parents?: ParentColumns;
    failure?: Failure;
  },
): Promise<Vip> {
  const status = computeVipStatus({
    vip,
    ...(input.spec ? { spec: input.spec } : {}),
    ...(input.assigned ? { assigned: input.assigned } : {}),
    ...(input.parents ? { parents: input.parents } : {}),
    ...(input.failure ? { failure: input.failure } : {}),
    // The holder comes from the southbound database, maintained elsewhere; keep what is there.
    holder: vip.status?.holder ?? '',
    now: (deps.now?.() ?? new Date()).toISOString(),
  });
  // Keep the parents shown before when this pass did not compute them (failure paths).
  if (!input.parents && vip.status) {
    status.pv4ip = vip.status.pv4ip ?? '';
    status.pv6ip = vip.status.pv6ip ?? '';
    status.pmac = vip.status.pmac ?? '';
    status.parents = vip.status.parents ?? '';
  }
  if (input.failure) noteRefused(deps, 'Vip', vip, input.failure, input.spec?.subnet);
  if (statusEquals(vip.status, status)) return vip;
  const written = await deps.kube.patchStatus('Vip', vip.metadata.name, status, {
    ...(vip.metadata.resourceVersion ? { resourceVersion: vip.metadata.resourceVersion } : {}),
  });
  noteWritten(pass, vip, written);
  return written as Vip;
}
