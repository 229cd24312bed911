// The holder sync's metrics and Events, from a real southbound ovsdb-server: a virtual port's
// binding moving from one parent to another is a `moved` holder change on /metrics (what the node
// agent and the holder process serve) and a HolderChanged Event that kubectl describe shows.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { type HealthServer, startHealthServer } from '../../infra/health/server.ts';
import { type OvsdbServer, startSbServer, waitFor } from '../../infra/local/services.ts';
import { holderChangeEvents } from '../../shared/holder/events.ts';
import { type HolderSync, startHolderSync } from '../../shared/holder/index.ts';
import {
  createEventRecorder,
  type KubeEventRecorder,
  kubeEventSink,
} from '../../shared/kube/event-recorder.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import { createHolderMetrics } from '../../shared/metrics/process.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';
import { scrape, sum } from './scrape.ts';

const run = promisify(execFile);
const VIP = 'holder-vip';

let sb: OvsdbServer;
let api: TestApiServer;
let kube: Kube;
let sync: HolderSync;
let events: KubeEventRecorder;
let health: HealthServer;
const sbctl = async (...args: string[]) =>
  (await run('ovn-sbctl', [`--db=${sb.remote}`, '--timeout=10', ...args])).stdout.trim();

beforeAll(async () => {
  sb = await startSbServer();
  api = await startTestApiServer(randomBytes(8).toString('hex'));
  kube = createKube({ kubeconfigPath: api.server.kubeconfigPath });
  await kube.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name: VIP },
    spec: { subnet: 'ovn-default', type: '' },
  });
  const metrics = createHolderMetrics();
  metrics.showPodsWired(() => 0);
  events = createEventRecorder({ sink: kubeEventSink(kube.transport), controller: 'kubeovn.io/vip-holder' });
  const record = holderChangeEvents(kube, events);
  sync = await startHolderSync({
    sbRemotes: [sb.remote],
    kube,
    resyncMs: 500,
    onChange: (vip, from, to) => {
      metrics.onChange(vip, from, to);
      record(vip, from, to);
    },
  });
  health = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    ready: () => true,
    registry: metrics.registry,
  });
}, 60_000);

afterAll(async () => {
  await sync?.stop();
  await health?.close();
  await api?.stop();
  await sb?.stop();
});

const holderOf = async () => (await kube.getVip(VIP))?.status?.holder ?? '';

describe('holder changes', () => {
  it('are counted by kind on /metrics and recorded as HolderChanged Events', async () => {
    const metricsUrl = `http://127.0.0.1:${health.port}/metrics`;
    const before = await scrape(metricsUrl);
    expect(sum(before, 'vip_holder_changes_total')).toBe(0);
    expect(sum(before, 'vip_node_pods_wired')).toBe(0);

    const datapath = await sbctl('create', 'Datapath_Binding', 'tunnel_key=7');
    const port = await sbctl(
      'create',
      'Port_Binding',
      `datapath=${datapath}`,
      `logical_port=${VIP}`,
      'type=virtual',
      'tunnel_key=1',
      'virtual_parent=default.p1',
    );
    await waitFor('holder p1', async () => (await holderOf()) === 'default.p1');
    await sbctl('set', 'Port_Binding', port, 'virtual_parent=default.p2');
    await waitFor('holder p2', async () => (await holderOf()) === 'default.p2');

    const after = await scrape(metricsUrl);
    expect(sum(after, 'vip_holder_changes_total', { change: 'claimed' })).toBe(1);
    expect(sum(after, 'vip_holder_changes_total', { change: 'moved' })).toBe(1);

    await waitFor('both Events', async () => {
      await events.flush();
      const r = await runKubectl(api.server.kubeconfigPath, ['describe', 'vip', VIP]);
      return /address now held by default\.p2 \(was default\.p1\)/.test(r.stdout) &&
        /Normal\s+HolderChanged\s+.*address now held by default\.p1$/m.test(r.stdout)
        ? r
        : undefined;
    });
  }, 40_000);

  it('are not reported again by a restarted holder sync (what the Vip shows is read first)', async () => {
    expect(await holderOf()).toBe('default.p2');
    const metrics = createHolderMetrics();
    const changes: string[] = [];
    const again = await startHolderSync({
      sbRemotes: [sb.remote],
      kube,
      resyncMs: 500,
      onChange: (vip, from, to) => {
        metrics.onChange(vip, from, to);
        changes.push(`${vip}: ${from} -> ${to}`);
      },
    });
    try {
      await again.flush();
      expect(again.current().get(VIP)).toBe('default.p2');
      expect(changes).toEqual([]);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^vip_holder_changes_total\{change="claimed"\} 0$/m);
    } finally {
      await again.stop();
    }
  });
});
