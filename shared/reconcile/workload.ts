// StatefulSet and KubeVirt VM events (SPEC §3.3): a Vip binding kept for a pod that will come back
// is released once its owner no longer claims that pod (scaled below the ordinal, or deleted).
import { IP_RESERVED_LABEL } from '../domain/annotations.ts';
import { statefulSetReleases } from '../domain/vip-binding.ts';
import type { Outcome } from '../events/outcome.ts';
import type { ReconcileDeps } from './deps.ts';
import { releaseBinding } from './pod.ts';

/** Ports currently bound to a Vip, from the Vips' ip_reserved labels. */
async function boundPorts(deps: ReconcileDeps): Promise<string[]> {
  const vips = await deps.kube.listVips({ labelSelector: IP_RESERVED_LABEL });
  return vips.map((v) => v.metadata.labels?.[IP_RESERVED_LABEL] ?? '').filter((p) => p !== '');
}

export async function reconcileStatefulSet(
  deps: ReconcileDeps,
  namespace: string,
  name: string,
): Promise<Outcome> {
  const sts = await deps.kube.getStatefulSet(namespace, name);
  for (const port of statefulSetReleases(name, namespace, sts, await boundPorts(deps))) {
    const podName = port.slice(0, port.lastIndexOf('.'));
    // A pod that still exists keeps its binding until its own delete event.
    if (!(await deps.kube.getPod(namespace, podName))) await releaseBinding(deps, port);
  }
  return { status: 'done' };
}

export async function reconcileVirtualMachine(
  deps: ReconcileDeps,
  namespace: string,
  name: string,
): Promise<Outcome> {
  const vm = await deps.kube.getVirtualMachine(namespace, name);
  if (vm && !vm.metadata.deletionTimestamp) return { status: 'done' };
  // A VM pod's port is named after the VM: `<vm>.<namespace>`.
  const port = `${name}.${namespace}`;
  if ((await boundPorts(deps)).includes(port)) await releaseBinding(deps, port);
  return { status: 'done' };
}
