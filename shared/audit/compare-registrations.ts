// The Subnets against the allocator and NB: switches, registrations (gateway, range, the
// managed-by-Kubernetes mark), what a deleted Subnet left behind, and the status counts.
import { ownerSide, parseOwner } from '../domain/ownership.ts';
import { parseSubnet } from '../domain/subnet-status.ts';
import { subnetRange } from '../ipam/index.ts';
import { type Drift, DriftKind, type ObservedState } from './types.ts';

/** Subnets without their logical switch (when the snapshot looked switches up). */
export function compareSwitches(state: ObservedState): Drift[] {
  const drifts: Drift[] = [];
  if (state.switches) {
    const have = new Set(state.switches);
    for (const s of state.subnets) {
      if (have.has(s.metadata.name) || s.metadata.deletionTimestamp) continue;
      drifts.push({
        kind: DriftKind.MissingSwitch,
        object: `Subnet/${s.metadata.name}`,
        detail: 'no logical switch of that name in OVN NB',
        repair: 're-run the Subnet reconciler (creates the switch)',
        action: { type: 'reconcile', kind: 'Subnet', name: s.metadata.name },
      });
    }
  }
  return drifts;
}

/**
 * The allocator's registrations against the Subnet objects: a reservation on a Subnet's gateway,
 * a registration that differs from its Subnet (or is not marked managed-by-Kubernetes), and what
 * a deleted Subnet left behind (its switch, its Kubernetes-managed registration).
 */
export function compareRegistrations(state: ObservedState, holderOf: ReadonlyMap<string, string>): Drift[] {
  const out: Drift[] = [];
  const crNames = new Set(state.subnets.map((s) => s.metadata.name));
  for (const cr of state.subnets) {
    if (cr.metadata.deletionTimestamp) continue;
    const name = cr.metadata.name;
    const parsed = parseSubnet(cr);
    if (!parsed.ok) continue;
    for (const gw of parsed.subnet.gateway.split(',').filter(Boolean)) {
      const holder = holderOf.get(`${name}|${gw.toUpperCase()}`);
      if (!holder) continue;
      const owner = parseOwner(holder);
      const vip = owner.kind === 'vip' ? owner.name : undefined;
      const movable = ownerSide(holder) === 'manual' || vip !== undefined;
      out.push({
        kind: DriftKind.GatewayReserved,
        object: `Reservation/${name}/${holder}`,
        detail: `${gw} is the gateway of Subnet ${name}, but ${holder} holds it`,
        repair: movable
          ? `move ${holder} to a free address (one atomic step)${vip ? `, then rewrite Vip ${vip}'s status from it` : ''}`
          : 'none automatic: the pod runs on the gateway address; re-create it',
        action: movable
          ? {
              type: 'move-reservation',
              subnet: name,
              owner: holder,
              address: gw,
              ...(vip ? { after: { type: 'rewrite-vip-status' as const, name: vip, subnet: name } } : {}),
            }
          : { type: 'manual' },
      });
    }
    const reg = state.registrations?.[name];
    if (!reg) continue;
    const why: string[] = [];
    if (reg.managedBy !== 'kubernetes') why.push('it is not marked managed-by-Kubernetes');
    try {
      const want = subnetRange(parsed.subnet);
      if (reg.cidrBlock !== want.cidrBlock)
        why.push(`cidrBlock ${reg.cidrBlock}, Subnet says ${want.cidrBlock}`);
      if (reg.gateway !== want.gateway) why.push(`gateway ${reg.gateway}, Subnet says ${want.gateway}`);
      if (reg.excludeIps.join(',') !== want.excludeIps.join(','))
        why.push(`excludeIps [${reg.excludeIps.join(',')}], Subnet says [${want.excludeIps.join(',')}]`);
    } catch {
      // a spec the allocator cannot take: the Subnet's own condition says so
    }
    if (why.length === 0) continue;
    out.push({
      kind: DriftKind.StaleRegistration,
      object: `Subnet/${name}`,
      detail: `the allocator's registration differs: ${why.join('; ')}`,
      repair:
        're-run the Subnet reconciler (registers it from the Subnet object, marked managed-by-Kubernetes)',
      action: { type: 'reconcile', kind: 'Subnet', name },
    });
  }
  for (const sw of state.ownSwitches ?? []) {
    if (crNames.has(sw)) continue;
    out.push({
      kind: DriftKind.OrphanSwitch,
      object: `Switch/${sw}`,
      detail: `logical switch of a Subnet ${sw} that does not exist`,
      repair: `delete logical switch ${sw}`,
      action: { type: 'delete-switch', name: sw },
    });
  }
  for (const [name, reg] of Object.entries(state.registrations ?? {})) {
    if (crNames.has(name) || reg.managedBy !== 'kubernetes') continue;
    out.push({
      kind: DriftKind.OrphanSubnetState,
      object: `Subnet/${name}`,
      detail: `the allocator still has Kubernetes subnet ${name} (${reg.cidrBlock}); its Subnet object is gone`,
      repair: `delete the allocator's registration of ${name} (refused while it holds reservations)`,
      action: { type: 'delete-subnet-state', subnet: name },
    });
  }
  return out;
}

/**
 * Each Subnet's status counts against the reservations the allocator holds in it, every owner
 * kind counted (Vips, pods and manual reservations alike). A status written from the allocator's
 * counts agrees; one that missed a change (say a manual reservation) does not.
 */
export function compareSubnetCounts(state: ObservedState): Drift[] {
  const out: Drift[] = [];
  for (const cr of state.subnets) {
    const name = cr.metadata.name;
    const held = state.reservations[name];
    const status = cr.status as { v4usingIPs?: unknown; v6usingIPs?: unknown } | undefined;
    if (!held || cr.metadata.deletionTimestamp || !status) continue;
    const why: string[] = [];
    for (const [family, shown] of [
      ['v4', status.v4usingIPs],
      ['v6', status.v6usingIPs],
    ] as const) {
      if (typeof shown !== 'number') continue;
      const actual = held.filter((r) => r[family]).length;
      if (shown !== actual) why.push(`${family}usingIPs ${shown}, the allocator holds ${actual}`);
    }
    if (why.length === 0) continue;
    out.push({
      kind: DriftKind.StaleSubnetCounts,
      object: `Subnet/${name}`,
      detail: `status counts differ: ${why.join('; ')}`,
      repair: "re-run the Subnet reconciler (writes the counts from the allocator's)",
      action: { type: 'reconcile', kind: 'Subnet', name },
    });
  }
  return out;
}
