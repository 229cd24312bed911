// A Vip event's own copy of the object stands in for a GET: every write is guarded by the copy's
// resourceVersion, so a stale copy is caught and re-decided from a fresh read, and the outcome
// names the resourceVersions the pass wrote (the echoes a sender may drop). Real API server
// (development), real Redis, real OVN NB.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readConfig } from '../../shared/config.ts';
import type { Vip } from '../../shared/domain/types.ts';
import { type ControllerPorts, createControllerPorts } from '../../shared/ports.ts';
import type { KubePort, ReconcileDeps } from '../../shared/reconcile/ports.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';

const SUBNET = `evcopy-${randomBytes(3).toString('hex')}`;
let api: TestApiServer;
let ports: ControllerPorts;
let deps: ReconcileDeps;
const calls: string[] = [];

/** The real client, with each Vip read and write it makes written down. */
function counting(kube: KubePort): KubePort {
  return new Proxy(kube, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (['getVip', 'patchStatus', 'ensureClaimed'].includes(String(prop))) calls.push(String(prop));
        return value.apply(target, args);
      };
    },
  });
}

beforeAll(async () => {
  api = await startTestApiServer(randomBytes(8).toString('hex'));
  ports = await createControllerPorts(
    readConfig({
      REDIS_URL: inject('redisUrl'),
      OVN_NB_REMOTES: inject('nbRemote'),
      KUBECONFIG: api.server.kubeconfigPath,
    }),
  );
  deps = { ...ports.reconcile, kube: counting(ports.kube) };
  await ports.kube.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: SUBNET },
    spec: { cidrBlock: '10.77.0.0/24', gateway: '10.77.0.1', excludeIps: ['10.77.0.1'], protocol: 'IPv4' },
  });
});

afterAll(async () => {
  await ports?.close();
  await api?.stop();
});

const createVip = async (name: string, spec: Record<string, unknown> = {}) =>
  (await ports.kube.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: SUBNET, ...spec },
  })) as unknown as Vip;

describe('a Vip reconciled from the event copy', () => {
  it('claims, reserves and writes status without reading the Vip, and names what it wrote', async () => {
    const copy = await createVip('copy-fresh');
    calls.length = 0;
    const outcome = await reconcileVip(deps, 'copy-fresh', undefined, { observed: copy });
    expect(calls).toEqual(['ensureClaimed', 'patchStatus']);
    const now = (await ports.kube.getVip('copy-fresh'))!;
    expect(now.status?.ready).toBe(true);
    expect(outcome).toEqual({ status: 'done', produced: expect.any(Array) });
    const produced = (outcome as { produced: string[] }).produced;
    expect(produced).toHaveLength(2);
    expect(produced).not.toContain(copy.metadata.resourceVersion);
    expect(produced.at(-1)).toBe(now.metadata.resourceVersion);

    // The last state it wrote is settled: handing it back costs no write and produces nothing.
    calls.length = 0;
    expect(await reconcileVip(deps, 'copy-fresh', undefined, { observed: now })).toEqual({ status: 'done' });
    expect(calls).toEqual([]);
  });

  it('re-decides from a fresh read when the copy is stale, reserving only what the Vip asks now', async () => {
    const copy = await createVip('copy-stale', { v4ip: '10.77.0.20' });
    // The user changes the address before any handler ran; the event in hand still says .20.
    await ports.kube.patch('Vip', { name: 'copy-stale' }, { spec: { v4ip: '10.77.0.30' } });
    calls.length = 0;
    const outcome = await reconcileVip(deps, 'copy-stale', undefined, { observed: copy });
    expect(outcome.status).toBe('done');
    expect(calls[0]).toBe('ensureClaimed');
    expect(calls).toContain('getVip');
    const now = (await ports.kube.getVip('copy-stale'))!;
    expect(now.status?.v4ip).toBe('10.77.0.30');
    expect((await ports.allocator.get(SUBNET, 'vip/copy-stale'))?.v4).toBe('10.77.0.30');
    const reserved = (await ports.allocator.list(SUBNET)).items.map((r) => r.v4);
    expect(reserved).toContain('10.77.0.30');
    expect(reserved).not.toContain('10.77.0.20');
  });

  it('a status decided from a copy that changed meanwhile is refused, then written from the new state', async () => {
    const first = await createVip('copy-race');
    await reconcileVip(deps, 'copy-race', undefined, { observed: first });
    const settled = (await ports.kube.getVip('copy-race'))!;
    // Someone else writes the Vip after our copy was taken (a label, no spec change).
    await ports.kube.patchMetadata('Vip', { name: 'copy-race' }, { labels: { team: 'a' } });
    const stale = { ...settled, status: { ...settled.status!, ready: false } } as Vip;
    calls.length = 0;
    const outcome = await reconcileVip(deps, 'copy-race', undefined, { observed: stale });
    expect(outcome.status).toBe('done');
    // The guarded write failed on the old version, so the Vip was read again before deciding.
    expect(calls).toEqual(['patchStatus', 'getVip']);
    const now = (await ports.kube.getVip('copy-race'))!;
    expect(now.status?.ready).toBe(true);
    expect(now.metadata.labels?.team).toBe('a');
  });

  it('a copy of a Vip that is already gone reserves nothing', async () => {
    const copy = await createVip('copy-gone');
    await ports.kube.delete('Vip', { name: 'copy-gone' });
    const outcome = await reconcileVip(deps, 'copy-gone', undefined, { observed: copy });
    expect(outcome).toEqual({ status: 'done' });
    expect(await ports.allocator.get(SUBNET, 'vip/copy-gone')).toBeUndefined();
  });
});
