// The admission function called by the development API server as kube-apiserver calls a
// ValidatingWebhookConfiguration, driven by kubectl: a bad Vip fails with the function's message.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmissionRoutes } from '../../functions/admission/routes.ts';
import { type DevApiServer, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import { applyFlags, findKubectl, runKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { makeTempDir } from '../../infra/local/services.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';

const root = new URL('../../', import.meta.url).pathname;
const crdDir = join(root, 'infra/manifests/crds');
let server: DevApiServer;
let fnServer: ServerType;
let kube: Kube;
let dir: string;
let kubectl: string;
let calls = 0;

beforeAll(async () => {
  kubectl = findKubectl();
  dir = makeTempDir('vipres-admission-');
  const app = new Hono().route(
    '/admission',
    createAdmissionRoutes({
      token: 'webhook-token',
      lookupSubnet: (name) => {
        calls++;
        return kube.getSubnet(name);
      },
    }),
  );
  fnServer = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const fnUrl = `http://127.0.0.1:${(fnServer.address() as AddressInfo).port}/admission/vips`;
  server = await startDevApiServer({
    dir,
    token: 'admission-test-token',
    crdFiles: readdirSync(crdDir).map((f) => join(crdDir, f)),
    applyFiles: [join(root, 'infra/manifests/subnet-ovn-default.yaml')],
    admissionWebhooks: [
      {
        name: 'vip-validation.kubeovn.io',
        url: fnUrl,
        resources: [{ group: 'kubeovn.io', resource: 'vips' }],
        operations: ['CREATE', 'UPDATE'],
        headers: { authorization: 'Bearer webhook-token' },
      },
    ],
  });
  kube = createKube({ kubeconfigPath: server.kubeconfigPath });
});

afterAll(async () => {
  await server?.stop();
  await new Promise((r) => fnServer?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const apply = (name: string, yaml: string) => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return runKubectl(server.kubeconfigPath, ['apply', ...applyFlags(kubectl), '-f', file], { kubectl });
};

describe('validating admission through the development API server', () => {
  it("accepts the seed's Vip and calls the webhook for it", async () => {
    const r = await runKubectl(
      server.kubeconfigPath,
      ['apply', ...applyFlags(kubectl), '-f', join(root, 'examples/static-vip01.yaml')],
      { kubectl },
    );
    expect(r.stdout.trim(), r.stderr).toBe('vip.kubeovn.io/static-vip01 created');
    expect(calls).toBeGreaterThan(0);
  });

  it("fails kubectl apply of a bad Vip with the function's message", async () => {
    const outside = await apply(
      'outside',
      'apiVersion: kubeovn.io/v1\nkind: Vip\nmetadata:\n  name: bad-outside\nspec:\n  subnet: ovn-default\n  v4ip: "10.17.0.5"\n',
    );
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain(
      'admission webhook "vip-validation.kubeovn.io" denied the request: 10.17.0.5 is outside 10.16.0.0/16 of subnet ovn-default',
    );
    const unknown = await apply(
      'unknown',
      'apiVersion: kubeovn.io/v1\nkind: Vip\nmetadata:\n  name: bad-subnet\nspec:\n  subnet: ovn-missing\n',
    );
    expect(unknown.stderr).toContain('denied the request: subnet ovn-missing not found');
    const selector = await apply(
      'selector',
      'apiVersion: kubeovn.io/v1\nkind: Vip\nmetadata:\n  name: bad-selector\nspec:\n  subnet: ovn-default\n  namespace: default\n  selector:\n    - "app aap1"\n',
    );
    expect(selector.stderr).toContain('denied the request: selector item "app aap1" has no colon');
    expect(await kube.listVips()).toHaveLength(1);
  });

  it('refuses an address change once the address is assigned, and still lets finalizers go', async () => {
    await kube.patchMetadata(
      'Vip',
      { name: 'static-vip01' },
      { labels: { 'ovn.kubernetes.io/subnet': 'ovn-default' } },
    );
    await kube.addFinalizer('Vip', 'static-vip01', 'kubeovn.io/kube-ovn-controller');
    await kube.patchStatus('Vip', 'static-vip01', {
      v4ip: '10.16.0.121',
      mac: '00:00:00:F0:DB:26',
      ready: true,
    });
    const r = await runKubectl(
      server.kubeconfigPath,
      ['patch', 'vip', 'static-vip01', '--type=merge', '-p', '{"spec":{"v4ip":"10.16.0.122"}}'],
      { kubectl },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /denied the request: spec.v4ip cannot change once assigned \(assigned "10.16.0.121", requested "10.16.0.122"\)/,
    );
    expect((await kube.getVip('static-vip01'))?.spec.v4ip).toBe('10.16.0.121');
    await kube.delete('Vip', { name: 'static-vip01' });
    await kube.removeFinalizer('Vip', 'static-vip01', 'kubeovn.io/kube-ovn-controller');
    expect(await kube.getVip('static-vip01')).toBeUndefined();
  });

  it('refuses a spec change of a Vip whose deletion has started, with the reason in the message', async () => {
    await kube.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'leaving', finalizers: ['kubeovn.io/kube-ovn-controller'] },
      spec: { subnet: 'ovn-default' },
    });
    await kube.delete('Vip', { name: 'leaving' });
    expect((await kube.getVip('leaving'))?.metadata.deletionTimestamp).toBeTruthy();
    const r = await runKubectl(
      server.kubeconfigPath,
      ['patch', 'vip', 'leaving', '--type=merge', '-p', '{"spec":{"v4ip":"10.16.0.130"}}'],
      { kubectl },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/denied the request: Vip leaving is being deleted; its spec cannot change/);
    expect((await kube.getVip('leaving'))?.spec.v4ip).toBeUndefined();
    await kube.removeFinalizer('Vip', 'leaving', 'kubeovn.io/kube-ovn-controller');
    expect(await kube.getVip('leaving')).toBeUndefined();
  });
});
