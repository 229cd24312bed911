// Who holds a reservation, decided from the owner key alone. Two sides share the allocator:
// the Kubernetes side (the reconcilers: `vip/<name>`, `pod/<port>`, and `ip/<name>` for what a
// kube-ovn IP object of an absent StatefulSet pod, VM or node holds, `hc/<subnet>` for the source
// address of a subnet's load balancer health checks) and the manual reservation
// API. Manual owners are stored under their own namespace, `manual/<name>`, so the manual API's
// writes can only ever name keys under `manual/`: whatever owner kind the Kubernetes side adds
// later is out of its reach by construction, not by a list someone has to remember to extend.
// The list below is only for answering politely (409 ManagedByKubernetes instead of "you hold
// nothing") and for telling the audit which objects to look up.

/** Every owner kind the Kubernetes side uses; build keys with `kubernetesOwner` only. */
export const KUBERNETES_OWNER_KINDS = ['vip', 'pod', 'ip', 'hc'] as const;
export type KubernetesOwnerKind = (typeof KUBERNETES_OWNER_KINDS)[number];

const MANUAL_PREFIX = 'manual/';

export type OwnerSide = 'manual' | 'kubernetes';

/** The allocator key of a Kubernetes-side owner, e.g. `vip/a`. */
export const kubernetesOwner = (kind: KubernetesOwnerKind, name: string) => `${kind}/${name}`;

/** The allocator key of a manual owner: the API's name inside the manual namespace. */
export const manualOwner = (apiName: string) => `${MANUAL_PREFIX}${apiName}`;

/** Any stored owner outside the manual namespace belongs to the Kubernetes side. */
export const ownerSide = (stored: string): OwnerSide =>
  stored.startsWith(MANUAL_PREFIX) ? 'manual' : 'kubernetes';

/** The name the manual API shows for a stored owner (manual ones without their namespace). */
export const apiOwnerName = (stored: string) =>
  ownerSide(stored) === 'manual' ? stored.slice(MANUAL_PREFIX.length) : stored;

/** Whether an API name is written the way a Kubernetes-side owner is (`vip/…`, `pod/…`). */
export const namesKubernetesOwner = (apiName: string) =>
  KUBERNETES_OWNER_KINDS.some((k) => apiName.startsWith(`${k}/`));

/**
 * The stored owner an API name refers to when reading: Kubernetes-side names as they are (read
 * access is open to every owner), anything else in the manual namespace.
 */
export const storedOwnerOf = (apiName: string) =>
  namesKubernetesOwner(apiName) ? apiName : manualOwner(apiName);
