// The manifests as a real cluster would take them: structural CRD schemas, names, printer column
// types, the webhook configuration; and kubectl applying the CRDs to an empty API server.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevApiServer, readYamlObjects, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import { applyFlags, findKubectl, runKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { makeTempDir } from '../../infra/local/services.ts';

const root = new URL('../../', import.meta.url).pathname;
const crdDir = join(root, 'infra/manifests/crds');
const crdFiles = readdirSync(crdDir).map((f) => join(crdDir, f));
// biome-ignore lint/suspicious/noExplicitAny: manifests read as plain YAML
const crds = crdFiles.flatMap(readYamlObjects) as any[];

/** kube-apiserver's structural schema rule: every node states its type (or opts out explicitly). */
function unstructured(node: Record<string, unknown>, path: string): string[] {
  const problems: string[] = [];
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!node.type && !node['x-kubernetes-int-or-string'] && !preserve) problems.push(`${path}: no type`);
  for (const [k, v] of Object.entries((node.properties as Record<string, Record<string, unknown>>) ?? {}))
    problems.push(...unstructured(v, `${path}.${k}`));
  if (node.items) problems.push(...unstructured(node.items as Record<string, unknown>, `${path}[]`));
  return problems;
}

describe('CRD manifests', () => {
  it('declare Vip, Subnet and SwitchLBRule, cluster-scoped, with a status subresource and structural schemas', () => {
    expect(crds.map((c) => c.spec.names.kind).sort()).toEqual(['Subnet', 'SwitchLBRule', 'Vip']);
    for (const crd of crds) {
      expect(crd).toMatchObject({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        spec: { group: 'kubeovn.io', scope: 'Cluster' },
      });
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.kubeovn.io`);
      expect(crd.spec.versions).toHaveLength(1);
      const [v] = crd.spec.versions;
      expect(v).toMatchObject({ name: 'v1', served: true, storage: true, subresources: { status: {} } });
      expect(unstructured(v.schema.openAPIV3Schema, crd.spec.names.kind)).toEqual([]);
      for (const c of v.additionalPrinterColumns)
        expect(['string', 'boolean', 'number', 'integer', 'date']).toContain(c.type);
    }
  });

  it("gives the Vip the seed's short name and printer columns in order, PARENTS and HOLDER only in -o wide", () => {
    const vip = crds.find((c) => c.spec.names.kind === 'Vip');
    expect(vip.spec.names.shortNames).toEqual(['vip']);
    const cols = vip.spec.versions[0].additionalPrinterColumns;
    expect(
      cols.filter((c: { priority?: number }) => !c.priority).map((c: { name: string }) => c.name),
    ).toEqual(['V4IP', 'PV4IP', 'MAC', 'PMAC', 'V6IP', 'PV6IP', 'SUBNET', 'READY']);
    expect(cols.find((c: { name: string }) => c.name === 'PARENTS')).toMatchObject({
      priority: 1,
      jsonPath: '.status.parents',
    });
    expect(cols.find((c: { name: string }) => c.name === 'HOLDER')).toMatchObject({
      priority: 1,
      jsonPath: '.status.holder',
    });
    expect(vip.spec.versions[0].schema.openAPIV3Schema.properties.spec.required).toEqual(['subnet']);
  });

  it('has a ValidatingWebhookConfiguration for Vip CREATE and UPDATE', () => {
    const [hook] = readYamlObjects(join(root, 'infra/deploy/base/webhook.yaml')) as unknown as {
      kind: string;
      webhooks: {
        admissionReviewVersions: string[];
        sideEffects: string;
        clientConfig: { service: { path: string } };
        rules: { resources: string[]; operations: string[] }[];
      }[];
    }[];
    expect(hook?.kind).toBe('ValidatingWebhookConfiguration');
    const w = hook?.webhooks[0];
    expect(w?.admissionReviewVersions).toContain('v1');
    expect(w?.sideEffects).toBe('None');
    expect(w?.clientConfig.service.path).toBe('/admission/vips');
    expect(w?.rules[0]).toMatchObject({ resources: ['vips'], operations: ['CREATE', 'UPDATE'] });
  });
});

describe('RBAC manifest (the one kustomize installs)', () => {
  // biome-ignore lint/suspicious/noExplicitAny: manifests read as plain YAML
  const docs = readYamlObjects(join(root, 'infra/deploy/base/rbac.yaml')) as any[];
  const role = (name: string) => docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === name);
  const allows = (
    r: { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] },
    group: string,
    resource: string,
    verb: string,
  ) =>
    r.rules.some(
      (x) => x.apiGroups.includes(group) && x.resources.includes(resource) && x.verbs.includes(verb),
    );

  it('lets the functions do what shared/kube does, and the relay only read', () => {
    const fn = role('kube-ovn-vip-functions');
    for (const [g, r, v] of [
      ['kubeovn.io', 'vips', 'patch'],
      ['kubeovn.io', 'subnets', 'patch'],
      ['kubeovn.io', 'vips/status', 'patch'],
      ['kubeovn.io', 'subnets/status', 'patch'],
      ['kubeovn.io', 'switch-lb-rules/status', 'patch'],
      ['', 'pods', 'patch'],
      ['apps', 'statefulsets', 'get'],
      ['kubevirt.io', 'virtualmachines', 'get'],
    ] as const) {
      expect(allows(fn, g, r, v), `${g}/${r} ${v}`).toBe(true);
    }
    const relay = role('kube-ovn-vip-relay');
    expect(
      relay.rules
        .flatMap((x: { verbs: string[] }) => x.verbs)
        .every((v: string) => ['get', 'list', 'watch'].includes(v)),
    ).toBe(true);
    const bindings = docs
      .filter((d) => d.kind === 'ClusterRoleBinding')
      .map((b) => `${b.roleRef.name}->${b.subjects[0].name}`);
    expect(bindings.sort()).toEqual([
      'kube-ovn-vip-functions->vip-functions',
      'kube-ovn-vip-holder->vip-holder',
      'kube-ovn-vip-relay->vip-relay',
    ]);
  });
});

describe('kubectl apply of the CRDs to an empty API server', () => {
  let server: DevApiServer;
  let dir: string;
  beforeAll(async () => {
    dir = makeTempDir('vipres-crds-');
    server = await startDevApiServer({ dir, token: 'crd-token' });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the new resources at once, and a second apply is unchanged', async () => {
    const kubectl = findKubectl();
    const k = (...args: string[]) => runKubectl(server.kubeconfigPath, args, { kubectl });
    expect((await k('get', 'vip')).stderr).toMatch(/doesn't have a resource type "vip"/);
    const flags = applyFlags(kubectl);
    const first = await k('apply', ...flags, '-f', crdDir);
    expect(first.stdout).toMatch(/vips.kubeovn.io created/);
    expect((await k('get', 'vip')).code).toBe(0);
    const second = await k('apply', ...flags, '-f', crdDir);
    expect(
      second.stdout
        .trim()
        .split('\n')
        .every((l) => l.endsWith('unchanged')),
    ).toBe(true);
  });
});
