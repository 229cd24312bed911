// The Events the reconcilers record, worded as kube-ovn words its own (CamelCase reasons, a note
// that names the address, the subnet and, for a conflict, the holder). Each helper only builds
// the event; `deps.events` (shared/kube/event-recorder.ts) aggregates repeats and never throws.

import { Reason } from '../domain/errors.ts';
import type { Pod, SubnetResource, Vip } from '../domain/types.ts';
import type { EventObjectRef, ReconcileDeps, RecordedEvent } from './deps.ts';

export const EventReason = {
  /** Normal: an address was reserved for the object. */
  AddressAllocated: 'AddressAllocated',
  /** Normal: the object's reservation was given back. */
  AddressReleased: 'AddressReleased',
  /** Warning on a Vip or pod: kube-ovn's pod reason for a failed allocation. */
  AcquireAddressFailed: 'AcquireAddressFailed',
  /** Warning on the Subnet: an allocation found no free address. */
  SubnetFull: 'SubnetFull',
  /** Warning: the spec cannot be honoured as written. */
  ValidateFailed: 'ValidateFailed',
  /** Warning on a Subnet: its spec is refused (kube-ovn's reason for a Subnet it cannot validate). */
  ValidateLogicalSwitchFailed: 'ValidateLogicalSwitchFailed',
  /** Normal on an AAP Vip: its virtual parents changed. */
  ParentsChanged: 'ParentsChanged',
  /** Normal on an AAP Vip: OVN now sends its address to another parent. */
  HolderChanged: 'HolderChanged',
} as const;

type Regarded = Vip | Pod | SubnetResource;
type Failure = { reason: string; message: string };

export function refOf(kind: 'Vip' | 'Pod' | 'Subnet', obj: Regarded): EventObjectRef {
  const m = obj.metadata as { name: string; namespace?: string; uid?: string; resourceVersion?: string };
  return {
    apiVersion: kind === 'Pod' ? 'v1' : 'kubeovn.io/v1',
    kind,
    name: m.name,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.uid ? { uid: m.uid } : {}),
  };
}

/** Reasons of a refusal that are about the object's own spec (the rest are about addresses). */
const SPEC_REASONS: ReadonlySet<string> = new Set([
  Reason.InvalidSpec,
  Reason.InvalidType,
  Reason.InvalidAddress,
  Reason.InvalidMAC,
  Reason.InvalidSelector,
  Reason.ImmutableField,
  Reason.AddressOutOfRange,
  Reason.InvalidAnnotation,
]);

const addresses = (a: { v4?: string | undefined; v6?: string | undefined }) =>
  [a.v4, a.v6].filter(Boolean).join(', ');

export function noteAllocated(
  deps: ReconcileDeps,
  kind: 'Vip' | 'Pod',
  obj: Regarded,
  subnet: string,
  a: { v4?: string | undefined; v6?: string | undefined; mac: string },
): void {
  deps.events?.record({
    regarding: refOf(kind, obj),
    type: 'Normal',
    reason: EventReason.AddressAllocated,
    action: 'Allocate',
    note: `allocated ${addresses(a)} mac ${a.mac} from subnet ${subnet}`,
  });
}

export function noteReleased(deps: ReconcileDeps, kind: 'Vip' | 'Pod', obj: Regarded, subnet: string): void {
  deps.events?.record({
    regarding: refOf(kind, obj),
    type: 'Normal',
    reason: EventReason.AddressReleased,
    action: 'Release',
    note: `released the address reserved in subnet ${subnet}`,
  });
}

/**
 * A refusal shown on the object (its condition or annotation carries the same text): a spec
 * problem is ValidateFailed, an address problem AcquireAddressFailed (the note names the holder
 * of a conflicting address); a full subnet also gets a SubnetFull Warning on the Subnet itself.
 */
export function noteRefused(
  deps: ReconcileDeps,
  kind: 'Vip' | 'Pod',
  obj: Regarded,
  failure: Failure,
  subnet?: string,
): void {
  if (!deps.events) return;
  const spec = SPEC_REASONS.has(failure.reason);
  deps.events.record({
    regarding: refOf(kind, obj),
    type: 'Warning',
    reason: spec ? EventReason.ValidateFailed : EventReason.AcquireAddressFailed,
    action: spec ? 'Validate' : 'Allocate',
    note: `${failure.reason}: ${failure.message}`,
  });
  if (failure.reason === Reason.SubnetFull && subnet)
    deps.events.record({
      regarding: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', name: subnet },
      type: 'Warning',
      reason: EventReason.SubnetFull,
      action: 'Allocate',
      note: `no available address in subnet ${subnet} for ${kind.toLowerCase()} ${obj.metadata.name}`,
    });
}

/**
 * A Subnet whose status shows a refusal: a spec kube-ovn would not accept is
 * ValidateLogicalSwitchFailed; anything else (in use, being deleted) keeps its own reason.
 */
export function noteSubnetRefused(deps: ReconcileDeps, subnet: SubnetResource, failure: Failure): void {
  // A spec that does not parse is shown as SubnetNotReady "... is invalid: ..." (subnet.ts), the
  // allocator's refusals as InvalidSubnet and the address reasons.
  const spec =
    failure.reason === Reason.InvalidSubnet ||
    SPEC_REASONS.has(failure.reason) ||
    (failure.reason === Reason.SubnetNotReady && / is invalid: /.test(failure.message));
  deps.events?.record({
    regarding: refOf('Subnet', subnet),
    type: 'Warning',
    reason: spec ? EventReason.ValidateLogicalSwitchFailed : failure.reason,
    action: spec ? 'Validate' : 'Reconcile',
    note: `${failure.reason}: ${failure.message}`,
  });
}

export function noteParentsChanged(deps: ReconcileDeps, vip: Vip, before: string[], after: string[]): void {
  deps.events?.record({
    regarding: refOf('Vip', vip),
    type: 'Normal',
    reason: EventReason.ParentsChanged,
    action: 'Bind',
    note: `virtual parents ${after.join(', ') || '(none)'} (were ${before.join(', ') || '(none)'})`,
  });
}

/** The holder sync's change (from the southbound binding); `from`/`to` are parent ports, '' none. */
export function holderChangedEvent(vip: Vip, from: string, to: string): RecordedEvent {
  return {
    regarding: refOf('Vip', vip),
    type: 'Normal',
    reason: EventReason.HolderChanged,
    action: 'Bind',
    note: to
      ? `address now held by ${to}${from ? ` (was ${from})` : ''}`
      : `address no longer held (was ${from})`,
  };
}
