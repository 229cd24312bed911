// Reconciles one SwitchLBRule (SPEC §1, §3.2): OVN load balancers on the Vip's subnet switch whose
// back ends follow the selected pods. Pod events call `refreshRulesForPod`.
import { setCondition } from '../domain/conditions.ts';
import { isDomainError } from '../domain/errors.ts';
import { healthCheckOwner } from '../domain/ownership.ts';
import {
  backendAddresses,
  backendPorts,
  desiredSwitchLoadBalancers,
  type HealthCheckInput,
  healthChecksOn,
  type ParsedRule,
  parseSwitchLbRule,
  ruleStatusColumns,
  rulesAffectedByPod,
  ruleVip,
  switchLbFrontEnds,
  switchLbNames,
} from '../domain/switch-lb.ts';
import type { Pod, SwitchLBRule } from '../domain/types.ts';
import type { Outcome } from '../events/outcome.ts';
import type { ReconcileDeps } from './deps.ts';
import { subnetPlacements } from './subnet-registration.ts';

export async function reconcileSwitchLBRule(
  deps: ReconcileDeps,
  name: string,
  _lastKnown?: SwitchLBRule,
): Promise<Outcome> {
  const rule = await deps.kube.getSwitchLBRule(name);
  if (!rule) {
    for (const lb of switchLbNames(name)) await deps.nb.deleteLoadBalancer(lb);
    return { status: 'done' };
  }
  const parsed = parseSwitchLbRule(rule);
  if (!parsed.ok) {
    const e = parsed.errors;
    await writeRuleStatus(deps, rule, {
      reason: e[0]!.reason,
      message: e.map((x) => `${x.field}: ${x.message}`).join('; '),
    });
    return { status: 'done' };
  }
  const vip = ruleVip(parsed.rule.vip, await deps.kube.listVips());
  if (!vip.ok) {
    // No load balancer may point at an address that is not reserved as a switch_lb_vip.
    for (const lb of switchLbNames(name)) await deps.nb.deleteLoadBalancer(lb);
    await writeRuleStatus(deps, rule, { reason: vip.error.reason, message: vip.error.message });
    return { status: 'done' };
  }
  const [pods, placements] = await Promise.all([
    deps.kube.listPods({ namespace: parsed.rule.namespace }),
    subnetPlacements(deps),
  ]);
  const backends = backendAddresses(parsed.rule, vip.subnet, pods, placements, {
    keepVmIp: deps.keepVmIp ?? true,
  });
  await refreshFrontEndArp(deps, vip.subnet);
  const health =
    healthChecksOn(rule) && parsed.rule.family === 'v4'
      ? await healthCheckInput(deps, vip.subnet, parsed.rule, backends, pods, placements)
      : undefined;
  const rows = desiredSwitchLoadBalancers(parsed.rule, vip.subnet, backends, health);
  for (const row of rows) await deps.nb.ensureLoadBalancer(row);
  const wanted = new Set(rows.map((r) => r.name));
  for (const lb of switchLbNames(name)) if (!wanted.has(lb)) await deps.nb.deleteLoadBalancer(lb);
  await writeRuleStatus(deps, rule, undefined, backends.length);
  return { status: 'done' };
}

/**
 * The probes' source address and the back ends' ports. The source is what kube-ovn uses when the
 * cluster came from it (a Vip named after the subnet), otherwise one address of the subnet held
 * for it under `hc/<subnet>` (kept while the subnet exists: one address per subnet).
 */
async function healthCheckInput(
  deps: ReconcileDeps,
  subnet: string,
  rule: ParsedRule,
  backends: string[],
  pods: Pod[],
  placements: Awaited<ReturnType<typeof subnetPlacements>>,
): Promise<HealthCheckInput | undefined> {
  const theirs = await deps.kube.getVip(subnet);
  let source = theirs && theirs.spec.subnet === subnet ? theirs.status?.v4ip : undefined;
  if (!source) {
    try {
      const held = await deps.allocator.allocate({ subnet, owner: healthCheckOwner(subnet) });
      if (held.created) deps.subnetChanged?.(subnet);
      source = held.v4;
    } catch (err) {
      // A full subnet: the balancer still works, unprobed.
      if (!isDomainError(err)) throw err;
      deps.log?.warn({ subnet, reason: err.reason }, 'no address for the health checks');
    }
  }
  if (!source) return undefined; // an IPv6-only subnet: kube-ovn probes IPv4 only
  const ports = backendPorts(rule, subnet, backends, pods, placements, { keepVmIp: deps.keepVmIp ?? true });
  return { source, ports };
}

/** The subnet's gateway answers ARP for its switch_lb_vip addresses (see switchLbFrontEnds). */
export async function refreshFrontEndArp(deps: ReconcileDeps, subnet: string): Promise<void> {
  await deps.nb.refreshArpProxy(subnet, async () => switchLbFrontEnds(subnet, await deps.kube.listVips()));
}

/**
 * Pods come and go: recompute the rules whose selector matches the pod (before or after). A pod
 * gone without a last known state (reference mode) may have been a back end of any rule of its
 * namespace, so those are all recomputed.
 */
export async function refreshRulesForPod(
  deps: ReconcileDeps,
  namespace: string,
  pod?: Pod,
  lastKnown?: Pod,
): Promise<void> {
  const rules = await deps.kube.listSwitchLBRules();
  if (rules.length === 0) return;
  const names =
    pod || lastKnown
      ? rulesAffectedByPod(rules, lastKnown, pod)
      : rules.filter((r) => r.spec.namespace === namespace).map((r) => r.metadata.name);
  for (const name of names) await reconcileSwitchLBRule(deps, name);
}

async function writeRuleStatus(
  deps: ReconcileDeps,
  rule: SwitchLBRule,
  failure: { reason: string; message: string } | undefined,
  backends = 0,
): Promise<void> {
  const prev = (
    rule as { status?: { conditions?: never[]; backends?: number; ports?: string; service?: string } }
  ).status;
  const conditions = setCondition(
    prev?.conditions,
    {
      type: 'Ready',
      status: failure ? 'False' : 'True',
      reason: failure?.reason ?? 'LoadBalancerReady',
      message: failure?.message ?? `${backends} back end(s)`,
      ...(rule.metadata.generation !== undefined ? { observedGeneration: rule.metadata.generation } : {}),
    },
    (deps.now?.() ?? new Date()).toISOString(),
  );
  const status = { ...ruleStatusColumns(rule), conditions, backends };
  const same =
    prev?.ports === status.ports &&
    prev?.service === status.service &&
    prev?.backends === status.backends &&
    JSON.stringify(prev?.conditions) === JSON.stringify(conditions);
  if (!same) {
    await deps.kube.patchStatus('SwitchLBRule', rule.metadata.name, status);
  }
}
