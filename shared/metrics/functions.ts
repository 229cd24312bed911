// The functions' Prometheus metrics, one registry per process (never prom-client's global one, so
// tests can build several apps side by side). Subnet gauges are read from the allocator's exact
// Redis counts at scrape time: the functions keep no state, and the counts are what the Subnet
// status is written from, so the two agree whenever the status is current.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Allocator } from '../ipam/index.ts';

/** Seconds buckets from 1 ms to 10 s: a reconcile is a few ms; outages make it seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface FunctionMetrics {
  readonly registry: Registry;
  /** One handled event: its kind, its outcome (done/retry/rejected/failed) and reason. */
  observeReconcile(kind: string, outcome: string, reason: string, seconds: number): void;
  /** One OVSDB transaction of the NB client, failed or not. */
  observeNbTransaction(seconds: number, error?: string): void;
  /** The allocator with each call timed (`vip_allocator_script_duration_seconds`). */
  instrumentAllocator(allocator: Allocator): Allocator;
  /** Registers the subnet gauges, read from this allocator at scrape time (once per registry). */
  showSubnets(allocator: Allocator): void;
  /** Registers the NB port cache's gauges (loaded or not, ports held), read at scrape time. */
  showPortCache(cache: { readonly ready: boolean; readonly size: number }): void;
}

export interface FunctionMetricsOptions {
  /** Default: a new registry. */
  registry?: Registry;
}

export function createFunctionMetrics(opts: FunctionMetricsOptions = {}): FunctionMetrics {
  const registry = opts.registry ?? new Registry();
  const registers = [registry];

  const reconcileSeconds = new Histogram({
    name: 'vip_reconcile_duration_seconds',
    help: 'Time to handle one event, by kind and outcome.',
    labelNames: ['kind', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const reconciles = new Counter({
    name: 'vip_reconcile_total',
    help: 'Events handled, by kind, outcome (done, retry, rejected, failed) and reason.',
    labelNames: ['kind', 'outcome', 'reason'] as const,
    registers,
  });
  const allocatorSeconds = new Histogram({
    name: 'vip_allocator_script_duration_seconds',
    help: 'Time of one allocator call (one Lua script round trip, mostly), by operation.',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const allocatorErrors = new Counter({
    name: 'vip_allocator_errors_total',
    help: 'Allocator calls that failed, by operation and reason (a domain refusal or an outage).',
    labelNames: ['operation', 'reason'] as const,
    registers,
  });
  const reservationsMade = new Counter({
    name: 'vip_reservations_created_total',
    help: 'Reservations the allocator made (a new owner got addresses), by subnet.',
    labelNames: ['subnet'] as const,
    registers,
  });
  const reservationsReleased = new Counter({
    name: 'vip_reservations_released_total',
    help: 'Reservations the allocator released, by subnet.',
    labelNames: ['subnet'] as const,
    registers,
  });
  const nbSeconds = new Histogram({
    name: 'vip_nb_transaction_duration_seconds',
    help: 'Time of one OVN Northbound transaction, from sending to the reply.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const nbErrors = new Counter({
    name: 'vip_nb_transaction_errors_total',
    help: 'OVN Northbound transactions that failed, by error (WaitFailed, Timeout, Disconnected...).',
    labelNames: ['error'] as const,
    registers,
  });

  let subnetsShown = false;
  return {
    registry,
    observeReconcile(kind, outcome, reason, seconds) {
      reconcileSeconds.observe({ kind, outcome }, seconds);
      reconciles.inc({ kind, outcome, reason });
    },
    observeNbTransaction(seconds, error) {
      nbSeconds.observe(seconds);
      if (error) nbErrors.inc({ error });
    },
    showSubnets(allocator) {
      if (subnetsShown) return;
      subnetsShown = true;
      registerSubnetGauges(registry, allocator);
    },
    showPortCache(cache) {
      // A restarted replica serves before its cache is loaded (reads go to the server meanwhile).
      new Gauge({
        name: 'vip_nb_port_cache_ready',
        help: '1 once the NB port cache has loaded its first snapshot, 0 before.',
        registers,
        collect() {
          this.set(cache.ready ? 1 : 0);
        },
      });
      new Gauge({
        name: 'vip_nb_port_cache_ports',
        help: 'Logical_Switch_Port rows the NB port cache holds.',
        registers,
        collect() {
          this.set(cache.size);
        },
      });
    },
    instrumentAllocator(allocator) {
      const timed = timedAllocator(allocator, (operation, seconds, reason) => {
        allocatorSeconds.observe({ operation }, seconds);
        if (reason) allocatorErrors.inc({ operation, reason });
      });
      return {
        ...timed,
        async allocate(req) {
          const a = await timed.allocate(req);
          if (a.created) reservationsMade.inc({ subnet: req.subnet });
          return a;
        },
        async release(subnet, owner) {
          const released = await timed.release(subnet, owner);
          if (released) reservationsReleased.inc({ subnet });
          return released;
        },
      };
    },
  };
}

/** kube-ovn's subnet gauges, with its names and labels, one series per family of each subnet. */
function registerSubnetGauges(registry: Registry, allocator: Allocator) {
  const labelNames = ['subnet_name', 'protocol', 'subnet_cidr'] as const;
  type Row = { subnet: string; protocol: 'IPv4' | 'IPv6'; cidr: string; available: number; used: number };
  // Both gauges are collected in the same scrape: one read of Redis serves both.
  let inFlight: Promise<Row[]> | undefined;
  const rows = () => {
    inFlight ??= readRows().finally(() => setImmediate(() => (inFlight = undefined)));
    return inFlight;
  };
  async function readRows(): Promise<Row[]> {
    const out: Row[] = [];
    for (const name of await allocator.listSubnets()) {
      const info = await allocator.getSubnet(name, { fresh: true });
      if (!info) continue; // deleted between the list and the read
      const counts = await allocator.counts(name);
      for (const cidr of info.cidrBlock.split(',')) {
        const v6 = cidr.includes(':');
        out.push({
          subnet: name,
          protocol: v6 ? 'IPv6' : 'IPv4',
          cidr,
          available: v6 ? counts.v6AvailableIPs : counts.v4AvailableIPs,
          used: v6 ? counts.v6UsingIPs : counts.v4UsingIPs,
        });
      }
    }
    return out;
  }
  const fill = (gauge: Gauge<(typeof labelNames)[number]>, pick: (r: Row) => number, list: Row[]) => {
    gauge.reset(); // a deleted subnet's series goes away
    for (const r of list)
      gauge.set({ subnet_name: r.subnet, protocol: r.protocol, subnet_cidr: r.cidr }, pick(r));
  };
  new Gauge({
    name: 'subnet_available_ip_count',
    help: 'The available num of ip address in subnet (kube-ovn name; the Subnet status v4/v6AvailableIPs).',
    labelNames,
    registers: [registry],
    async collect() {
      fill(this, (r) => r.available, await rows());
    },
  });
  new Gauge({
    name: 'subnet_used_ip_count',
    help: 'The used num of ip address in subnet (kube-ovn name; the Subnet status v4/v6UsingIPs).',
    labelNames,
    registers: [registry],
    async collect() {
      fill(this, (r) => r.used, await rows());
    },
  });
}

type AllocatorTimer = (operation: string, seconds: number, reason?: string) => void;

/** Every method of the allocator, timed; errors keep propagating unchanged. */
export function timedAllocator(allocator: Allocator, observe: AllocatorTimer): Allocator {
  const timed = {} as Record<string, unknown>;
  for (const key of allocatorMethods) {
    const method = (allocator[key] as (...args: unknown[]) => Promise<unknown>).bind(allocator);
    timed[key] = async (...args: unknown[]) => {
      const start = performance.now();
      try {
        const result = await method(...args);
        observe(key, (performance.now() - start) / 1000);
        return result;
      } catch (err) {
        const reason = (err as { reason?: unknown }).reason;
        observe(key, (performance.now() - start) / 1000, typeof reason === 'string' ? reason : 'Unavailable');
        throw err;
      }
    };
  }
  return { ...allocator, ...timed } as Allocator;
}

// The Allocator interface's methods (a compile-time list: a new method must be added here).
const allocatorMethods = [
  'registerSubnet',
  'getSubnet',
  'listSubnets',
  'deleteSubnet',
  'allocate',
  'get',
  'list',
  'release',
  'replace',
  'counts',
  'audit',
] as const satisfies readonly (keyof Allocator)[];
