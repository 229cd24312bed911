// SwitchLBRule -> the OVN Load_Balancer rows of the rule's subnet (SPEC §1, §3.2): one row per
// protocol, front end the switch_lb_vip address, back ends the selected pods on the same subnet.
import { Reason } from './errors.ts';
import { canonicalV4, canonicalV6, type FamilyName, familyOf, toBigInt } from './ip.ts';
import { isDnsLabel } from './labels.ts';
import { readPodAnnotations } from './pod-annotations.ts';
import { nicOnSubnet, podNics, type SubnetPlacement } from './pod-network.ts';
import { type LabelRequirement, matchesSelector, parseSelector } from './selector.ts';
import type { Pod, SwitchLBRule, Vip } from './types.ts';
import type { FieldError } from './vip-spec.ts';
import type { PortNamingOptions } from './workload.ts';

export type LbProtocol = 'tcp' | 'udp' | 'sctp';
export const LB_PROTOCOLS: readonly LbProtocol[] = ['tcp', 'udp', 'sctp'];
/** kube-ovn's annotation: `"false"` on a SwitchLBRule turns its health checks off (on by default). */
export const HEALTH_CHECK_ANNOTATION = 'ovn.kubernetes.io/service_health_check';
/** The probe settings kube-ovn writes on every check: every 5 s, down after 3 misses, up after 3. */
export const HEALTH_CHECK_OPTIONS: Readonly<Record<string, string>> = {
  interval: '5',
  timeout: '20',
  success_count: '3',
  failure_count: '3',
};
/** Kubernetes' default ClientIP affinity (3 h); OVN accepts at most 65535 s. */
export const CLIENT_IP_AFFINITY_TIMEOUT = '10800';

export interface LbPort {
  name?: string;
  port: number;
  targetPort: number;
  protocol: LbProtocol;
}

export interface ParsedRule {
  name: string;
  vip: string;
  family: FamilyName;
  namespace: string;
  selector: LabelRequirement[];
  ports: LbPort[];
  sessionAffinity: 'None' | 'ClientIP';
  /** Static back ends (canonical addresses); when present the selector is not used, as in kube-ovn. */
  endpoints: string[];
}

export type RuleParse = { ok: true; rule: ParsedRule } | { ok: false; errors: FieldError[] };

/** Validates a SwitchLBRule's spec on its own (the Vip check needs the Vips: `ruleVip`). */
export function parseSwitchLbRule(rule: Pick<SwitchLBRule, 'metadata' | 'spec'>): RuleParse {
  const errors: FieldError[] = [];
  const err = (field: string, reason: Reason, message: string) => errors.push({ field, reason, message });
  const s = rule.spec ?? {};
  const rawVip = typeof s.vip === 'string' ? s.vip.trim() : '';
  const vip = canonicalV4(rawVip) ?? canonicalV6(rawVip);
  if (!rawVip) err('spec.vip', Reason.InvalidRule, 'spec.vip is required');
  else if (!vip) err('spec.vip', Reason.InvalidAddress, `"${s.vip}" is not an IP address`);
  const namespace = typeof s.namespace === 'string' ? s.namespace.trim() : '';
  if (!isDnsLabel(namespace))
    err(
      'spec.namespace',
      Reason.InvalidRule,
      `namespace "${show(s.namespace ?? '')}" is not a namespace name`,
    );
  let selector: LabelRequirement[] = [];
  const rawSel: unknown[] = Array.isArray(s.selector) ? s.selector : [];
  const sel = parseSelector(rawSel.map((x) => (typeof x === 'string' ? x : show(x))));
  if (sel.ok) selector = sel.requirements;
  else for (const e of sel.errors) err(`spec.selector[${e.index}]`, Reason.InvalidSelector, e.message);

  const ports: LbPort[] = [];
  const rawPorts = Array.isArray(s.ports) ? s.ports : [];
  if (rawPorts.length === 0) err('spec.ports', Reason.InvalidRule, 'at least one port is required');
  const seen = new Set<string>();
  for (const [i, p] of rawPorts.entries()) {
    if (typeof p !== 'object' || p === null) {
      err(`spec.ports[${i}]`, Reason.InvalidRule, 'a port must be an object');
      continue;
    }
    const field = `spec.ports[${i}]`;
    const protocol = (
      typeof p.protocol === 'string' ? p.protocol : p.protocol === undefined ? 'TCP' : show(p.protocol)
    ).toLowerCase() as LbProtocol;
    const targetPort = p.targetPort === undefined || p.targetPort === 0 ? p.port : p.targetPort;
    if (!isPort(p.port)) {
      err(`${field}.port`, Reason.InvalidRule, `port ${show(p.port)} is not in 1..65535`);
      continue;
    }
    if (!isPort(targetPort)) {
      err(`${field}.targetPort`, Reason.InvalidRule, `targetPort ${show(p.targetPort)} is not in 1..65535`);
      continue;
    }
    if (!LB_PROTOCOLS.includes(protocol)) {
      err(`${field}.protocol`, Reason.InvalidRule, `protocol ${show(p.protocol)} is not TCP, UDP or SCTP`);
      continue;
    }
    const key = `${protocol}/${p.port}`;
    if (seen.has(key)) {
      err(field, Reason.InvalidRule, `port ${p.port}/${protocol.toUpperCase()} is listed twice`);
      continue;
    }
    seen.add(key);
    const lp: LbPort = { port: p.port, targetPort, protocol };
    if (typeof p.name === 'string' && p.name) lp.name = p.name;
    ports.push(lp);
  }
  const endpoints: string[] = [];
  const rawEndpoints: unknown[] = Array.isArray(s.endpoints) ? s.endpoints : [];
  for (const [i, e] of rawEndpoints.entries()) {
    const raw = typeof e === 'string' ? e.trim() : '';
    const addr = canonicalV4(raw) ?? canonicalV6(raw);
    if (!addr) err(`spec.endpoints[${i}]`, Reason.InvalidAddress, `"${show(e)}" is not an IP address`);
    else if (!endpoints.includes(addr)) endpoints.push(addr);
  }
  const affinity =
    typeof s.sessionAffinity === 'string'
      ? s.sessionAffinity
      : s.sessionAffinity == null
        ? ''
        : JSON.stringify(s.sessionAffinity);
  if (affinity !== '' && affinity !== 'None' && affinity !== 'ClientIP') {
    err('spec.sessionAffinity', Reason.InvalidRule, `sessionAffinity ${affinity} is not None or ClientIP`);
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    rule: {
      name: rule.metadata.name,
      vip: vip!,
      family: familyOf(vip!)!,
      namespace,
      selector,
      ports,
      sessionAffinity: affinity === 'ClientIP' ? 'ClientIP' : 'None',
      endpoints,
    },
  };
}

const isPort = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

/**
 * The Vip whose reserved address is the rule's vip. It must be a `switch_lb_vip` Vip with that
 * address assigned; otherwise the rule cannot be applied (yet): InvalidRule naming what is wrong.
 */
export function ruleVip(
  vipAddress: string,
  vips: readonly Pick<Vip, 'metadata' | 'spec' | 'status'>[],
): { ok: true; vip: string; subnet: string } | { ok: false; error: FieldError } {
  const holder = vips.find(
    (v) => v.status?.v4ip === vipAddress || canonicalV6(v.status?.v6ip ?? '') === vipAddress,
  );
  if (!holder) {
    return {
      ok: false,
      error: { field: 'spec.vip', reason: Reason.InvalidRule, message: `no Vip has reserved ${vipAddress}` },
    };
  }
  const type = holder.status?.type || holder.spec.type || '';
  if (type !== 'switch_lb_vip') {
    return {
      ok: false,
      error: {
        field: 'spec.vip',
        reason: Reason.InvalidRule,
        message: `${vipAddress} is reserved by Vip ${holder.metadata.name}, which is not of type switch_lb_vip`,
      },
    };
  }
  const subnet = holder.metadata.labels?.['ovn.kubernetes.io/subnet'] || holder.spec.subnet || '';
  return { ok: true, vip: holder.metadata.name, subnet };
}

/**
 * The IPv4 front ends (switch_lb_vip Vips with an address, not being deleted) of `subnet`, sorted:
 * what the subnet's gateway port answers ARP for, so a client on the subnet sends to the gateway's
 * MAC and the switch's load balancer rewrites the address (no route needed on the client).
 */
export function switchLbFrontEnds(
  subnet: string,
  vips: readonly Pick<Vip, 'metadata' | 'spec' | 'status'>[],
): string[] {
  const out: string[] = [];
  for (const v of vips) {
    if (v.metadata.deletionTimestamp) continue;
    if ((v.status?.type || v.spec.type || '') !== 'switch_lb_vip') continue;
    if ((v.metadata.labels?.['ovn.kubernetes.io/subnet'] || v.spec.subnet) !== subnet) continue;
    const a = canonicalV4(v.status?.v4ip ?? '');
    if (a) out.push(a);
  }
  return sortAddresses(out);
}

export interface LoadBalancerRow {
  /** `slr-<rule>-<protocol>`. */
  name: string;
  protocol: LbProtocol;
  /** `vip:port` (IPv6 `[addr]:port`) -> comma list of back ends, sorted; '' when none. */
  vips: Record<string, string>;
  selectionFields: string[];
  options: Record<string, string>;
  externalIds: { 'switch-lb-rule': string; vendor: 'kube-ovn' };
  /** The logical switch (= subnet) the row is attached to. */
  switchName: string;
  /** One Load_Balancer_Health_Check per front end (IPv4 rules with checks on); [] = none. */
  healthChecks?: { vip: string; options: Record<string, string>; externalIds: Record<string, string> }[];
  /** Back-end IP -> `<its port>:<probe source>`; only back ends whose port is known. */
  ipPortMappings?: Record<string, string>;
}

/** Health checks are on unless the rule carries kube-ovn's annotation set to "false". */
export function healthChecksOn(rule: Pick<SwitchLBRule, 'metadata'>): boolean {
  return rule.metadata.annotations?.[HEALTH_CHECK_ANNOTATION] !== 'false';
}

/** What probing needs: the source address of the probes and each back end's logical switch port. */
export interface HealthCheckInput {
  /** An IPv4 address of the subnet reserved for the probes (kube-ovn: a Vip named after the subnet). */
  source: string;
  /** Back-end address -> its logical switch port. */
  ports: ReadonlyMap<string, string>;
}

/** Every Load_Balancer name a rule can own, for deletion. */
export function switchLbNames(ruleName: string): string[] {
  return LB_PROTOCOLS.map((p) => `slr-${ruleName}-${p}`);
}

export function endpoint(addr: string, port: number): string {
  return familyOf(addr) === 'v6' ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * The back-end addresses: pods of the rule's namespace, not being deleted and not finished,
 * matching the selector (an empty selector selects none, as a Service without selector), with a
 * NIC on the subnet carrying an address of the vip's family. Sorted numerically, deduplicated.
 */
export function backendAddresses(
  rule: Pick<ParsedRule, 'namespace' | 'selector' | 'family'> & { endpoints?: string[] },
  subnet: string,
  pods: readonly Pod[],
  subnets: readonly SubnetPlacement[],
  opts: PortNamingOptions = {},
): string[] {
  // Static endpoints (e.g. KubeVirt VMs whose addresses no selector finds) replace the selector;
  // only those of the front end's family can be its back ends.
  if (rule.endpoints && rule.endpoints.length > 0) {
    return sortAddresses(rule.endpoints.filter((a) => familyOf(a) === rule.family));
  }
  if (rule.selector.length === 0) return [];
  const out = new Set<string>();
  for (const pod of pods) {
    if (!matchesSelector(rule.selector, pod.metadata.labels)) continue;
    const nic = usableNic(rule, subnet, pod, subnets, opts);
    if (nic) out.add(nic.addr);
  }
  return sortAddresses(out);
}

/** A running pod's NIC on `subnet` in the rule's namespace, with its address of the rule's family. */
function usableNic(
  rule: Pick<ParsedRule, 'namespace' | 'family'>,
  subnet: string,
  pod: Pod,
  subnets: readonly SubnetPlacement[],
  opts: PortNamingOptions,
): { addr: string; port: string } | undefined {
  if ((pod.metadata.namespace ?? 'default') !== rule.namespace || pod.metadata.deletionTimestamp) return;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
  const nics = podNics(pod, subnets, opts);
  if (!nics.ok) return;
  const nic = nicOnSubnet(nics.value, subnet);
  if (!nic) return;
  const ann = readPodAnnotations(pod, nic.provider);
  const addr = rule.family === 'v4' ? ann.v4 : ann.v6;
  return addr ? { addr, port: nic.portName } : undefined;
}

/**
 * Each back end's logical switch port, for the probes' `ip_port_mappings`: the pod of the rule's
 * namespace whose NIC on the subnet has that address (static endpoints included, when a pod has
 * them; a back end no pod has gets no mapping and is not probed).
 */
export function backendPorts(
  rule: Pick<ParsedRule, 'namespace' | 'family'>,
  subnet: string,
  backends: readonly string[],
  pods: readonly Pod[],
  subnets: readonly SubnetPlacement[],
  opts: PortNamingOptions = {},
): Map<string, string> {
  const wanted = new Set(backends);
  const out = new Map<string, string>();
  for (const pod of pods) {
    const nic = usableNic(rule, subnet, pod, subnets, opts);
    if (nic && wanted.has(nic.addr) && !out.has(nic.addr)) out.set(nic.addr, nic.port);
  }
  return out;
}

const sortAddresses = (addrs: Iterable<string>): string[] =>
  [...new Set(addrs)].sort((a, b) => {
    const x = toBigInt(a);
    const y = toBigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });

/**
 * The status columns kube-ovn prints: `ports` as "<port>/<PROTOCOL>" in spec order (TCP when
 * unset), and `service` as "<namespace>/slr-<rule>", the name of kube-ovn's headless Service (no
 * such object exists here: the load balancer is written to OVN directly).
 */
export function ruleStatusColumns(rule: Pick<SwitchLBRule, 'metadata' | 'spec'>): {
  ports: string;
  service: string;
} {
  const ports = (Array.isArray(rule.spec.ports) ? rule.spec.ports : [])
    .map((p) => `${p?.port}/${typeof p?.protocol === 'string' && p.protocol ? p.protocol : 'TCP'}`)
    .join(',');
  return { ports, service: `${rule.spec.namespace ?? ''}/slr-${rule.metadata.name}` };
}

/**
 * The Load_Balancer rows for a parsed rule on `subnet`, one per protocol in use, sorted by name.
 * With `health` (checks on, IPv4: kube-ovn probes IPv4 front ends only) every front end gets a
 * health check, and every back end whose port is known an `ip_port_mappings` entry.
 */
export function desiredSwitchLoadBalancers(
  rule: ParsedRule,
  subnet: string,
  backends: readonly string[],
  health?: HealthCheckInput,
): LoadBalancerRow[] {
  const probed = health && rule.family === 'v4' ? health : undefined;
  const mappings: Record<string, string> = {};
  if (probed) {
    for (const b of backends) {
      const port = probed.ports.get(b);
      if (port) mappings[b] = `${port}:${probed.source}`;
    }
  }
  const rows: LoadBalancerRow[] = [];
  for (const protocol of LB_PROTOCOLS) {
    const ports = rule.ports.filter((p) => p.protocol === protocol);
    if (ports.length === 0) continue;
    const vips: Record<string, string> = {};
    for (const p of [...ports].sort((a, b) => a.port - b.port)) {
      vips[endpoint(rule.vip, p.port)] = backends.map((b) => endpoint(b, p.targetPort)).join(',');
    }
    const row: LoadBalancerRow = {
      name: `slr-${rule.name}-${protocol}`,
      protocol,
      vips,
      selectionFields: [],
      options: {},
      externalIds: { 'switch-lb-rule': rule.name, vendor: 'kube-ovn' },
      switchName: subnet,
      ...(probed
        ? {
            healthChecks: Object.keys(vips).map((vip) => ({
              vip,
              options: { ...HEALTH_CHECK_OPTIONS },
              externalIds: { switch_lb_subnet: subnet },
            })),
            ipPortMappings: { ...mappings },
          }
        : {}),
    };
    // ClientIP: OVN's own affinity (same client -> same back end for the timeout) is what
    // Kubernetes means; selection_fields would only hash, and re-shuffle when back ends change.
    if (rule.sessionAffinity === 'ClientIP') row.options.affinity_timeout = CLIENT_IP_AFFINITY_TIMEOUT;
    rows.push(row);
  }
  return rows;
}

/**
 * The rules a pod change can affect: those in the pod's namespace whose selector matches the old
 * or the new labels. Unparseable rules are skipped (their own handler reports them).
 */
export function rulesAffectedByPod(
  rules: readonly Pick<SwitchLBRule, 'metadata' | 'spec'>[],
  oldPod?: Pod,
  newPod?: Pod,
): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    const p = parseSwitchLbRule(r);
    if (!p.ok || p.rule.selector.length === 0) continue;
    for (const pod of [oldPod, newPod]) {
      if (
        pod &&
        (pod.metadata.namespace ?? 'default') === p.rule.namespace &&
        matchesSelector(p.rule.selector, pod.metadata.labels)
      ) {
        out.add(p.rule.name);
      }
    }
  }
  return [...out].sort();
}

/** Any value as text for an error message; never throws (user input may be any JSON, or worse). */
function show(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
