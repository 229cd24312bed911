// Audit: compare the API server (the source of truth), Redis and OVN NB; report drift; repair it
// in the direction of the API server by re-running the owning object's reconciler.
import { type AuditPorts, type CollectOptions, collectState } from './collect.ts';
import { compareState } from './compare.ts';
import { auditSettled, type SettleOptions } from './settle.ts';
import type { AuditResult } from './types.ts';

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
export async function auditSystem(ports: AuditPorts, opts: CollectOptions = {}): Promise<AuditResult> {
  const state = await collectState(ports, opts);
  const drifts = compareState(state);
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
export { type OpenAuditPorts, openAuditPorts } from './open.ts';
export { type RepairFailure, type RepairReport, repair } from './repair.ts';
export { persistentDrift, type SettleOptions } from './settle.ts';

/**
 * auditSystem repeated (default twice, 1 s apart) keeping only the drift every round saw: for a
 * system under load, where work in flight shows as drift for a moment.
 */
export function auditSystemSettled(ports: AuditPorts, opts: SettleOptions = {}): Promise<AuditResult> {
  return auditSettled(auditSystem, ports, opts);
}
