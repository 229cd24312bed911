// Operations on Load_Balancer: one per SwitchLBRule, attached to its subnet's switch (a weak
// reference: deleting the balancer detaches it). Pure, like the other ops files. Health checks are
// rows of their own that only the balancer references (strongly: one no longer referenced is
// collected by the server), so changing them is inserting the new ones and pointing at them.
import { map, namedUuid, type Operation, op, set, uuid, where, whereUuid } from '../../../ovsdb/protocol.ts';
import {
  type LbProtocol,
  type LoadBalancer,
  LoadBalancerColumns,
  type LoadBalancerHealthCheck,
  LoadBalancerHealthCheckColumns,
  Table,
  VENDOR,
} from '../model.ts';
import { addLoadBalancerToSwitch, removeLoadBalancerFromSwitches, sameRecord } from './logical-switch.ts';

export interface LoadBalancerSpec {
  name: string;
  switchName: string;
  /** Front end `ip:port` (`[ip6]:port`) to its back ends `ip:port`. */
  vips: Record<string, readonly string[]>;
  protocol: LbProtocol;
  externalIds?: Record<string, string>;
  /** e.g. `affinity_timeout` for ClientIP session affinity. */
  options?: Record<string, string>;
  /** One per front end that is probed; none = no health checks. */
  healthChecks?: readonly HealthCheckSpec[];
  /** Back-end IP -> `<logical switch port>:<probe source IP>` (what the probes need). */
  ipPortMappings?: Record<string, string>;
}

export interface HealthCheckSpec {
  /** The front end `ip:port`. */
  vip: string;
  options: Record<string, string>;
  externalIds: Record<string, string>;
}

export function lbVips(vips: LoadBalancerSpec['vips']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [front, backs] of Object.entries(vips)) out[front] = [...backs].join(',');
  return out;
}

const lbRow = (spec: LoadBalancerSpec) => ({
  vips: map(lbVips(spec.vips)),
  protocol: set([spec.protocol]),
  options: map(spec.options ?? {}),
  external_ids: map({ vendor: VENDOR, ls: spec.switchName, ...spec.externalIds }),
  ip_port_mappings: map(spec.ipPortMappings ?? {}),
});

/** Inserts the spec's health checks; returns the operations and the named uuids to reference. */
function insertHealthChecks(
  spec: LoadBalancerSpec,
  tag: string,
): { ops: Operation[]; refs: ReturnType<typeof namedUuid>[] } {
  const ops: Operation[] = [];
  const refs: ReturnType<typeof namedUuid>[] = [];
  for (const [i, hc] of (spec.healthChecks ?? []).entries()) {
    const name = `${tag}_hc${i}`;
    ops.push(
      op.insert(
        Table.LoadBalancerHealthCheck,
        { vip: hc.vip, options: map(hc.options), external_ids: map(hc.externalIds) },
        name,
      ),
    );
    refs.push(namedUuid(name));
  }
  return { ops, refs };
}

const hcKey = (hc: Pick<HealthCheckSpec, 'vip' | 'options' | 'externalIds'>) =>
  JSON.stringify([hc.vip, Object.entries(hc.options).sort(), Object.entries(hc.externalIds).sort()]);

/** Whether the health check rows read are exactly the spec's (order does not matter). */
export function sameHealthChecks(
  current: readonly LoadBalancerHealthCheck[],
  wanted: readonly HealthCheckSpec[] = [],
): boolean {
  const a = current.map(hcKey).sort();
  const b = wanted.map(hcKey).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** Reads the health check rows a balancer references (one select per row, by uuid). */
export const selectHealthChecks = (uuids: readonly string[]): Operation[] =>
  uuids.map((u) => op.select(Table.LoadBalancerHealthCheck, [whereUuid(u)], LoadBalancerHealthCheckColumns));

export const selectLoadBalancerByName = (name: string): Operation =>
  op.select(Table.LoadBalancer, [where('name', '==', name)], LoadBalancerColumns);

export const selectAllLoadBalancers = (): Operation => op.select(Table.LoadBalancer, [], LoadBalancerColumns);

/** Creates the balancer and attaches it to its switch, unless one with this name exists (WaitFailed). */
export function createLoadBalancerOps(spec: LoadBalancerSpec, tag = 'new_lb'): Operation[] {
  const checks = insertHealthChecks(spec, tag);
  return [
    op.wait(Table.LoadBalancer, [where('name', '==', spec.name)], ['name'], []),
    ...checks.ops,
    op.insert(Table.LoadBalancer, { name: spec.name, ...lbRow(spec), health_check: set(checks.refs) }, tag),
    addLoadBalancerToSwitch({ name: spec.switchName }, namedUuid(tag)),
  ];
}

export function sameLoadBalancer(
  current: LoadBalancer,
  spec: LoadBalancerSpec,
  checks: readonly LoadBalancerHealthCheck[] = [],
): boolean {
  return (
    current.protocol === spec.protocol &&
    sameRecord(current.ipPortMappings, spec.ipPortMappings ?? {}) &&
    sameHealthChecks(checks, spec.healthChecks) &&
    sameRecord(current.vips, lbVips(spec.vips)) &&
    sameRecord(current.options, spec.options ?? {}) &&
    sameRecord(current.externalIds, { vendor: VENDOR, ls: spec.switchName, ...spec.externalIds })
  );
}

/**
 * Brings an existing balancer to the spec (guarded by the values read) and makes sure it is
 * attached to the spec's switch (unless `attached` says it is). Detaches it from a previous switch.
 * `checks` are the health check rows `current` references, as read. Health checks that differ are
 * replaced as a whole: new rows, and the old ones are collected once nothing references them.
 */
export function updateLoadBalancerOps(
  current: LoadBalancer,
  spec: LoadBalancerSpec,
  { attached, checks = [] }: { attached: boolean; checks?: readonly LoadBalancerHealthCheck[] },
): Operation[] {
  const ops: Operation[] = [];
  if (!sameLoadBalancer(current, spec, checks)) {
    const sameChecks = sameHealthChecks(checks, spec.healthChecks);
    const fresh = sameChecks
      ? { ops: [], refs: [] }
      : insertHealthChecks(spec, `lb_${current.uuid.replace(/-/g, '_')}`);
    ops.push(
      op.wait(
        Table.LoadBalancer,
        [whereUuid(current.uuid)],
        ['vips', 'protocol', 'options', 'external_ids', 'health_check', 'ip_port_mappings'],
        [
          {
            vips: map(current.vips),
            protocol: set(current.protocol ? [current.protocol] : []),
            options: map(current.options),
            external_ids: map(current.externalIds),
            health_check: set(current.healthChecks.map((u) => uuid(u))),
            ip_port_mappings: map(current.ipPortMappings),
          },
        ],
      ),
      ...fresh.ops,
      op.update(Table.LoadBalancer, [whereUuid(current.uuid)], {
        ...lbRow(spec),
        ...(sameChecks ? {} : { health_check: set(fresh.refs) }),
      }),
    );
    if (current.externalIds.ls && current.externalIds.ls !== spec.switchName) {
      ops.push(removeLoadBalancerFromSwitches(current.uuid));
    }
  }
  if (!attached) ops.push(addLoadBalancerToSwitch({ name: spec.switchName }, uuid(current.uuid)));
  return ops;
}

export function deleteLoadBalancerOps(lbUuid: string): Operation[] {
  return [removeLoadBalancerFromSwitches(lbUuid), op.delete(Table.LoadBalancer, [whereUuid(lbUuid)])];
}
