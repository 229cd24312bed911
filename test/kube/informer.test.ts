import { CustomObjectsApi, KubeConfig, type KubernetesObject, makeInformer } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevApiServer } from '../../infra/dev-apiserver/index.ts';
import { waitFor } from '../../infra/local/services.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import { startTestApiServer, type TestApiServer } from './dev-server.ts';

let server: DevApiServer;
let api: TestApiServer;
let kube: Kube;

beforeAll(async () => {
  api = await startTestApiServer('informer-token', { bookmarkIntervalMs: 200 });
  server = api.server;
  kube = createKube({ kubeconfigPath: server.kubeconfigPath });
});
afterAll(async () => {
  await api?.stop();
});

const vip = (name: string) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec: { subnet: 'ovn-default' },
});

describe('client-node informer', () => {
  it('receives add / update / delete, relists after a forced 410, and survives a dropped connection', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    const api = kc.makeApiClient(CustomObjectsApi);
    let lists = 0;
    const listFn = async () => {
      lists++;
      return api.listClusterCustomObject({ group: 'kubeovn.io', version: 'v1', plural: 'vips' });
    };
    const informer = makeInformer<KubernetesObject>(kc, '/apis/kubeovn.io/v1/vips', listFn);
    const events: string[] = [];
    const has = (e: string) => async () => events.includes(e);
    informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => events.push(`update ${o.metadata?.name} ${o.metadata?.labels?.step ?? ''}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    // client-node stops on a watch error; restarting is the caller's job (the relay does the same)
    let errors = 0;
    let stopped = false;
    informer.on('error', () => {
      errors++;
      if (!stopped) setTimeout(() => void informer.start(), 100);
    });
    await kube.create('Vip', vip('inf-a'));
    await informer.start();
    try {
      await waitFor('initial add', has('add inf-a'));
      await kube.create('Vip', vip('inf-b'));
      await kube.patchMetadata('Vip', { name: 'inf-a' }, { labels: { step: '1' } });
      await kube.delete('Vip', { name: 'inf-b' });
      await waitFor('live events', has('delete inf-b'));
      expect(events).toEqual(['add inf-a', 'add inf-b', 'update inf-a 1', 'delete inf-b']);
      expect(lists).toBe(1);

      // 410: history forgotten while the watch is cut; changes made meanwhile come back by relisting
      server.forceCompaction();
      server.dropWatches();
      await kube.create('Vip', vip('inf-c'));
      await kube.delete('Vip', { name: 'inf-a' });
      await waitFor(
        'relist after 410',
        async () => lists >= 2 && events.includes('add inf-c') && events.includes('delete inf-a'),
        { timeoutMs: 10_000 },
      );

      // a dropped connection: the watch resumes from its resourceVersion without a relist
      const listsBefore = lists;
      await waitFor('an open watch to cut', async () => server.dropWatches() > 0, { timeoutMs: 5_000 });
      await kube.create('Vip', vip('inf-d'));
      await waitFor('event after drop', has('add inf-d'), { timeoutMs: 10_000 });
      await kube.patchMetadata('Vip', { name: 'inf-d' }, { labels: { step: '2' } });
      await waitFor('update after drop', has('update inf-d 2'), { timeoutMs: 10_000 });
      expect(lists).toBe(listsBefore);
      expect(
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(['inf-c', 'inf-d']);
      expect(errors).toBeLessThan(5);
    } finally {
      stopped = true;
      await informer.stop();
    }
  });
});
