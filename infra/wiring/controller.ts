// The ports of the event handlers and admission: Redis (./redis.ts) + OVN NB + Kubernetes, built
// from configuration. Entry points create them once, hand them to createApp(), and close them on
// shutdown. This is where @kubernetes/client-node, pino and the OVSDB client are chosen; nothing
// in shared/ builds them. client-node (a third of a replica's module loading) is imported only
// once the server listens (`warm`) or the first API call asks for it.

import { accessSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { pino } from 'pino';
import type { Config } from '../../shared/config.ts';
import { apiServerCheck, ovsdbCheck } from '../../shared/health/readiness.ts';
import { createKubeApi } from '../../shared/kube/api.ts';
import {
  createEventRecorder,
  type KubeEventRecorder,
  kubeEventSink,
} from '../../shared/kube/event-recorder.ts';
import {
  connectNorthbound,
  LogicalSwitchPortColumns,
  logicalSwitchPortFromRow,
  Table,
} from '../../shared/ovn/nb/index.ts';
import { op } from '../../shared/ovsdb/index.ts';
import { sslFileOptions } from '../../shared/ovsdb/transport.ts';
import type { KubePort, NorthboundPort, ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { createSubnetStatusRefresher } from '../../shared/reconcile/subnet.ts';
import { northboundPort } from './northbound-port.ts';
import { createPorts, type Ports, type PortsOptions } from './redis.ts';
import { createSnapshotGate } from './snapshot-gate.ts';

export interface ControllerPorts extends Ports {
  readonly nb: NorthboundPort;
  readonly kube: KubePort;
  /** Everything a reconciler needs, ready to hand to createDispatch(). */
  readonly reconcile: ReconcileDeps;
  /** The Events recorder the reconcilers use (flush() writes counted repeats now). */
  readonly events: KubeEventRecorder;
  /** Called when an event starts; with tookEvent, tells the port cache when to ask for its snapshot. */
  startedEvent(): void;
  /**
   * Called after an event was handled: once the first events are done the port cache asks for its
   * snapshot, which a restarted replica holds back so the snapshot does not delay them.
   */
  tookEvent(): void;
}

/**
 * How long a started replica waits for its first event before loading the port cache anyway (a
 * quiet cluster sends none). A relay hands a restarted replica what it held within a probe
 * interval (1 s) of its answering.
 */
export const PORT_CACHE_DELAY_MS = 5_000;
/** After the first event: no event in flight for this long, and the snapshot is asked for. */
export const PORT_CACHE_QUIET_MS = 250;
/** After the first event: the snapshot is asked for by then, busy or not. */
export const PORT_CACHE_MAX_WAIT_MS = 15_000;

export async function createControllerPorts(
  config: Config,
  opts: PortsOptions & { portCacheDelayMs?: number } = {},
): Promise<ControllerPorts> {
  if (!config.nbRemotes)
    throw new Error('OVN_NB_REMOTES is needed to handle events (e.g. tcp:127.0.0.1:6641)');
  const base = createPorts(config, opts);
  // The port cache's first snapshot (37 MB at 120,000 ports) holds ovsdb-server for seconds:
  // asked for once the first events are done (snapshot-gate.ts).
  const gate = createSnapshotGate({
    noEventMs: opts.portCacheDelayMs ?? PORT_CACHE_DELAY_MS,
    quietMs: PORT_CACHE_QUIET_MS,
    maxMs: PORT_CACHE_MAX_WAIT_MS,
  });
  const northbound = await connectNorthbound({
    remotes: config.nbRemotes,
    // Serve at once; the port cache fills in the background (reads ask the server until then).
    portCacheInBackground: true,
    portCacheStartAfter: gate.opened,
    ...northboundTls(config),
  });
  const metrics = opts.metrics;
  if (metrics) {
    northbound.client.on('transacted', (ms, error) => metrics.observeNbTransaction(ms / 1000, error));
    if (northbound.cache) metrics.showPortCache(northbound.cache);
  }
  const nb = northboundPort(northbound.writer, northbound.cache, async (conditions) => {
    const [r] = await northbound.client.transact([
      op.select(Table.LogicalSwitchPort, conditions, LogicalSwitchPortColumns),
    ]);
    return (r?.rows ?? []).map(logicalSwitchPortFromRow);
  });
  // A missing kubeconfig still stops the start, as loading it here did.
  const kubeconfigPath = config.kubeconfig;
  if (kubeconfigPath) accessSync(kubeconfigPath);
  const kube = createKubeApi(() =>
    import('../../shared/kube/kubeconfig.ts').then((m) =>
      kubeconfigPath ? m.loadKubeConfig({ kubeconfigPath }) : m.defaultKubeConfig(),
    ),
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
    aapIndex: base.aapIndex,
  };
  const refresher = createSubnetStatusRefresher(reconcile);
  reconcile.subnetChanged = refresher.changed;
  return {
    allocator: base.allocator,
    aapIndex: base.aapIndex,
    checks: [...base.checks, ovsdbCheck('nb', northbound.client), apiServerCheck(kube)],
    nb,
    kube,
    reconcile,
    events,
    startedEvent: () => gate.started(),
    tookEvent: () => gate.finished(),
    warm: () => kube.warm(),
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
