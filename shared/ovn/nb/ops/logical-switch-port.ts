// Operations on Logical_Switch_Port: a pod's port, a Vip's virtual port(s), their parents, and
// deletion. Pure: callers send what these return as one transaction. A new port is inserted and
// added to its switch in the same transaction (NB garbage-collects unreferenced ports), guarded by
// a wait on its name so two creators cannot both insert.
import { v6PortName } from '../../../domain/ownership.ts';
import { portSecurityElement } from '../../../domain/port-security.ts';
import {
  map,
  mutation,
  namedUuid,
  type Operation,
  op,
  set,
  uuid,
  where,
  whereUuid,
} from '../../../ovsdb/protocol.ts';
import { type LogicalSwitchPort, LogicalSwitchPortColumns, Table, VENDOR } from '../model.ts';
import {
  addPortsToSwitch,
  addPortToSwitch,
  removePortFromSwitches,
  removePortsFromSwitch,
  sameRecord,
} from './logical-switch.ts';

/** What a port should look like; `name` is its unique index. */
export interface PortSpec {
  name: string;
  switchName: string;
  type: string;
  addresses: string[];
  options: Record<string, string>;
  externalIds: Record<string, string>;
  portSecurity: string[];
}

export interface PodPortInput {
  switchName: string;
  /** `<pod>.<namespace>` (or `<pod>.<namespace>.<provider>` for an extra NIC). */
  name: string;
  mac: string;
  /** One address per family: `[v4]`, `[v6]` or `[v4, v6]`. */
  ips: string[];
  pod: string;
  namespace: string;
  externalIds?: Record<string, string>;
  /**
   * Addresses beyond its own the port may send from (the Vips it is a virtual parent of), for a
   * port being created. An existing port keeps the ones it has: the port-security refresh owns them.
   */
  extraSecurity?: readonly string[];
}

/**
 * A pod's port. Port security is on from the start (kube-ovn's way): the port may send only from
 * its own MAC and addresses plus, for a virtual parent, its Vips' addresses. Without it another
 * pod's gratuitous ARP for a Vip would reach every pod on the switch and move their ARP entries.
 * `current` is the port as read: its extra addresses are kept while its own ones are replaced.
 */
export function podPortSpec(p: PodPortInput, current?: LogicalSwitchPort): PortSpec {
  const extra = current ? extraSecurityAddresses(current) : (p.extraSecurity ?? []);
  return {
    name: p.name,
    switchName: p.switchName,
    type: '',
    addresses: [[p.mac, ...p.ips].join(' ')],
    options: {},
    // Only ls, vendor and pod are ours: keys kube-ovn keeps there (its security groups'
    // `associated_sg_<sg>`, `security_groups`, `vips`) stay, so its security group sync still
    // finds the port after this system (re)writes it.
    externalIds: {
      ...current?.externalIds,
      ls: p.switchName,
      vendor: VENDOR,
      pod: `${p.namespace}/${p.pod}`,
      ...p.externalIds,
    },
    portSecurity: [portSecurityElement(p.mac, [...p.ips, ...extra])],
  };
}

/** A pod port's own MAC and addresses, from its `addresses` column ("<mac> <ip>[ <ip6>]"). */
export function ownAddresses(
  port: Pick<LogicalSwitchPort, 'addresses'>,
): { mac: string; ips: string[] } | undefined {
  const [mac, ...ips] = (port.addresses[0] ?? '').split(' ').filter(Boolean);
  if (!mac || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) return undefined;
  return { mac, ips };
}

/** What a pod port's port_security allows beyond its own addresses (a parent's Vips), in order. */
export function extraSecurityAddresses(
  port: Pick<LogicalSwitchPort, 'addresses' | 'portSecurity'>,
): string[] {
  const own = new Set(ownAddresses(port)?.ips ?? []);
  const [, ...allowed] = (port.portSecurity?.[0] ?? '').split(' ').filter(Boolean);
  return allowed.filter((a) => !own.has(a));
}

export const VIRTUAL_IP = 'virtual-ip';
export const VIRTUAL_PARENTS = 'virtual-parents';

/** Parents as OVN and the seed show them: deduplicated, sorted, comma-joined; the key is absent when none. */
export function withParents(
  options: Record<string, string>,
  parents: readonly string[],
): Record<string, string> {
  const out = { ...options };
  const list = [...new Set(parents.map((p) => p.trim()).filter(Boolean))].sort();
  if (list.length > 0) out[VIRTUAL_PARENTS] = list.join(',');
  else delete out[VIRTUAL_PARENTS];
  return out;
}

export const parentsOf = (port: Pick<LogicalSwitchPort, 'options'>): string[] =>
  (port.options[VIRTUAL_PARENTS] ?? '').split(',').filter(Boolean);

export interface VirtualPortInput {
  switchName: string;
  name: string;
  virtualIp: string;
  /** The full parent list; omitted = keep whatever parents the port has (none when created). */
  parents?: readonly string[];
}

/**
 * A Vip's port exactly as the seed shows it: type virtual, no addresses, external_ids ls + vendor.
 * `current` supplies the parents to keep when the input leaves them out.
 */
export function virtualPortSpec(v: VirtualPortInput, current?: LogicalSwitchPort): PortSpec {
  const parents = v.parents ?? (current ? parentsOf(current) : []);
  return {
    name: v.name,
    switchName: v.switchName,
    type: 'virtual',
    addresses: [],
    options: withParents({ [VIRTUAL_IP]: v.virtualIp }, parents),
    // ls and vendor are ours; other keys (kube-ovn's) are kept.
    externalIds: { ...current?.externalIds, ls: v.switchName, vendor: VENDOR },
    portSecurity: [],
  };
}

// A Vip's port names (`<vip>`, and `<vip>_v6` for the second family of a dual-stack Vip) are the
// domain's: shared/domain/ownership.ts, where the sweep and the audit read them back.
export { vipPortNames } from '../../../domain/ownership.ts';

export interface VipPortsInput {
  switchName: string;
  vipName: string;
  v4ip?: string;
  v6ip?: string;
  /** Omitted = keep the parents the ports have. */
  parents?: readonly string[];
}

/** The virtual port(s) of one Vip: one per family (OVN 23.03's `virtual-ip` holds one address). */
export function vipVirtualPortInputs(v: VipPortsInput): VirtualPortInput[] {
  const out: VirtualPortInput[] = [];
  const base = { switchName: v.switchName, ...(v.parents && { parents: v.parents }) };
  if (v.v4ip) out.push({ ...base, name: v.vipName, virtualIp: v.v4ip });
  if (v.v6ip) out.push({ ...base, name: v.v4ip ? v6PortName(v.vipName) : v.vipName, virtualIp: v.v6ip });
  return out;
}

export const selectPortByName = (name: string): Operation =>
  op.select(Table.LogicalSwitchPort, [where('name', '==', name)], LogicalSwitchPortColumns);

const portRow = (
  s: Pick<PortSpec, 'type' | 'addresses' | 'options' | 'externalIds'> & { portSecurity?: string[] },
) => ({
  type: s.type,
  addresses: set(s.addresses),
  options: map(s.options),
  external_ids: map(s.externalIds),
  port_security: set(s.portSecurity ?? []),
});

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const sb = [...b].sort();
  return a.length === b.length && [...a].sort().every((x, i) => x === sb[i]);
};

/**
 * Inserts the port and adds it to its switch by name. No wait is needed: `name` is the table's
 * unique index, so a concurrent or repeated create fails with ConstraintViolation instead of
 * inserting a second row (and a wait on the name would cost the server a scan of every port).
 */
export function createPortOps(spec: PortSpec, tag = 'new_port'): Operation[] {
  return [
    op.insert(Table.LogicalSwitchPort, { name: spec.name, ...portRow(spec) }, tag),
    addPortToSwitch({ name: spec.switchName }, namedUuid(tag)),
  ];
}

/**
 * Inserts several ports of one switch and adds them all with one `mutate` of its `ports`: the
 * server's cost of changing the set (its copy, the old/new comparison for reference counts, the
 * column diff it logs) grows with the set's size and is paid once per mutate, so one mutate for k
 * ports costs about what one port's does. Insert i is operation i; the mutate comes last.
 */
export function createPortsOps(
  switchName: string,
  specs: readonly PortSpec[],
  tagPrefix = 'new_port',
): Operation[] {
  const tags = specs.map((_, i) => `${tagPrefix}${i}`);
  return [
    ...specs.map((spec, i) =>
      op.insert(Table.LogicalSwitchPort, { name: spec.name, ...portRow(spec) }, tags[i]),
    ),
    addPortsToSwitch({ name: switchName }, tags.map(namedUuid)),
  ];
}

export function samePort(current: LogicalSwitchPort, spec: PortSpec): boolean {
  return (
    current.type === spec.type &&
    sameSet(current.addresses, spec.addresses) &&
    sameSet(current.portSecurity ?? [], spec.portSecurity) &&
    sameRecord(current.options, spec.options) &&
    sameRecord(current.externalIds, spec.externalIds)
  );
}

/** Fails the transaction unless the port still has the values it was read with. */
export const guardPort = (current: LogicalSwitchPort): Operation =>
  op.wait(
    Table.LogicalSwitchPort,
    [whereUuid(current.uuid)],
    ['type', 'addresses', 'options', 'external_ids', 'port_security'],
    [portRow(current)],
  );

/**
 * Brings an existing port to the spec, guarded by the values read; if it sits in another switch
 * (its `ls` external id differs) it is moved in the same transaction. [] if nothing changes.
 */
export function updatePortOps(current: LogicalSwitchPort, spec: PortSpec): Operation[] {
  if (samePort(current, spec)) return [];
  const ops = [
    guardPort(current),
    op.update(Table.LogicalSwitchPort, [whereUuid(current.uuid)], portRow(spec)),
  ];
  if (current.externalIds.ls !== spec.switchName) {
    ops.push(
      removePortFromSwitches(current.uuid),
      addPortToSwitch({ name: spec.switchName }, uuid(current.uuid)),
    );
  }
  return ops;
}

/** Detaches the port from its switch and deletes it; a no-op if another deleter was first. */
export function deletePortOps(portUuid: string): Operation[] {
  return [removePortFromSwitches(portUuid), op.delete(Table.LogicalSwitchPort, [whereUuid(portUuid)])];
}

/**
 * Deletes several ports, each detached from the switch its `ls` external id names, with one mutate
 * per switch (the server's cost of a mutate grows with the set). A port held by another switch
 * than it says makes the delete fail (still referenced: referential integrity), so nothing is
 * left half done; deleting a port already gone is a no-op.
 */
export function deletePortsOps(ports: readonly { uuid: string; switchName: string }[]): Operation[] {
  const bySwitch = new Map<string, string[]>();
  for (const p of ports) bySwitch.set(p.switchName, [...(bySwitch.get(p.switchName) ?? []), p.uuid]);
  return [
    ...[...bySwitch].map(([sw, uuids]) => removePortsFromSwitch(sw, uuids.map(uuid))),
    ...ports.map((p) => op.delete(Table.LogicalSwitchPort, [whereUuid(p.uuid)])),
  ];
}

/** Sets a port's options, guarded by everything read with it; [] if they are already so. */
export function setPortOptionsOps(current: LogicalSwitchPort, options: Record<string, string>): Operation[] {
  if (sameRecord(current.options, options)) return [];
  return [
    guardPort(current),
    op.update(Table.LogicalSwitchPort, [whereUuid(current.uuid)], { options: map(options) }),
  ];
}

/** Sets a pod port's port_security, guarded by everything read with it; [] if it is already so. */
export function setPortSecurityOps(current: LogicalSwitchPort, portSecurity: readonly string[]): Operation[] {
  if (sameSet(current.portSecurity ?? [], portSecurity)) return [];
  return [
    guardPort(current),
    op.update(Table.LogicalSwitchPort, [whereUuid(current.uuid)], { port_security: set(portSecurity) }),
  ];
}

export const samePortSecurity = (a: readonly string[], b: readonly string[]) => sameSet(a, b);

/**
 * Sets a virtual port's `virtual-parents` to `parents` with a mutate of that one key (delete it,
 * insert the new value), guarded by a wait on the `options` the caller read: two writers that
 * read the same list cannot both commit, so each one's add or remove is applied to the other's
 * result on its retry, never lost. (`virtual-parents` is one comma-joined string in a map, not a
 * set column, so the guard is what makes concurrent changes of one list commute.) [] if unchanged.
 */
export function virtualParentsMutateOps(current: LogicalSwitchPort, parents: readonly string[]): Operation[] {
  const next = withParents(current.options, parents);
  if (sameRecord(current.options, next)) return [];
  const value = next[VIRTUAL_PARENTS];
  return [
    guardOptions(current),
    op.mutate(
      Table.LogicalSwitchPort,
      [whereUuid(current.uuid)],
      [
        mutation('options', 'delete', set([VIRTUAL_PARENTS])),
        ...(value !== undefined ? [mutation('options', 'insert', map({ [VIRTUAL_PARENTS]: value }))] : []),
      ],
    ),
  ];
}

/** Fails the transaction unless the port's `options` (a virtual port's address and parents) are as read. */
export const guardOptions = (current: LogicalSwitchPort): Operation =>
  op.wait(
    Table.LogicalSwitchPort,
    [whereUuid(current.uuid)],
    ['options'],
    [{ options: map(current.options) }],
  );
