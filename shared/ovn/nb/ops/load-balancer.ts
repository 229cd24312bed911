// Operations on Load_Balancer: one per SwitchLBRule, attached to its subnet's switch (a weak
// reference: deleting the balancer detaches it). Pure, like the other ops files.
import { map, namedUuid, type Operation, op, set, uuid, where, whereUuid } from '../../../ovsdb/protocol.ts';
import { type LbProtocol, type LoadBalancer, LoadBalancerColumns, Table, VENDOR } from '../model.ts';
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
});

export const selectLoadBalancerByName = (name: string): Operation =>
  op.select(Table.LoadBalancer, [where('name', '==', name)], LoadBalancerColumns);

export const selectAllLoadBalancers = (): Operation => op.select(Table.LoadBalancer, [], LoadBalancerColumns);

/** Creates the balancer and attaches it to its switch, unless one with this name exists (WaitFailed). */
export function createLoadBalancerOps(spec: LoadBalancerSpec, tag = 'new_lb'): Operation[] {
  return [
    op.wait(Table.LoadBalancer, [where('name', '==', spec.name)], ['name'], []),
    op.insert(Table.LoadBalancer, { name: spec.name, ...lbRow(spec) }, tag),
    addLoadBalancerToSwitch({ name: spec.switchName }, namedUuid(tag)),
  ];
}

export function sameLoadBalancer(current: LoadBalancer, spec: LoadBalancerSpec): boolean {
  return (
    current.protocol === spec.protocol &&
    sameRecord(current.vips, lbVips(spec.vips)) &&
    sameRecord(current.options, spec.options ?? {}) &&
    sameRecord(current.externalIds, { vendor: VENDOR, ls: spec.switchName, ...spec.externalIds })
  );
}

/**
 * Brings an existing balancer to the spec (guarded by the values read) and makes sure it is
 * attached to the spec's switch (unless `attached` says it is). Detaches it from a previous switch.
 */
export function updateLoadBalancerOps(
  current: LoadBalancer,
  spec: LoadBalancerSpec,
  { attached }: { attached: boolean },
): Operation[] {
  const ops: Operation[] = [];
  if (!sameLoadBalancer(current, spec)) {
    ops.push(
      op.wait(
        Table.LoadBalancer,
        [whereUuid(current.uuid)],
        ['vips', 'protocol', 'options', 'external_ids'],
        [
          {
            vips: map(current.vips),
            protocol: set(current.protocol ? [current.protocol] : []),
            options: map(current.options),
            external_ids: map(current.externalIds),
          },
        ],
      ),
      op.update(Table.LoadBalancer, [whereUuid(current.uuid)], lbRow(spec)),
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
