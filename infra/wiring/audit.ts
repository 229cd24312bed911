// Builds the audit's ports from configuration: the controller ports (whose reconcilers repair
// re-runs) plus a plain Northbound reader for full rows. Two NB connections: the controller's
// keeps its monitor-fed port cache, the reader lists without one.

import type { AuditPorts } from '../../shared/audit/collect.ts';
import type { Config } from '../../shared/config.ts';
import { connectNorthbound } from '../../shared/ovn/nb/index.ts';
import type { ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { createControllerPorts, northboundTls } from './controller.ts';

/** How long one NB read of the audit may take (the handlers' default is 10 s). */
export const AUDIT_NB_TIMEOUT_MS = 120_000;

export type OpenAuditPorts = AuditPorts & { reconcile: ReconcileDeps; close(): Promise<void> };

export async function openAuditPorts(config: Config): Promise<OpenAuditPorts> {
  if (!config.nbRemotes) throw new Error('OVN_NB_REMOTES is needed (e.g. tcp:127.0.0.1:6641)');
  const controller = await createControllerPorts(config);
  try {
    const reader = await connectNorthbound({
      remotes: config.nbRemotes,
      portCache: false,
      // Whole-table reads at 100,000 ports can wait behind another client's monitor snapshot on
      // the single-threaded ovsdb-server (a replica starting): the audit is a batch job, it waits.
      requestTimeoutMs: AUDIT_NB_TIMEOUT_MS,
      ...northboundTls(config),
    });
    return {
      allocator: controller.allocator,
      kube: controller.kube,
      nbReader: reader.writer,
      keepVmIp: config.keepVmIp,
      reconcile: controller.reconcile,
      async close() {
        await reader.close();
        await controller.close();
      },
    };
  } catch (err) {
    await controller.close();
    throw err;
  }
}
