// /metrics of the functions and the relay, scraped while they do real work: the development API
// server, the run's Redis and OVN NB, the relay delivering to the functions over HTTP. Creating
// 10 Vips moves the counters by 10 (or at least 10 where retries and echoes may add events) and
// the subnet gauges by 10; deleting them brings the gauges back.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../functions/app.ts';
import { createEventRoutes } from '../../functions/events/routes.ts';
import { type HealthServer, startHealthServer } from '../../infra/health/server.ts';
import { waitFor } from '../../infra/local/services.ts';
import { createRelayMetrics } from '../../infra/relay/metrics.ts';
import { type Relay, startRelay } from '../../infra/relay/relay.ts';
import { type ControllerPorts, createControllerPorts } from '../../infra/wiring/controller.ts';
import { readConfig } from '../../shared/config.ts';
import { runChecks } from '../../shared/health/readiness.ts';
import { createKube, type Kube, loadKubeConfig } from '../../shared/kube/index.ts';
import { createFunctionMetrics } from '../../shared/metrics/functions.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';
import { type Sample, scrape, sum } from './scrape.ts';

const tag = randomBytes(3).toString('hex');
const SUBNET = `obs-${tag}`;
const VIPS = Array.from({ length: 10 }, (_, i) => `obs-${tag}-${i}`);
const secret = randomBytes(16).toString('hex');

let api: TestApiServer;
let kube: Kube;
let ports: ControllerPorts;
let relay: Relay;
let fnServer: ReturnType<typeof serve>;
let fnHealth: HealthServer;
let relayHealth: HealthServer;

beforeAll(async () => {
  api = await startTestApiServer(randomBytes(8).toString('hex'));
  kube = createKube({ kubeconfigPath: api.server.kubeconfigPath });
  await kube.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: SUBNET },
    spec: { cidrBlock: '10.231.0.0/24', gateway: '10.231.0.1', protocol: 'IPv4' },
  });
  const metrics = createFunctionMetrics();
  ports = await createControllerPorts(
    readConfig({
      REDIS_URL: inject('redisUrl'),
      OVN_NB_REMOTES: inject('nbRemote'),
      KUBECONFIG: api.server.kubeconfigPath,
      LOG_LEVEL: 'silent',
    }),
    { metrics },
  );
  const dispatch = createDispatch(ports.reconcile, { observe: metrics.observeReconcile });
  const app = createApp(ports, {
    apiToken: 'unused',
    mounts: [{ path: '/events', app: createEventRoutes({ dispatch, secret }) }],
  });
  fnServer = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => fnServer.once('listening', r));
  const fnPort = (fnServer.address() as AddressInfo).port;
  fnHealth = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    ready: () => runChecks(ports.checks),
    registry: metrics.registry,
  });

  const relayMetrics = createRelayMetrics();
  relay = startRelay({
    kubeConfig: loadKubeConfig({ kubeconfigPath: api.server.kubeconfigPath }),
    sinks: [`http://127.0.0.1:${fnPort}/events`],
    secret,
    resyncMs: 0,
    onDelivered: relayMetrics.onDelivered,
  });
  relayMetrics.attach(relay);
  relayHealth = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    ready: () => true,
    registry: relayMetrics.registry,
  });
  await relay.synced;
}, 60_000);

afterAll(async () => {
  await relay?.stop({ deadlineMs: 2_000 });
  await relayHealth?.close();
  await fnHealth?.close();
  await new Promise((r) => (fnServer ? fnServer.close(r) : r(undefined)));
  await ports?.close();
  await api?.stop();
});

const fn = () => scrape(`http://127.0.0.1:${fnHealth.port}/metrics`);
const rel = () => scrape(`http://127.0.0.1:${relayHealth.port}/metrics`);
const subnetLabels = { subnet_name: SUBNET, protocol: 'IPv4', subnet_cidr: '10.231.0.0/24' };

async function settledRelay(): Promise<Sample[]> {
  return waitFor('the relay has nothing pending', async () => {
    const s = await rel();
    return sum(s, 'vip_relay_queue_depth') === 0 && sum(s, 'vip_relay_pending_objects') === 0 ? s : undefined;
  });
}

describe('/metrics of the functions and the relay', () => {
  it('moves with the work: 10 Vips created, then deleted', async () => {
    // The Subnet's own event registers it: its gauges appear with nothing used.
    const before = await waitFor('the subnet gauges', async () => {
      const s = await fn();
      return s.some((x) => x.name === 'subnet_used_ip_count' && x.labels.subnet_name === SUBNET)
        ? s
        : undefined;
    });
    expect(sum(before, 'subnet_used_ip_count', subnetLabels)).toBe(0);
    expect(sum(before, 'subnet_available_ip_count', subnetLabels)).toBe(253);
    const relayBefore = await settledRelay();

    for (const name of VIPS)
      await kube.create('Vip', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name },
        spec: { subnet: SUBNET, type: '' },
      });
    for (const name of VIPS)
      await waitFor(`${name} gets an address`, async () => Boolean((await kube.getVip(name))?.status?.v4ip));

    const after = await fn();
    const d = (name: string, labels: Record<string, string> = {}) =>
      sum(after, name, labels) - sum(before, name, labels);
    expect(d('vip_reservations_created_total', { subnet: SUBNET })).toBe(10);
    expect(d('subnet_used_ip_count', subnetLabels)).toBe(10);
    expect(d('subnet_available_ip_count', subnetLabels)).toBe(-10);
    // The gauges equal the Subnet status, as kube-ovn's do.
    const status = await waitFor('the Subnet status shows 10 used', async () => {
      const st = (await kube.getSubnet(SUBNET))?.status;
      return st?.v4usingIPs === 10 ? st : undefined;
    });
    expect(sum(after, 'subnet_available_ip_count', subnetLabels)).toBe(status.v4availableIPs);
    expect(d('vip_reconcile_total', { kind: 'Vip', outcome: 'done' })).toBeGreaterThanOrEqual(10);
    expect(d('vip_reconcile_duration_seconds_count', { kind: 'Vip' })).toBeGreaterThanOrEqual(10);
    expect(
      d('vip_allocator_script_duration_seconds_count', { operation: 'allocate' }),
    ).toBeGreaterThanOrEqual(10);
    // The subnet's logical switch at least went through NB.
    expect(sum(after, 'vip_nb_transaction_duration_seconds_count')).toBeGreaterThanOrEqual(1);

    const relayAfter = await settledRelay();
    const dr = (name: string, labels: Record<string, string> = {}) =>
      sum(relayAfter, name, labels) - sum(relayBefore, name, labels);
    expect(dr('vip_relay_events_received_total')).toBeGreaterThanOrEqual(10);
    expect(dr('vip_relay_events_delivered_total')).toBeGreaterThanOrEqual(10);
    expect(dr('vip_relay_delivery_duration_seconds_count')).toBeGreaterThanOrEqual(10);
    expect(dr('vip_relay_watch_events_total', { resource: 'vips.kubeovn.io' })).toBeGreaterThanOrEqual(10);
    expect(sum(relayAfter, 'vip_relay_lag_seconds')).toBe(0);

    for (const name of VIPS) await kube.delete('Vip', { name });
    const released = (s: Sample[]) => sum(s, 'vip_reservations_released_total', { subnet: SUBNET });
    // The counter moves when the release call returns, a moment after Redis (the gauges) changed.
    const gone = await waitFor('the reservations are released', async () => {
      const s = await fn();
      return released(s) - released(before) === 10 ? s : undefined;
    });
    expect(sum(gone, 'subnet_used_ip_count', subnetLabels)).toBe(0);
    expect(sum(gone, 'subnet_available_ip_count', subnetLabels)).toBe(253);
    const relayGone = await settledRelay();
    expect(sum(relayGone, 'vip_relay_queue_depth')).toBe(0);
    expect(sum(relayGone, 'vip_relay_events_in_flight')).toBe(0);
  }, 90_000);

  it('shows when the NB port cache has loaded (a restarted replica serves before it)', async () => {
    // The snapshot is asked for once events go quiet (infra/wiring/snapshot-gate.ts).
    const loaded = await waitFor(
      'the port cache gauge shows it loaded',
      async () => {
        const s = await fn();
        return sum(s, 'vip_nb_port_cache_ready') === 1 ? s : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const ports = loaded.filter((x) => x.name === 'vip_nb_port_cache_ports');
    expect(ports).toHaveLength(1);
    expect(ports[0]!.value).toBeGreaterThanOrEqual(0);
  }, 40_000);

  it('answers /readyz with each dependency checked', async () => {
    const res = await fetch(`http://127.0.0.1:${fnHealth.port}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/redis: ok\nnb: ok\napiserver: ok/);
  });
});
