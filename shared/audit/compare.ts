// The audit's decisions: given one snapshot of the API server, Redis and OVN NB, what disagrees
// and what repair would do about it. Pure: the same functions the reconcilers use decide what
// each object should own, so the audit cannot drift from the handlers' own idea of "correct";
// whether a reservation or port has a live owner is shared/domain/ownership.ts's judgement, the
// one the sweep uses. Each part of the comparison is its own file:
// - compare-holdings.ts: what each Vip and pod should hold (reservation, status, ports);
// - compare-ownership.ts: who owns what is held (leaks, orphan ports, manual owners, bindings);
// - compare-load-balancers.ts, compare-registrations.ts: SwitchLBRule rows; Subnets and counts.
import { comparePods, compareVips } from './compare-holdings.ts';
import { compareLoadBalancers } from './compare-load-balancers.ts';
import { compareBindings, compareLeaks, compareOrphanPorts, compareOwnership } from './compare-ownership.ts';
import { compareRegistrations, compareSubnetCounts, compareSwitches } from './compare-registrations.ts';
import { byText, reconcileOf } from './drift-text.ts';
import { snapshotOf } from './snapshot.ts';
import { type Drift, DriftKind, type ObservedState } from './types.ts';

export function compareState(state: ObservedState): Drift[] {
  const s = snapshotOf(state);
  const { placements, keepVmIp, holderOf } = s;
  const live = s.owners.podPorts;
  const claims = new Map<string, string[]>(); // `<subnet>|<address>` -> claimants
  const claim = (subnet: string, address: string | undefined, who: string) => {
    if (!address) return;
    const k = `${subnet}|${address}`;
    claims.set(k, [...(claims.get(k) ?? []), who]);
  };

  const vips = compareVips(s, claim);
  const drifts: Drift[] = [...vips.drifts, ...comparePods(s, claim)];
  drifts.push(...compareLeaks(s));
  drifts.push(...compareOrphanPorts(s, vips.wantedVirtualPorts));
  drifts.push(...compareLoadBalancers(state, placements, keepVmIp));
  drifts.push(...compareBindings(state, live, keepVmIp));

  // ---- addresses shown by two objects
  for (const [k, who] of claims) {
    const owners = [...new Set(who)];
    if (owners.length < 2) continue;
    const [subnet, address] = k.split('|') as [string, string];
    drifts.push({
      kind: DriftKind.DuplicateAddress,
      object: owners.sort(byText).join(' + '),
      detail: `${address} in ${subnet} is shown by ${owners.length} objects`,
      repair: `re-run the reconciler of each (the one not holding the reservation is refused or moved)`,
      action: reconcileOf(owners[0]!),
    });
    for (const other of owners.slice(1)) {
      drifts.push({
        kind: DriftKind.DuplicateAddress,
        object: other,
        detail: `also shows ${address} in ${subnet}`,
        repair: 're-run its reconciler',
        action: reconcileOf(other),
      });
    }
  }

  drifts.push(...compareSwitches(state));
  drifts.push(...compareOwnership(state, live, holderOf));
  drifts.push(...compareRegistrations(state, holderOf));
  drifts.push(...compareSubnetCounts(state));

  // ---- the AAP parent index misses a pod that names a Vip (a Vip reconcile would not see it)
  for (const m of state.aapIndex?.missing ?? []) {
    drifts.push({
      kind: DriftKind.AapIndexMissing,
      object: `Pod/${m.namespace}/${m.name}`,
      detail: `names Vip ${m.vip} in ovn.kubernetes.io/aaps, but the AAP parent index does not hold it`,
      repair: "re-run the pod's reconciler (it records the pod in the index, then its parent memberships)",
      action: reconcileOf(`Pod/${m.namespace}/${m.name}`),
    });
  }

  // ---- allocator invariants
  for (const [subnet, violations] of Object.entries(state.allocatorViolations)) {
    for (const v of violations) {
      drifts.push({
        kind: DriftKind.AllocatorInvariant,
        object: `Subnet/${subnet}`,
        detail: `${v.kind}: ${v.message}`,
        repair: 'none automatic: the stored bitmaps disagree with themselves; inspect the Redis keys',
        action: { type: 'manual' },
      });
    }
  }

  return drifts.sort(
    (a, b) => byText(a.kind, b.kind) || byText(a.object, b.object) || byText(a.detail, b.detail),
  );
}
