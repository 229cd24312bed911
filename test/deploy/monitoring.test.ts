// The monitoring component (infra/deploy/components/monitoring) rendered with the base: its
// Service reaches the pods that serve /metrics on their HEALTH_PORT, its ServiceMonitor selects
// that Service and port, the PrometheusRule and the Grafana dashboard are well formed, and every
// metric name they query is one the code registers (the registries of the functions, the relay,
// the holder sync and the node agent). The Prometheus Operator's kinds are checked by hand: no
// schema package for them is installed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createRelayMetrics } from '../../infra/relay/metrics.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';
import { createFunctionMetrics } from '../../shared/metrics/functions.ts';
import { createHolderMetrics, registerReadiness } from '../../shared/metrics/process.ts';
import { containerEnv, DEPLOY, ensureInit, find, type Obj } from './render.ts';

let objs: Obj[];
let redis: Redis;

beforeAll(() => {
  ensureInit();
  // kustomize takes relative paths only: a throwaway overlay beside the real ones.
  const dir = mkdtempSync(join(DEPLOY, '.monitoring-'));
  try {
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'namespace: kube-ovn-vip',
        'resources: [../base]',
        'components: [../components/self-signed, ../components/monitoring]',
        '',
      ].join('\n'),
    );
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 << 20 });
    objs = parseAllDocuments(out)
      .map((d) => d.toJS() as Obj)
      .filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

afterAll(() => redis?.disconnect());

/** Every metric name the code registers, histograms with their series suffixes. */
function exportedNames(): Set<string> {
  redis = new Redis(inject('redisUrl'), { lazyConnect: true });
  const fn = createFunctionMetrics();
  fn.showSubnets(createRedisAllocator(redis));
  registerReadiness(fn.registry, async () => ({ ready: true, checks: {} }));
  const relay = createRelayMetrics();
  const holder = createHolderMetrics();
  holder.showPodsWired(() => 0);
  const names = new Set<string>();
  for (const r of [fn.registry, relay.registry, holder.registry])
    for (const m of r.getMetricsAsArray()) {
      const { name, type } = m as unknown as { name: string; type: string };
      names.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    }
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'vector',
]);

/** Metric names a PromQL expression selects (label matchers, ranges, groupings and calls removed). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out: string[] = [];
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!)) continue;
    out.push(m[1]!);
  }
  return out;
}

describe('monitoring component', () => {
  it('scrapes the health port of every pod that serves /metrics', () => {
    const svc = find(objs, 'Service', 'vip-metrics', '');
    expect(svc?.spec.clusterIP).toBe('None');
    const port = svc!.spec.ports.find((p: Obj) => p.name === 'health');
    const monitor = find(objs, 'ServiceMonitor', 'kube-ovn-vip', 'monitoring.coreos.com');
    expect(monitor?.metadata.namespace).toBe('kube-ovn-vip');
    for (const [k, v] of Object.entries(monitor!.spec.selector.matchLabels))
      expect(svc!.metadata.labels[k], `Service label ${k}`).toBe(v);
    expect(monitor!.spec.endpoints.map((e: Obj) => [e.port, e.path])).toEqual([['health', '/metrics']]);
    // The pods the Service selects: each serves HEALTH_PORT on its `health` port.
    const selected = objs.filter(
      (o) =>
        o.kind === 'Deployment' &&
        Object.entries(svc!.spec.selector).every(([k, v]) => o.spec.template.metadata.labels?.[k] === v),
    );
    expect(selected.map((d) => d.metadata.name).sort()).toEqual(['vip-functions', 'vip-holder', 'vip-relay']);
    for (const d of selected) {
      const c = d.spec.template.spec.containers[0];
      const health = c.ports.find((p: Obj) => p.name === port.targetPort);
      expect(String(health?.containerPort), d.metadata.name).toBe(containerEnv(objs, c).HEALTH_PORT);
    }
  });

  it('has well-formed alerts, among them the four asked for', () => {
    const rule = find(objs, 'PrometheusRule', 'kube-ovn-vip', 'monitoring.coreos.com');
    const rules: Obj[] = rule!.spec.groups.flatMap((g: Obj) => g.rules);
    for (const r of rules) {
      expect(typeof r.alert).toBe('string');
      expect(typeof r.expr).toBe('string');
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
      if (r.for) expect(r.for).toMatch(/^\d+[smh]$/);
    }
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'VipSubnetAlmostFull',
        'VipReconcileErrors',
        'VipRelayLagging',
        'VipNoReadyFunctionReplica',
      ]),
    );
    // job values the rules name are programs the ServiceMonitor labels pods with.
    for (const r of rules)
      for (const m of r.expr.matchAll(/job="([^"]+)"/g))
        expect(find(objs, 'Deployment', m[1]), m[1]).toBeDefined();
  });

  it('ships the dashboard as a ConfigMap for the Grafana sidecar', () => {
    const cm = find(objs, 'ConfigMap', 'vip-grafana-dashboard', '');
    expect(cm?.metadata.labels.grafana_dashboard).toBe('1');
    const dash = JSON.parse(cm!.data['kube-ovn-vip.json']);
    expect(dash.uid).toBe('kube-ovn-vip');
    expect(dash.panels.length).toBeGreaterThan(5);
    for (const p of dash.panels) expect(p.targets.length, p.title).toBeGreaterThan(0);
  });

  it('queries only metric names the code exports', () => {
    const names = exportedNames();
    const rule = find(objs, 'PrometheusRule', 'kube-ovn-vip', 'monitoring.coreos.com')!;
    const dash = JSON.parse(find(objs, 'ConfigMap', 'vip-grafana-dashboard', '')!.data['kube-ovn-vip.json']);
    const exprs: string[] = [
      ...rule.spec.groups.flatMap((g: Obj) => g.rules.map((r: Obj) => r.expr)),
      ...dash.panels.flatMap((p: Obj) => p.targets.map((t: Obj) => t.expr)),
    ];
    const queried = new Set(exprs.flatMap(metricNames));
    // The extraction itself finds names (a broken regex would make the check vacuous).
    expect(queried).toContain('subnet_used_ip_count');
    expect(queried).toContain('vip_relay_lag_seconds');
    expect(queried).toContain('vip_reconcile_duration_seconds_bucket');
    expect([...queried].filter((n) => !names.has(n))).toEqual([]);
  });

  it('extracts names from PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, kind) (rate(a_bucket{x="y"}[5m]))) / on (k) b > 0.9 and c',
      ),
    ).toEqual(['a_bucket', 'b', 'c']);
  });
});
