// The client's writes and errors against the development API server: resourceVersion
// preconditions, the objects the writes return, the API server's messages in typed errors, and
// parity with client-node's own API (the transport this client replaced).
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKube,
  type Kube,
  KubeApiError,
  KubeConflictError,
  KubeNotFoundError,
  toKubeError,
} from '../../shared/kube/index.ts';
import { startClientFixture, type TestApiServer, vipObject } from './dev-server.ts';

let api: TestApiServer;
let kube: Kube;

beforeAll(async () => {
  ({ api, kube } = await startClientFixture('kube-writes-token'));
});
afterAll(async () => {
  kube?.close();
  await api?.stop();
});

const vip = vipObject;

describe('patchStatus', () => {
  it('returns the object the API server answered with', async () => {
    const created = await kube.create('Vip', vip('w-status'));
    const written = await kube.patchStatus('Vip', 'w-status', { v4ip: '10.16.0.5', ready: true });
    expect(written.metadata.name).toBe('w-status');
    expect(written.status).toEqual({ v4ip: '10.16.0.5', ready: true });
    expect(written.spec).toEqual({ subnet: 'ovn-default', type: '' });
    expect(Number(written.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.metadata.resourceVersion),
    );
    expect((await kube.get('Vip', { name: 'w-status' })).metadata.resourceVersion).toBe(
      written.metadata.resourceVersion,
    );
  });

  it('writes with a current resourceVersion and refuses a stale one without writing', async () => {
    const created = await kube.create('Vip', vip('w-pre'));
    const first = await kube.patchStatus(
      'Vip',
      'w-pre',
      { v4ip: '10.16.0.6' },
      { resourceVersion: created.metadata.resourceVersion },
    );
    expect(first.status).toEqual({ v4ip: '10.16.0.6' });

    const stale = created.metadata.resourceVersion;
    const err = await kube
      .patchStatus('Vip', 'w-pre', { v4ip: '10.16.0.99' }, { resourceVersion: stale })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConflictError);
    expect((err as KubeConflictError).code).toBe(409);
    expect((err as KubeConflictError).message).toContain('the object has been modified');

    const after = await kube.get('Vip', { name: 'w-pre' });
    expect(after.status).toEqual({ v4ip: '10.16.0.6' });
    expect(after.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  });

  it('without a resourceVersion, writes over whatever is there', async () => {
    await kube.create('Vip', vip('w-blind'));
    await kube.patchMetadata('Vip', { name: 'w-blind' }, { labels: { bump: '1' } });
    const written = await kube.patchStatus('Vip', 'w-blind', { ready: false });
    expect(written.status).toEqual({ ready: false });
    expect(written.metadata.labels).toEqual({ bump: '1' });
  });
});

describe('ensureClaimed', () => {
  const want = { labels: { 'ovn.kubernetes.io/subnet': 'ovn-default' }, finalizer: 'example.com/claim' };

  it('returns the object as written', async () => {
    const created = await kube.create('Vip', vip('w-claim', { keep: 'me' }));
    const claimed = await kube.ensureClaimed('Vip', created, want);
    expect(claimed?.metadata.labels).toEqual({ keep: 'me', ...want.labels });
    expect(claimed?.metadata.finalizers).toEqual([want.finalizer]);
    expect(Number(claimed?.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.metadata.resourceVersion),
    );
    expect((await kube.get('Vip', { name: 'w-claim' })).metadata.resourceVersion).toBe(
      claimed?.metadata.resourceVersion,
    );
  });

  it('writes nothing (and returns undefined) when both are there already', async () => {
    const claimed = await kube.ensureClaimed('Vip', await kube.create('Vip', vip('w-noop')), want);
    if (!claimed) throw new Error('the first claim should write');
    expect(await kube.ensureClaimed('Vip', claimed, want)).toBeUndefined();
    expect((await kube.get('Vip', { name: 'w-noop' })).metadata.resourceVersion).toBe(
      claimed.metadata.resourceVersion,
    );
  });

  it('refuses a stale object with a Conflict and writes nothing', async () => {
    const created = await kube.create('Vip', vip('w-stale'));
    const moved = await kube.patch('Vip', { name: 'w-stale' }, { metadata: { annotations: { other: 'w' } } });
    await expect(kube.ensureClaimed('Vip', created, want)).rejects.toBeInstanceOf(KubeConflictError);
    const after = await kube.get('Vip', { name: 'w-stale' });
    expect(after.metadata.resourceVersion).toBe(moved.metadata.resourceVersion);
    expect(after.metadata.finalizers).toBeUndefined();
    expect(after.metadata.labels ?? {}).toEqual({});
  });

  it('lets NotFound through as the typed error', async () => {
    await expect(
      kube.ensureClaimed('Vip', { metadata: { name: 'w-absent', resourceVersion: '1' } }, want),
    ).rejects.toBeInstanceOf(KubeNotFoundError);
  });
});

describe('errors carry the API server status', () => {
  it('404 NotFound with its message', async () => {
    const err = await kube.get('Vip', { name: 'w-nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeNotFoundError);
    expect(err).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'vips.kubeovn.io "w-nope" not found',
    });
    await expect(kube.delete('Pod', { namespace: 'default', name: 'w-nope' })).rejects.toMatchObject({
      code: 404,
      message: 'pods "w-nope" not found',
    });
  });

  it('409 AlreadyExists is an API error, not a lost race', async () => {
    await kube.create('Vip', vip('w-dup'));
    const err = await kube.create('Vip', vip('w-dup')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).not.toBeInstanceOf(KubeConflictError);
    expect(err).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    expect((err as Error).message).toContain('"w-dup" already exists');
  });

  it('422 Invalid with the field causes in the message', async () => {
    const bad = { ...vip('w-bad'), spec: { type: '' } }; // subnet is required
    const err = await kube.create('Vip', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ code: 422, reason: 'Invalid' });
    expect((err as Error).message).toMatch(/"w-bad" is invalid.*subnet/);
    expect((await kube.getVip('w-bad')) ?? null).toBeNull();
  });

  it('a failed JSON patch test is 422 and writes nothing', async () => {
    const created = await kube.create('Vip', vip('w-json'));
    const ops = [
      { op: 'test', path: '/metadata/resourceVersion', value: '1' },
      { op: 'add', path: '/metadata/labels/x', value: 'y' },
    ];
    await expect(kube.patch('Vip', { name: 'w-json' }, ops, { type: 'json' })).rejects.toMatchObject({
      code: 422,
      reason: 'Invalid',
    });
    const fresh = [{ ...ops[0], value: created.metadata.resourceVersion }, ops[1]];
    const written = await kube.patch('Vip', { name: 'w-json' }, fresh, { type: 'json' });
    expect(written.metadata.labels).toEqual({ x: 'y' });
  });
});

describe('parity with client-node', () => {
  it('reads the same custom objects and lists', async () => {
    const custom = createKube({ kubeconfigPath: api.server.kubeconfigPath }).kubeConfig.makeApiClient(
      CustomObjectsApi,
    );
    const base = { group: 'kubeovn.io', version: 'v1', plural: 'vips' };
    await kube.create('Vip', vip('w-parity', { team: 'p' }));
    await kube.patchStatus('Vip', 'w-parity', { v4ip: '10.16.0.7' });
    expect(await kube.get('Vip', { name: 'w-parity' })).toEqual(
      await custom.getClusterCustomObject({ ...base, name: 'w-parity' }),
    );
    const theirs = (await custom.listClusterCustomObject({ ...base, labelSelector: 'team=p' })) as {
      items: unknown[];
    };
    expect((await kube.list('Vip', { labelSelector: 'team=p' })).items).toEqual(theirs.items);
  });

  it('maps errors as the client-node path did', async () => {
    const custom = kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const base = { group: 'kubeovn.io', version: 'v1', plural: 'vips' };
    const theirs = toKubeError(
      await custom.getClusterCustomObject({ ...base, name: 'w-none' }).catch((e: unknown) => e),
    );
    const ours = await kube.get('Vip', { name: 'w-none' }).catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(theirs.constructor);
    expect(ours).toMatchObject({
      code: (theirs as KubeApiError).code,
      reason: (theirs as KubeApiError).reason,
      message: theirs.message,
    });
  });
});

describe('connections', () => {
  it('reuses kept-alive connections under concurrency', async () => {
    const fresh = createKube({ kubeconfigPath: api.server.kubeconfigPath });
    try {
      const before = api.server.connectionCount();
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 16 }, () => fresh.get('Subnet', { name: 'ovn-default' })));
      }
      const opened = api.server.connectionCount() - before;
      expect(opened).toBeGreaterThanOrEqual(1);
      expect(opened).toBeLessThanOrEqual(16);
    } finally {
      fresh.close();
    }
  });

  it('bounds the connections of one client (64) however many calls are in flight', async () => {
    const fresh = createKube({ kubeconfigPath: api.server.kubeconfigPath });
    try {
      const before = api.server.connectionCount();
      await Promise.all(Array.from({ length: 200 }, () => fresh.get('Subnet', { name: 'ovn-default' })));
      expect(api.server.connectionCount() - before).toBeLessThanOrEqual(64);
    } finally {
      fresh.close();
    }
  });

  it('reconnects after close()', async () => {
    const fresh = createKube({ kubeconfigPath: api.server.kubeconfigPath });
    await fresh.get('Subnet', { name: 'ovn-default' });
    fresh.close();
    const before = api.server.connectionCount();
    expect((await fresh.get('Subnet', { name: 'ovn-default' })).metadata.name).toBe('ovn-default');
    expect(api.server.connectionCount() - before).toBe(1);
    fresh.close();
  });
});
