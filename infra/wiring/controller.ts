// The outside world the handlers talk to, built from configuration. Entry points create the ports
// once, hand them to createApp(), and close them on shutdown.
// - createPorts: Redis only (the manual reservation API); enough for Deno and Workers.
// - createControllerPorts: Redis + OVN NB + Kubernetes, for the event handlers and admission.

import type { ConnectionOptions } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import type { Config } from '../../shared/config.ts';
import {
  apiServerCheck,
  ovsdbCheck,
  type ReadinessCheck,
  redisCheck,
} from '../../shared/health/readiness.ts';
import { type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';
import {
  createEventRecorder,
  type KubeEventRecorder,
  kubeEventSink,
} from '../../shared/kube/event-recorder.ts';
import { createKube } from '../../shared/kube/index.ts';
import type { FunctionMetrics } from '../../shared/metrics/functions.ts';
import { connectNorthbound } from '../../shared/ovn/nb/index.ts';
import { sslFileOptions } from '../../shared/ovsdb/transport.ts';
import type { KubePort, NorthboundPort, ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { createSubnetStatusRefresher } from '../../shared/reconcile/subnet.ts';
import { northboundPort } from './northbound-port.ts';

export interface Ports {
  readonly allocator: Allocator;
  /** What /readyz asks: each dependency these ports reach. */
  readonly checks: readonly ReadinessCheck[];
  close(): Promise<void>;
}

export interface PortsOptions {
  /** Time the allocator's calls and the NB transactions; show the allocator's subnet counts. */
  metrics?: FunctionMetrics;
}

export interface ControllerPorts extends Ports {
  readonly nb: NorthboundPort;
  readonly kube: KubePort;
  /** Everything a reconciler needs, ready to hand to createDispatch(). */
  readonly reconcile: ReconcileDeps;
  /** The Events recorder the reconcilers use (flush() writes counted repeats now). */
  readonly events: KubeEventRecorder;
}

export function createRedisClient(config: Config): Redis | Cluster {
  const r = config.redis;
  // Fail a request quickly when Redis is down instead of queueing it for ever.
  const common = {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    // A password from REDIS_PASSWORD[_FILE]; one inside REDIS_URL works as well.
    ...(r.password ? { password: r.password } : {}),
  };
  return r.kind === 'cluster'
    ? new Cluster([...r.nodes], { redisOptions: common })
    : new Redis(r.url, common);
}

export function createPorts(config: Config, opts: PortsOptions = {}): Ports {
  const redis = createRedisClient(config);
  // Without a listener ioredis prints every failed reconnect; calls fail on their own and /readyz
  // reports the outage.
  redis.on('error', () => {});
  const allocator = createRedisAllocator(redis);
  opts.metrics?.showSubnets(allocator);
  return {
    allocator: opts.metrics ? opts.metrics.instrumentAllocator(allocator) : allocator,
    checks: [redisCheck(redis)],
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export async function createControllerPorts(
  config: Config,
  opts: PortsOptions = {},
): Promise<ControllerPorts> {
  if (!config.nbRemotes)
    throw new Error('OVN_NB_REMOTES is needed to handle events (e.g. tcp:127.0.0.1:6641)');
  const base = createPorts(config, opts);
  const northbound = await connectNorthbound({ remotes: config.nbRemotes, ...northboundTls(config) });
  const metrics = opts.metrics;
  if (metrics)
    northbound.client.on('transacted', (ms, error) => metrics.observeNbTransaction(ms / 1000, error));
  const nb = northboundPort(northbound.writer, northbound.cache);
  const kube = createKube(
    config.kubeconfig ? { kubeconfigPath: config.kubeconfig } : { kubeConfig: defaultKubeConfig() },
  );
  const log = pino({ level: config.logLevel });
  const events = createEventRecorder({
    sink: kubeEventSink(kube.transport),
    log,
    types: { all: ['Normal', 'Warning'] as const, warnings: ['Warning'] as const, none: [] }[
      config.kubeEvents
    ],
  });
  const reconcile: ReconcileDeps = {
    allocator: base.allocator,
    nb,
    kube,
    log,
    events,
    keepVmIp: config.keepVmIp,
    besideKubeOvn: config.besideKubeOvn,
  };
  const refresher = createSubnetStatusRefresher(reconcile);
  reconcile.subnetChanged = refresher.changed;
  return {
    allocator: base.allocator,
    checks: [...base.checks, ovsdbCheck('nb', northbound.client), apiServerCheck(kube)],
    nb,
    kube,
    reconcile,
    events,
    async close() {
      await refresher.flush();
      await events.flush();
      await northbound.close();
      await base.close();
    },
  };
}

/** The TLS options of `ssl:` NB remotes, read from the files the configuration names. */
export function northboundTls(config: Config): { tls?: ConnectionOptions } {
  return config.nbSsl ? { tls: sslFileOptions(config.nbSsl) } : {};
}

/** In a cluster: the service account; elsewhere ~/.kube/config. */
function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
