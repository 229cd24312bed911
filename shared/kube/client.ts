// createKube: the Kubernetes client port (./api.ts) over a KubeConfig loaded at once
// (./kubeconfig.ts), which it also exposes for client-node's own APIs (informers).

import { createKubeApi } from './api.ts';
import { type KubeOptions, loadKubeConfig } from './kubeconfig.ts';

export {
  createKubeApi,
  IP_RESERVED_LABEL,
  type KubeApi,
  type KubeApiOptions,
  type KubeObject,
  type ListOptions,
  type MetadataPatch,
} from './api.ts';
export { defaultKubeConfig, type KubeOptions, loadKubeConfig } from './kubeconfig.ts';

export function createKube(opts: KubeOptions) {
  const kubeConfig = loadKubeConfig(opts);
  return { ...createKubeApi(kubeConfig, opts), kubeConfig };
}

export type Kube = ReturnType<typeof createKube>;
