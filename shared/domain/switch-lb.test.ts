import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reason } from './errors.ts';
import {
  backendAddresses,
  backendPorts,
  desiredSwitchLoadBalancers,
  endpoint,
  HEALTH_CHECK_ANNOTATION,
  healthChecksOn,
  parseSwitchLbRule,
  ruleStatusColumns,
  rulesAffectedByPod,
  ruleVip,
  switchLbFrontEnds,
  switchLbNames,
} from './switch-lb.ts';
import type { Pod, SwitchLBRule, Vip } from './types.ts';

const rule = (spec: SwitchLBRule['spec'], name = 'nginx'): SwitchLBRule => ({ metadata: { name }, spec });
const base = {
  vip: '10.16.0.50',
  namespace: 'default',
  selector: ['app: nginx'],
  ports: [{ name: 'http', port: 8080, targetPort: 80, protocol: 'TCP' }],
};
const parsed = (spec: SwitchLBRule['spec']) => {
  const r = parseSwitchLbRule(rule(spec));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.rule;
};
const subnets = [{ name: 'ovn-default', default: true }];
const pod = (
  name: string,
  ip: string,
  labels: Record<string, string> = { app: 'nginx' },
  ns = 'default',
): Pod => ({
  metadata: { name, namespace: ns, labels, annotations: { 'ovn.kubernetes.io/ip_address': ip } },
});

describe('parseSwitchLbRule', () => {
  it('parses and defaults protocol and targetPort', () => {
    const r = parsed({ ...base, ports: [{ port: 53, protocol: 'udp' }, { port: 80 }] });
    expect(r).toMatchObject({ name: 'nginx', vip: '10.16.0.50', family: 'v4', sessionAffinity: 'None' });
    expect(r.ports).toEqual([
      { port: 53, targetPort: 53, protocol: 'udp' },
      { port: 80, targetPort: 80, protocol: 'tcp' },
    ]);
  });
  it('reports every problem with a field', () => {
    const r = parseSwitchLbRule(
      rule({
        vip: 'x',
        namespace: '',
        selector: ['bad'],
        ports: [
          { port: 0 },
          { port: 1, targetPort: 70000 },
          { port: 2, protocol: 'icmp' },
          { port: 3 },
          { port: 3 },
        ],
        sessionAffinity: 'Sticky',
      }),
    );
    expect(r.ok ? [] : r.errors.map((e) => `${e.field}:${e.reason}`)).toEqual([
      'spec.vip:InvalidAddress',
      'spec.namespace:InvalidRule',
      'spec.selector[0]:InvalidSelector',
      'spec.ports[0].port:InvalidRule',
      'spec.ports[1].targetPort:InvalidRule',
      'spec.ports[2].protocol:InvalidRule',
      'spec.ports[4]:InvalidRule',
      'spec.sessionAffinity:InvalidRule',
    ]);
    const weird = parseSwitchLbRule(rule({ ...base, ports: [null, { port: 80, protocol: 6 }] } as never));
    expect(weird.ok ? [] : weird.errors.map((e) => e.field)).toEqual([
      'spec.ports[0]',
      'spec.ports[1].protocol',
    ]);
    const empty = parseSwitchLbRule(rule({ ...base, ports: [] }));
    expect(empty.ok ? null : empty.errors[0]?.field).toBe('spec.ports');
  });
});

describe('parseSwitchLbRule on arbitrary input', () => {
  it('property: never throws', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            vip: fc.anything(),
            namespace: fc.anything(),
            selector: fc.oneof(fc.anything(), fc.array(fc.anything())),
            ports: fc.oneof(
              fc.anything(),
              fc.array(
                fc.oneof(
                  fc.anything(),
                  fc.record({ port: fc.anything(), targetPort: fc.anything(), protocol: fc.anything() }),
                ),
              ),
            ),
            sessionAffinity: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        (spec) => {
          const r = parseSwitchLbRule({ metadata: { name: 'x' }, spec: spec as never });
          return r.ok || r.errors.length > 0;
        },
      ),
    );
  });
});

describe('ruleVip', () => {
  const vips: Vip[] = [
    {
      metadata: { name: 'slr-01', labels: { 'ovn.kubernetes.io/subnet': 'ovn-default' } },
      spec: { subnet: 'ovn-default', type: 'switch_lb_vip' },
      status: { v4ip: '10.16.0.50', type: 'switch_lb_vip' },
    },
    { metadata: { name: 'plain' }, spec: { subnet: 'ovn-default' }, status: { v4ip: '10.16.0.60' } },
  ];
  it('finds the switch_lb_vip Vip holding the address', () => {
    expect(ruleVip('10.16.0.50', vips)).toEqual({ ok: true, vip: 'slr-01', subnet: 'ovn-default' });
  });
  it('refuses an unknown address or a Vip of another type', () => {
    expect(ruleVip('10.16.0.99', vips)).toMatchObject({ ok: false, error: { reason: Reason.InvalidRule } });
    const r = ruleVip('10.16.0.60', vips);
    expect(r.ok ? '' : r.error.message).toContain('plain');
  });
});

describe('back ends and rows', () => {
  const r = parsed(base);
  it('selects matching pods of the namespace on the subnet, sorted numerically', () => {
    const pods = [
      pod('b', '10.16.0.10'),
      pod('a', '10.16.0.9'),
      pod('other-label', '10.16.0.11', { app: 'x' }),
      pod('other-ns', '10.16.0.12', { app: 'nginx' }, 'other'),
      {
        ...pod('deleting', '10.16.0.13'),
        metadata: { ...pod('deleting', '10.16.0.13').metadata, deletionTimestamp: 'now' },
      },
      { ...pod('done', '10.16.0.14'), status: { phase: 'Succeeded' } },
      pod('no-ip', ''),
      {
        ...pod('elsewhere', '10.17.0.2'),
        metadata: {
          ...pod('elsewhere', '10.17.0.2').metadata,
          annotations: {
            'ovn.kubernetes.io/logical_switch': 'other',
            'ovn.kubernetes.io/ip_address': '10.17.0.2',
          },
        },
      },
    ];
    expect(backendAddresses(r, 'ovn-default', pods, subnets)).toEqual(['10.16.0.9', '10.16.0.10']);
    expect(backendAddresses({ ...r, selector: [] }, 'ovn-default', pods, subnets)).toEqual([]);
  });
  it('builds one row per protocol with front and back ends', () => {
    const rows = desiredSwitchLoadBalancers(
      parsed({ ...base, ports: [...base.ports, { port: 53, protocol: 'UDP' }], sessionAffinity: 'ClientIP' }),
      'ovn-default',
      ['10.16.0.9', '10.16.0.10'],
    );
    expect(rows).toEqual([
      {
        name: 'slr-nginx-tcp',
        protocol: 'tcp',
        vips: { '10.16.0.50:8080': '10.16.0.9:80,10.16.0.10:80' },
        selectionFields: [],
        options: { affinity_timeout: '10800' },
        externalIds: { 'switch-lb-rule': 'nginx', vendor: 'kube-ovn' },
        switchName: 'ovn-default',
      },
      expect.objectContaining({
        name: 'slr-nginx-udp',
        protocol: 'udp',
        vips: { '10.16.0.50:53': '10.16.0.9:53,10.16.0.10:53' },
      }),
    ]);
    expect(desiredSwitchLoadBalancers(r, 'ovn-default', [])[0]?.vips).toEqual({ '10.16.0.50:8080': '' });
    expect(desiredSwitchLoadBalancers(r, 'ovn-default', [])[0]?.options).toEqual({});
  });
  it('brackets IPv6 and uses the v6 addresses of pods', () => {
    expect(endpoint('fd00::50', 80)).toBe('[fd00::50]:80');
    const r6 = parsed({ ...base, vip: 'FD00::50' });
    const pods = [pod('a', '10.16.0.9,fd00::9')];
    const be = backendAddresses(r6, 'ovn-default', pods, subnets);
    expect(be).toEqual(['fd00::9']);
    expect(desiredSwitchLoadBalancers(r6, 'ovn-default', be)[0]?.vips).toEqual({
      '[fd00::50]:8080': '[fd00::9]:80',
    });
    expect(switchLbNames('nginx')).toEqual(['slr-nginx-tcp', 'slr-nginx-udp', 'slr-nginx-sctp']);
  });
  it('finds the rules a pod change affects', () => {
    const rules = [
      rule(base, 'nginx'),
      rule({ ...base, selector: ['app: db'] }, 'db'),
      rule({ ...base, namespace: 'other' }, 'far'),
      rule({ vip: 'bad' }, 'broken'),
    ];
    expect(rulesAffectedByPod(rules, pod('a', '10.16.0.9', { app: 'db' }), pod('a', '10.16.0.9'))).toEqual([
      'db',
      'nginx',
    ]);
    expect(rulesAffectedByPod(rules, undefined, pod('a', '10.16.0.9', { app: 'none' }))).toEqual([]);
  });
});

describe('kube-ovn master: endpoints, status columns, front ends answered by the gateway', () => {
  const rule = (spec: SwitchLBRule['spec']): SwitchLBRule => ({ metadata: { name: 'ep' }, spec });
  it('takes static endpoints instead of the selector, of the front end family only', () => {
    const p = parseSwitchLbRule(
      rule({
        vip: '10.16.0.200',
        namespace: 'default',
        selector: ['app: web'],
        endpoints: ['10.16.0.22', ' 10.16.0.9', 'fd00::5', '10.16.0.22'],
        ports: [{ port: 80, targetPort: 8080 }],
      }),
    );
    if (!p.ok) throw new Error(JSON.stringify(p.errors));
    expect(p.rule.endpoints).toEqual(['10.16.0.22', '10.16.0.9', 'fd00::5']);
    // No pod is consulted: the endpoints are the back ends.
    expect(backendAddresses(p.rule, 'ovn-default', [], [])).toEqual(['10.16.0.9', '10.16.0.22']);
    const rows = desiredSwitchLoadBalancers(p.rule, 'ovn-default', ['10.16.0.9', '10.16.0.22']);
    expect(rows[0]?.vips).toEqual({ '10.16.0.200:80': '10.16.0.9:8080,10.16.0.22:8080' });
  });
  it('refuses an endpoint that is not an address', () => {
    const p = parseSwitchLbRule(
      rule({ vip: '10.16.0.200', namespace: 'default', endpoints: ['web-1'], ports: [{ port: 80 }] }),
    );
    expect(p.ok ? [] : p.errors).toEqual([
      { field: 'spec.endpoints[0]', reason: Reason.InvalidAddress, message: '"web-1" is not an IP address' },
    ]);
  });
  it('prints ports and service as kube-ovn does', () => {
    expect(
      ruleStatusColumns(
        rule({
          vip: '10.16.0.200',
          namespace: 'ns1',
          ports: [
            { name: 'a', port: 443, protocol: 'TCP' },
            { name: 'b', port: 53, protocol: 'UDP' },
            { name: 'c', port: 80 },
          ],
        }),
      ),
    ).toEqual({ ports: '443/TCP,53/UDP,80/TCP', service: 'ns1/slr-ep' });
  });
  it('lists the IPv4 front ends of a subnet: switch_lb_vip Vips with an address, not being deleted', () => {
    const vip = (
      name: string,
      type: string,
      v4ip: string,
      subnet = 'ovn-default',
      deleting = false,
    ): Vip => ({
      metadata: {
        name,
        labels: { 'ovn.kubernetes.io/subnet': subnet },
        ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
      },
      spec: { subnet, type },
      status: { v4ip, type },
    });
    expect(
      switchLbFrontEnds('ovn-default', [
        vip('b', 'switch_lb_vip', '10.16.0.200'),
        vip('a', 'switch_lb_vip', '10.16.0.30'),
        vip('aap', '', '10.16.0.40'),
        vip('other', 'switch_lb_vip', '10.17.0.5', 'other'),
        vip('gone', 'switch_lb_vip', '10.16.0.50', 'ovn-default', true),
        vip('none', 'switch_lb_vip', ''),
      ]),
    ).toEqual(['10.16.0.30', '10.16.0.200']);
  });
});

describe('health checks', () => {
  const pods = [pod('a', '10.16.0.9'), pod('b', '10.16.0.10'), pod('c', '10.16.0.11', { app: 'other' })];
  it('are on by default and off with kube-ovn annotation set to "false"', () => {
    expect(healthChecksOn(rule(base))).toBe(true);
    const off = rule(base);
    off.metadata.annotations = { [HEALTH_CHECK_ANNOTATION]: 'false' };
    expect(healthChecksOn(off)).toBe(false);
    off.metadata.annotations = { [HEALTH_CHECK_ANNOTATION]: 'true' };
    expect(healthChecksOn(off)).toBe(true);
  });
  it('give each front end a check with kube-ovn options, and each back end with a port a mapping', () => {
    const r = parsed({ ...base, ports: [...base.ports, { port: 9090, targetPort: 90 }] });
    // 10.16.0.12 is a back end no pod has (a static endpoint, say): not probed, no mapping.
    const backends = ['10.16.0.9', '10.16.0.10', '10.16.0.12'];
    const ports = backendPorts(r, 'ovn-default', backends, pods, subnets);
    expect([...ports]).toEqual([
      ['10.16.0.9', 'a.default'],
      ['10.16.0.10', 'b.default'],
    ]);
    const [row] = desiredSwitchLoadBalancers(r, 'ovn-default', backends, { source: '10.16.0.2', ports });
    expect(row?.healthChecks).toEqual(
      ['10.16.0.50:8080', '10.16.0.50:9090'].map((vip) => ({
        vip,
        options: { interval: '5', timeout: '20', success_count: '3', failure_count: '3' },
        externalIds: { switch_lb_subnet: 'ovn-default' },
      })),
    );
    expect(row?.ipPortMappings).toEqual({
      '10.16.0.9': 'a.default:10.16.0.2',
      '10.16.0.10': 'b.default:10.16.0.2',
    });
  });
  it('are not written without the probe input, nor for an IPv6 front end (kube-ovn probes IPv4 only)', () => {
    const [plain] = desiredSwitchLoadBalancers(parsed(base), 'ovn-default', ['10.16.0.9']);
    expect(plain).not.toHaveProperty('healthChecks');
    expect(plain).not.toHaveProperty('ipPortMappings');
    const r6 = parsed({ ...base, vip: 'fd00::50' });
    const [v6] = desiredSwitchLoadBalancers(r6, 'ovn-default', ['fd00::9'], {
      source: '10.16.0.2',
      ports: new Map([['fd00::9', 'a.default']]),
    });
    expect(v6).not.toHaveProperty('healthChecks');
  });
});
