// The relay assembled: one ListWatch per resource type feeding one Delivery, which posts to the
// function URLs. `startRelay` is what main.ts, the local stack and the tests call.
import type { KubeConfig } from '@kubernetes/client-node';
import type { HttpEncoding } from '../../shared/events/encode.ts';
import type { BackoffPolicy, Delay } from './backoff.ts';
import type { ChangeEvent } from './cache.ts';
import { type CloseResult, Delivery, type DeliveryStats } from './delivery.ts';
import { type KubeTransport, kubeTransport } from './kube-transport.ts';
import { ListWatch, type ListWatchStats } from './list-watch.ts';
import { type Logger, silentLogger } from './logger.ts';
import { DEFAULT_RESOURCES, type ResourceType } from './resources.ts';
import type { Send } from './send-result.ts';
import { SettledVersions } from './settled.ts';
import type { SettledStore, SettledStoreStats } from './settled-store.ts';
import { createHttpSink, type HttpSink, type SinkStats } from './sink.ts';

export interface RelayOptions {
  /** Where to list and watch: a KubeConfig, or a ready transport. */
  kubeConfig?: KubeConfig;
  transport?: KubeTransport;
  /** Function URLs (POST target, e.g. http://host:8080/events); keys are spread over them. */
  sinks: string[];
  secret?: string;
  token?: string;
  resources?: readonly ResourceType[];
  /** Relist (and re-deliver every object) this often; 0 = never. Default 5 minutes. */
  resyncMs?: number;
  concurrency?: number;
  /** HTTP 500 answers in a row before a key is reported as a dead letter and parked (default 5). */
  maxAttempts?: number;
  /** A parked key's wait between tries (default 5 minutes). */
  parkMs?: number;
  /** How often an unreachable sink is probed (default 1 s). */
  probeIntervalMs?: number;
  /** The "events pending" log line's period while anything is pending (default 30 s). */
  reportIntervalMs?: number;
  now?: () => number;
  deliveryBackoff?: BackoffPolicy;
  watchBackoff?: BackoffPolicy;
  watchTimeoutSeconds?: number;
  missingRetryMs?: number;
  sendTimeoutMs?: number;
  /** Events per request to one sink at most; 1 = no batching (default 64). */
  maxBatch?: number;
  /** Requests outstanding per sink URL at most (default 4). */
  maxInFlight?: number;
  encoding?: HttpEncoding;
  /** Replaces the HTTP sink (tests of the loop without HTTP). */
  send?: Send;
  delay?: Delay;
  random?: () => number;
  logger?: Logger;
  /** Told of each delivered event: ms from its arrival to the function's answer (metrics). */
  onDelivered?: (ms: number) => void;
  onRouted?: (url: string, event: ChangeEvent) => void;
  /**
   * Where the settled versions are kept (settled-store.ts): read before the first lists, so
   * objects already handled at their listed version are not delivered again. The relay closes it.
   */
  settledStore?: SettledStore;
}

export interface RelayStats {
  delivery: DeliveryStats;
  resources: ListWatchStats[];
  routed: Record<string, number>;
  /** Requests and events of the HTTP sink (absent with an injected `send`). */
  sink?: SinkStats;
  /** The settled-version record and its store (absent without a store). */
  settled?: SettledStoreStats & { keys: number };
}

export interface Relay {
  /** Resolves when every resource type has been listed once (or found missing). */
  synced: Promise<void>;
  stats(): RelayStats;
  /** New function URLs (replicas added or removed); keys route over them from now on. */
  setSinks(urls: readonly string[]): void;
  /** Stops the watches, then lets queued deliveries finish until the deadline (default 10 s). */
  stop(opts?: { deadlineMs?: number }): Promise<CloseResult>;
}

export function startRelay(options: RelayOptions): Relay {
  const log = options.logger ?? silentLogger;
  const transport = options.transport ?? (options.kubeConfig ? kubeTransport(options.kubeConfig) : undefined);
  if (!transport) throw new Error('startRelay needs a kubeConfig or a transport');
  const resources = options.resources ?? DEFAULT_RESOURCES;
  const routed: Record<string, number> = {};
  const plurals = new Map(resources.map((r) => [r.kind, r.plural]));
  const httpSink: HttpSink | undefined = options.send
    ? undefined
    : createHttpSink({
        urls: options.sinks,
        source: transport.server,
        secret: options.secret,
        token: options.token,
        plurals,
        encoding: options.encoding,
        timeoutMs: options.sendTimeoutMs,
        maxBatch: options.maxBatch,
        maxInFlight: options.maxInFlight,
        onRouted: (url, ev) => {
          routed[url] = (routed[url] ?? 0) + 1;
          options.onRouted?.(url, ev);
        },
      });
  const send = options.send ?? httpSink!;
  const store = options.settledStore;
  const settled = store ? new SettledVersions() : undefined;
  const delivery = new Delivery({
    ...(settled ? { settled } : {}),
    send,
    concurrency: options.concurrency,
    maxAttempts: options.maxAttempts,
    parkMs: options.parkMs,
    backoff: options.deliveryBackoff,
    ...(httpSink ? { sinkOf: httpSink.route, probe: httpSink.probe } : {}),
    probeIntervalMs: options.probeIntervalMs,
    reportIntervalMs: options.reportIntervalMs,
    now: options.now,
    delay: options.delay,
    random: options.random,
    logger: log,
    ...(options.onDelivered ? { onDelivered: options.onDelivered } : {}),
  });
  const watches = resources.map(
    (resource) =>
      new ListWatch({
        transport,
        resource,
        onEvents: (events) => {
          for (const ev of events) delivery.enqueue(ev);
        },
        resyncMs: options.resyncMs ?? 5 * 60_000,
        watchTimeoutSeconds: options.watchTimeoutSeconds,
        backoff: options.watchBackoff,
        missingRetryMs: options.missingRetryMs,
        delay: options.delay,
        random: options.random,
        logger: log,
        ...(settled
          ? { settled, onSkipped: (key: string, rv: string, prev: string) => delivery.skipped(key, rv, prev) }
          : {}),
      }),
  );
  let stopped = false;
  // With a store, the record is read before the first lists (a failure only means more deliveries).
  const loaded =
    store && settled
      ? store.load(
          resources.map((r) => r.kind),
          settled,
        )
      : Promise.resolve(undefined);
  const started = loaded.then(() => {
    if (stopped) return;
    if (store && settled) store.start(settled);
    for (const w of watches) w.start();
  });
  log.info(
    { server: transport.server, sinks: options.sinks, resources: resources.map((r) => r.kind) },
    'relay started',
  );

  let stopping: Promise<CloseResult> | undefined;
  return {
    synced: started.then(() => Promise.all(watches.map((w) => w.synced))).then(() => undefined),
    stats: () => ({
      delivery: delivery.stats(),
      resources: watches.map((w) => w.stats()),
      routed: { ...routed },
      ...(httpSink ? { sink: httpSink.stats() } : {}),
      ...(store && settled ? { settled: { ...store.stats(), keys: settled.size } } : {}),
    }),
    setSinks(urls) {
      if (!httpSink) throw new Error('setSinks needs the HTTP sink');
      httpSink.setUrls(urls);
      log.info({ sinks: urls }, 'sinks changed');
    },
    stop(opts = {}) {
      stopping ??= (async () => {
        stopped = true;
        await started;
        await Promise.all(watches.map((w) => w.stop()));
        const result = await delivery.close(opts.deadlineMs ?? 10_000);
        httpSink?.close();
        // What was answered before the stop is written, so the next relay skips it.
        await store?.close();
        // The last line says what was not delivered: the next relay's list sends those objects' state.
        log.info(
          { ...result, stats: delivery.stats(), sink: httpSink?.stats() },
          `relay stopped; ${result.pendingKeys} key(s) were pending`,
        );
        return result;
      })();
      return stopping;
    },
  };
}
