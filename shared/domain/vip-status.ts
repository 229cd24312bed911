// The Vip's status, labels and finalizer (SPEC §1), computed from what the handler found. The
// status always carries every field (empty strings when unknown) so two computations compare
// with a plain deep-equal and handlers can skip writes that change nothing.

import type { ParentColumns } from './aap.ts';
import { FINALIZER, IP_RESERVED_LABEL, SUBNET_LABEL } from './annotations.ts';
import { setCondition } from './conditions.ts';
import type { Reason } from './errors.ts';
import { canonicalV4, canonicalV6 } from './ip.ts';
import type { Vip, VipStatus } from './types.ts';
import type { AssignedVip, VipSpec } from './vip-spec.ts';
import { selectorStrings } from './vip-spec.ts';

export { FINALIZER };
export const READY = 'Ready';
/** Reason of `Ready=True`. */
export const REASON_RESERVED = 'Reserved';

export interface VipStatusInput {
  vip: Pick<Vip, 'metadata' | 'status'>;
  /** The parsed spec, or undefined when the spec is invalid. */
  spec?: VipSpec;
  /**
   * The assignment in force: what the allocator holds for this Vip. After a refused immutable
   * change this is still the old assignment, so the status keeps showing it.
   */
  assigned?: AssignedVip;
  parents?: ParentColumns;
  /** `Port_Binding.virtual_parent` from the southbound DB; '' while unclaimed. */
  holder?: string;
  /** Why the Vip is not ready; undefined when all is well. */
  failure?: { reason: Reason | string; message: string };
  /** RFC 3339 time used when the Ready condition changes status. */
  now: string;
}

/** Status fields in a fixed order with every field present. */
export function computeVipStatus(input: VipStatusInput): Required<VipStatus> {
  const { vip, spec, assigned, failure } = input;
  const prev = vip.status;
  const hasAddress = !!(assigned?.v4ip || assigned?.v6ip);
  const ready = !failure && hasAddress;
  const conditions = setCondition(
    prev?.conditions,
    {
      type: READY,
      status: ready ? 'True' : 'False',
      reason: failure ? failure.reason : ready ? REASON_RESERVED : 'Pending',
      message: failure ? failure.message : ready ? describeAssignment(assigned) : 'waiting for an address',
      observedGeneration: vip.metadata.generation,
    },
    input.now,
  );
  return {
    ready,
    v4ip: assigned?.v4ip ?? '',
    v6ip: assigned?.v6ip ?? '',
    mac: assigned?.mac ?? '',
    pv4ip: input.parents?.pv4ip ?? '',
    pv6ip: input.parents?.pv6ip ?? '',
    pmac: input.parents?.pmac ?? '',
    parents: input.parents?.parents ?? '',
    holder: input.holder ?? '',
    type: assigned?.type ?? spec?.type ?? '',
    selector: spec ? selectorStrings(spec) : (prev?.selector ?? []),
    conditions,
  };
}

function describeAssignment(a: AssignedVip | undefined): string {
  const parts = [a?.v4ip, a?.v6ip].filter(Boolean).join(', ');
  return `reserved ${parts} in subnet ${a?.subnet ?? ''}`;
}

/** Status equality that treats absent fields as empty, so a first write is not skipped wrongly. */
export function statusEquals(a: VipStatus | undefined, b: VipStatus | undefined): boolean {
  return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
}

function normalise(s: VipStatus | undefined): unknown {
  return {
    ready: s?.ready ?? false,
    v4ip: s?.v4ip ?? '',
    v6ip: s?.v6ip ?? '',
    mac: s?.mac ?? '',
    pv4ip: s?.pv4ip ?? '',
    pv6ip: s?.pv6ip ?? '',
    pmac: s?.pmac ?? '',
    parents: s?.parents ?? '',
    holder: s?.holder ?? '',
    type: s?.type ?? '',
    selector: s?.selector ?? [],
    conditions: (s?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: c.lastTransitionTime,
      observedGeneration: c.observedGeneration ?? null,
    })),
  };
}

/**
 * The labels the system owns on a Vip: the assigned subnet, and the pod port holding the Vip
 * through `ovn.kubernetes.io/vip` ('' while free). Only these two keys; others are left alone.
 */
export function vipLabels(subnet: string, reservedBy: string | undefined): Record<string, string> {
  return { [SUBNET_LABEL]: subnet, [IP_RESERVED_LABEL]: reservedBy ?? '' };
}

/**
 * What the Vip was assigned, rebuilt from the object itself (subnet label + status), for
 * `checkImmutable`. Undefined when nothing was assigned yet.
 */
export function assignedFromVip(vip: Pick<Vip, 'metadata' | 'status'>): AssignedVip | undefined {
  const subnet = vip.metadata.labels?.[SUBNET_LABEL];
  const s = vip.status;
  if (!subnet || !(s?.v4ip || s?.v6ip)) return undefined;
  const a: AssignedVip = { subnet, type: s.type ?? '' };
  const v4 = s.v4ip ? (canonicalV4(s.v4ip) ?? s.v4ip) : undefined;
  const v6 = s.v6ip ? (canonicalV6(s.v6ip) ?? s.v6ip) : undefined;
  if (v4) a.v4ip = v4;
  if (v6) a.v6ip = v6;
  if (s.mac) a.mac = s.mac.toUpperCase();
  return a;
}

/**
 * What the Vip was assigned according to the allocator's record (the source of truth), with the
 * `type` the status shows (the record does not hold it). The status is only the handler's output:
 * an edited status must never become the assignment.
 */
export function assignedFromReservation(
  subnet: string,
  r: { v4?: string; v6?: string; mac: string },
  type: string,
): AssignedVip {
  return {
    subnet,
    type,
    ...(r.v4 ? { v4ip: r.v4 } : {}),
    ...(r.v6 ? { v6ip: r.v6 } : {}),
    mac: r.mac.toUpperCase(),
  };
}

/**
 * Whether the status shows exactly the reservation `r` (addresses and MAC) and, for a Vip that is
 * not AAP, no parents: the settled fast path's check that nobody edited the status since the
 * handler wrote it.
 */
export function statusShowsReservation(
  vip: Pick<Vip, 'spec' | 'status'>,
  r: { v4?: string; v6?: string; mac: string } | undefined,
): boolean {
  const s = vip.status;
  if (!r || !s) return false;
  // The MAC's letter case is kept as the status shows it (kube-ovn writes lower case; see sameMac).
  if ((r.v4 ?? '') !== (s.v4ip ?? '') || (r.v6 ?? '') !== (s.v6ip ?? '') || !sameMac(r.mac, s.mac))
    return false;
  if ((s.type ?? '') !== (vip.spec.type ?? '')) return false;
  return !vip.spec.namespace ? !s.pv4ip && !s.pv6ip && !s.pmac && !s.parents : true;
}

export function hasFinalizer(vip: Pick<Vip, 'metadata'>): boolean {
  return (vip.metadata.finalizers ?? []).includes(FINALIZER);
}

/** The finalizer list with ours added (idempotent). */
export function withFinalizer(finalizers: readonly string[] | undefined): string[] {
  const f = [...(finalizers ?? [])];
  return f.includes(FINALIZER) ? f : [...f, FINALIZER];
}

/** The finalizer list with ours removed (idempotent). */
export function withoutFinalizer(finalizers: readonly string[] | undefined): string[] {
  return (finalizers ?? []).filter((f) => f !== FINALIZER);
}

/**
 * Whether an observed copy of a Vip shows it fully reconciled for its current spec: finalizer and
 * labels in place, Ready for this generation, not being deleted, and not an AAP Vip (whose parents
 * depend on pods, not on the Vip). Handlers use it to answer a repeated event without reading the
 * API server; they still check the reservation itself, so a resync heals a lost one.
 */
export function isSettled(vip: Pick<Vip, 'metadata' | 'spec' | 'status'>): boolean {
  return reconciledForSpec(vip) && !vip.spec.namespace;
}

/**
 * Whether an AAP Vip was fully reconciled for its current spec (as isSettled, for a Vip with a
 * namespace): a pod event may then change one parent of it without reconciling the whole Vip.
 */
export function isAapSettled(vip: Pick<Vip, 'metadata' | 'spec' | 'status'>): boolean {
  return reconciledForSpec(vip) && !!vip.spec.namespace;
}

function reconciledForSpec(vip: Pick<Vip, 'metadata' | 'spec' | 'status'>): boolean {
  const m = vip.metadata;
  const ready = vip.status?.conditions?.find((c) => c.type === READY);
  return (
    !m.deletionTimestamp &&
    hasFinalizer(vip) &&
    vip.status?.ready === true &&
    ready?.status === 'True' &&
    m.generation !== undefined &&
    ready.observedGeneration === m.generation &&
    !!m.labels?.[SUBNET_LABEL] &&
    m.labels?.[IP_RESERVED_LABEL] !== undefined
  );
}

/** One MAC spelled in either case (Redis stores upper case; kube-ovn writes lower case). */
export const sameMac = (a: string | undefined, b: string | undefined): boolean =>
  !!a && !!b && a.toUpperCase() === b.toUpperCase();

/**
 * The MAC to show: `shown` (what the object already says) when it is the reservation's MAC in
 * another letter case, so a cluster taken over from kube-ovn is not rewritten for case alone.
 */
export const macAsShown = (reserved: string, shown: string | undefined): string =>
  shown && sameMac(reserved, shown) ? shown : reserved;
