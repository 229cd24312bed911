// On a live system the stores are read one after the other, so work in flight can show as drift
// for a moment. Auditing a few times and keeping only what every round saw tells lasting drift
// from passing drift, without stopping the system.
import type { AuditPorts, CollectOptions } from './collect.ts';
import type { AuditResult, Drift } from './types.ts';

const key = (d: Drift) => `${d.kind}\u0000${d.object}\u0000${d.detail}`;

/** The drifts present in every round (compared by kind, object and detail), in the last round's order. */
export function persistentDrift(rounds: readonly (readonly Drift[])[]): Drift[] {
  const last = rounds.at(-1);
  if (!last) return [];
  const seen = rounds.slice(0, -1).map((r) => new Set(r.map(key)));
  return last.filter((d) => seen.every((s) => s.has(key(d))));
}

export interface SettleOptions extends CollectOptions {
  /** Audits to run (default 2). */
  rounds?: number;
  /** Pause between them (default 1000 ms). */
  delayMs?: number;
}

/**
 * Audits `rounds` times, `delayMs` apart, stopping early once a round is clean, and returns the
 * drift every round saw with the last round's counts.
 */
export async function auditSettled(
  audit: (ports: AuditPorts, opts: CollectOptions) => Promise<AuditResult>,
  ports: AuditPorts,
  opts: SettleOptions = {},
): Promise<AuditResult> {
  const rounds: Drift[][] = [];
  let last: AuditResult | undefined;
  for (let i = 0; i < (opts.rounds ?? 2); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, opts.delayMs ?? 1000));
    last = await audit(ports, opts);
    rounds.push(last.drifts);
    if (last.drifts.length === 0) break;
  }
  return { drifts: persistentDrift(rounds), counts: last!.counts };
}
