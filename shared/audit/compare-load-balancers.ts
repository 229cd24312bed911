// The SwitchLBRules' load balancers in NB against the rows their rules want (shared/domain/switch-lb.ts).
import type { SubnetPlacement } from '../domain/pod-network.ts';
import {
  backendAddresses,
  desiredSwitchLoadBalancers,
  type LoadBalancerRow,
  parseSwitchLbRule,
  ruleVip,
} from '../domain/switch-lb.ts';
import { type Drift, DriftKind, type ObservedState } from './types.ts';

export function compareLoadBalancers(
  state: ObservedState,
  placements: readonly SubnetPlacement[],
  keepVmIp: boolean,
): Drift[] {
  const out: Drift[] = [];
  const rulesByName = new Map(state.rules.map((r) => [r.metadata.name, r]));
  const lbsByName = new Map(state.loadBalancers.map((lb) => [lb.name, lb]));
  const wanted = new Map<string, LoadBalancerRow>();
  const unknown = new Set<string>(); // rules whose wanted rows cannot be told (invalid spec)
  for (const rule of state.rules) {
    const parsed = parseSwitchLbRule(rule);
    if (!parsed.ok) {
      unknown.add(rule.metadata.name);
      continue;
    }
    const vip = ruleVip(parsed.rule.vip, state.vips);
    if (!vip.ok) continue;
    const backends = backendAddresses(parsed.rule, vip.subnet, state.pods, placements, { keepVmIp });
    for (const row of desiredSwitchLoadBalancers(parsed.rule, vip.subnet, backends))
      wanted.set(row.name, row);
  }
  for (const [name, row] of wanted) {
    const rule = row.externalIds['switch-lb-rule'];
    const action = { type: 'reconcile' as const, kind: 'SwitchLBRule' as const, name: rule };
    const lb = lbsByName.get(name);
    if (!lb) {
      out.push({
        kind: DriftKind.MissingLoadBalancer,
        object: `SwitchLBRule/${rule}`,
        detail: `no load balancer ${name}`,
        repair: 're-run the SwitchLBRule reconciler (creates it)',
        action,
      });
      continue;
    }
    const have = normaliseVips(lb.vips);
    const want = normaliseVips(row.vips);
    if (have !== want) {
      out.push({
        kind: DriftKind.StaleLoadBalancer,
        object: `LoadBalancer/${name}`,
        detail: `vips {${have}}, rule gives {${want}}`,
        repair: `re-run the reconciler of SwitchLBRule ${rule} (rewrites the back ends)`,
        action,
      });
    }
  }
  for (const lb of state.loadBalancers) {
    const rule = lb.externalIds['switch-lb-rule'];
    if (rule === undefined || wanted.has(lb.name) || unknown.has(rule)) continue;
    out.push({
      kind: DriftKind.OrphanLoadBalancer,
      object: `LoadBalancer/${lb.name}`,
      detail: rulesByName.has(rule)
        ? `SwitchLBRule ${rule} does not want it (protocol unused or its Vip is not reserved)`
        : `SwitchLBRule ${rule} does not exist`,
      repair: `delete load balancer ${lb.name}`,
      action: { type: 'delete-lb', name: lb.name, rule },
    });
  }
  return out;
}

function normaliseVips(vips: Readonly<Record<string, string>>): string {
  return Object.entries(vips)
    .map(([front, backs]) => `${front}=${backs.split(',').filter(Boolean).sort().join(',')}`)
    .sort()
    .join(' ');
}
