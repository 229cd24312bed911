// The relay's Prometheus metrics, read from `relay.stats()` at scrape time (the pending set and
// the counters are the relay's own state; nothing is counted twice), plus the delivery latency
// histogram fed as events are answered. One registry per relay (tests run several).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Relay, RelayStats } from './relay.ts';

export interface RelayMetrics {
  readonly registry: Registry;
  /** Pass as RelayOptions.onDelivered. */
  onDelivered(ms: number): void;
  /** The relay whose stats are shown (set once it is started). */
  attach(relay: Pick<Relay, 'stats'>): void;
}

export function createRelayMetrics(registry = new Registry()): RelayMetrics {
  let relay: Pick<Relay, 'stats'> | undefined;
  const registers = [registry];
  // Each collect() of a scrape reads the same stats object.
  let snapshot: RelayStats | undefined;
  const stats = () => {
    if (!relay) return undefined;
    if (!snapshot) {
      snapshot = relay.stats();
      setImmediate(() => (snapshot = undefined));
    }
    return snapshot;
  };

  const gauge = (name: string, help: string, read: (s: RelayStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const s = stats();
        if (s) this.set(read(s));
      },
    });
  // A counter mirrored from a monotonic count the relay keeps.
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (s: RelayStats) => [Partial<Record<L, string>>, number][],
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        const s = stats();
        if (!s) return;
        this.reset();
        for (const [labels, value] of read(s)) this.inc(labels, value);
      },
    });

  gauge(
    'vip_relay_queue_depth',
    'Events waiting to be delivered, in flight included.',
    (s) => s.delivery.pending,
  );
  gauge(
    'vip_relay_pending_objects',
    'Objects with an undelivered event (the pending set).',
    (s) => s.delivery.pendingKeys,
  );
  gauge('vip_relay_events_in_flight', 'Events sent and not answered yet.', (s) => s.delivery.inFlight);
  gauge(
    'vip_relay_parked_objects',
    'Objects parked after failing repeatedly (retried slowly).',
    (s) => s.delivery.parkedKeys,
  );
  gauge(
    'vip_relay_unreachable_sinks',
    'Function URLs that did not answer at their last try.',
    (s) => s.delivery.unreachableSinks,
  );
  gauge(
    'vip_relay_lag_seconds',
    'How far the functions trail the API server: age of the oldest watch event not yet delivered (0 when none).',
    (s) => s.delivery.oldestPendingMs / 1000,
  );
  counter('vip_relay_events_received_total', 'Watch and list events queued for delivery.', [], (s) => [
    [{}, s.delivery.enqueued],
  ]);
  counter('vip_relay_events_delivered_total', 'Events the functions answered as done.', [], (s) => [
    [{}, s.delivery.delivered],
  ]);
  counter('vip_relay_delivery_retries_total', 'Deliveries tried again (outage, 5xx, conflict).', [], (s) => [
    [{}, s.delivery.retries],
  ]);
  counter(
    'vip_relay_events_dropped_total',
    'Events ended undelivered, by reason (a 4xx verdict, shutdown).',
    ['reason'],
    (s) => Object.entries(s.delivery.drops).map(([reason, n]) => [{ reason }, n]),
  );
  counter('vip_relay_dead_letters_total', 'Objects reported as dead letters (parked).', [], (s) => [
    [{}, s.delivery.deadLetters],
  ]);
  counter(
    'vip_relay_events_collapsed_total',
    'Pending events replaced by a newer state of the object.',
    [],
    (s) => [[{}, s.delivery.collapsed]],
  );
  counter(
    'vip_relay_echoes_skipped_total',
    "Events not sent: a handler's own write echoing back.",
    [],
    (s) => [[{}, s.delivery.echoes]],
  );
  counter(
    'vip_relay_relists_total',
    'Full lists of a resource, by reason (start, gone = 410, resync).',
    ['resource', 'reason'],
    (s) =>
      s.resources.flatMap((r) => [
        [{ resource: r.resource, reason: 'gone' }, r.relistsAfterGone],
        [{ resource: r.resource, reason: 'resync' }, r.resyncs],
        [{ resource: r.resource, reason: 'start' }, Math.max(0, r.lists - r.relistsAfterGone - r.resyncs)],
      ]),
  );
  counter(
    'vip_relay_watch_restarts_total',
    'Watches that ended abnormally and were started again.',
    ['resource'],
    (s) => s.resources.map((r) => [{ resource: r.resource }, r.reconnects]),
  );
  counter('vip_relay_watch_events_total', 'Watch and list events seen, by resource.', ['resource'], (s) =>
    s.resources.map((r) => [{ resource: r.resource }, r.events]),
  );
  counter(
    'vip_relay_settled_skipped_total',
    'Listed objects not delivered because the functions already handled that version (settled-version store; first list and 410 relists).',
    ['resource'],
    (s) => s.resources.map((r) => [{ resource: r.resource }, r.skippedSettled]),
  );
  counter(
    'vip_relay_list_deletes_total',
    'Deletes emitted by lists: objects gone while no watch saw them go.',
    ['resource'],
    (s) => s.resources.map((r) => [{ resource: r.resource }, r.listDeletes]),
  );
  counter(
    'vip_relay_settled_store_errors_total',
    'Failures of the settled-version store, by operation (load at start, write of a batch).',
    ['op'],
    (s) =>
      s.settled
        ? [
            [{ op: 'load' }, s.settled.loadErrors],
            [{ op: 'write' }, s.settled.writeErrors],
          ]
        : [],
  );
  gauge(
    'vip_relay_settled_objects',
    'Objects in the settled-version record (0 without a store).',
    (s) => s.settled?.keys ?? 0,
  );
  gauge(
    'vip_relay_settled_unwritten',
    'Settled-version changes not yet written to the store (Redis down, or the next flush).',
    (s) => s.settled?.unwritten ?? 0,
  );

  const latency = new Histogram({
    name: 'vip_relay_delivery_duration_seconds',
    help: "From an event's arrival from the API server to the function's answer, retries included.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });

  return {
    registry,
    onDelivered: (ms) => latency.observe(ms / 1000),
    attach(r) {
      relay = r;
    },
  };
}
