// Audit: compare the API server (the source of truth), Redis and OVN NB; report drift; repair it
// in the direction of the API server by re-running the owning object's reconciler.
import { type AuditPorts, type CollectOptions, collectState } from './collect.ts';
import { compareState } from './compare.ts';
import { compareSubnetCounts } from './compare-registrations.ts';
import { auditSettled, type SettleOptions } from './settle.ts';
import { type AuditResult, DriftKind } from './types.ts';

export {
  type AuditKube,
  type AuditPorts,
  AuditReadError,
  type CollectOptions,
  collectState,
  type NorthboundReader,
  type Progress,
} from './collect.ts';
export { compareState } from './compare.ts';
export * from './types.ts';

/** One full audit: read everything once, compare, and count what was read. */
export async function auditSystem(
  ports: AuditPorts,
  opts: CollectOptions & {
    /** How long Subnet counts may lag the allocator before they are drift (default 1 s). */
    countsGraceMs?: number;
  } = {},
): Promise<AuditResult> {
  const state = await collectState(ports, opts);
  let drifts = compareState(state);
  if (drifts.some((d) => d.kind === DriftKind.StaleSubnetCounts)) {
    // The handlers write a Subnet's counts within ~250 ms of a change (coalesced): only counts
    // still wrong after that are drift. One more read, only when some looked wrong.
    await new Promise((r) => setTimeout(r, opts.countsGraceMs ?? 1_000));
    const still = new Set(compareSubnetCounts(await collectState(ports, opts)).map((d) => d.object));
    drifts = drifts.filter((d) => d.kind !== DriftKind.StaleSubnetCounts || still.has(d.object));
  }
  return {
    drifts,
    counts: {
      vips: state.vips.length,
      pods: state.pods.length,
      reservations: Object.values(state.reservations).reduce((n, l) => n + l.length, 0),
      ports: state.ports.length,
      loadBalancers: state.loadBalancers.length,
    },
  };
}
export { countsText, driftTable, repairLine, summaryLine } from './format.ts';
export { type RepairFailure, type RepairReport, repair } from './repair.ts';
export { persistentDrift, type SettleOptions } from './settle.ts';

/**
 * auditSystem repeated (default twice, 1 s apart) keeping only the drift every round saw: for a
 * system under load, where work in flight shows as drift for a moment.
 */
export function auditSystemSettled(ports: AuditPorts, opts: SettleOptions = {}): Promise<AuditResult> {
  return auditSettled(auditSystem, ports, opts);
}
