// The Kubernetes client port: plain JSON objects (RFC 3339 strings, as on the wire) over our own
// keep-alive transport (./transport.ts; client-node only loads kubeconfigs and credentials, see
// ./kubeconfig.ts, and only its types are named here), and typed NotFound/Conflict errors. Every
// write that could race (finalizers, the ip_reserved claim) carries a resourceVersion
// precondition and is retried on conflict, so concurrent writers never clobber each other.

import type { KubeConfig } from '@kubernetes/client-node';
import type {
  KubeOvnIp,
  Pod,
  StatefulSet,
  SubnetResource,
  SwitchLBRule,
  Vip,
  VirtualMachine,
} from '../domain/types.ts';
import { isConflict, isNotFound, KubeConflictError } from './errors.ts';
import { type ClusterKind, collectionPath, type KindName, objectPath } from './kinds.ts';
import { createKubeTransport } from './transport.ts';

export interface KubeApiOptions {
  /** Bound on each API call (default 30 s); a hung API server fails the call instead of the handler. */
  requestTimeoutMs?: number;
  /** Connections per cluster and user (default 64); further calls wait for a free one. */
  maxSockets?: number;
}

/** Any object as the API returns it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface MetadataPatch {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

/** The label a pod's port claims a Vip with (SPEC §3.3). */
export const IP_RESERVED_LABEL = 'ovn.kubernetes.io/ip_reserved';
const MAX_ATTEMPTS = 10;

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const PATCH_TYPES = { merge: 'application/merge-patch+json', json: 'application/json-patch+json' } as const;

/**
 * The client over the KubeConfig `source` gives credentials: one loaded already, or a loader
 * called at the first call or at `warm()` (a function replica imports @kubernetes/client-node,
 * about a third of its start, once it listens; calls made before wait for it).
 */
export function createKubeApi(source: KubeConfig | (() => Promise<KubeConfig>), opts: KubeApiOptions = {}) {
  let loading: Promise<KubeConfig> | undefined;
  const load = () =>
    (loading ??= (source as () => Promise<KubeConfig>)().catch((err: unknown) => {
      loading = undefined; // the next call tries again
      throw err;
    }));
  const http = createKubeTransport(typeof source === 'function' ? load : source, {
    requestTimeoutMs: opts.requestTimeoutMs,
    maxSockets: opts.maxSockets,
  });

  function get(kind: KindName, ref: { name: string; namespace?: string }): Promise<KubeObject> {
    return http.request<KubeObject>('GET', { path: objectPath(kind, ref) });
  }

  async function list(
    kind: KindName,
    o: ListOptions = {},
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const query: string[] = [];
    if (o.labelSelector) query.push(`labelSelector=${encodeURIComponent(o.labelSelector)}`);
    if (o.fieldSelector) query.push(`fieldSelector=${encodeURIComponent(o.fieldSelector)}`);
    const path = collectionPath(kind, o.namespace) + (query.length > 0 ? `?${query.join('&')}` : '');
    const res = await http.request<{ items?: KubeObject[] | null; metadata?: { resourceVersion?: string } }>(
      'GET',
      { path },
    );
    return { items: res.items ?? [], resourceVersion: res.metadata?.resourceVersion ?? '' };
  }

  function patch(
    kind: KindName,
    ref: { name: string; namespace?: string },
    body: unknown,
    o: { subresource?: 'status'; type?: 'merge' | 'json' } = {},
  ): Promise<KubeObject> {
    return http.request<KubeObject>('PATCH', {
      path: objectPath(kind, ref, o.subresource),
      body,
      contentType: PATCH_TYPES[o.type ?? 'merge'],
    });
  }

  function create(kind: KindName, obj: KubeObject): Promise<KubeObject> {
    return http.request<KubeObject>('POST', {
      path: collectionPath(kind, obj.metadata.namespace ?? 'default'),
      body: obj,
    });
  }

  async function remove(kind: KindName, ref: { name: string; namespace?: string }): Promise<void> {
    await http.request('DELETE', { path: objectPath(kind, ref) });
  }

  /**
   * Read-modify-write of one object guarded by its resourceVersion: `change` returns the merge
   * patch to send (without resourceVersion), or undefined when nothing needs to change.
   */
  async function guarded(
    kind: KindName,
    ref: { name: string; namespace?: string },
    change: (obj: KubeObject) => Record<string, unknown> | undefined,
    /** The object as the caller just read it: the first attempt skips the GET. */
    current?: KubeObject,
  ): Promise<KubeObject> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const obj = attempt === 0 && current ? current : await get(kind, ref);
      const body = change(obj);
      if (!body) return obj;
      const metadata = {
        ...((body.metadata as object) ?? {}),
        resourceVersion: obj.metadata.resourceVersion,
      };
      try {
        return await patch(kind, ref, { ...body, metadata });
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Spread the retries of writers that collided, so they do not collide again in lockstep.
        await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
      }
    }
    throw new KubeConflictError(
      409,
      'Conflict',
      `gave up on ${kind} ${ref.name} after ${MAX_ATTEMPTS} conflicting writes`,
    );
  }

  return {
    /** Closes kept-alive connections (the client stays usable and reconnects on the next call). */
    close(): void {
      http.close();
      // The keep-alive agents of informers built on the same KubeConfig (kubeconfig.ts).
      const closeAgents = (kc: KubeConfig) => (kc as { closeAgents?: () => void }).closeAgents?.();
      if (typeof source !== 'function') closeAgents(source);
      else void loading?.then(closeAgents, () => {});
    },
    /** Starts loading the KubeConfig now rather than at the first call (a failure waits for it). */
    warm(): void {
      if (typeof source === 'function') void load().catch(() => {});
    },
    get,
    list,
    patch,
    create,
    delete: remove,

    getVip: (name: string) => orUndefined(get('Vip', { name }) as Promise<unknown> as Promise<Vip>),
    listVips: async (o: { labelSelector?: string } = {}) => (await list('Vip', o)).items as unknown as Vip[],
    getSubnet: (name: string) =>
      orUndefined(get('Subnet', { name }) as Promise<unknown> as Promise<SubnetResource>),
    listSubnets: async () => (await list('Subnet')).items as unknown as SubnetResource[],
    getSwitchLBRule: (name: string) =>
      orUndefined(get('SwitchLBRule', { name }) as Promise<unknown> as Promise<SwitchLBRule>),
    listSwitchLBRules: async () => (await list('SwitchLBRule')).items as unknown as SwitchLBRule[],
    /** kube-ovn's IP objects; none where its CRD is not installed (a cluster never run by kube-ovn). */
    listIPs: async (): Promise<KubeOvnIp[]> =>
      ((await orUndefined(list('IP')))?.items ?? []) as unknown as KubeOvnIp[],
    getPod: (namespace: string, name: string) =>
      orUndefined(get('Pod', { namespace, name }) as Promise<unknown> as Promise<Pod>),
    listPods: async (o: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}) =>
      (await list('Pod', o)).items as unknown as Pod[],
    getStatefulSet: (namespace: string, name: string) =>
      orUndefined(get('StatefulSet', { namespace, name }) as Promise<unknown> as Promise<StatefulSet>),
    getVirtualMachine: (namespace: string, name: string) =>
      orUndefined(get('VirtualMachine', { namespace, name }) as Promise<unknown> as Promise<VirtualMachine>),

    /**
     * Merge-patches the status subresource of a cluster-scoped custom resource and returns the
     * object as the API server answered. With `resourceVersion` the patch carries it as a
     * precondition: a stale one fails with KubeConflictError and writes nothing.
     */
    patchStatus(
      kind: ClusterKind,
      name: string,
      status: object,
      opts: { resourceVersion?: string } = {},
    ): Promise<KubeObject> {
      const body = opts.resourceVersion
        ? { metadata: { resourceVersion: opts.resourceVersion }, status }
        : { status };
      return patch(kind, { name }, body, { subresource: 'status' });
    },

    /** Merge-patches labels/annotations; a null value deletes the key. */
    async patchMetadata(
      kind: ClusterKind | 'Pod' | 'StatefulSet' | 'VirtualMachine',
      ref: { name: string; namespace?: string },
      p: MetadataPatch,
      opts: { resourceVersion?: string } = {},
    ): Promise<KubeObject> {
      const metadata: Record<string, unknown> = {};
      if (p.labels) metadata.labels = p.labels;
      if (p.annotations) metadata.annotations = p.annotations;
      // With a resourceVersion the write is a precondition: 409 when the object changed since.
      if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
      return patch(kind, ref, { metadata });
    },

    /**
     * Sets labels and adds a finalizer in one write guarded by the resourceVersion of `current`
     * (the object the caller decided from). Returns the object written, or undefined when both
     * were there already (no write). A stale `current` is a KubeConflictError: the caller reads
     * again and decides again, since what it decided from the old copy may no longer hold.
     */
    async ensureClaimed(
      kind: ClusterKind,
      current: {
        metadata: {
          name: string;
          resourceVersion?: string;
          labels?: Record<string, string>;
          finalizers?: string[];
        };
      },
      want: { labels: Record<string, string>; finalizer: string },
    ): Promise<KubeObject | undefined> {
      const labels = current.metadata.labels ?? {};
      const missing = Object.fromEntries(Object.entries(want.labels).filter(([k, v]) => labels[k] !== v));
      const finalizers = current.metadata.finalizers ?? [];
      const needFinalizer = !finalizers.includes(want.finalizer);
      if (Object.keys(missing).length === 0 && !needFinalizer) return undefined;
      const metadata: Record<string, unknown> = { resourceVersion: current.metadata.resourceVersion };
      if (Object.keys(missing).length > 0) metadata.labels = missing;
      if (needFinalizer) metadata.finalizers = [...finalizers, want.finalizer];
      return patch(kind, { name: current.metadata.name }, { metadata });
    },

    /** Adds the finalizer unless present. */
    async addFinalizer(kind: ClusterKind, name: string, finalizer: string): Promise<void> {
      await guarded(kind, { name }, (obj) => {
        const current = obj.metadata.finalizers ?? [];
        return current.includes(finalizer)
          ? undefined
          : { metadata: { finalizers: [...current, finalizer] } };
      });
    },

    /** Removes the finalizer if present; an absent object is fine (it is gone already). */
    async removeFinalizer(kind: ClusterKind, name: string, finalizer: string): Promise<void> {
      try {
        await guarded(kind, { name }, (obj) => {
          const current = obj.metadata.finalizers ?? [];
          return current.includes(finalizer)
            ? { metadata: { finalizers: current.filter((f) => f !== finalizer) } }
            : undefined;
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },

    /**
     * Moves a Vip's ip_reserved label from `expected` ('' = free or absent) to `next`. False when
     * the label holds something else (another pod won); true when it already holds `next`.
     */
    async claimVip(name: string, expected: string, next: string): Promise<boolean> {
      let won = false;
      await guarded('Vip', { name }, (obj) => {
        const current = obj.metadata.labels?.[IP_RESERVED_LABEL] ?? '';
        won = current === next || current === expected;
        if (current === next || current !== expected) return undefined;
        return { metadata: { labels: { [IP_RESERVED_LABEL]: next } } };
      });
      return won;
    },
    /** The JSON transport itself, for calls outside the kinds above (Events, /version). */
    transport: http,
  };
}

export type KubeApi = ReturnType<typeof createKubeApi>;
