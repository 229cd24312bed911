// The /scale subresource of StatefulSets (autoscaling/v1 Scale), which `kubectl scale` uses.
// Only spec.replicas moves; there is no StatefulSet controller here, so pods are not created or
// removed (tests and the local stack do that themselves).
import type { KubeObject } from './selectors.ts';

export interface Scale {
  kind: 'Scale';
  apiVersion: 'autoscaling/v1';
  metadata: KubeObject['metadata'];
  spec: { replicas: number };
  status: { replicas: number; selector?: string };
}

export function toScale(sts: KubeObject): Scale {
  const spec = (sts.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  const status = (sts.status ?? {}) as { replicas?: number };
  const labels = spec.selector?.matchLabels ?? {};
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const m = sts.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, ...(selector ? { selector } : {}) },
  };
}

/** The StatefulSet with the Scale's replicas; the Scale's resourceVersion, if any, is a precondition. */
export function applyScale(sts: KubeObject, scale: Partial<Scale>): KubeObject {
  const replicas = scale.spec?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw new Error(
      `spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer`,
    );
  }
  return {
    ...sts,
    metadata: {
      ...sts.metadata,
      resourceVersion: scale.metadata?.resourceVersion ?? sts.metadata.resourceVersion,
    },
    spec: { ...(sts.spec as object), replicas },
  };
}
