// The audit's decisions: given one snapshot of the API server, Redis and OVN NB, what disagrees
// and what repair would do about it. Pure: the same functions the reconcilers use decide what
// each object should own, so the audit cannot drift from the handlers' own idea of "correct";
// whether a reservation or port has a live owner is shared/domain/ownership.ts's judgement, the
// one the sweep uses.
import { type VirtualParent, virtualParents } from '../domain/aap.ts';
import { IP_RESERVED_LABEL } from '../domain/annotations.ts';
import {
  judgePort,
  judgeReservation,
  type LiveNic,
  liveOwners,
  livePodPorts,
  ownerSide,
  parseOwner,
  placementsOf,
  podOwner,
  vipOfPort,
  vipOwner,
  vipSubnet,
} from '../domain/ownership.ts';
import { readPodAnnotations } from '../domain/pod-annotations.ts';
import type { SubnetPlacement } from '../domain/pod-network.ts';
import { parseSubnet } from '../domain/subnet-status.ts';
import {
  backendAddresses,
  desiredSwitchLoadBalancers,
  type LoadBalancerRow,
  parseSwitchLbRule,
  ruleVip,
} from '../domain/switch-lb.ts';
import type { Pod } from '../domain/types.ts';
import { keepOrphanBinding, podVipName, portOwnerHint } from '../domain/vip-binding.ts';
import { type AssignedVip, parseVipSpec, vipUsage } from '../domain/vip-spec.ts';
import { assignedFromVip } from '../domain/vip-status.ts';
import { desiredVirtualPorts, type VirtualPortRow } from '../domain/virtual-port.ts';
import { type Reservation, subnetRange } from '../ipam/index.ts';
import { type LogicalSwitchPort, parentsOf, VENDOR, VIRTUAL_IP } from '../ovn/nb/index.ts';
import { type Drift, DriftKind, type ObservedState } from './types.ts';

/** Ports bound to Vips (ip_reserved labels) that no existing pod has: the workloads to look up. */
export function orphanBindingPorts(state: Pick<ObservedState, 'vips' | 'pods' | 'subnets' | 'keepVmIp'>) {
  const live = livePodPorts(state.pods, placementsOf(state.subnets), state.keepVmIp ?? true);
  return state.vips
    .map((v) => v.metadata.labels?.[IP_RESERVED_LABEL] ?? '')
    .filter((p) => p !== '' && !live.has(p));
}

const podRef = (p: Pod) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
const addrText = (a: { v4?: string | undefined; v6?: string | undefined; mac?: string | undefined }) =>
  [a.v4, a.v6, a.mac].filter(Boolean).join(' ') || 'nothing';
const upper = (s: string | undefined) => s?.toUpperCase();
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function compareState(state: ObservedState): Drift[] {
  const keepVmIp = state.keepVmIp ?? true;
  const placements = placementsOf(state.subnets);
  const owners = liveOwners(state.vips, state.pods, placements, keepVmIp);
  const live = owners.podPorts;
  const vipsByName = owners.vips;
  const portsByName = new Map(state.ports.map((p) => [p.name, p]));
  const byOwner = new Map<string, Reservation>();
  for (const [subnet, list] of Object.entries(state.reservations))
    for (const r of list) byOwner.set(`${subnet}|${r.owner}`, r);
  const reservation = (subnet: string, owner: string) => byOwner.get(`${subnet}|${owner}`);
  const holderOf = new Map<string, string>(); // `<subnet>|<address or MAC>` -> owner
  for (const r of byOwner.values())
    for (const a of [r.v4, r.v6, r.mac]) if (a) holderOf.set(`${r.subnet}|${a.toUpperCase()}`, r.owner);
  /** Another owner holding one of these addresses, which a repair would then collide with. */
  const takenBy = (subnet: string, owner: string, addrs: (string | undefined)[]) =>
    addrs
      .filter((a): a is string => !!a)
      .map((a) => holderOf.get(`${subnet}|${a.toUpperCase()}`))
      .find((h) => h !== undefined && h !== owner);
  const drifts: Drift[] = [];
  const claims = new Map<string, string[]>(); // `<subnet>|<address>` -> claimants

  const claim = (subnet: string, address: string | undefined, who: string) => {
    if (!address) return;
    const k = `${subnet}|${address}`;
    claims.set(k, [...(claims.get(k) ?? []), who]);
  };

  // ---- Vips: reservation, status, virtual ports
  const wantedVirtualPorts = new Set<string>();
  for (const vip of state.vips) {
    const name = vip.metadata.name;
    const deleting = !!vip.metadata.deletionTimestamp;
    const assigned = vip.status?.ready ? assignedFromVip(vip) : undefined;
    if (!assigned || deleting) continue;
    const subnet = assigned.subnet;
    claim(subnet, assigned.v4ip, `Vip/${name}`);
    claim(subnet, assigned.v6ip, `Vip/${name}`);
    const res = reservation(subnet, vipOwner(name));
    if (!res) {
      drifts.push({
        kind: DriftKind.MissingReservation,
        object: `Vip/${name}`,
        detail: `status shows ${addrText({ v4: assigned.v4ip, v6: assigned.v6ip, mac: assigned.mac })} but subnet ${subnet} holds nothing for ${vipOwner(name)}`,
        repair: `re-run the Vip reconciler (reserves the status addresses again)`,
        action: { type: 'reconcile', kind: 'Vip', name },
      });
    } else if (!sameAddresses(assigned, res)) {
      const shown = addrText({ v4: assigned.v4ip, v6: assigned.v6ip, mac: assigned.mac });
      const other = takenBy(subnet, vipOwner(name), [assigned.v4ip, assigned.v6ip, assigned.mac]);
      drifts.push({
        kind: DriftKind.StatusMismatch,
        object: `Vip/${name}`,
        detail: `status shows ${shown}, reservation holds ${addrText(res)}${other ? ` (${other} holds the status address)` : ''}`,
        // The allocator's record is the truth and a status is only a report of it: an edited
        // status must never move the reservation (that made status a back door to any address).
        repair: `rewrite the Vip status from the reservation (${addrText(res)}), then re-run the Vip reconciler`,
        action: { type: 'rewrite-vip-status', name, subnet },
      });
    }
    const parsed = parseVipSpec(vip.spec);
    if (!parsed.ok || vipUsage(parsed.spec) !== 'aap') continue;
    const parents = virtualParents(
      { name, subnet, namespace: parsed.spec.namespace!, selector: parsed.spec.selector },
      state.pods,
      placements,
      { keepVmIp },
    );
    for (const row of desiredRowsOf(name, assigned, parsed.spec.namespace!, parents)) {
      wantedVirtualPorts.add(row.name);
      drifts.push(...compareVirtualPort(name, row, portsByName.get(row.name)));
    }
  }

  // ---- Pods: reservation and port of each allocated NIC
  for (const { pod, nic } of live.values()) {
    const ann = readPodAnnotations(pod, nic.provider);
    if (!ann.allocated) continue;
    const ref = podRef(pod);
    const boundVip = nic.primary ? podVipName(pod) : undefined;
    if (!boundVip) {
      claim(nic.subnet, ann.v4, `Pod/${ref}`);
      claim(nic.subnet, ann.v6, `Pod/${ref}`);
      const owner = podOwner(nic.portName);
      const res = reservation(nic.subnet, owner);
      const restore = {
        type: 'restore-pod-reservation' as const,
        subnet: nic.subnet,
        owner,
        ...(ann.v4 ? { v4: ann.v4 } : {}),
        ...(ann.v6 ? { v6: ann.v6 } : {}),
        ...(ann.mac ? { mac: ann.mac } : {}),
        namespace: pod.metadata.namespace ?? 'default',
        pod: pod.metadata.name,
      };
      if (!res) {
        drifts.push({
          kind: DriftKind.MissingReservation,
          object: `Pod/${ref}`,
          detail: `port ${nic.portName} is annotated ${addrText(ann)} but subnet ${nic.subnet} holds nothing for ${owner}`,
          repair: `reserve the annotated addresses for ${owner}, then re-run the pod reconciler`,
          action: restore,
        });
      } else if (!sameAddresses({ v4ip: ann.v4, v6ip: ann.v6, mac: upper(ann.mac) }, res)) {
        const other = takenBy(nic.subnet, owner, [ann.v4, ann.v6, ann.mac]);
        drifts.push({
          kind: DriftKind.StatusMismatch,
          object: `Pod/${ref}`,
          detail: `port ${nic.portName} is annotated ${addrText(ann)}, reservation holds ${addrText(res)}${other ? ` (${other} holds the annotated address)` : ''}`,
          // a manual holder is moved off first (manual-on-kubernetes-address), so restore then
          repair:
            other && ownerSide(other) === 'kubernetes'
              ? `none automatic: two owners want one address; delete or re-create one of them`
              : `replace the reservation with the annotated addresses, then re-run the pod reconciler`,
          action: other && ownerSide(other) === 'kubernetes' ? { type: 'manual' } : restore,
        });
      }
    }
    const port = portsByName.get(nic.portName);
    const reconcilePod = {
      type: 'reconcile' as const,
      kind: 'Pod' as const,
      name: pod.metadata.name,
      namespace: pod.metadata.namespace ?? 'default',
    };
    if (!port) {
      drifts.push({
        kind: DriftKind.MissingPort,
        object: `Pod/${ref}`,
        detail: `allocated NIC has no logical switch port ${nic.portName} on ${nic.subnet}`,
        repair: 're-run the pod reconciler (creates the port)',
        action: reconcilePod,
      });
      continue;
    }
    const want = [ann.mac, ann.v4, ann.v6].filter((x): x is string => !!x).map((x) => x.toLowerCase());
    const have = (port.addresses[0] ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((x) => x.toLowerCase());
    const wrongSwitch = port.externalIds.ls !== undefined && port.externalIds.ls !== nic.subnet;
    if (wrongSwitch || !sameSet(want, have)) {
      drifts.push({
        kind: DriftKind.StalePort,
        object: `Port/${nic.portName}`,
        detail: wrongSwitch
          ? `port sits on ${port.externalIds.ls}, the pod's NIC is on ${nic.subnet}`
          : `port addresses "${have.join(' ')}", pod annotated "${want.join(' ')}"`,
        repair: `re-run the reconciler of pod ${ref} (rewrites the port)`,
        action: reconcilePod,
      });
    }
  }

  // ---- Reservations: owners the API server no longer has
  for (const [subnet, list] of Object.entries(state.reservations)) {
    for (const res of list) {
      const judged = judgeReservation(subnet, res.owner, owners);
      if (judged.verdict !== 'gone' && judged.verdict !== 'misplaced') continue;
      const why = judged.why;
      drifts.push({
        kind: DriftKind.LeakedReservation,
        object: `Reservation/${subnet}/${res.owner}`,
        detail: `${addrText(res)} held, but ${why}`,
        repair: `release ${res.owner} in ${subnet}`,
        action: { type: 'release', subnet, owner: res.owner },
      });
    }
  }

  // ---- NB ports nothing in the API server owns
  for (const port of state.ports) {
    if (port.externalIds.vendor !== VENDOR) continue;
    const judged = judgePort(
      { name: port.name, type: port.type, pod: port.externalIds.pod },
      owners,
      wantedVirtualPorts,
    );
    if (judged.verdict === 'owned' || judged.verdict === 'not-judged') continue;
    const why = judged.why;
    drifts.push({
      kind: DriftKind.OrphanPort,
      object: `Port/${port.name}`,
      detail: why,
      repair: `delete logical switch port ${port.name}`,
      action: {
        type: 'delete-port',
        name: port.name,
        ...(port.type === 'virtual' && !vipsByName.has(vipOfPort(port.name))
          ? { vip: vipOfPort(port.name) }
          : {}),
      },
    });
  }

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

  // ---- Subnets without their logical switch
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

  drifts.push(...compareOwnership(state, live, holderOf));
  drifts.push(...compareRegistrations(state, holderOf));
  drifts.push(...compareSubnetCounts(state));

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

function sameAddresses(
  a:
    | Pick<AssignedVip, 'v4ip' | 'v6ip' | 'mac'>
    | { v4ip?: string | undefined; v6ip?: string | undefined; mac?: string | undefined },
  r: Reservation,
): boolean {
  return (
    (a.v4ip ?? undefined) === (r.v4 ?? undefined) &&
    (a.v6ip ?? undefined) === (r.v6 ?? undefined) &&
    (!a.mac || a.mac.toUpperCase() === r.mac.toUpperCase())
  );
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ');

function desiredRowsOf(
  name: string,
  assigned: AssignedVip,
  namespace: string,
  parents: readonly VirtualParent[],
): VirtualPortRow[] {
  return desiredVirtualPorts(
    {
      name,
      subnet: assigned.subnet,
      type: '',
      namespace,
      ...(assigned.v4ip ? { v4: assigned.v4ip } : {}),
      ...(assigned.v6ip ? { v6: assigned.v6ip } : {}),
    },
    parents.map((p) => p.portName),
  );
}

function compareVirtualPort(vip: string, row: VirtualPortRow, port: LogicalSwitchPort | undefined): Drift[] {
  const action = { type: 'reconcile' as const, kind: 'Vip' as const, name: vip };
  if (!port) {
    return [
      {
        kind: DriftKind.MissingPort,
        object: `Vip/${vip}`,
        detail: `AAP Vip has no virtual port ${row.name} (virtual-ip ${row.virtualIp}) on ${row.switchName}`,
        repair: 're-run the Vip reconciler (creates the virtual port)',
        action,
      },
    ];
  }
  const out: Drift[] = [];
  if (port.type !== 'virtual' || port.options[VIRTUAL_IP] !== row.virtualIp) {
    out.push({
      kind: DriftKind.StalePort,
      object: `Port/${row.name}`,
      detail: `type "${port.type}" virtual-ip ${port.options[VIRTUAL_IP] ?? '(none)'}, want virtual ${row.virtualIp}`,
      repair: `re-run the reconciler of Vip ${vip} (rewrites the port)`,
      action,
    });
  }
  const have = [...parentsOf(port)].sort();
  if (have.join(',') !== row.parents.join(',')) {
    out.push({
      kind: DriftKind.WrongParents,
      object: `Port/${row.name}`,
      detail: `virtual-parents [${have.join(',')}], the selected pods give [${row.parents.join(',')}]`,
      repair: `re-run the reconciler of Vip ${vip} (sets the parents)`,
      action,
    });
  }
  return out;
}

function compareLoadBalancers(
  state: ObservedState,
  placements: readonly SubnetPlacement[],
  keepVmIp: boolean,
): Drift[] {
  const out: Drift[] = [];
  const rulesByName = new Map(state.rules.map((r) => [r.metadata.name, r]));
  const lbsByName = new Map(state.loadBalancers.map((lb) => [lb.name, lb]));
  const wanted = new Map<string, LoadBalancerRow>();
  const unknown = new Set<string>(); // rules whose wanted rows cannot be told (invalid spec)
  for (const rule of state.rules) {
    const parsed = parseSwitchLbRule(rule);
    if (!parsed.ok) {
      unknown.add(rule.metadata.name);
      continue;
    }
    const vip = ruleVip(parsed.rule.vip, state.vips);
    if (!vip.ok) continue;
    const backends = backendAddresses(parsed.rule, vip.subnet, state.pods, placements, { keepVmIp });
    for (const row of desiredSwitchLoadBalancers(parsed.rule, vip.subnet, backends))
      wanted.set(row.name, row);
  }
  for (const [name, row] of wanted) {
    const rule = row.externalIds['switch-lb-rule'];
    const action = { type: 'reconcile' as const, kind: 'SwitchLBRule' as const, name: rule };
    const lb = lbsByName.get(name);
    if (!lb) {
      out.push({
        kind: DriftKind.MissingLoadBalancer,
        object: `SwitchLBRule/${rule}`,
        detail: `no load balancer ${name}`,
        repair: 're-run the SwitchLBRule reconciler (creates it)',
        action,
      });
      continue;
    }
    const have = normaliseVips(lb.vips);
    const want = normaliseVips(row.vips);
    if (have !== want) {
      out.push({
        kind: DriftKind.StaleLoadBalancer,
        object: `LoadBalancer/${name}`,
        detail: `vips {${have}}, rule gives {${want}}`,
        repair: `re-run the reconciler of SwitchLBRule ${rule} (rewrites the back ends)`,
        action,
      });
    }
  }
  for (const lb of state.loadBalancers) {
    const rule = lb.externalIds['switch-lb-rule'];
    if (rule === undefined || wanted.has(lb.name) || unknown.has(rule)) continue;
    out.push({
      kind: DriftKind.OrphanLoadBalancer,
      object: `LoadBalancer/${lb.name}`,
      detail: rulesByName.has(rule)
        ? `SwitchLBRule ${rule} does not want it (protocol unused or its Vip is not reserved)`
        : `SwitchLBRule ${rule} does not exist`,
      repair: `delete load balancer ${lb.name}`,
      action: { type: 'delete-lb', name: lb.name, rule },
    });
  }
  return out;
}

function normaliseVips(vips: Readonly<Record<string, string>>): string {
  return Object.entries(vips)
    .map(([front, backs]) => `${front}=${backs.split(',').filter(Boolean).sort().join(',')}`)
    .sort()
    .join(' ');
}

function compareBindings(
  state: ObservedState,
  live: ReadonlyMap<string, LiveNic>,
  keepVmIp: boolean,
): Drift[] {
  const out: Drift[] = [];
  for (const vip of state.vips) {
    const port = vip.metadata.labels?.[IP_RESERVED_LABEL] ?? '';
    if (port === '' || live.has(port)) continue;
    const hint = portOwnerHint(port);
    const statefulSet = hint?.statefulSet
      ? state.workloads?.statefulSets.find(
          (s) =>
            s.metadata.name === hint.statefulSet!.name &&
            (s.metadata.namespace ?? hint.namespace) === hint.namespace,
        )
      : undefined;
    const vm = hint
      ? state.workloads?.vms.find(
          (m) =>
            m.metadata.name === hint.vmName && (m.metadata.namespace ?? hint.namespace) === hint.namespace,
        )
      : undefined;
    const owners = { ...(statefulSet ? { statefulSet } : {}), ...(vm ? { vm } : {}) };
    if (keepOrphanBinding(port, owners, { keepVmIp })) continue;
    out.push({
      kind: DriftKind.StaleBinding,
      object: `Vip/${vip.metadata.name}`,
      detail: `held for port ${port}: no pod has it and no StatefulSet or VM will bring it back`,
      repair: `clear the ip_reserved label (the Vip keeps its address)`,
      action: { type: 'release-binding', port },
    });
  }
  return out;
}

function reconcileOf(object: string): Drift['action'] {
  const [kind, ...rest] = object.split('/');
  if (kind === 'Vip') return { type: 'reconcile', kind: 'Vip', name: rest.join('/') };
  const [namespace, name] = rest as [string, string];
  return { type: 'reconcile', kind: 'Pod', name, namespace };
}

/**
 * Addresses the Kubernetes side shows (a Vip's fixed spec addresses or Ready status, an allocated
 * pod's annotations) that a manual owner holds: the manual owner is moved to a free address and
 * the object then takes its own. Manual owners may reserve in a Kubernetes subnet, but an address
 * a Kubernetes object shows is that object's.
 */
function compareOwnership(
  state: ObservedState,
  live: ReadonlyMap<string, LiveNic>,
  holderOf: ReadonlyMap<string, string>,
): Drift[] {
  const out: Drift[] = [];
  const seen = new Set<string>();
  const check = (
    subnet: string,
    address: string | undefined,
    who: string,
    after: Extract<Drift['action'], { type: 'move-reservation' }>['after'],
  ) => {
    if (!address) return;
    const holder = holderOf.get(`${subnet}|${address.toUpperCase()}`);
    if (!holder || ownerSide(holder) !== 'manual' || seen.has(`${subnet}|${holder}|${address}`)) return;
    seen.add(`${subnet}|${holder}|${address}`);
    out.push({
      kind: DriftKind.ManualOnKubernetesAddress,
      object: `Reservation/${subnet}/${holder}`,
      detail: `manual owner holds ${address}, which ${who} shows`,
      repair: `move ${holder} to a free address (one atomic step), then ${who} takes ${address}`,
      action: { type: 'move-reservation', subnet, owner: holder, address, ...(after ? { after } : {}) },
    });
  };
  for (const vip of state.vips) {
    if (vip.metadata.deletionTimestamp) continue;
    const name = vip.metadata.name;
    const subnet = vipSubnet(vip);
    const after = { type: 'reconcile' as const, kind: 'Vip' as const, name };
    check(subnet, vip.spec.v4ip, `Vip ${name}'s spec`, after);
    check(subnet, vip.spec.v6ip, `Vip ${name}'s spec`, after);
    if (vip.status?.ready) {
      check(subnet, vip.status.v4ip, `Vip ${name}'s status`, after);
      check(subnet, vip.status.v6ip, `Vip ${name}'s status`, after);
    }
  }
  for (const { pod, nic } of live.values()) {
    const ann = readPodAnnotations(pod, nic.provider);
    if (!ann.allocated || (nic.primary && podVipName(pod))) continue;
    const after = {
      type: 'restore-pod-reservation' as const,
      subnet: nic.subnet,
      owner: podOwner(nic.portName),
      ...(ann.v4 ? { v4: ann.v4 } : {}),
      ...(ann.v6 ? { v6: ann.v6 } : {}),
      ...(ann.mac ? { mac: ann.mac } : {}),
      namespace: pod.metadata.namespace ?? 'default',
      pod: pod.metadata.name,
    };
    check(nic.subnet, ann.v4, `pod ${podRef(pod)}'s annotation`, after);
    check(nic.subnet, ann.v6, `pod ${podRef(pod)}'s annotation`, after);
  }
  return out;
}

/**
 * The allocator's registrations against the Subnet objects: a reservation on a Subnet's gateway,
 * a registration that differs from its Subnet (or is not marked managed-by-Kubernetes), and what
 * a deleted Subnet left behind (its switch, its Kubernetes-managed registration).
 */
function compareRegistrations(state: ObservedState, holderOf: ReadonlyMap<string, string>): Drift[] {
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
