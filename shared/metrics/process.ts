// Metrics every long-running process shows besides its own: whether it is ready (the same checks
// as /readyz, run at scrape time, so an alert can say "no ready replica" from our own series), and
// the holder and node-agent counts of the processes that run a holder sync.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Readiness } from '../health/readiness.ts';

/** `vip_ready` (1/0) and `vip_dependency_up{dependency}` from the process's readiness checks. */
export function registerReadiness(registry: Registry, readiness: () => Promise<Readiness>): void {
  let inFlight: Promise<Readiness> | undefined;
  const read = () => {
    inFlight ??= readiness().finally(() => setImmediate(() => (inFlight = undefined)));
    return inFlight;
  };
  new Gauge({
    name: 'vip_ready',
    help: '1 when every dependency of this process answers (what /readyz says), else 0.',
    registers: [registry],
    async collect() {
      this.set((await read()).ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'vip_dependency_up',
    help: 'Per dependency (redis, nb, sb, apiserver): 1 when it answered the readiness check.',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [dependency, result] of Object.entries((await read()).checks))
        this.set({ dependency }, result === 'ok' ? 1 : 0);
    },
  });
}

export type HolderChange = 'claimed' | 'moved' | 'released';

/** A holder change as counted: a parent took a free address, another took it over, or none holds it now. */
export const holderChangeOf = (from: string, to: string): HolderChange =>
  !from ? 'claimed' : to ? 'moved' : 'released';

export interface HolderMetrics {
  readonly registry: Registry;
  /** Pass as HolderSyncOptions.onChange. */
  onChange(vip: string, from: string, to: string): void;
  /** Shows `vip_node_pods_wired` read from the node agent at scrape time. */
  showPodsWired(count: () => number): void;
}

export function createHolderMetrics(registry = new Registry()): HolderMetrics {
  const changes = new Counter({
    name: 'vip_holder_changes_total',
    help: 'Vip holder changes written to status.holder: claimed (none -> parent), moved (failover), released.',
    labelNames: ['change'] as const,
    registers: [registry],
  });
  // Every series from the start, so rate() sees the first failover.
  for (const change of ['claimed', 'moved', 'released'] as const) changes.inc({ change }, 0);
  return {
    registry,
    onChange: (_vip, from, to) => changes.inc({ change: holderChangeOf(from, to) }),
    showPodsWired(count) {
      new Gauge({
        name: 'vip_node_pods_wired',
        help: 'Pods whose NIC the node agent has wired into OVS now.',
        registers: [registry],
        collect() {
          this.set(count());
        },
      });
    },
  };
}
