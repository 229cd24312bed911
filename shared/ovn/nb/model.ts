// Typed rows of the OVN Northbound tables this system writes (schema 7.0.0, OVN 23.03), decoded
// from the generic OVSDB notation. Only the columns we read or write are modelled.
import {
  type Atom,
  atomString,
  mapRecord,
  optional,
  type Row,
  setValues,
  uuidString,
} from '../../ovsdb/protocol.ts';

export const NB_DATABASE = 'OVN_Northbound';

export const Table = {
  LogicalSwitch: 'Logical_Switch',
  LogicalSwitchPort: 'Logical_Switch_Port',
  LoadBalancer: 'Load_Balancer',
  LoadBalancerHealthCheck: 'Load_Balancer_Health_Check',
} as const;

/** The `vendor` external id kube-ovn puts on what it owns. */
export const VENDOR = 'kube-ovn';

export interface LogicalSwitch {
  uuid: string;
  name: string;
  /** other_config: subnet, exclude_ips, gateway (as kube-ovn sets them). */
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
  /** Only filled when the `ports` column was read (it can be large). */
  ports?: string[];
  loadBalancers: string[];
}

export const LogicalSwitchColumns = [
  '_uuid',
  'name',
  'other_config',
  'external_ids',
  'load_balancer',
] as const;

export type PortType = '' | 'virtual' | 'router' | 'localnet' | 'localport' | 'external' | string;

export interface LogicalSwitchPort {
  uuid: string;
  name: string;
  type: PortType;
  addresses: string[];
  options: Record<string, string>;
  externalIds: Record<string, string>;
  /**
   * Pod ports: one element "<mac> <ips> [<vips>]" (see ops/logical-switch-port.ts); [] otherwise.
   * Always filled when read from NB; optional so rows built by hand elsewhere need not name it.
   */
  portSecurity?: string[];
  up?: boolean;
}

export const LogicalSwitchPortColumns = [
  '_uuid',
  'name',
  'type',
  'addresses',
  'options',
  'external_ids',
  'port_security',
  'up',
] as const;

export type LbProtocol = 'tcp' | 'udp' | 'sctp';

export interface LoadBalancer {
  uuid: string;
  name: string;
  /** Front end `ip:port` (IPv6 `[ip]:port`) to back ends `ip:port,ip:port`. */
  vips: Record<string, string>;
  protocol?: LbProtocol;
  options: Record<string, string>;
  externalIds: Record<string, string>;
  /** Load_Balancer_Health_Check row uuids (strong references: an unreferenced check is collected). */
  healthChecks: string[];
  /** Back-end IP -> `<its logical switch port>:<probe source IP>`, for ovn-controller's probes. */
  ipPortMappings: Record<string, string>;
}

export const LoadBalancerColumns = [
  '_uuid',
  'name',
  'vips',
  'protocol',
  'options',
  'external_ids',
  'health_check',
  'ip_port_mappings',
] as const;

/** One Load_Balancer_Health_Check row: probes the back ends of one front end `vip:port`. */
export interface LoadBalancerHealthCheck {
  uuid: string;
  vip: string;
  options: Record<string, string>;
  externalIds: Record<string, string>;
}

export const LoadBalancerHealthCheckColumns = ['_uuid', 'vip', 'options', 'external_ids'] as const;

export function healthCheckFromRow(row: Row): LoadBalancerHealthCheck {
  return {
    uuid: uuidString(row._uuid),
    vip: str(optional(row.vip)),
    options: mapRecord(row.options),
    externalIds: mapRecord(row.external_ids),
  };
}

const str = (a: Atom | undefined) => (a === undefined ? '' : atomString(a));

export function logicalSwitchFromRow(row: Row): LogicalSwitch {
  const ls: LogicalSwitch = {
    uuid: uuidString(row._uuid),
    name: str(optional(row.name)),
    otherConfig: mapRecord(row.other_config),
    externalIds: mapRecord(row.external_ids),
    loadBalancers: setValues(row.load_balancer).map(atomString),
  };
  if (row.ports !== undefined) ls.ports = setValues(row.ports).map(atomString);
  return ls;
}

export function logicalSwitchPortFromRow(row: Row): LogicalSwitchPort {
  const up = optional(row.up);
  return {
    uuid: uuidString(row._uuid),
    name: str(optional(row.name)),
    type: str(optional(row.type)),
    addresses: setValues(row.addresses).map(atomString),
    options: mapRecord(row.options),
    externalIds: mapRecord(row.external_ids),
    portSecurity: setValues(row.port_security).map(atomString),
    ...(typeof up === 'boolean' && { up }),
  };
}

export function loadBalancerFromRow(row: Row): LoadBalancer {
  const protocol = optional(row.protocol);
  return {
    uuid: uuidString(row._uuid),
    name: str(optional(row.name)),
    vips: mapRecord(row.vips),
    ...(protocol !== undefined && { protocol: atomString(protocol) as LbProtocol }),
    options: mapRecord(row.options),
    externalIds: mapRecord(row.external_ids),
    healthChecks: setValues(row.health_check).map(atomString),
    ipPortMappings: mapRecord(row.ip_port_mappings),
  };
}
