// The audit's only reads: everything listed once from the API server, Redis and OVN NB. The
// three are read one after the other, not in one transaction, so on a busy system a change made
// meanwhile can show as drift once; re-running the audit tells lasting drift from a passing one.
import type { StatefulSet, VirtualMachine } from '../domain/types.ts';
import { portOwnerHint } from '../domain/vip-binding.ts';
import { isDomainError } from '../errors.ts';
import type { Allocator, Reservation, Violation } from '../ipam/index.ts';
import type { LoadBalancer, LogicalSwitch, LogicalSwitchPort } from '../ovn/nb/index.ts';
import type { KubePort, ReconcileDeps } from '../reconcile/ports.ts';
import { orphanBindingPorts } from './compare.ts';
import type { ObservedState } from './types.ts';

export type AuditKube = Pick<
  KubePort,
  'listVips' | 'listSubnets' | 'listSwitchLBRules' | 'listPods' | 'getStatefulSet' | 'getVirtualMachine'
>;

/** Full rows, not the reconcilers' narrow NorthboundPort: a NorthboundWriter fits. */
export interface NorthboundReader {
  listPorts(): Promise<LogicalSwitchPort[]>;
  listLoadBalancers(): Promise<LoadBalancer[]>;
  getLogicalSwitch?(name: string): Promise<LogicalSwitch | undefined>;
}

export interface AuditPorts {
  allocator: Allocator;
  kube: AuditKube;
  nbReader: NorthboundReader;
  /** kube-ovn's keep-vm-ip (default true); taken from `reconcile` when that is given. */
  keepVmIp?: boolean;
  /** Needed by repair() only: the reconcilers it re-runs. */
  reconcile?: ReconcileDeps;
}

export interface Progress {
  /** What was just read, e.g. `pods`, `reservations ovn-default`. */
  step: string;
  count: number;
}

export interface CollectOptions {
  onProgress?: (p: Progress) => void;
  /** Reservations per list call (1..1000). */
  pageSize?: number;
}

export async function collectState(ports: AuditPorts, opts: CollectOptions = {}): Promise<ObservedState> {
  const report = (step: string, count: number) => opts.onProgress?.({ step, count });
  const counted = async <T>(step: string, p: Promise<T[]>): Promise<T[]> => {
    const items = await p;
    report(step, items.length);
    return items;
  };
  const { kube, allocator, nbReader } = ports;
  const [vips, pods, subnets, rules, nbPorts, loadBalancers] = await Promise.all([
    counted('vips', kube.listVips()),
    counted('pods', kube.listPods({})),
    counted('subnets', kube.listSubnets()),
    counted('switch-lb-rules', kube.listSwitchLBRules()),
    counted('nb ports', nbReader.listPorts()),
    counted('nb load balancers', nbReader.listLoadBalancers()),
  ]);

  // Subnets from the API server, plus any a Vip still names (a deleted Subnet can leave reservations).
  const names = new Set(subnets.map((s) => s.metadata.name));
  for (const v of vips) {
    const label = v.metadata.labels?.['ovn.kubernetes.io/subnet'];
    if (label) names.add(label);
    if (v.spec.subnet) names.add(v.spec.subnet);
  }
  const reservations: Record<string, Reservation[]> = {};
  const allocatorViolations: Record<string, Violation[]> = {};
  const switches: string[] = [];
  for (const subnet of [...names].sort()) {
    if (!(await allocator.getSubnet(subnet))) continue;
    try {
      reservations[subnet] = await listAll(allocator, subnet, opts.pageSize ?? 1000, (n) =>
        report(`reservations ${subnet}`, n),
      );
      allocatorViolations[subnet] = await allocator.audit(subnet);
    } catch (err) {
      // Deleted between getSubnet and list: nothing to audit there.
      if (!isDomainError(err)) throw err;
    }
  }
  if (nbReader.getLogicalSwitch) {
    for (const s of subnets)
      if (await nbReader.getLogicalSwitch(s.metadata.name)) switches.push(s.metadata.name);
    report('nb switches', switches.length);
  }

  const keepVmIp = ports.keepVmIp ?? ports.reconcile?.keepVmIp ?? true;
  const statefulSets: StatefulSet[] = [];
  const vms: VirtualMachine[] = [];
  for (const port of orphanBindingPorts({ vips, pods, subnets, keepVmIp })) {
    const hint = portOwnerHint(port);
    if (!hint) continue;
    const sts = hint.statefulSet
      ? await kube.getStatefulSet(hint.namespace, hint.statefulSet.name)
      : undefined;
    if (sts) statefulSets.push({ ...sts, metadata: { namespace: hint.namespace, ...sts.metadata } });
    const vm = await kube.getVirtualMachine(hint.namespace, hint.vmName).catch(() => undefined);
    if (vm) vms.push({ ...vm, metadata: { namespace: hint.namespace, ...vm.metadata } });
  }

  return {
    vips,
    pods,
    subnets,
    rules,
    reservations,
    ports: nbPorts,
    loadBalancers,
    allocatorViolations,
    ...(nbReader.getLogicalSwitch ? { switches } : {}),
    workloads: { statefulSets, vms },
    keepVmIp,
  };
}

async function listAll(
  allocator: Allocator,
  subnet: string,
  limit: number,
  progress: (n: number) => void,
): Promise<Reservation[]> {
  const out: Reservation[] = [];
  let cursor: string | undefined;
  do {
    const page = await allocator.list(subnet, { cursor, limit });
    out.push(...page.items);
    progress(out.length);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
