// The objects AAP reconcile tests create: an AAP Vip selecting `vip: <name>`, and a pod naming
// Vips in its `ovn.kubernetes.io/aaps` annotation, on the harness's subnet.
import type { Pod } from '../../shared/domain/types.ts';
import type { ReconcileHarness } from './harness.ts';

export const defineAapVip = (h: ReconcileHarness, namespace: string, name: string) =>
  h.admin.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: h.subnet, namespace, selector: [`vip: ${name}`] },
  });

export async function createAapPod(
  h: ReconcileHarness,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  aaps: string,
): Promise<Pod> {
  return (await h.admin.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels,
      annotations: { 'ovn.kubernetes.io/aaps': aaps, 'ovn.kubernetes.io/logical_switch': h.subnet },
    },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  })) as unknown as Pod;
}
