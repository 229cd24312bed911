// Operations on Logical_Switch. Pure: each function returns Operation[] for the caller to send in
// one transaction. Ports and load balancers are added or removed one uuid at a time (mutate), so
// the cost of a change does not grow with the switch's size.
import {
  map,
  mutation,
  type NamedUuid,
  type Operation,
  op,
  set,
  type Uuid,
  uuid,
  where,
  whereUuid,
} from '../../../ovsdb/protocol.ts';
import { type LogicalSwitch, LogicalSwitchColumns, Table, VENDOR } from '../model.ts';

export interface LogicalSwitchSpec {
  name: string;
  /** The subnet's CIDR block(s): `10.16.0.0/16`, `fd00:10:16::/64`, or both comma-separated. */
  cidrBlock: string;
  /** Addresses or `a..b` ranges the allocator never hands out (the gateway is usually one). */
  excludeIps?: string[];
  /** Gateway address(es), comma-separated for dual stack. */
  gateway?: string;
  externalIds?: Record<string, string>;
}

const isV6 = (s: string) => s.includes(':');

/**
 * The other_config keys kube-ovn writes: `subnet` (IPv4 CIDR, what ovn-northd's IPAM reads),
 * `ipv6_prefix` for an IPv6 block, `exclude_ips` (IPv4 only: northd rejects other families there)
 * and `gateway`.
 */
export function switchOtherConfig(spec: LogicalSwitchSpec): Record<string, string> {
  const blocks = spec.cidrBlock
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: Record<string, string> = {};
  const v4 = blocks.find((b) => !isV6(b));
  const v6 = blocks.find(isV6);
  if (v4) out.subnet = v4;
  if (v6) out.ipv6_prefix = v6.split('/')[0]!;
  const excludes = (spec.excludeIps ?? []).filter((e) => !isV6(e));
  if (v4 && excludes.length > 0) out.exclude_ips = excludes.join(' ');
  if (spec.gateway) out.gateway = spec.gateway;
  return out;
}

export function switchExternalIds(spec: LogicalSwitchSpec): Record<string, string> {
  return { vendor: VENDOR, ...spec.externalIds };
}

export const selectSwitchByName = (
  name: string,
  columns: readonly string[] = LogicalSwitchColumns,
): Operation => op.select(Table.LogicalSwitch, [where('name', '==', name)], columns);

/** Fails the transaction (WaitFailed) unless a switch with this name exists. */
export const requireSwitch = (name: string): Operation =>
  op.wait(Table.LogicalSwitch, [where('name', '==', name)], ['name'], [], '!=');

/** Creates the switch unless one with this name exists (then the transaction fails with WaitFailed). */
export function createSwitchOps(spec: LogicalSwitchSpec): Operation[] {
  return [
    op.wait(Table.LogicalSwitch, [where('name', '==', spec.name)], ['name'], []),
    op.insert(Table.LogicalSwitch, {
      name: spec.name,
      other_config: map(switchOtherConfig(spec)),
      external_ids: map(switchExternalIds(spec)),
    }),
  ];
}

/**
 * Brings an existing switch's managed keys to the spec, keeping keys others set; guarded by a wait
 * on the values read, so a concurrent change makes it fail instead of being overwritten. [] if
 * nothing changes.
 */
export function updateSwitchOps(current: LogicalSwitch, spec: LogicalSwitchSpec): Operation[] {
  const otherConfig = { ...current.otherConfig, ...switchOtherConfig(spec) };
  const externalIds = { ...current.externalIds, ...switchExternalIds(spec) };
  if (sameRecord(otherConfig, current.otherConfig) && sameRecord(externalIds, current.externalIds)) return [];
  return [
    op.wait(
      Table.LogicalSwitch,
      [whereUuid(current.uuid)],
      ['other_config', 'external_ids'],
      [{ other_config: map(current.otherConfig), external_ids: map(current.externalIds) }],
    ),
    op.update(Table.LogicalSwitch, [whereUuid(current.uuid)], {
      other_config: map(otherConfig),
      external_ids: map(externalIds),
    }),
  ];
}

/**
 * Deletes the switch, guarded by the load balancers read with it (a rule attaching one meanwhile
 * fails the wait: read again). Its ports go with it (OVSDB collects unreferenced ports); load
 * balancers are root rows, so the caller deletes those it owns in the same transaction.
 */
export function deleteSwitchOps(current: Pick<LogicalSwitch, 'uuid' | 'loadBalancers'>): Operation[] {
  return [
    op.wait(
      Table.LogicalSwitch,
      [whereUuid(current.uuid)],
      ['load_balancer'],
      [{ load_balancer: set(current.loadBalancers.map((u) => uuid(u))) }],
    ),
    op.delete(Table.LogicalSwitch, [whereUuid(current.uuid)]),
  ];
}

type SwitchRef = { uuid: string } | { name: string };
const switchWhere = (ref: SwitchRef) =>
  'uuid' in ref ? [whereUuid(ref.uuid)] : [where('name', '==', ref.name)];

export const addPortToSwitch = (sw: SwitchRef, port: Uuid | NamedUuid): Operation =>
  addPortsToSwitch(sw, [port]);

/** One mutate for several ports: the server's cost of a mutate grows with the set, once per mutate. */
export const addPortsToSwitch = (sw: SwitchRef, ports: readonly (Uuid | NamedUuid)[]): Operation =>
  op.mutate(Table.LogicalSwitch, switchWhere(sw), [mutation('ports', 'insert', set(ports))]);

/** Removes the port from whichever switch holds it. */
export const removePortFromSwitches = (portUuid: string): Operation =>
  op.mutate(
    Table.LogicalSwitch,
    [where('ports', 'includes', set([uuid(portUuid)]))],
    [mutation('ports', 'delete', set([uuid(portUuid)]))],
  );

/** Removes these ports from the named switch's `ports` in one mutate (absent ones: no-op). */
export const removePortsFromSwitch = (switchName: string, ports: readonly Uuid[]): Operation =>
  op.mutate(Table.LogicalSwitch, switchWhere({ name: switchName }), [
    mutation('ports', 'delete', set(ports)),
  ]);

export const addLoadBalancerToSwitch = (sw: SwitchRef, lb: Uuid | NamedUuid): Operation =>
  op.mutate(Table.LogicalSwitch, switchWhere(sw), [mutation('load_balancer', 'insert', set([lb]))]);

export const removeLoadBalancerFromSwitches = (lbUuid: string): Operation =>
  op.mutate(
    Table.LogicalSwitch,
    [where('load_balancer', 'includes', set([uuid(lbUuid)]))],
    [mutation('load_balancer', 'delete', set([uuid(lbUuid)]))],
  );

export function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
