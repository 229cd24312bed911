import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevApiServer } from '../../infra/dev-apiserver/index.ts';
import { createKube, type Kube, KubeConflictError, KubeNotFoundError } from '../../shared/kube/index.ts';
import type { KubePort } from '../../shared/reconcile/deps.ts';
import { startClientFixture, type TestApiServer, vipObject } from './dev-server.ts';

let server: DevApiServer;
let api: TestApiServer;
let kube: Kube;

beforeAll(async () => {
  ({ api, kube } = await startClientFixture('kube-client-token'));
  server = api.server;
});
afterAll(async () => {
  await api?.stop();
});

const vip = vipObject;

describe('shared/kube', () => {
  it('is the KubePort the reconcilers use', () => {
    const port: KubePort = kube;
    expect(typeof port.claimVip).toBe('function');
  });

  it('connects with a kubeconfig file or with server + token + CA', async () => {
    const direct = createKube({
      server: server.url,
      token: server.token,
      caData: Buffer.from(server.ca).toString('base64'),
    });
    expect((await direct.getSubnet('ovn-default'))?.spec.cidrBlock).toBe('10.16.0.0/16');
    const wrong = createKube({
      server: server.url,
      token: 'nope',
      caData: Buffer.from(server.ca).toString('base64'),
    });
    await expect(wrong.listVips()).rejects.toMatchObject({ code: 401 });
  });

  it('keeps connections alive between calls', async () => {
    await kube.listVips();
    const before = server.connectionCount();
    for (let i = 0; i < 20; i++) await kube.getSubnet('ovn-default');
    expect(server.connectionCount() - before).toBeLessThanOrEqual(1);
  });

  it('bounds a call to an API server that never answers', async () => {
    const silent = createServer(() => {}); // accepts connections, never speaks TLS
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const hung = createKube({
        server: `https://127.0.0.1:${port}`,
        token: 't',
        skipTLSVerify: true,
        requestTimeoutMs: 300,
      });
      const t0 = Date.now();
      await expect(hung.listVips()).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      silent.close();
    }
  });

  it('gets and lists as plain JSON; absent objects are undefined or NotFound', async () => {
    await kube.create('Vip', vip('k-a', { team: 'x' }));
    await kube.create('Vip', vip('k-b'));
    const a = await kube.getVip('k-a');
    expect(a?.spec).toEqual({ subnet: 'ovn-default', type: '' });
    expect(typeof (a?.metadata as { creationTimestamp?: unknown } | undefined)?.creationTimestamp).toBe(
      'string',
    );
    expect(await kube.getVip('nope')).toBeUndefined();
    await expect(kube.get('Vip', { name: 'nope' })).rejects.toBeInstanceOf(KubeNotFoundError);
    expect((await kube.listVips({ labelSelector: 'team=x' })).map((v) => v.metadata.name)).toEqual(['k-a']);
    expect((await kube.listVips()).length).toBeGreaterThanOrEqual(2);
  });

  it('patches status through the subresource and metadata with merge patches', async () => {
    await kube.patchStatus('Vip', 'k-a', { v4ip: '10.16.0.2', ready: true });
    await kube.patchMetadata(
      'Vip',
      { name: 'k-a' },
      { labels: { team: null, 'ovn.kubernetes.io/subnet': 'ovn-default' }, annotations: { a: 'b' } },
    );
    const a = await kube.getVip('k-a');
    expect(a?.status).toEqual({ v4ip: '10.16.0.2', ready: true });
    expect(a?.metadata.labels).toEqual({ 'ovn.kubernetes.io/subnet': 'ovn-default' });
    expect(a?.metadata.annotations).toEqual({ a: 'b' });
    expect(a?.metadata.generation).toBe(1);
  });

  it('reports a stale resourceVersion as a typed Conflict', async () => {
    const a = await kube.get('Vip', { name: 'k-a' });
    await kube.patchMetadata('Vip', { name: 'k-a' }, { labels: { bump: '1' } });
    await expect(
      kube.patch(
        'Vip',
        { name: 'k-a' },
        { metadata: { resourceVersion: a.metadata.resourceVersion, labels: { x: 'y' } } },
      ),
    ).rejects.toBeInstanceOf(KubeConflictError);
  });

  it('adds and removes finalizers without clobbering concurrent writers', async () => {
    await kube.create('Vip', vip('k-fin'));
    const names = Array.from({ length: 6 }, (_, i) => `example.com/f${i}`);
    await Promise.all([...names, ...names].map((f) => kube.addFinalizer('Vip', 'k-fin', f)));
    expect((await kube.getVip('k-fin'))?.metadata.finalizers?.sort()).toEqual([...names].sort());
    await kube.delete('Vip', { name: 'k-fin' });
    expect((await kube.getVip('k-fin'))?.metadata.deletionTimestamp).toBeTruthy();
    await Promise.all(names.map((f) => kube.removeFinalizer('Vip', 'k-fin', f)));
    expect(await kube.getVip('k-fin')).toBeUndefined();
    await kube.removeFinalizer('Vip', 'k-fin', names[0] as string); // gone already: no error
  });

  it('lets exactly one of several racing pods claim a Vip', async () => {
    await kube.create('Vip', vip('k-claim'));
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => kube.claimVip('k-claim', '', `pod${i}.default`)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const holder = (await kube.getVip('k-claim'))?.metadata.labels?.['ovn.kubernetes.io/ip_reserved'];
    expect(await kube.claimVip('k-claim', '', 'other.default')).toBe(false);
    expect(await kube.claimVip('k-claim', holder as string, holder as string)).toBe(true);
    expect(await kube.claimVip('k-claim', holder as string, '')).toBe(true);
    expect((await kube.getVip('k-claim'))?.metadata.labels?.['ovn.kubernetes.io/ip_reserved']).toBe('');
  });

  it('reads pods, StatefulSets and VirtualMachines', async () => {
    const sts = await kube.create('StatefulSet', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        serviceName: 'web',
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    });
    const owner = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'web',
      uid: (sts.metadata as { uid: string }).uid,
      controller: true,
    };
    await kube.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' }, ownerReferences: [owner] },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    await kube.create('VirtualMachine', {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm1', namespace: 'default' },
      spec: { running: true },
    });
    expect((await kube.getStatefulSet('default', 'web'))?.spec?.replicas).toBe(2);
    expect((await kube.getVirtualMachine('default', 'vm1'))?.metadata.name).toBe('vm1');
    expect((await kube.getPod('default', 'web-0'))?.metadata.ownerReferences?.[0]?.kind).toBe('StatefulSet');
    expect(
      (await kube.listPods({ namespace: 'default', labelSelector: 'app=web' })).map((p) => p.metadata.name),
    ).toEqual(['web-0']);
    await kube.patchMetadata(
      'Pod',
      { namespace: 'default', name: 'web-0' },
      { annotations: { 'ovn.kubernetes.io/allocated': 'true' } },
    );
    expect((await kube.getPod('default', 'web-0'))?.metadata.annotations).toEqual({
      'ovn.kubernetes.io/allocated': 'true',
    });
    // deleting the StatefulSet deletes its pods (background cascade)
    await kube.delete('StatefulSet', { namespace: 'default', name: 'web' });
    expect(await kube.getPod('default', 'web-0')).toBeUndefined();
  });
});
