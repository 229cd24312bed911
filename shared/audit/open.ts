// Builds the audit's ports from configuration: the controller ports (whose reconcilers repair
// re-runs) plus a plain Northbound reader for full rows. Two NB connections: the controller's
// keeps its monitor-fed port cache, the reader lists without one.
import type { Config } from '../config.ts';
import { connectNorthbound } from '../ovn/nb/index.ts';
import { createControllerPorts, northboundTls } from '../ports.ts';
import type { ReconcileDeps } from '../reconcile/deps.ts';
import type { AuditPorts } from './collect.ts';

export type OpenAuditPorts = AuditPorts & { reconcile: ReconcileDeps; close(): Promise<void> };

export async function openAuditPorts(config: Config): Promise<OpenAuditPorts> {
  if (!config.nbRemotes) throw new Error('OVN_NB_REMOTES is needed (e.g. tcp:127.0.0.1:6641)');
  const controller = await createControllerPorts(config);
  try {
    const reader = await connectNorthbound({
      remotes: config.nbRemotes,
      portCache: false,
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
