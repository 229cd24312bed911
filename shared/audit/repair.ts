// Acts on drift, in the direction of the source of truth: the API objects' spec and the
// allocator's record, never an edited status. Frees what no object owns, deletes rows no object
// wants, moves a manual owner off a Kubernetes object's address, rewrites a Vip status from its
// reservation, and for everything else re-runs the owning object's reconciler (idempotent).
// Destructive steps are re-checked against a fresh read first, so an object created since the
// audit is never stripped. Changing an owner's addresses is one allocator script (replace), so a
// repair that dies half-way never leaves an owner without an address.

import { isDomainError, Reason, refusalMessage } from '../domain/errors.ts';
import { judgeReservation, liveOwners, placementsOf, vipOwner } from '../domain/ownership.ts';
import type { ReconcileDeps } from '../reconcile/deps.ts';
import { reconcilePod, releaseBinding } from '../reconcile/pod.ts';
import { reconcileSubnet } from '../reconcile/subnet.ts';
import { ensureSubnetRegistered } from '../reconcile/subnet-registration.ts';
import { reconcileSwitchLBRule } from '../reconcile/switch-lb-rule.ts';
import { reconcileVip } from '../reconcile/vip.ts';
import type { AuditPorts } from './collect.ts';
import type { Drift, RepairAction } from './types.ts';

export interface RepairFailure {
  drift: Drift;
  error: string;
}

export interface RepairReport {
  /** Drifts acted on successfully. */
  repaired: number;
  /** Left alone: nothing safe to automate, or no longer true when re-checked. */
  skipped: { drift: Drift; why: string }[];
  failed: RepairFailure[];
}

type Step = RepairAction['type'];
// Removals first (they free addresses a restore or reconcile may need), reconciles last.
const ORDER: Step[] = [
  'release',
  'delete-port',
  'delete-lb',
  'delete-switch',
  'move-reservation',
  'restore-pod-reservation',
  'rewrite-vip-status',
  'reconcile',
  'release-binding',
  'delete-subnet-state',
  'manual',
];

// Among reconciles: the switch before the ports on it, Vips before the pods and rules that use them.
const KIND_ORDER = ['Subnet', 'Vip', 'Pod', 'SwitchLBRule'];
function rank(a: RepairAction): number {
  // A missing switch must exist before a pod's address is restored and its port written.
  if (a.type === 'reconcile' && a.kind === 'Subnet') return ORDER.indexOf('restore-pod-reservation') * 10 - 2;
  // A Vip reserves again the addresses its status shows before any pod is reconciled: a pod's
  // reconcile runs its SwitchLBRules, whose health checks take a fresh address (the lowest free,
  // which may be the Vip's while its reservation is missing). A pod event no longer reconciles the
  // AAP Vips it is a parent of (it changes only its own membership), so nothing else does it first.
  if (a.type === 'reconcile' && a.kind === 'Vip') return ORDER.indexOf('restore-pod-reservation') * 10 - 1;
  return ORDER.indexOf(a.type) * 10 + (a.type === 'reconcile' ? KIND_ORDER.indexOf(a.kind) : 0);
}

export async function repair(
  drifts: readonly Drift[],
  ports: AuditPorts & { reconcile: ReconcileDeps },
): Promise<RepairReport> {
  const deps = ports.reconcile;
  const report: RepairReport = { repaired: 0, skipped: [], failed: [] };
  const owned = await ownershipNow(ports);
  const reconciled = new Map<string, Promise<string | undefined>>();
  const sorted = [...drifts].sort((a, b) => rank(a.action) - rank(b.action));

  /** The follow-up steps of a repair; reconciles are memoised per object (at most once each). */
  const follow = async (
    a: Extract<RepairAction, { type: 'reconcile' | 'rewrite-vip-status' | 'restore-pod-reservation' }>,
  ): Promise<string | undefined> => {
    switch (a.type) {
      case 'restore-pod-reservation': {
        const problem = await restorePodReservation(deps, a);
        return (
          problem ??
          (await once(reconciled, `Pod/${a.namespace}/${a.pod}`, () =>
            outcome(reconcilePod(deps, a.namespace, a.pod)),
          ))
        );
      }
      case 'rewrite-vip-status': {
        const problem = await rewriteVipStatus(deps, a.name, a.subnet);
        if (problem) return problem;
        // the reconciler then works from the rewritten status (ports, labels, conditions)
        reconciled.delete(`Vip/${a.name}`);
        return once(reconciled, `Vip/${a.name}`, () => outcome(reconcileVip(deps, a.name)));
      }
      case 'reconcile': {
        const key = `${a.kind}/${a.namespace ? `${a.namespace}/` : ''}${a.name}`;
        return once(reconciled, key, () => outcome(runReconciler(deps, a)));
      }
    }
  };

  for (const drift of sorted) {
    const a = drift.action;
    try {
      let problem: string | undefined;
      switch (a.type) {
        case 'manual':
          report.skipped.push({ drift, why: 'no automatic repair' });
          continue;
        case 'release': {
          const why = owned.reservation(a.subnet, a.owner);
          if (why) {
            report.skipped.push({ drift, why });
            continue;
          }
          if (await deps.allocator.release(a.subnet, a.owner)) deps.subnetChanged?.(a.subnet, 'released');
          break;
        }
        case 'delete-port': {
          const why = owned.port(a.name, a.vip);
          if (why) {
            report.skipped.push({ drift, why });
            continue;
          }
          await deps.nb.deletePort(a.name);
          break;
        }
        case 'delete-lb':
          if (owned.rule(a.rule)) {
            // A rule that exists decides its own load balancers: let its reconciler do it.
            problem = await once(reconciled, `SwitchLBRule/${a.rule}`, () =>
              outcome(reconcileSwitchLBRule(deps, a.rule)),
            );
          } else await deps.nb.deleteLoadBalancer(a.name);
          break;
        case 'restore-pod-reservation':
        case 'rewrite-vip-status':
          problem = await follow(a);
          break;
        case 'move-reservation': {
          // Only while the owner still holds that address (the audit's view may be old).
          const cur = await deps.allocator.get(a.subnet, a.owner).catch(notFoundAsUndefined);
          const families = ([4, 6] as const).filter((f) => (f === 4 ? cur?.v4 : cur?.v6) === a.address);
          if (families.length === 0) {
            report.skipped.push({ drift, why: `${a.owner} no longer holds ${a.address}` });
            continue;
          }
          await deps.allocator.replace({ subnet: a.subnet, owner: a.owner, move: families });
          deps.subnetChanged?.(a.subnet, 'released');
          if (a.after) problem = await follow(a.after);
          break;
        }
        case 'delete-switch':
          if (owned.subnet(a.name)) {
            report.skipped.push({ drift, why: `Subnet ${a.name} exists now` });
            continue;
          }
          await deps.nb.deleteLogicalSwitch(a.name);
          break;
        case 'delete-subnet-state':
          if (owned.subnet(a.subnet)) {
            report.skipped.push({ drift, why: `Subnet ${a.subnet} exists now` });
            continue;
          }
          // Not forced: reservations of objects that still name it are reported, not dropped.
          await deps.allocator.deleteSubnet(a.subnet, { managedBy: 'kubernetes' });
          break;
        case 'reconcile':
          problem = await follow(a);
          break;
        case 'release-binding': {
          // A pod with that port since the audit holds the binding rightly.
          const why = owned.port(a.port, undefined);
          if (why) {
            report.skipped.push({ drift, why });
            continue;
          }
          await releaseBinding(deps, a.port);
          break;
        }
      }
      if (problem) report.failed.push({ drift, error: problem });
      else report.repaired++;
    } catch (err) {
      report.failed.push({ drift, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return report;
}

function runReconciler(deps: ReconcileDeps, a: Extract<RepairAction, { type: 'reconcile' }>) {
  switch (a.kind) {
    case 'Vip':
      return reconcileVip(deps, a.name);
    case 'Pod':
      return reconcilePod(deps, a.namespace ?? 'default', a.name);
    case 'SwitchLBRule':
      return reconcileSwitchLBRule(deps, a.name);
    case 'Subnet':
      return reconcileSubnet(deps, a.name);
  }
}

async function outcome(
  p: Promise<{ status: string; reason?: string; message?: string }>,
): Promise<string | undefined> {
  const o = await p;
  return o.status === 'done'
    ? undefined
    : `reconciler answered ${o.status}${o.reason ? `: ${o.reason}` : ''}${o.message ? ` (${o.message})` : ''}`;
}

function once(
  memo: Map<string, Promise<string | undefined>>,
  key: string,
  run: () => Promise<string | undefined>,
): Promise<string | undefined> {
  let p = memo.get(key);
  if (!p) {
    p = run();
    memo.set(key, p);
  }
  return p;
}

/** Reserve exactly what the pod's annotations say, replacing a different reservation. */
async function restorePodReservation(
  deps: ReconcileDeps,
  a: Extract<RepairAction, { type: 'restore-pod-reservation' }>,
): Promise<string | undefined> {
  // After a Redis loss the subnet itself is gone too: register it from its Subnet object first.
  const subnet = await ensureSubnetRegistered(deps, a.subnet);
  if (subnet.status !== 'ready') return `subnet ${a.subnet}: ${subnet.failure.message}`;
  const current = await deps.allocator.get(a.subnet, a.owner);
  const same =
    current &&
    current.v4 === a.v4 &&
    current.v6 === a.v6 &&
    (!a.mac || current.mac.toUpperCase() === a.mac.toUpperCase());
  if (same) return undefined;
  try {
    if (current) {
      // One script: the pod holds its old reservation or the annotated one, never none.
      await deps.allocator.replace({ subnet: a.subnet, owner: a.owner, v4: a.v4, v6: a.v6, mac: a.mac });
      deps.subnetChanged?.(a.subnet, 'released'); // its old address is free
    } else {
      const r = await deps.allocator.allocate({
        subnet: a.subnet,
        owner: a.owner,
        v4: a.v4,
        v6: a.v6,
        mac: a.mac,
      });
      if (r.created) deps.subnetChanged?.(a.subnet);
    }
    return undefined;
  } catch (err) {
    if (!isDomainError(err)) throw err;
    return `cannot reserve the annotated addresses: ${refusalMessage(err)}`;
  }
}

/** A Vip's status addresses written from its reservation, guarded by the Vip's resourceVersion. */
async function rewriteVipStatus(
  deps: ReconcileDeps,
  name: string,
  subnet: string,
): Promise<string | undefined> {
  const vip = await deps.kube.getVip(name);
  if (!vip) return undefined; // gone: nothing shows a wrong address any more
  const res = await deps.allocator.get(subnet, vipOwner(name)).catch(notFoundAsUndefined);
  if (!res) return `Vip ${name} holds no reservation in subnet ${subnet}`;
  const s = vip.status;
  if ((s?.v4ip ?? '') === (res.v4 ?? '') && (s?.v6ip ?? '') === (res.v6 ?? '') && s?.mac === res.mac)
    return undefined;
  await deps.kube.patchStatus(
    'Vip',
    name,
    { v4ip: res.v4 ?? '', v6ip: res.v6 ?? '', mac: res.mac },
    vip.metadata.resourceVersion ? { resourceVersion: vip.metadata.resourceVersion } : {},
  );
  return undefined;
}

/** A subnet deleted meanwhile reads as "holds nothing". */
function notFoundAsUndefined(err: unknown): undefined {
  if (isDomainError(err) && err.reason === Reason.SubnetNotFound) return undefined;
  throw err;
}

/** A fresh read of what the API server owns now, to re-check destructive steps. */
async function ownershipNow(ports: AuditPorts) {
  const [vips, pods, subnets, rules] = await Promise.all([
    ports.kube.listVips(),
    ports.kube.listPods({}),
    ports.kube.listSubnets(),
    ports.kube.listSwitchLBRules(),
  ]);
  const keepVmIp = ports.keepVmIp ?? ports.reconcile?.keepVmIp ?? true;
  // The audit's own judgement (shared/domain/ownership.ts) over a fresh view.
  const owners = liveOwners(vips, pods, placementsOf(subnets), keepVmIp);
  const ruleNames = new Set(rules.map((r) => r.metadata.name));
  const subnetNames = new Set(subnets.map((s) => s.metadata.name));
  return {
    subnet: (name: string) => subnetNames.has(name),
    /** Why a release is no longer right: its owner holds it rightly now, or it is not ours. */
    reservation(subnet: string, owner: string): string | undefined {
      const judged = judgeReservation(subnet, owner, owners);
      if (judged.verdict === 'not-judged') return 'not an owner the audit manages';
      if (judged.verdict !== 'owned') return undefined;
      return judged.owner.kind === 'vip'
        ? `Vip ${judged.owner.name} exists now`
        : `a pod has port ${judged.owner.name} now`;
    },
    port(name: string, vip: string | undefined): string | undefined {
      if (owners.podPorts.has(name)) return `a pod has port ${name} now`;
      // Its Vip was gone and exists again: the Vip's reconciler decides about its ports.
      if (vip !== undefined && owners.vips.has(vip)) return `Vip ${vip} exists; its reconciler owns the port`;
      return undefined;
    },
    rule: (name: string) => ruleNames.has(name),
  };
}
