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
import type { NorthboundPort } from '../../shared/reconcile/deps.ts';

const holds = (have: Record<string, string>, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have[k] === v);

export function northboundPort(writer: NorthboundWriter, cache?: PortCache): NorthboundPort {
  const allPorts = async (): Promise<LogicalSwitchPort[]> => cache?.all() ?? writer.listPorts();
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
      return (await allPorts())
        .filter((p) => holds(p.externalIds, externalIds))
        .map((p) => ({
          name: p.name,
          ...(p.externalIds.ls ? { switchName: p.externalIds.ls } : {}),
          type: p.type,
          ...(p.externalIds.pod !== undefined ? { pod: p.externalIds.pod } : {}),
        }));
    },
    async virtualPortsWithParent(parentPort) {
      return (await allPorts())
        .filter((p) => p.type === 'virtual' && parentsOf(p).includes(parentPort))
        .map((p) => p.name);
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
