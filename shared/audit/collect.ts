// The audit's only reads: everything listed once from the API server, Redis and OVN NB. The
// three are read one after the other, not in one transaction, so on a busy system a change made
// meanwhile can show as drift once; re-running the audit tells lasting drift from a passing one.
// A read that fails fails the audit (AuditReadError): only "not found" means absent. Taking an
// API error for "absent" would report healthy objects as leaks and let --repair free them.

import { type NamingPod, namingPod } from '../domain/aap.ts';
import { isDomainError, Reason } from '../domain/errors.ts';
import type { StatefulSet, VirtualMachine } from '../domain/types.ts';
import { portOwnerHint } from '../domain/vip-binding.ts';
import { crossSubnetDuplicateMacs } from '../ipam/audit.ts';
import type { Allocator, Reservation, SubnetInfo, Violation } from '../ipam/index.ts';
import { allReservations } from '../ipam/list-all.ts';
import { type LoadBalancer, type LogicalSwitch, type LogicalSwitchPort, VENDOR } from '../ovn/nb/index.ts';
import type { AapIndexPort, KubePort, ReconcileDeps } from '../reconcile/deps.ts';
import { orphanBindingPorts } from './compare-ownership.ts';
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
  /** With it, switches whose Subnet is gone are reported. */
  listLogicalSwitches?(): Promise<LogicalSwitch[]>;
}

/** A store could not be read: the audit stops rather than judge from a partial view. */
export class AuditReadError extends Error {
  override readonly name = 'AuditReadError';
  constructor(what: string, cause: unknown) {
    super(`could not read ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Runs one read, naming it in the error when it fails. */
async function reading<T>(what: string, p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (err) {
    throw err instanceof AuditReadError ? err : new AuditReadError(what, err);
  }
}

export interface AuditPorts {
  allocator: Allocator;
  kube: AuditKube;
  nbReader: NorthboundReader;
  /** kube-ovn's keep-vm-ip (default true); taken from `reconcile` when that is given. */
  keepVmIp?: boolean;
  /** Needed by repair() only: the reconcilers it re-runs. */
  reconcile?: ReconcileDeps;
  /** The AAP parent index to check; taken from `reconcile` when that is given. */
  aapIndex?: AapIndexPort;
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
  const counted = async <T>(step: string, p: () => Promise<T[]>): Promise<T[]> => {
    const items = await reading(step, p);
    report(step, items.length);
    return items;
  };
  const { kube, allocator, nbReader } = ports;
  const [vips, pods, subnets, rules, nbPorts, loadBalancers, registered] = await Promise.all([
    counted('vips', () => kube.listVips()),
    counted('pods', () => kube.listPods({})),
    counted('subnets', () => kube.listSubnets()),
    counted('switch-lb-rules', () => kube.listSwitchLBRules()),
    counted('nb ports', () => nbReader.listPorts()),
    counted('nb load balancers', () => nbReader.listLoadBalancers()),
    counted('allocator subnets', () => allocator.listSubnets()),
  ]);

  // Subnets from the API server, any a Vip still names, and every registration the allocator has
  // (a deleted Subnet can leave reservations and its registration behind).
  const names = new Set([...subnets.map((s) => s.metadata.name), ...registered]);
  for (const v of vips) {
    const label = v.metadata.labels?.['ovn.kubernetes.io/subnet'];
    if (label) names.add(label);
    if (v.spec.subnet) names.add(v.spec.subnet);
  }
  const reservations: Record<string, Reservation[]> = {};
  const allocatorViolations: Record<string, Violation[]> = {};
  const registrations: Record<string, SubnetInfo> = {};
  const switches: string[] = [];
  for (const subnet of [...names].sort()) {
    try {
      await reading(`allocator subnet ${subnet}`, async () => {
        if (!(await allocator.getSubnet(subnet, { fresh: true }))) return;
        reservations[subnet] = await allReservations(allocator, subnet, {
          limit: opts.pageSize ?? 1000,
          progress: (n) => report(`reservations ${subnet}`, n),
        });
        allocatorViolations[subnet] = await allocator.audit(subnet);
        // after the list: a registration that changed since this process cached it is re-read
        const info = await allocator.getSubnet(subnet, { fresh: true });
        if (info) registrations[subnet] = info;
      });
    } catch (err) {
      // Deleted between getSubnet and list: nothing to audit there. Anything else is an error.
      const cause = (err as AuditReadError).cause;
      if (!(isDomainError(cause) && cause.reason === Reason.SubnetNotFound)) throw err;
      delete reservations[subnet];
      delete allocatorViolations[subnet];
    }
  }
  // a MAC held in two subnets: no subnet's own audit sees both records
  for (const [subnet, found] of Object.entries(crossSubnetDuplicateMacs(reservations))) {
    allocatorViolations[subnet] = [...(allocatorViolations[subnet] ?? []), ...found];
  }
  const { getLogicalSwitch, listLogicalSwitches } = nbReader;
  if (getLogicalSwitch) {
    for (const s of subnets)
      if (
        await reading(`nb switch ${s.metadata.name}`, () => getLogicalSwitch.call(nbReader, s.metadata.name))
      )
        switches.push(s.metadata.name);
    report('nb switches', switches.length);
  }
  const ownSwitches = listLogicalSwitches
    ? (await counted('nb own switches', () => listLogicalSwitches.call(nbReader)))
        .filter((sw) => sw.externalIds.vendor === VENDOR)
        .map((sw) => sw.name)
    : undefined;

  // After the pod list: a pod listed is recorded by its own event before that event reads a Vip, so
  // one missing now is either drift or an event still in flight (a settled audit tells them apart).
  const index = ports.aapIndex ?? ports.reconcile?.aapIndex;
  const aapIndex =
    index && (await reading('aap index marker', () => index.isComplete()))
      ? {
          missing: await counted('aap index missing', () =>
            index.missing(pods.map(namingPod).filter((p): p is NamingPod => p !== undefined)),
          ),
        }
      : undefined;

  const keepVmIp = ports.keepVmIp ?? ports.reconcile?.keepVmIp ?? true;
  const statefulSets: StatefulSet[] = [];
  const vms: VirtualMachine[] = [];
  for (const port of orphanBindingPorts({ vips, pods, subnets, keepVmIp })) {
    const hint = portOwnerHint(port);
    if (!hint) continue;
    // undefined only on 404 (the client's own rule); any other answer fails the audit
    const sts = hint.statefulSet
      ? await reading(`StatefulSet ${hint.namespace}/${hint.statefulSet.name}`, () =>
          kube.getStatefulSet(hint.namespace, hint.statefulSet!.name),
        )
      : undefined;
    if (sts) statefulSets.push({ ...sts, metadata: { namespace: hint.namespace, ...sts.metadata } });
    const vm = await reading(`VirtualMachine ${hint.namespace}/${hint.vmName}`, () =>
      kube.getVirtualMachine(hint.namespace, hint.vmName),
    );
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
    registrations,
    ...(ownSwitches ? { ownSwitches } : {}),
    workloads: { statefulSets, vms },
    keepVmIp,
    ...(aapIndex ? { aapIndex } : {}),
  };
}
