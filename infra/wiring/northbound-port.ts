// Adapts the OVN Northbound writer (shared/ovn) to what the reconcilers ask of OVN
// (shared/reconcile/deps.ts). Lookups that scan ports use the monitor-fed PortCache when the
// process has one, so they cost no server round trip.
import type { LoadBalancerRow } from '../../shared/domain/switch-lb.ts';
import type { VirtualPortRow } from '../../shared/domain/virtual-port.ts';
import {
  type LogicalSwitchPort,
  type NorthboundWriter,
  ownAddresses,
  type PortCache,
  parentsOf,
  VIRTUAL_IP,
} from '../../shared/ovn/nb/index.ts';
import { type Condition, map, where } from '../../shared/ovsdb/index.ts';
import type { NorthboundPort, PodPortView } from '../../shared/reconcile/deps.ts';

const holds = (have: Record<string, string>, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have[k] === v);

/** Ports the server selects by `conditions` (its scan, and only the matches on the wire). */
export type SelectPorts = (conditions: Condition[]) => Promise<LogicalSwitchPort[]>;

export function northboundPort(
  writer: NorthboundWriter,
  portCache?: PortCache,
  selectPorts?: SelectPorts,
): NorthboundPort {
  // Until the cache has loaded (a replica just started), lookups ask the server: for only the
  // rows that can match when it can (every port is 15 MB at 60,000: what the cache defers).
  const ready = () => (portCache?.ready ? portCache : undefined);
  const allPorts = async (conditions: Condition[]): Promise<LogicalSwitchPort[]> =>
    ready()?.all() ?? (selectPorts ? selectPorts(conditions) : writer.listPorts());
  return {
    async ensureLogicalSwitch(spec) {
      await writer.ensureLogicalSwitch(spec);
    },
    async deleteLogicalSwitch(name) {
      // The load balancers of SwitchLBRules (kube-ovn's external_ids) attached to it go too.
      const { loadBalancers } = await writer.deleteLogicalSwitch(
        name,
        (lb) => lb.externalIds['switch-lb-rule'] !== undefined,
      );
      return loadBalancers;
    },
    async ensurePodPort(spec) {
      await writer.ensurePort(spec);
    },
    async ensureVirtualPort(row: VirtualPortRow) {
      const { before, after } = await writer.ensureVirtualPortChange({
        switchName: row.switchName,
        name: row.name,
        virtualIp: row.virtualIp,
        parents: row.parents,
      });
      const previousParents = before ? parentsOf(before) : [];
      const changed =
        !before ||
        before.options[VIRTUAL_IP] !== after.options[VIRTUAL_IP] ||
        previousParents.join(',') !== parentsOf(after).join(',');
      return { previousParents, changed, created: !before };
    },
    async deletePort(name) {
      // The cache answers "absent" without a round trip; a stale "absent" is healed by resync.
      const cache = ready();
      if (cache && !cache.get(name)) return [];
      const gone = await writer.deletePortReturning(name);
      return gone ? parentsOf(gone) : [];
    },
    async refreshPortSecurity(port, compute) {
      await writer.refreshPortSecurity(port, async (current) => {
        const own = ownAddresses(current);
        const pod = current.externalIds.pod;
        const value = await compute({ ...(own ? { own } : {}), ...(pod ? { pod } : {}) });
        return value === undefined ? undefined : [value];
      });
    },
    async findPorts(externalIds) {
      // By pod (a pod's cleanup): the cache's index, not a scan.
      const cache = ready();
      const byPod = cache && Object.keys(externalIds).length === 1 ? externalIds.pod : undefined;
      return (
        byPod !== undefined
          ? cache!.portsOfPod(byPod)
          : await allPorts([where('external_ids', 'includes', map(externalIds))])
      )
        .filter((p) => holds(p.externalIds, externalIds))
        .map((p) => ({
          name: p.name,
          ...(p.externalIds.ls ? { switchName: p.externalIds.ls } : {}),
          type: p.type,
          ...(p.externalIds.pod !== undefined ? { pod: p.externalIds.pod } : {}),
        }));
    },
    async virtualPortsWithParent(parentPort) {
      const cache = ready();
      return (
        cache ? cache.virtualPortsWithParent(parentPort) : await allPorts([where('type', '==', 'virtual')])
      )
        .filter((p) => p.type === 'virtual' && parentsOf(p).includes(parentPort))
        .map((p) => p.name);
    },
    async changeVirtualParents(ports, change, opts) {
      // The status that follows is read from the cache's pod ports; without it, the whole Vip.
      if (!ready()) return undefined;
      return writer.changeVirtualParents(ports, change, opts);
    },
    async podPortViews(names) {
      const cache = ready();
      if (!cache) return undefined;
      const out = new Map<string, PodPortView>();
      for (const name of names) {
        const port = cache.get(name);
        if (!port) return undefined;
        const own = ownAddresses(port);
        const pod = port.externalIds.pod;
        out.set(name, { ...(own ? { own } : {}), ...(pod ? { pod } : {}) });
      }
      return out;
    },
    refreshArpProxy(switchName, compute) {
      return writer.refreshArpProxy(switchName, compute);
    },
    async ensureLoadBalancer(row: LoadBalancerRow) {
      const vips: Record<string, string[]> = {};
      for (const [front, backs] of Object.entries(row.vips)) vips[front] = backs ? backs.split(',') : [];
      await writer.ensureLoadBalancer({
        name: row.name,
        switchName: row.switchName,
        protocol: row.protocol,
        vips,
        options: row.options,
        externalIds: row.externalIds,
        ...(row.healthChecks ? { healthChecks: row.healthChecks } : {}),
        ...(row.ipPortMappings ? { ipPortMappings: row.ipPortMappings } : {}),
      });
    },
    async deleteLoadBalancer(name) {
      await writer.deleteLoadBalancer(name);
    },
    async findLoadBalancers(externalIds) {
      return (await writer.listLoadBalancers())
        .filter((lb) => holds(lb.externalIds, externalIds))
        .map((lb) => lb.name);
    },
  };
}
