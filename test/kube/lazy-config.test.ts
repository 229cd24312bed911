// A function replica's Kubernetes client loads its KubeConfig (and @kubernetes/client-node with it)
// only at its first call or at `warm()` (shared/kube/api.ts, infra/wiring/controller.ts): calls
// wait for the load and then answer as an eagerly loaded client does; a failed load fails the
// calls that waited for it and the next call loads again.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeApi, type Kube } from '../../shared/kube/index.ts';
import { loadKubeConfig } from '../../shared/kube/kubeconfig.ts';
import { startClientFixture, type TestApiServer } from './dev-server.ts';

let api: TestApiServer;
let eager: Kube;

beforeAll(async () => {
  ({ api, kube: eager } = await startClientFixture(randomBytes(8).toString('hex')));
}, 60_000);

afterAll(async () => {
  eager?.close();
  await api?.stop();
});

describe('a lazily loaded KubeConfig', () => {
  it('is loaded once, by the first calls, which then answer as the eager client does', async () => {
    let loads = 0;
    const kube = createKubeApi(async () => {
      loads++;
      return loadKubeConfig({ kubeconfigPath: api.server.kubeconfigPath });
    });
    try {
      await new Promise((r) => setTimeout(r, 20));
      expect(loads).toBe(0);
      const [subnet, missing, subnets] = await Promise.all([
        kube.getSubnet('ovn-default'),
        kube.getVip('no-such-vip'),
        kube.listSubnets(),
      ]);
      expect(loads).toBe(1);
      expect(subnet).toEqual(await eager.getSubnet('ovn-default'));
      expect(missing).toBeUndefined();
      expect(subnets.map((s) => s.metadata.name)).toEqual(['ovn-default']);
    } finally {
      kube.close();
    }
  });

  it('loads at warm() without a call; a failed load fails its calls and the next call loads again', async () => {
    let loads = 0;
    let fail = true;
    const kube = createKubeApi(async () => {
      loads++;
      if (fail) throw new Error('kubeconfig not readable yet');
      return loadKubeConfig({ kubeconfigPath: api.server.kubeconfigPath });
    });
    try {
      kube.warm();
      await expect.poll(() => loads).toBe(1);
      await expect(kube.getSubnet('ovn-default')).rejects.toThrow('kubeconfig not readable yet');
      fail = false;
      expect((await kube.getSubnet('ovn-default'))?.metadata.name).toBe('ovn-default');
      expect(loads).toBe(3);
    } finally {
      kube.close();
    }
  });
});
